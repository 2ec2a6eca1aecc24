# SPDX-License-Identifier: GPL-3.0-or-later
"""Sound switching: what the stems sound like under one tempo, key and set of styles (a
*sound*), and the change from one sound to the next while playing.

A change to the tempo, the key or a stem's style makes a new sound: new sources (Rubber Band's
stretched chunks, a style model's chunks) that take time to make. The new sound is made ahead
on the prefetch threads, from where playback will be once its first pieces are made, while the
old one plays on; the feeder switches over once it is ready (see ``Mixer.switch_ready``). Any
other change (faders, effects, arrangement, automation) is a new mix of the same sound.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from app.core.recipe import MasterMix, Recipe, StemMix, styles_of
from app.core.style_slot import StyleSlot
from app.core.track import TrackInfo
from app.engine import timeline as timelines
from app.engine.chunk_store import ChunkStore
from app.engine.prefetch import Prefetcher
from app.engine.sources import ChunkedSource, frames_of
from app.engine.stretched import STRETCH_CHUNK_FRAMES, StretchedSource
from app.engine.styled import StyledSource, StyledSources
from app.engine.timeline import Timeline

PREFETCH_AHEAD_S = 3.0
SWITCH_MARGIN = 1.5  # how much longer than expected making a new sound may take
# How far playback may pass the point a change is made from and still switch to it (inside its
# bridges, which span at least 0.375 s: the rest of the bridge is time to make the grid after it).
SWITCH_SLACK_FRAMES = 6_000  # 0.125 s at 48 kHz
SWITCH_READY_BLOCKS = 4  # a new sound is switched to once this much past the playhead is made

#: One mix the automation passes through: (from output frame, stems' settings, master's).
State = tuple[int, dict[str, StemMix], MasterMix]


def sound_key(recipe: Recipe) -> tuple[Any, ...]:
    """What makes the stems' sources: tempo, key and each stem's style. A change to it is made
    ahead and switched to; any other change is a new mix of the same sources."""
    styles = tuple(
        (name, slot.ref, slot.knobs, slot.mix, slot.octave)
        for name, slot in sorted(styles_of(recipe).items())
    )
    return (recipe.tempo_ratio, recipe.key_shift, styles)


@dataclass
class Sound:
    """The stems under one tempo, key and set of styles: their sources, the arranged timeline
    laid on them, the automation's mixes (*states*), and the prefetcher making them ahead.

    Attributes:
        stems: the sources, in the mixer's stem order (arrays, or chunked sources).
        frames: the remix's length in output frames (arranged); source_frames: the stems'.
        timeline: the arrangement on the stems; None when the sections play as written.
        track: the track's sections on this sound's timeline (retimed); None when unknown.
        prefetcher: made on first use (only playback needs one).
    """

    recipe: Recipe
    stems: list[Any]
    frames: int
    source_frames: int
    timeline: Timeline | None
    track: TrackInfo | None
    states: list[State]
    prefetcher: Prefetcher | None
    state_frames: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.state_frames = [frame for frame, _, _ in self.states]

    @property
    def key(self) -> tuple[Any, ...]:
        return sound_key(self.recipe)

    def state_index(self, frame: int) -> int:
        """The index of the automation's mix at output ``frame``."""
        if len(self.state_frames) == 1:
            return 0
        return max(0, bisect.bisect_right(self.state_frames, frame) - 1)

    def mix_at(self, frame: int) -> tuple[dict[str, StemMix], MasterMix]:
        """The stems' and master's settings at output ``frame`` (after automation)."""
        _, stems, master = self.states[self.state_index(frame)]
        return stems, master

    def close(self, *, wait: bool = False) -> None:
        if self.prefetcher is not None:
            self.prefetcher.close(wait=wait)

    @property
    def busy(self) -> bool:
        """Whether a prefetch thread of this sound may still be running."""
        return self.prefetcher is not None and self.prefetcher.running


class Sounds:
    """The sound playing (``current``) and the one being made to switch to (``pending``).

    The mixer swaps them under its own lock (:meth:`take`, :meth:`switch_over`); everything
    else here runs outside it.

    Args:
        names: the stems, in order; raw: their sources as written, (frames, 2) float32 each.
        track: the track's metadata (sections); needed to arrange or retime it.
        styled: where the stems' styled sources are kept.
        store: where retimed and transposed chunks are kept once made (with ``track``: the
            keys name its id and version).
    """

    def __init__(
        self,
        names: list[str],
        raw: list[Any],
        sample_rate: int,
        block_frames: int,
        track: TrackInfo | None,
        styled: StyledSources,
        recipe: Recipe,
        *,
        store: ChunkStore | None = None,
    ) -> None:
        self.names = names
        self._raw = raw
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.track = track
        self.styled = styled
        self.store = store if track is not None else None
        self.current = self.make(recipe)
        self.pending: Sound | None = None
        self._retired: list[Sound] = []  # switched away from; their threads may still run

    # --- making sounds ------------------------------------------------------------------------

    def make(self, recipe: Recipe) -> Sound:
        """A new sound for ``recipe``'s tempo, key and styles (its sources are made lazily)."""
        ratio, key = recipe.tempo_ratio, recipe.key_shift
        styles = styles_of(recipe)
        sources = [
            self.styled.source(name, raw, styles[name]) if name in styles else raw
            for name, raw in zip(self.names, self._raw, strict=True)
        ]
        if (ratio, key) == (1.0, 0):
            stems: list[Any] = sources
            track = self.track
        else:
            stems = [
                StretchedSource(
                    source,
                    self.sample_rate,
                    ratio,
                    key,
                    formants=name == "vocal",
                    store=self.store,
                    identity=self._identity(name, styles.get(name)),
                )
                for name, source in zip(self.names, sources, strict=True)
            ]
            track = (
                timelines.retimed(self.track, ratio, frames_of(stems[0])) if self.track else None
            )
        source_frames = max(frames_of(s) for s in stems)
        timeline = _arranged(recipe, track)
        _set_heard(stems, timeline)
        return Sound(
            recipe=recipe,
            stems=stems,
            frames=timeline.frames if timeline else source_frames,
            source_frames=source_frames,
            timeline=timeline,
            track=track,
            states=recipe.states(),
            prefetcher=None,
        )

    def _identity(self, name: str, style: StyleSlot | None) -> Hashable | None:
        """What stem ``name``'s source is, for the store's keys: the track version, the stem
        and its style (None without a track)."""
        if self.track is None:
            return None
        return (self.track.id, self.track.version, name, style)

    def restate(self, recipe: Recipe, sound: Sound | None = None) -> Sound:
        """The current (or given) sound with ``recipe``'s arrangement and automation."""
        sound = sound or self.current
        timeline = sound.timeline
        if recipe.arrangement != sound.recipe.arrangement:
            timeline = _arranged(recipe, sound.track)
            _set_heard(sound.stems, timeline)
        return replace(
            sound,
            recipe=recipe,
            timeline=timeline,
            frames=timeline.frames if timeline else sound.source_frames,
            states=recipe.states(),
        )

    def prepare(self, recipe: Recipe, frame: int) -> tuple[Sound, bool]:
        """The sound ``recipe`` plays with, playback being at output ``frame``: (sound, whether
        it is a new one to switch to). A new one is aimed at where playback will be once its
        first pieces are made; a waiting one of the same key is reused."""
        if sound_key(recipe) == self.current.key:
            return self.restate(recipe), False
        pending = self.pending
        if pending is not None and pending.key == sound_key(recipe):
            return self.restate(recipe, pending), True
        sound = self.make(recipe)
        self.aim(sound, self.map_frame(frame + self.switch_lead(sound), sound))
        return sound, True

    def take(self, sound: Sound, *, new: bool) -> None:
        """Play ``sound`` from the next block (``new``: once it is made and switched to).
        The caller holds the mixer's lock."""
        if new:
            old, self.pending = self.pending, sound
            if old is not None and old is not sound:
                self.retire(old)
            return
        old, self.pending = self.pending, None
        if old is not None:
            self.retire(old)
        self.current = sound

    def retire(self, sound: Sound) -> None:
        """Stop ``sound``'s prefetch threads without waiting (the caller may hold the
        mixer's lock); :meth:`close` waits for the chunk each may still be making."""
        sound.close()
        self._retired = [s for s in self._retired if s.busy] + [sound]

    def switch_over(self) -> Sound | None:
        """Make the waiting sound the current one; returns the old current one to close (None
        when nothing was waiting). The caller holds the mixer's lock."""
        pending = self.pending
        if pending is None:
            return None
        old, self.current, self.pending = self.current, pending, None
        return old

    # --- where playback is --------------------------------------------------------------------

    def section_at(self, frame: int) -> tuple[int, int]:
        """The output frames ``[start, end)`` of the section (or arranged segment) at output
        ``frame`` of the current sound."""
        sound = self.current
        return timelines.section_at(
            sound.timeline, self.track, sound.recipe.tempo_ratio, sound.frames, frame
        )

    def source_position(self, frame: int) -> int:
        """The frame of the track as written heard at output ``frame`` of the current sound."""
        sound = self.current
        return timelines.source_position(sound.timeline, sound.recipe.tempo_ratio, frame)

    def map_frame(self, frame: int, sound: Sound) -> int:
        """Output ``frame`` of the current sound → the same moment in ``sound``."""
        scale = self.current.recipe.tempo_ratio / sound.recipe.tempo_ratio
        return max(0, min(round(frame * scale), sound.frames))

    def follow(self, frame: int, loop: tuple[int, int] | None = None) -> None:
        """Playback is at ``frame``: keep the sources made ahead of it (render thread), and
        with ``loop`` (start, end) the start of the loop made before playback jumps there."""
        current, pending = self.current, self.pending
        if pending is None:
            self._prefetch(current, frame, loop)
            return
        # A change is waiting: the current sound is made only as far as the switch needs (the
        # cores go to the new sound), and the new one from where playback will be once it is
        # made, kept there unless playback passes it by more than the slack (then aimed further
        # on: all that work is lost, so the switch may come a little past where it was aimed).
        lead = self.switch_lead(pending)
        self._prefetch(current, frame, loop, ahead=lead + STRETCH_CHUNK_FRAMES)
        here = self.map_frame(frame, pending)
        if pending.prefetcher is None or here >= pending.prefetcher.position + SWITCH_SLACK_FRAMES:
            self.aim(pending, self.map_frame(frame + lead, pending))

    def aim(self, sound: Sound, frame: int) -> None:
        """Have the waiting ``sound`` made from ``frame`` on, where playback will switch to it:
        its stretched stems start there with a bridge (quicker to make than a chunk)."""
        for stem in sound.stems:
            if isinstance(stem, StretchedSource):
                stem.bridge_from(frame)
        self._prefetch(sound, frame)

    def switch_lead(self, sound: Sound) -> int:
        """Frames playback moves on while the waiting ``sound``'s first pieces are made (two
        threads each making half the stems': bridges for a new tempo/key, style chunks), with
        a margin: they are made from there, so the playhead meets them just as they are done
        rather than having passed them."""
        rounds = -(-len(self.names) // 2)
        stretched = any(isinstance(stem, StretchedSource) for stem in sound.stems)
        per_stem = (StretchedSource.recent_bridge_s if stretched else 0.0) + (
            StyledSource.recent_make_s if self.styled else 0.0
        )
        seconds = SWITCH_MARGIN * rounds * per_stem
        return round(seconds * self.sample_rate) + self.block_frames

    def warm(self, frame: int) -> None:
        """Playback may start at ``frame`` (the transport stopped there): have the chunks
        there made now, in the background, so that Play reads them from the chunk grid at
        once. Only as far as the first chunk: the rest is made once playing."""
        self._prefetch(self.current, frame, ahead=STRETCH_CHUNK_FRAMES)

    def wait_made(self, frame: int, frames: int, timeout_s: float = 2.0) -> bool:
        """Wait (sleeping) until ``[frame, frame + frames)`` of the current sound is made by
        the prefetch threads, or ``timeout_s`` passes; returns whether it is made."""
        prefetcher = self.current.prefetcher
        if prefetcher is None:
            return True
        deadline = time.monotonic() + timeout_s
        while not prefetcher.is_made(frame, frames):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    # --- the waiting change ---------------------------------------------------------------------

    @property
    def retimes(self) -> bool:
        """Whether the waiting change is a new tempo or key (it must be switched to before
        playing resumes, to map the position), not only new styles (which may play on the old
        sound until they are made: a timbre model's first analysis takes seconds)."""
        pending = self.pending
        return pending is not None and pending.key[:2] != self.current.key[:2]

    def pending_made(self, frame: int) -> bool:
        """Whether a change is waiting and its sound is made at output ``frame``."""
        pending = self.pending
        if pending is None:
            return False
        if pending.prefetcher is None:
            return not any(isinstance(s, ChunkedSource) for s in pending.stems)
        return pending.prefetcher.is_made(
            self.map_frame(frame, pending), SWITCH_READY_BLOCKS * self.block_frames
        )

    def close(self) -> None:
        """Stop the prefetch threads, waiting for a chunk being made to be done (a style
        model's analysis in progress is cancelled at its next read of the stem): those of
        sounds switched away from too, which may still be reading the stems' files."""
        self.styled.cancel()
        for sound in (self.current, self.pending, *self._retired):
            if sound is not None:
                sound.close(wait=True)
        self._retired = []

    def _prefetch(
        self,
        sound: Sound,
        frame: int,
        loop: tuple[int, int] | None = None,
        *,
        ahead: int | None = None,
    ) -> None:
        """Have ``sound``'s chunked sources made ahead of ``frame`` (started on first use:
        only playback needs it; a render makes chunks as it reads them)."""
        if sound.prefetcher is None:
            chunked = [s for s in sound.stems if isinstance(s, ChunkedSource)]
            if not chunked:
                return
            ahead_frames = round(PREFETCH_AHEAD_S * self.sample_rate)
            sound.prefetcher = Prefetcher(chunked, ahead_frames, frame)
        sound.prefetcher.follow(frame, loop, ahead=ahead)


def _set_heard(stems: list[Any], timeline: Timeline | None) -> None:
    """Tell each stretched stem which of its chunks ``timeline`` reads."""
    for stem in stems:
        if isinstance(stem, StretchedSource):
            stem.heard = heard_chunks(timeline, stem.chunk_frames, stem.chunks)


def heard_chunks(timeline: Timeline | None, chunk_frames: int, chunks: int) -> tuple[int, ...]:
    """The chunks of a source on a ``chunk_frames`` grid that ``timeline`` reads, in the order
    it plays them: each section's span, its join's crossfade past the end, and the chunk
    before each span (the seam into it). Every chunk without an arrangement."""
    if timeline is None:
        return tuple(range(chunks))
    order: dict[int, None] = {}  # an ordered set
    for segment in timeline.segments:
        end = segment.end + timeline.crossfade
        for index in range(max(0, segment.start // chunk_frames - 1),
                           min(chunks, -(-end // chunk_frames))):  # fmt: skip
            order.setdefault(index, None)
    return tuple(order)


def _arranged(recipe: Recipe, track: TrackInfo | None) -> Timeline | None:
    """``recipe``'s arrangement laid on ``track``'s (retimed) sections; None as written."""
    if recipe.arrangement.is_default:
        return None
    if track is None:
        raise ValueError("an arranged recipe needs the track's sections")
    return Timeline(recipe.arrangement, track)
