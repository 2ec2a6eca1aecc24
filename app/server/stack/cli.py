# SPDX-License-Identifier: GPL-3.0-or-later
"""``platform-stack``: a whole platform on this machine, for trying and testing.

    platform-stack up [--dir DIR] [--api-workers N] [--port P] [--empty]
    platform-stack down [--dir DIR] [--purge]
    platform-stack status [--dir DIR]

``up`` starts PostgreSQL, SeaweedFS (S3) and N API worker processes on loopback, migrates the
schema, seeds the demo catalogue into an empty platform, and ends by printing the settings
an operator exports (``eval "$(platform-stack up)"``), one per line, the last three being
``FANFARE_PLATFORM_URL``, ``FANFARE_DATABASE_URL`` and ``FANFARE_BLOB_STORE``. Everything
lives in DIR (default ``$TMPDIR/fanfare-stack-<uid>``); ``up`` again starts what stopped and
keeps the data; ``down`` stops it all (``--purge`` deletes the data too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from app.server.stack.postgres import LocalPostgres
from app.server.stack.processes import StackError, free_port
from app.server.stack.seaweed import LocalSeaweed

API_PID = "api.pid"


def default_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"fanfare-stack-{os.getuid()}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platform-stack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("up", "start the stack (made on first start)"),
        ("down", "stop the stack"),
        ("status", "say what runs"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument(
            "--dir", type=Path, default=default_dir(), help="where the stack keeps everything"
        )
        if name == "up":
            command.add_argument("--api-workers", type=int, default=2, help="API processes")
            command.add_argument("--port", type=int, default=0, help="the API's port")
            command.add_argument(
                "--empty", action="store_true", help="do not seed the demo catalogue"
            )
        if name == "down":
            command.add_argument("--purge", action="store_true", help="delete the data too")
    return parser


class Stack:
    """The pieces of a stack in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = LocalPostgres(root / "postgres")
        self.seaweed = LocalSeaweed(root / "seaweed")
        self.data = root / "platform"

    def environment(self, port: int) -> dict[str, str]:
        """The settings every platform command of this stack runs with."""
        return {
            "FANFARE_PLATFORM_DATA": str(self.data),
            "FANFARE_PLATFORM_URL": f"http://127.0.0.1:{port}",
            "FANFARE_DATABASE_URL": self.postgres.url,
            "FANFARE_BLOB_STORE": self.seaweed.url,
        }

    def _api_pid(self) -> int | None:
        path = self.root / API_PID
        if not path.exists():
            return None
        try:
            pid = int(path.read_text())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            return None
        return pid

    def up(self, api_workers: int, port: int, seed: bool) -> dict[str, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # the postgres account reaches its folder through it
        self.postgres.start()
        self.seaweed.start()
        port_file = self.root / "api.port"
        port = port or (int(port_file.read_text()) if port_file.exists() else free_port())
        port_file.write_text(str(port))
        env = self.environment(port)
        platform = [sys.executable, "-m", "app.server.cli"]
        children = os.environ | env
        _run([*platform, "migrate"], children, "migrate the schema")
        if seed:
            _run([*platform, "seed-demo"], children, "seed the demo catalogue")
        if self._api_pid() is None:
            serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            with (self.root / "api.log").open("ab") as log:
                api = subprocess.Popen(
                    [*platform, *serve, "--workers", str(api_workers)],
                    env=children,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            (self.root / API_PID).write_text(str(api.pid))
            _wait_for_api(env["FANFARE_PLATFORM_URL"], api, self.root / "api.log")
        return env

    def down(self, purge: bool) -> None:
        pid = self._api_pid()
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self._api_pid() is not None:
                time.sleep(0.1)
        (self.root / API_PID).unlink(missing_ok=True)
        self.seaweed.stop()
        self.postgres.stop()
        if purge:
            shutil.rmtree(self.root, ignore_errors=True)

    def status(self) -> list[str]:
        return [
            f"PostgreSQL: {'running' if self.postgres.running() else 'stopped'}",
            f"SeaweedFS: {'running' if self.seaweed.running() else 'stopped'}",
            f"API workers: {'running' if self._api_pid() is not None else 'stopped'}",
        ]


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"Could not {what}: {done.stderr.strip() or done.stdout.strip()}")


def _wait_for_api(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise StackError(f"The API workers stopped at start: {' / '.join(tail)}")
        try:
            if httpx.get(f"{url}/api/v1/platform/keys", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StackError(f"The API workers did not answer at {url} within 90 s.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stack = Stack(args.dir.expanduser().resolve())
    try:
        if args.command == "up":
            env = stack.up(args.api_workers, args.port, seed=not args.empty)
            for name, value in env.items():
                print(f"{name}={value}")
        elif args.command == "down":
            stack.down(args.purge)
            print("The stack is stopped." + (" Its data is deleted." if args.purge else ""))
        else:
            print("\n".join(stack.status()))
    except StackError as exc:
        print(f"platform-stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
