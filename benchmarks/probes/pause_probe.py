# SPDX-License-Identifier: GPL-3.0-or-later
"""The machine-pause probe: a 2 ms sleep at SCHED_FIFO 50, which no ordinary thread can delay,
so how far it oversleeps is the machine itself pausing.

    python -m benchmarks.probes.pause_probe SECONDS

Runs for SECONDS or until SIGTERM, then prints a JSON list of ``[monotonic time, ms overslept]``
for each oversleep over 4 ms, or ``null`` when it may not run at real-time priority (then it
measures nothing).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

SLEEP_S = 0.002
REPORTED_OVER_S = 0.004


def main() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    except PermissionError:
        print("null", flush=True)
        return
    pauses: list[list[float]] = []

    def done(*_: object) -> None:
        print(json.dumps(pauses), flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, done)
    end = time.monotonic() + float(sys.argv[1])
    while (start := time.monotonic()) < end:
        time.sleep(SLEEP_S)
        late = time.monotonic() - start - SLEEP_S
        if late > REPORTED_OVER_S:
            pauses.append([round(start, 4), round(late * 1e3, 2)])
    done()


if __name__ == "__main__":
    main()
