# SPDX-License-Identifier: GPL-3.0-or-later
"""The style_speed benchmark's process: one style model on one core, making a styled stem
chunk by chunk as the render-ahead threads do.

    python -m benchmarks.probes.style_one_core PACKAGE_DIR STEM SECONDS

Prints ``{"prepare_s", "render_s", "latency"}``: the whole-stem analysis, making every chunk
(seconds), and the model's latency as its manifest declares it (seconds).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    from app.engine.styled import StyledSource
    from app.styles.package import StylePackage
    from benchmarks.styles import demo_stem

    package = StylePackage.from_dir(Path(sys.argv[1]))
    stem = demo_stem(sys.argv[2], float(sys.argv[3]))
    package.self_test()  # warms the session up too
    processor = package.processor({}, 48_000)
    source = StyledSource(stem, processor, 1.0, ("bench",))
    started = time.perf_counter()
    source.prepare()
    prepare_s = time.perf_counter() - started
    started = time.perf_counter()
    for index in range(source.chunks):
        source.chunk(index)
    render_s = time.perf_counter() - started
    manifest = package.manifest
    latency = manifest.latency_samples / manifest.sample_rate
    print(json.dumps({"prepare_s": prepare_s, "render_s": render_s, "latency": latency}))


if __name__ == "__main__":
    main()
