# SPDX-License-Identifier: GPL-3.0-or-later
"""The fan's own parts of an open track: recording takes over it, and using them in the remix.

A take is recorded where the playhead is, after a count-in (``studio.recording``), and kept by
the :class:`~app.studio.takes.TakeStore`; a take used in the remix is a recorded part
(``app.core.own_part``): a stem of its own with its strip, trimmed and placed in the music,
replacing one of the track's stems where the artist allows it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.core.own_part import OwnPart
from app.studio.errors import RecordingError
from app.studio.recording import Take, TakeRecording, level_db
from app.studio.takes import TakeStore

if TYPE_CHECKING:
    from app.studio.open_track import OpenTrack


class Recorder:
    """Recording takes over ``track`` and making them parts of its remix (``track.recorder``).

    Args:
        track: the open track.
        store: where takes are kept (the studio's).
    """

    def __init__(self, track: OpenTrack, store: TakeStore) -> None:
        self._track = track
        self.store = store
        #: The takes recorded over this track since it opened, oldest first.
        self.takes: list[Take] = []
        self._take: TakeRecording | None = None  # the take being recorded
        self._loop: tuple[float, float] | None = None  # the loop to restore after it

    def close(self) -> None:
        """Stop a take being recorded, keeping nothing of it."""
        take, self._take = self._take, None
        if take is not None:
            take.capture.stop()

    @property
    def recording(self) -> bool:
        """Whether a take is being recorded."""
        return self._take is not None

    @property
    def input_peak(self) -> float:
        """The input's level while a take is recorded: the last block's peak, linear."""
        take = self._take
        return take.capture.peak if take is not None else 0.0

    def record_take(
        self, device: str | int | None = None, *, channels: int = 1, beats: int | None = None
    ) -> float:
        """Start recording a take where the playhead is: a bar of count-in, then the track
        plays and the input is recorded until :meth:`stop_take`. Returns the count-in's
        length in seconds.

        Raises:
            RecordingError: the artist does not allow covers, the remix is not at the track's
                own tempo, key and order, or a take is being recorded already.
            InputUnavailableError, OutputUnavailableError: a device would not open.
        """
        if self._take is not None:
            raise RecordingError("A take is being recorded already.")
        self._track.licence.check_time(time.time())
        self._track.licence.require("remix")
        if not self._track.policy.own_parts.allowed:
            artist = self._track.info.artist
            raise RecordingError(
                f"{artist} does not allow recording your own parts over this track."
            )
        recipe = self._track.recipe
        if recipe.tempo_ratio != 1.0 or recipe.key_shift != 0 or recipe.arrangement.sections:
            raise RecordingError(
                "Takes are recorded over the track as written: set the tempo to 100 %, the key "
                "to 0 and the sections back to their order first. Your take then follows every "
                "change, like the other stems."
            )
        self._track.pause()
        # A take is one pass over the track: a loop would play the count-in's music again.
        self._loop = self._track.loop
        self._track.set_loop(None)
        start = min(self._track.player.position_frames, self._track.info.frames - 1)
        clock_error = self.store.clock_error
        take = TakeRecording(
            self._track.info, start, device=device, channels=channels, clock_error=clock_error,
            beats=beats,
        )  # fmt: skip
        take.start()
        try:
            self._track.player.play(count_in=take.clicks)
        except Exception:
            take.capture.stop()
            raise
        self._take = take
        return take.count_in_s

    def stop_take(self) -> Take:
        """Stop recording: the take is placed on the beat, kept, and added to :attr:`takes`
        (use it with :meth:`use_take`). Raises RecordingError when nothing usable came in."""
        take, self._take = self._take, None
        if take is None:
            raise RecordingError("No take is being recorded.")
        count_in_time = self._track.player.count_in_time
        self._track.pause()
        loop, self._loop = self._loop, None
        try:
            audio, alignment = take.finish(count_in_time)
        finally:
            self._track.seek(take.start_frame / self._track.info.sample_rate)
            if loop is not None:
                self._track.set_loop(loop)
        takes = self.store
        if alignment.clock_error is not None:
            takes.clock_error = alignment.clock_error  # for takes that do not hear theirs
        digest = takes.keep(audio, self._track.info.sample_rate)
        kept = Take(
            digest=digest,
            frames=audio.shape[0],
            channels=audio.shape[1],
            sample_rate=self._track.info.sample_rate,
            at_frame=take.start_frame,
            aligned_by=alignment.aligned_by,
            clock_error_ms=(
                None
                if alignment.clock_error is None
                else alignment.clock_error * 1000.0 / self._track.info.sample_rate
            ),
            peak_db=level_db(audio),
            clipped=take.capture.clipped > 0,
            number=len(self.takes) + 1,
        )
        self.takes.append(kept)
        return kept

    def use_take(
        self, take: Take, *, name: str | None = None, role: str = "vocal",
        replaces: str | None = None,
    ) -> str:  # fmt: skip
        """Make ``take`` a recorded part of the remix (one undo step): a stem of its own,
        named ``name`` (or "my-vocal", "my-instrument"), replacing the track's stem
        ``replaces`` (muted) if given. A part of that name takes the new take and keeps its
        strip: choosing another take. Returns the part's stem name.

        Raises:
            PolicyDenied: the artist does not allow it (covers, or replacing that stem).
            RecipeError: the name is taken by a stem of the track, or the take does not fit.
        """
        if name is None:
            base = f"my-{role}"
            name, n = base, 1
            while name in self._track.recipe.stems and name not in self._track.recipe.parts:
                n += 1
                name = f"{base}-{n}"
        part = OwnPart(role, take.digest, 0, take.frames, take.at_frame, replaces)
        part.check()
        recipe = self._track.recipe.with_part(name, part)
        if replaces is not None:
            recipe = recipe.with_stem(replaces, mute=True)
        self._track.apply(recipe, edit=("part", name))
        return name

    def trim_part(self, name: str, start_s: float, end_s: float) -> None:
        """Keep seconds ``[start_s, end_s)`` of the part's take (from the take's start): the
        kept piece stays where it was in the music (one undo step per drag)."""
        part = self._track.recipe.parts[name]
        take_frames = self.store.audio(part.take).shape[0]
        rate = self._track.info.sample_rate
        first = max(0, min(round(start_s * rate), take_frames - 1))
        last = max(first + 1, min(round(end_s * rate), take_frames))
        at = part.at_frame - part.offset + first  # where take frame 0 sits, plus the trim
        if at < 0:
            first, at = first - at, 0
        trimmed = OwnPart(part.role, part.take, first, last - first, at, part.replaces)
        self._track.apply(self._track.recipe.with_part(name, trimmed), edit=(name, "trim"))

    def remove_part(self, name: str) -> None:
        """Take the part ``name`` out of the remix (its takes stay in :attr:`takes`); a stem
        it replaced is heard again."""
        part = self._track.recipe.parts[name]
        recipe = self._track.recipe.with_part(name, None)
        if part.replaces is not None:
            recipe = recipe.with_stem(part.replaces, mute=False)
        self._track.apply(recipe, edit=("part", name))
