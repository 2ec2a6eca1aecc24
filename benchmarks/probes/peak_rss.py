# SPDX-License-Identifier: GPL-3.0-or-later
"""The peak_memory benchmark's process: open the long track, play, retime, maybe style.

    python -m benchmarks.probes.peak_rss PLATFORM_URL plain|styled PLAY_FROM_S

Prints this process's peak resident memory in bytes (the kernel's VmHWM: ``ru_maxrss`` would
carry the parent's peak over ``exec``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.core.style_slot import StyleSlot
from app.engine.output import OutputUnavailableError
from app.studio.session import Studio


def peak_rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


def main() -> None:
    url, variant, play_from_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    studio = Studio(url)
    studio.login("fan", "fanfare-demo")
    track = studio.open_track("long-night")
    try:
        track.seek(play_from_s)
        track.play()
        time.sleep(5)
        track.set_tempo(ratio=1.1)  # retimed stems are made ahead in chunks, not whole
        time.sleep(5)
        if variant == "styled":  # and a violin on the lead, tape on the bass
            track.set_style("lead", StyleSlot.make("timbre.violin", 1))
            track.set_style("bass", StyleSlot.make("character.tape", 1))
            time.sleep(15)  # the violin's whole-stem analysis, then playing styled
        if not track.playing:  # the figure says "playing"
            raise SystemExit("the track stopped playing before the peak was read")
    except OutputUnavailableError:
        pass
    print("underruns", track.underruns, file=sys.stderr)
    track.close()
    studio.close()
    print(peak_rss_bytes(), flush=True)


if __name__ == "__main__":
    main()
