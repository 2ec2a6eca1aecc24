# SPDX-License-Identifier: GPL-3.0-or-later
"""``platform-stack``: a whole platform on this machine, for trying and testing.

    platform-stack up [--dir DIR] [--api-workers N] [--job-workers M] [--port P] [--empty]
    platform-stack down [--dir DIR] [--purge]
    platform-stack status [--dir DIR]

``up`` starts PostgreSQL, SeaweedFS (S3), N API worker processes and M job worker processes
(uploads' verification) on loopback, migrates the schema, seeds the demo catalogue into an
empty platform, and ends by printing the settings an operator exports
(``eval "$(platform-stack up)"``), one per line, the last three being
``FANFARE_PLATFORM_URL``, ``FANFARE_DATABASE_URL`` and ``FANFARE_BLOB_STORE``. Everything
lives in DIR (default ``$TMPDIR/fanfare-stack-<uid>``); ``up`` again starts what stopped and
keeps the data; ``down`` stops it all (``--purge`` deletes the data too).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.server.stack.postgres import LocalPostgres
from app.server.stack.processes import StackError, free_port, wait_for_api
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
            command.add_argument("--job-workers", type=int, default=1, help="job worker processes")
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
        return _alive(self.root / API_PID)

    def job_workers(self) -> list[int]:
        """The indexes of the job workers that run."""
        return [
            int(path.stem.split("-")[1])
            for path in sorted(self.root.glob("job-*.pid"))
            if _alive(path) is not None
        ]

    def start_job_worker(self, index: int, env: dict[str, str]) -> None:
        """Start job worker ``index`` (``job-<index>.pid``) unless it runs."""
        pid_file = self.root / f"job-{index}.pid"
        if _alive(pid_file) is not None:
            return
        with (self.root / f"job-{index}.log").open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "app.server.cli", "worker"],
                env=os.environ | env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid_file.write_text(str(worker.pid))

    def stop_job_worker(self, index: int, sig: int = signal.SIGTERM) -> None:
        """Stop job worker ``index``; SIGKILL cuts it off mid-job, as a crash would."""
        pid_file = self.root / f"job-{index}.pid"
        pid = _alive(pid_file)
        if pid is not None:
            os.killpg(pid, sig)
            _wait_gone(pid, 60.0)
        pid_file.unlink(missing_ok=True)

    def up(self, api_workers: int, job_workers: int, port: int, seed: bool) -> dict[str, str]:
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
            wait_for_api(env["FANFARE_PLATFORM_URL"], api, self.root / "api.log")
        for index in range(job_workers):
            self.start_job_worker(index, env)
        return env

    def down(self, purge: bool) -> None:
        for index in self.job_workers():
            self.stop_job_worker(index)
        pid = self._api_pid()
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            _wait_gone(pid)
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
            f"Job workers: {len(self.job_workers())} running",
        ]


def _alive(path: Path) -> int | None:
    """The process id in ``path`` if that process runs."""
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _wait_gone(pid: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"Could not {what}: {done.stderr.strip() or done.stdout.strip()}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stack = Stack(args.dir.expanduser().resolve())
    try:
        if args.command == "up":
            env = stack.up(args.api_workers, args.job_workers, args.port, seed=not args.empty)
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
