# SPDX-License-Identifier: GPL-3.0-or-later
"""Fanfare's benchmarks: prints a Markdown table ``figure | value | unit | target | met``.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]

Each figure is the median of several runs and, where a peer exists, is compared with it in the
same run (this machine is shared and noisy: ratios travel, absolute numbers less so). The
figures live by area: decryption, serving (the platform), garden (published remixes), engine,
styles, studio and machine; the programs some run in a fresh process are in probes/. How each
figure is measured, and what the figures have shown: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, Python puts this folder first on the path: put the repository there instead,
# so that `benchmarks.*` and `app` import as packages and no module here shadows another.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

AREAS = (
    "decryption", "serving", "load", "garden", "credentials", "fingerprints", "watermark", "engine",
    "publishing", "styles", "studio", "projects", "machine",
)  # fmt: skip
# The order a whole run prints them in: quick and self-contained first, the long soaks last.
ORDER = (
    "decrypt", "licence_issue", "ingest_verify", "artist_upload", "stack_licences",
    "verify_scaling", "platform_load", "garden_feed", "garden_plays",
    "credentials_cost", "fingerprint_speed", "fingerprint_lookup", "fingerprint_robustness",
    "watermark_costs", "watermark_serving", "watermark_robustness",
    "render_speed", "publish_speed", "feeder_block_time", "control_latency", "midi_latency",
    "record_latency", "style_speed",
    "style_playback",
    "project_io", "timeline_overview", "app_start", "first_audio", "garden_listen",
    "peak_memory", "soak", "device_floor",
)  # fmt: skip


def registered() -> dict[str, Callable[[bool], list[Any]]]:
    """Every benchmark by the name ``--only`` takes, in ``ORDER``."""
    for area in AREAS:
        importlib.import_module(f"benchmarks.{area}")
    found = importlib.import_module("benchmarks.table").BENCHMARKS
    if set(found) != set(ORDER):
        raise RuntimeError(f"ORDER and the registered benchmarks differ: {sorted(found)}")
    return {name: found[name] for name in ORDER}


def main() -> int:
    benchmarks = registered()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--only", nargs="*", choices=sorted(benchmarks), help="run only these")
    args = parser.parse_args()
    print("| figure | value | unit | target | met |")
    print("|---|---|---|---|---|")
    failed = []
    for name in args.only or benchmarks:
        try:
            figures = benchmarks[name](args.quick)
        except Exception as exc:  # one benchmark's failure is a row, and the others still run
            traceback.print_exc()
            failed.append(name)
            print(f"| {name} FAILED: {type(exc).__name__}: {exc} |  |  |  | NO |", flush=True)
            continue
        for figure in figures:
            print(figure.row(), flush=True)
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
