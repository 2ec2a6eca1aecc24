# SPDX-License-Identifier: GPL-3.0-or-later
"""What every benchmark module shares: the table row, the registry ``--only`` names, the
probes (programs under ``benchmarks/probes/`` run in a fresh process) and a temporary home.

How each figure is measured, and what was found with them: benchmarks/README.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    """One row of the table: ``met`` is None where the figure has no target."""

    name: str
    value: float
    unit: str
    target: str
    met: bool | None

    def row(self) -> str:
        met = "n/a" if self.met is None else ("yes" if self.met else "NO")
        value = f"{self.value:,.3g}" if abs(self.value) < 1000 else f"{self.value:,.0f}"
        return f"| {self.name} | {value} | {self.unit} | {self.target} | {met} |"


Benchmark = Callable[[bool], list[Figure]]
#: Every benchmark by name, in the order a whole run prints them (the order of registration).
BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(fn: Benchmark) -> Benchmark:
    """Register ``fn(quick) -> figures`` under its own name (what ``--only`` takes)."""
    BENCHMARKS[fn.__name__] = fn
    return fn


def median(values: Iterable[float], *, at_least: int = 3) -> float:
    """The median of at least ``at_least`` samples: fewer is a benchmark bug, not a figure."""
    values = list(values)
    if len(values) < at_least:
        raise RuntimeError(f"a median of {len(values)} samples (fewer than {at_least})")
    return statistics.median(values)


def isolated_home() -> Path:
    """Point the studio's folders (and secret store) at a fresh temporary home."""
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    home = Path(tempfile.mkdtemp(prefix="fanfare-bench-home-"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(home / name.lower())
    return home


def probe_command(name: str, *args: object) -> list[str]:
    """The command line that runs ``benchmarks/probes/<name>.py`` with this interpreter, as a
    module: run it in ``ROOT`` (``cwd=ROOT``), which then comes first on its ``sys.path``."""
    return [sys.executable, "-m", f"benchmarks.probes.{name}", *map(str, args)]


def run_probe(name: str, *args: object, env: dict[str, str] | None = None) -> str:
    """Run a probe to its end and return the last line it printed (its result)."""
    out = subprocess.run(
        probe_command(name, *args),
        capture_output=True,
        text=True,
        check=False,
        env=env if env is not None else dict(os.environ),
        cwd=ROOT,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"probe {name} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return out.stdout.strip().splitlines()[-1]


def spinner() -> subprocess.Popen[bytes]:
    """A process that spins on a core until killed (the "other core busy" of some figures)."""
    return subprocess.Popen(
        probe_command("spin"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
