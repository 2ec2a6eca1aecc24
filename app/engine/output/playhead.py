# SPDX-License-Identifier: GPL-3.0-or-later
"""The playhead map: which track frame the device is playing, across loops and switches."""

from __future__ import annotations

import bisect


class PlayheadMap:
    """Maps the frames the device has consumed back to track frames.

    Each block written to the ring is marked with (frames written since play, its track
    frame); a block may jump (a loop, a tempo switch), so the map keeps the marks rather than
    one offset.
    """

    def __init__(self) -> None:
        self.pushed = 0  # frames written to the ring since play
        self._marks: list[tuple[int, int]] = []
        self._base = 0  # ``pushed`` when the device's current action started

    def restart(self) -> None:
        """A new ring: nothing written yet."""
        self.pushed = 0
        self._marks = []

    def wrote(self, track_frame: int, frames: int) -> None:
        """A block of ``frames`` from ``track_frame`` was written to the ring."""
        self._marks.append((self.pushed, track_frame))
        self.pushed += frames

    def action_started(self, queued: int) -> None:
        """The device's action was (re)queued with ``queued`` frames already in the ring."""
        self._base = self.pushed - queued

    def track_frame(self, done_frames: int, before: int) -> int:
        """The track frame the device plays after consuming ``done_frames`` of its action;
        ``before`` when nothing written is played yet."""
        pushed = self._base + done_frames
        marks = self._marks
        index = bisect.bisect_right(marks, pushed, key=lambda m: m[0]) - 1
        if index < 0:
            return before
        first, track_frame = marks[index]
        if index > 64:  # forget what has long been played
            del marks[: index - 1]
        return track_frame + (pushed - first)
