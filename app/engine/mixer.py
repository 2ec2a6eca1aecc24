# SPDX-License-Identifier: GPL-3.0-or-later
"""The mixer: stems → per-stem effects, gain, pan, mute, solo → sum → master effects, gain →
limiter.

One processing path serves real-time playback and offline render: both call
:meth:`Mixer.render` on consecutive blocks of ``block_frames`` frames, so a render equals what
was heard. The master limiter here is a block-wise peak limiter; the true-peak limiter and
loudness normalisation of a published derivative are in ``app.engine.loudness``. Buffers are
float32 of shape (frames, 2). Parameter changes take effect at the next block boundary and are
ramped linearly across that block, so a fader never clicks.

Blocks lie on a fixed grid of ``BLOCK_FRAMES`` output frames (a block after a seek may be
shorter, to get back onto it); the recipe's automation moves fall on the same grid, so a move
takes effect at the same block in playback and in a render.

Tempo and key: the stems are read through :class:`~app.engine.sources.StretchedSource`; the
arrangement and the automation are laid on the stretched timeline. A tempo or key change made
while playing is made ahead on the prefetcher's threads while the old sound plays on; the
player switches over (:meth:`Mixer.switch_ready`, :meth:`Mixer.switch`) once the new sound's
first chunk is ready.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.core.automation import GRID_FRAMES, make_move
from app.core.errors import StyleModelError
from app.core.recipe import GAIN_DB_MIN, MasterMix, Recipe, StemMix, styles_of
from app.core.style_slot import StyleSlot
from app.core.track import Section, TrackInfo
from app.engine.effects import Chain
from app.engine.rooms import Room, Rooms
from app.engine.sources import (
    STRETCH_CHUNK_FRAMES,
    ChunkedSource,
    Prefetcher,
    StretchedSource,
    frames_of,
)
from app.engine.styled import StyledSource
from app.engine.timeline import Timeline
from app.styles.package import StylePackage

BLOCK_FRAMES = GRID_FRAMES
PREFETCH_AHEAD_S = 3.0
SWITCH_MARGIN = 1.5  # how much longer than expected making a new sound may take
# How far playback may pass the point a change is made from and still switch to it (inside its
# bridges, which span at least 0.375 s: the rest of the bridge is time to make the grid after it).
SWITCH_SLACK_FRAMES = 6_000  # 0.125 s at 48 kHz
SWITCH_READY_BLOCKS = 4  # a new sound is switched to once this much past the playhead is made
CHANNELS = 2
LIMITER_RELEASE_S = 0.1


def db_to_gain(gain_db: float) -> float:
    """Linear gain of ``gain_db`` decibels; the fader floor (-60 dB) is silence."""
    return 0.0 if gain_db <= GAIN_DB_MIN else float(10.0 ** (gain_db / 20.0))


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power stereo balance: centre is unity on both sides, hard right silences left."""
    left = float(np.cos(max(pan, 0.0) * np.pi / 2))
    right = float(np.cos(max(-pan, 0.0) * np.pi / 2))
    return left, right


def channel_gains(stems: dict[str, StemMix], names: list[str]) -> np.ndarray:
    """Per-stem (left, right) linear gains of one mix: shape (stems, 2), float32."""
    any_solo = any(stems[n].solo for n in names)
    gains = np.zeros((len(names), CHANNELS), dtype=np.float32)
    for i, name in enumerate(names):
        mix = stems[name]
        if mix.mute or (any_solo and not mix.solo):
            continue
        gains[i] = np.asarray(pan_gains(mix.pan), dtype=np.float32) * db_to_gain(mix.gain_db)
    return gains


def strip_gains(
    stems: dict[str, StemMix], names: list[str]
) -> tuple[np.ndarray, np.ndarray, tuple[float | None, ...]]:
    """What each strip sends where in one mix: (dry gains, reverb send gains, room sizes).

    The gains are (left, right) per stem, shape (stems, 2), float32: the fader and pan times
    ``1 - mix`` for the stem itself and times ``mix`` for its send to the room of its reverb's
    size (see ``app.engine.rooms``). A room size is None for a stem without reverb.
    """
    gains = channel_gains(stems, names)
    mixes = np.array([stems[n].fx.reverb.mix for n in names], dtype=np.float32)[:, None]
    sizes = tuple(
        stems[n].fx.reverb.room_size if stems[n].fx.reverb.active else None for n in names
    )
    return gains * (np.float32(1.0) - mixes), gains * mixes, sizes


def _ramped(
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    ramp: np.ndarray | None,
    gains: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out = x × (lo + (hi − lo) × ramp)`` for several stems at once, in float32: the
    element-wise steps of a fader ramped across a block (offline._Piece does the same ones).

    Args:
        x: channel-major audio, (stems, 1 or 2, frames); lo, hi: each stem's (left, right)
            gains at the block's start and end, (stems, 2); ramp: 0 → 1 over the block,
            (frames,), or None when no gain moves (lo + 0 × ramp is lo, exactly); gains,
            out: work buffers of shape (stems, 2, frames) (``gains`` is overwritten).
    """
    lo, hi = lo[:, :, None], hi[:, :, None]
    if ramp is None:
        np.multiply(x, hi, out=out)
        return
    np.multiply(hi - lo, ramp, out=gains)
    np.add(gains, lo, out=gains)
    np.multiply(x, gains, out=out)


class _GroupWork:
    """One stem group's work buffers for a block, float32, made once (the feeder allocates
    little per block). Channel-major, so that NumPy's inner loops run along the frames: the
    stems after their effects, their gains and the scaled stems, each (stems, 2,
    block_frames); their mono sums (stems, 1, block_frames); and the group's sum
    (block_frames, 2)."""

    def __init__(self, stems: int, frames: int) -> None:
        self.pieces = np.zeros((stems, CHANNELS, frames), dtype=np.float32)
        self.gains = np.empty_like(self.pieces)
        self.scaled = np.empty_like(self.pieces)
        self.mono = np.empty((stems, 1, frames), dtype=np.float32)
        self.partial = np.empty((frames, CHANNELS), dtype=np.float32)


@dataclass(frozen=True)
class BlockSettings:
    """The settings one block is rendered with (taken once, used by both stem groups)."""

    target: np.ndarray
    current: np.ndarray
    master_target: float
    master_current: float
    timeline: Timeline | None
    #: Reverb send gains, (stems, 2), ramped across the block like the faders.
    send_target: np.ndarray
    send_current: np.ndarray
    #: The rooms the sends go to, and each stem's index into them (-1: no reverb).
    rooms: list[Room]
    room_of: list[int]

    #: Whether each stem is heard in this block, directly or through its send.
    heard: list[bool]

    @property
    def steady(self) -> bool:
        """Whether no gain moves in this block (the usual case: a change ramps over one)."""
        return self.current is self.target and self.send_current is self.send_target


def sound_key(recipe: Recipe) -> tuple[Any, ...]:
    """What makes the stems' sources: tempo, key and each stem's style. A change to it is made
    ahead and switched to; any other change is a new mix of the same sources."""
    styles = tuple(
        (name, slot.ref, slot.knobs, slot.mix, slot.octave)
        for name, slot in sorted(styles_of(recipe).items())
    )
    return (recipe.tempo_ratio, recipe.key_shift, styles)


@dataclass
class _Sound:
    """What the stems sound like under one tempo and key: the sources, the arranged timeline
    laid on them, the automation's mixes, and the prefetcher making the sources ahead."""

    recipe: Recipe
    stems: list[Any]
    frames: int
    source_frames: int
    timeline: Timeline | None
    states: list[tuple[int, dict[str, StemMix], MasterMix]]
    prefetcher: Prefetcher | None
    state_frames: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.state_frames = [frame for frame, _, _ in self.states]

    @property
    def key(self) -> tuple[Any, ...]:
        return sound_key(self.recipe)

    def close(self, *, wait: bool = False) -> None:
        if self.prefetcher is not None:
            self.prefetcher.close(wait=wait)


class Mixer:
    """Mixes a track's stems under a recipe, block by block.

    Args:
        stems: stem kind → float32 (frames, 2) audio, all at ``sample_rate`` and equally long
            (a shorter stem is treated as silent past its end).
        recipe: the initial settings; change them with :meth:`set_recipe`.
        block_frames: frames per render block.
        track: the track's metadata (sections); needed to arrange or retime it.
        styles: the verified style-model package for a model ``id@version`` (raises
            StyleModelError when it has none); needed to play a recipe with styles.
    """

    def __init__(
        self,
        stems: dict[str, Any],
        sample_rate: int,
        recipe: Recipe,
        *,
        block_frames: int = BLOCK_FRAMES,
        track: TrackInfo | None = None,
        styles: Callable[[str], StylePackage] | None = None,
    ) -> None:
        self.names = list(recipe.stems)
        self._styles = styles
        self._styled: dict[str, StyledSource] = {}  # the latest styled source of each stem
        self.track = track
        missing = [n for n in self.names if n not in stems]
        if missing:
            raise ValueError(f"no audio for stems {missing}")
        if GRID_FRAMES % block_frames:
            raise ValueError(f"the block size must divide {GRID_FRAMES} frames")
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self._raw = [stems[n] for n in self.names]
        self._raw_frames = max(frames_of(s) for s in self._raw)
        self._lock = threading.Lock()
        self._sound = self._make_sound(recipe)
        self._pending: _Sound | None = None
        self._recipe = recipe
        self._state = -1  # index of the automation mix the last block used
        self._dirty = True  # the recipe changed: recompute targets at the next block
        self._next_frame = 0  # the output frame the next block starts at
        self._target = np.zeros((len(self.names), CHANNELS), dtype=np.float32)
        self._current = self._target
        self._master_target = 1.0
        self._master_current = 1.0
        self._ceiling_db = recipe.master.limiter_ceiling_db
        self._limiter_gain = 1.0
        self.chains = [Chain(recipe.stems[n].fx, sample_rate) for n in self.names]
        self.master_chain = Chain(recipe.master.fx, sample_rate)
        self.rooms = Rooms(sample_rate)
        self._send_target = self._send_current = self._target
        self._room_of: list[int] = []
        self._heard_for: tuple[np.ndarray, ...] | None = None  # the gains _heard_list is of
        self._heard_list: list[bool] = []
        self._sends = [np.zeros((0, block_frames, CHANNELS), dtype=np.float32) for _ in range(2)]
        self._settle(0)
        self._silent = [False] * len(self.names)
        # Per-block release toward unity with a 100 ms time constant.
        self._release = 1.0 - float(np.exp(-block_frames / (LIMITER_RELEASE_S * sample_rate)))
        # Preallocated work buffers for the per-stem loop (the effects and the master stages
        # still allocate small arrays per block: measured p99 under 1 ms of a 10.7 ms block).
        self._ramp = np.linspace(0.0, 1.0, block_frames, endpoint=False, dtype=np.float32)[:, None]
        # Two stem groups (see render_group), each with its own work buffers.
        self.groups = (0, 1)
        half = (len(self.names) + 1) // 2
        self.members = (range(0, half), range(half, len(self.names)))
        self._work = [_GroupWork(len(m), block_frames) for m in self.members]
        #: Peak level of each stem (after its fader) and of the master, updated every block;
        #: read by meters from another thread. Shape (stems + 1,), linear.
        self.peaks = np.zeros(len(self.names) + 1, dtype=np.float32)

    # --- what is playing ------------------------------------------------------------------------

    @property
    def recipe(self) -> Recipe:
        """The latest recipe (a tempo or key change in it may still be on its way)."""
        return self._recipe

    @property
    def frames(self) -> int:
        """The remix's length in output frames, as it sounds now."""
        return self._sound.frames

    @property
    def source_frames(self) -> int:
        return self._sound.source_frames

    @property
    def stems(self) -> list[Any]:
        """The sources the stems are read from now (arrays, or stretched sources)."""
        return self._sound.stems

    @property
    def states(self) -> list[tuple[int, dict[str, StemMix], MasterMix]]:
        """The mixes the automation passes through: (from output frame, stems, master)."""
        return self._sound.states

    @property
    def timeline(self) -> Timeline | None:
        """The arranged timeline, or None when the sections play as written."""
        return self._sound.timeline

    @property
    def ramp(self) -> np.ndarray:
        """0 → 1 over one block, float32 (block_frames, 1): how a change is ramped in."""
        return self._ramp

    @property
    def limiter_release(self) -> float:
        """The limiter's per-block step back toward unity gain (fraction of the distance)."""
        return self._release

    @property
    def next_frame(self) -> int:
        """The output frame the next block will start at."""
        return self._next_frame

    def _make_sound(self, recipe: Recipe) -> _Sound:
        ratio, key = recipe.tempo_ratio, recipe.key_shift
        styles = styles_of(recipe)
        sources = [
            self._styled_source(name, raw, styles[name]) if name in styles else raw
            for name, raw in zip(self.names, self._raw, strict=True)
        ]
        if (ratio, key) == (1.0, 0):
            stems: list[Any] = sources
            track = self.track
        else:
            stems = [
                StretchedSource(source, self.sample_rate, ratio, key, formants=name == "vocal")
                for name, source in zip(self.names, sources, strict=True)
            ]
            track = _retimed(self.track, ratio, frames_of(stems[0])) if self.track else None
        source_frames = max(frames_of(s) for s in stems)
        timeline = None
        if not recipe.arrangement.is_default:
            if track is None:
                raise ValueError("an arranged recipe needs the track's sections")
            timeline = Timeline(recipe.arrangement, track)
        return _Sound(
            recipe=recipe,
            stems=stems,
            frames=timeline.frames if timeline else source_frames,
            source_frames=source_frames,
            timeline=timeline,
            states=recipe.states(),
            prefetcher=None,
        )

    def _styled_source(self, name: str, raw: Any, slot: StyleSlot) -> StyledSource:
        """Stem ``name`` through its style: the source already made for these settings, or one
        sharing the analysis of the last one made with this model and octave, or a new one."""
        key = (slot.ref, slot.knobs, slot.mix, slot.octave)
        old = self._styled.get(name)
        if old is not None and old.key == key:
            return old
        if self._styles is None:
            raise StyleModelError("This mixer was made without style models.")
        package = self._styles(slot.ref)
        knobs = package.manifest.knob_values(slot.knob_values)
        processor = package.processor(knobs, self.sample_rate, octave_shift=slot.octave)
        base = None
        if old is not None and old.key[0] == slot.ref and old.key[3] == slot.octave:
            base = old.base or old  # the source that runs (or ran) the analysis
        source = StyledSource(raw, processor, slot.mix, key, base=base, knobs=knobs)
        self._styled[name] = source
        return source

    def adjustments(self) -> dict[str, str]:
        """What the style runtime adjusted on each styled stem (e.g. moved it an octave), in a
        sentence, for the stems whose analysis has run."""
        found = {}
        for name, source in self._styled.items():
            adjustment = source.adjustment
            if adjustment is not None and adjustment.message:
                found[name] = adjustment.message
        return found

    def section_at(self, frame: int) -> tuple[int, int]:
        """The output frames ``[start, end)`` of the section (or arranged segment) at ``frame``."""
        sound = self._sound
        if sound.timeline is not None:
            return sound.timeline.segment_at(frame)
        sections = self.track.sections if self.track is not None else ()
        rate = self.sample_rate / sound.recipe.tempo_ratio
        for section in sections:
            start, end = round(section.start_s * rate), round(section.end_s * rate)
            if start <= frame < end:
                return start, min(end, sound.frames)
        return 0, sound.frames

    def source_position(self, frame: int) -> int:
        """The frame of the track as written heard at output ``frame`` (for the sections
        display)."""
        sound = self._sound
        position = sound.timeline.source_position(frame) if sound.timeline else frame
        return round(position * sound.recipe.tempo_ratio)

    def mix_at(self, frame: int) -> tuple[dict[str, StemMix], MasterMix]:
        """The stems' and master's settings at output ``frame`` (after automation)."""
        _, stems, master = self._sound.states[self._state_index(frame)]
        return stems, master

    # --- changing it ----------------------------------------------------------------------------

    def set_recipe(
        self, recipe: Recipe, *, live: tuple[str, dict[str, Any]] | None = None
    ) -> Recipe:
        """Apply new settings from the next block on (thread-safe; ramps, never jumps).

        Args:
            live: ``(target, changes)`` of an edit made while recording automation: it is
                added to ``recipe`` as a move at the block where it takes effect.

        Returns the recipe as applied (with the live move in place). A new tempo or key is
        prepared ahead while the old sound plays; see :meth:`switch_ready`.
        """
        if list(recipe.stems) != self.names:
            raise ValueError("a recipe for other stems cannot be applied to this mixer")
        while True:
            frame = self._next_frame
            candidate = recipe
            if live is not None:
                target, changes = live
                move = make_move(grid_up(frame), target, changes)
                candidate = recipe.with_moves((*recipe.automation, move))
            retimed = sound_key(candidate) != self._sound.key
            sound = None
            if not retimed:
                sound = self._restate(candidate)
            elif self._pending is None or self._pending.key != sound_key(candidate):
                sound = self._make_sound(candidate)
                self._aim(sound, self.map_frame(frame + self._switch_lead(sound), sound))
            else:
                sound = self._restate(candidate, self._pending)
            with self._lock:
                if live is not None and frame != self._next_frame:
                    continue  # a block was taken meanwhile: stamp the move at the next one
                self._recipe = candidate
                if retimed:
                    old, self._pending = self._pending, sound
                    if old is not None and old is not sound:
                        old.close()
                else:
                    old, self._pending = self._pending, None
                    if old is not None:
                        old.close()
                    self._sound = sound
                    self._dirty = True
                return candidate

    def _restate(self, recipe: Recipe, sound: _Sound | None = None) -> _Sound:
        """The current (or given) sound with ``recipe``'s arrangement and automation."""
        sound = sound or self._sound
        timeline = sound.timeline
        if recipe.arrangement != sound.recipe.arrangement:
            timeline = None
            if not recipe.arrangement.is_default:
                stems = sound.stems
                track = self.track
                if track is None:
                    raise ValueError("an arranged recipe needs the track's sections")
                if recipe.tempo_ratio != 1.0:
                    track = _retimed(track, recipe.tempo_ratio, frames_of(stems[0]))
                timeline = Timeline(recipe.arrangement, track)
        return replace(
            sound,
            recipe=recipe,
            timeline=timeline,
            frames=timeline.frames if timeline else sound.source_frames,
            states=recipe.states(),
        )

    def map_frame(self, frame: int, sound: _Sound) -> int:
        """Output ``frame`` of the current sound → the same moment in ``sound``."""
        scale = self._sound.recipe.tempo_ratio / sound.recipe.tempo_ratio
        return max(0, min(round(frame * scale), sound.frames))

    def follow(self, frame: int, loop: tuple[int, int] | None = None) -> None:
        """Playback is at ``frame``: keep the sources made ahead of it (render thread), and
        with ``loop`` (start, end) the start of the loop made before playback jumps there."""
        current, pending = self._sound, self._pending
        if pending is None:
            self._prefetch(current, frame, loop)
            return
        # A change is waiting: the current sound is made only as far as the switch needs (the
        # cores go to the new sound), and the new one from where playback will be once it is
        # made, kept there unless playback passes it by more than the slack (then aimed further
        # on: all that work is lost, so the switch may come a little past where it was aimed).
        lead = self._switch_lead(pending)
        self._prefetch(current, frame, loop, ahead=lead + STRETCH_CHUNK_FRAMES)
        here = self.map_frame(frame, pending)
        if pending.prefetcher is None or here >= pending.prefetcher.position + SWITCH_SLACK_FRAMES:
            self._aim(pending, self.map_frame(frame + lead, pending))

    def _aim(self, sound: _Sound, frame: int) -> None:
        """Have the waiting ``sound`` made from ``frame`` on, where playback will switch to it:
        its stretched stems start there with a bridge (quicker to make than a chunk)."""
        for stem in sound.stems:
            if isinstance(stem, StretchedSource):
                stem.bridge_from(frame)
        self._prefetch(sound, frame)

    def _switch_lead(self, sound: _Sound) -> int:
        """Frames playback moves on while the waiting ``sound``'s first pieces are made (two
        threads each making half the stems': bridges for a new tempo/key, style chunks), with
        a margin: they are made from there, so the playhead meets them just as they are done
        rather than having passed them."""
        rounds = -(-len(self.names) // 2)
        stretched = any(isinstance(stem, StretchedSource) for stem in sound.stems)
        per_stem = (StretchedSource.recent_bridge_s if stretched else 0.0) + (
            StyledSource.recent_make_s if self._styled else 0.0
        )
        seconds = SWITCH_MARGIN * rounds * per_stem
        return round(seconds * self.sample_rate) + self.block_frames

    def _prefetch(
        self,
        sound: _Sound,
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

    @property
    def switch_waiting(self) -> bool:
        """Whether a tempo or key change is waiting to be switched to."""
        return self._pending is not None

    @property
    def switch_retimes(self) -> bool:
        """Whether the waiting change is a new tempo or key (it must be switched to before
        playing resumes, to map the position), not only new styles (which may play on the old
        sound until they are made: a timbre model's first analysis takes seconds)."""
        pending = self._pending
        return pending is not None and pending.key[:2] != self._sound.key[:2]

    def switch_ready(self, frame: int) -> bool:
        """Whether a tempo or key change is waiting and its sound is made at ``frame``."""
        pending = self._pending
        if pending is None:
            return False
        if pending.prefetcher is None:
            return not any(isinstance(s, ChunkedSource) for s in pending.stems)
        return pending.prefetcher.ready(
            self.map_frame(frame, pending), SWITCH_READY_BLOCKS * self.block_frames
        )

    def switch(self, frame: int) -> int:
        """Make a waiting tempo/key change sound from output ``frame`` of the old timeline on;
        returns the same moment on the new timeline (render thread, or while stopped)."""
        with self._lock:
            pending = self._pending
            if pending is None:
                return frame
            mapped = self.map_frame(frame, pending)
            old, self._sound, self._pending = self._sound, pending, None
            self._dirty = True
        old.close()
        self._reset(mapped)  # keeps the bridges: playback reads on from the switch point
        return mapped

    def close(self) -> None:
        """Stop the prefetch threads, waiting for a chunk being made to be done (a style
        model's analysis in progress is cancelled at its next read of the stem)."""
        for source in self._styled.values():
            source.cancel()
            if source.base is not None:
                source.base.cancel()
        for sound in (self._sound, self._pending):
            if sound is not None:
                sound.close(wait=True)

    def reset(self, frame: int = 0, *, quick_start: bool = False) -> None:
        """Forget ramps, effect tails and limiter state (after a seek to output ``frame``):
        the next block starts settled on the mix at ``frame``.

        With ``quick_start`` (playback starts there now), a stretched stem whose chunk at
        ``frame`` is not made yet starts with a bridge (see ``StretchedSource.bridge_from``),
        so that the first audio does not wait for eight chunks; otherwise it is read from
        the chunk grid alone, as a render reads it.
        """
        ready = SWITCH_READY_BLOCKS * self.block_frames
        for stem in self._sound.stems:
            if isinstance(stem, ChunkedSource):
                stem.drop_bridge()
                stretched = isinstance(stem, StretchedSource)
                if quick_start and stretched and not stem.covered(frame, ready):
                    stem.bridge_from(frame)
        self._reset(frame)

    def wait_made(self, frame: int, frames: int, timeout_s: float = 2.0) -> bool:
        """Wait (sleeping) until ``[frame, frame + frames)`` of the current sound is made by
        the prefetch threads, or ``timeout_s`` passes; returns whether it is made. Playback
        calls this before its first fill, so that the chunks and bridges are made on the
        prefetch threads, both cores at once, and not one after another on the caller's."""
        prefetcher = self._sound.prefetcher
        if prefetcher is None:
            return True
        deadline = time.monotonic() + timeout_s
        while not prefetcher.ready(frame, frames):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def warm(self, frame: int) -> None:
        """Playback may start at ``frame`` (the transport stopped there): have the chunks
        there made now, in the background, so that Play reads them from the chunk grid at
        once. Only as far as the first chunk: the rest is made once playing."""
        self._prefetch(self._sound, frame, ahead=STRETCH_CHUNK_FRAMES)

    def _reset(self, frame: int) -> None:
        with self._lock:
            self.rooms.reset()
            self._settle(frame)
            self._limiter_gain = 1.0
        for chain in (*self.chains, self.master_chain):
            chain.reset()
        self.follow(frame)

    def _settle(self, frame: int) -> None:
        """Targets and effects for the mix at ``frame``, with no ramp (lock held)."""
        self._next_frame = frame
        self._state = self._state_index(frame)
        stems, master = self._sound.states[self._state][1:]
        self._target, self._send_target, sizes = strip_gains(stems, self.names)
        self._room_of = self.rooms.assign(sizes, frame)
        self._current = self._target.copy()
        self._send_current = self._send_target.copy()
        self._master_target = db_to_gain(master.gain_db)
        self._master_current = self._master_target
        self._ceiling_db = master.limiter_ceiling_db
        self._fx_pending = (stems, master)
        self._dirty = False

    def _state_index(self, frame: int) -> int:
        frames = self._sound.state_frames
        if len(frames) == 1:
            return 0
        return max(0, bisect.bisect_right(frames, frame) - 1)

    # --- rendering ------------------------------------------------------------------------------

    def render(self, start: int, out: np.ndarray) -> None:
        """Render frames ``[start, start + len(out))`` into ``out`` (float32, (frames, 2)).

        ``len(out)`` must not exceed ``block_frames``; past the end of the track it is silence.
        """
        frames = out.shape[0]
        block = self.take_block(start, frames)
        partials = [work.partial[:frames] for work in self._work]
        sends = [self._sends_for(group, len(block.rooms), frames) for group in self.groups]
        for group, partial in zip(self.groups, partials, strict=True):
            self.render_group(group, start, partial, block, sends[group])
        np.add(partials[0], partials[1], out=out)
        if block.rooms:
            send = sends[0] + sends[1]
            for room, room_send in zip(block.rooms, send, strict=True):
                out[:, 0] += room.process_left(room_send[:, 0])
                out[:, 1] += room.process_right(room_send[:, 1])
        self.render_master(start, out, block)

    def _sends_for(self, group: int, rooms: int, frames: int) -> np.ndarray:
        """Group ``group``'s zeroed send buffers for one block: float32 (rooms, frames, 2)."""
        if self._sends[group].shape[0] < rooms:
            self._sends[group] = np.zeros((rooms, self.block_frames, CHANNELS), np.float32)
        sends = self._sends[group][:rooms, :frames]
        sends.fill(0.0)
        return sends

    def take_block(self, start: int, frames: int) -> BlockSettings:
        """Snapshot the settings of the block at ``start`` and apply pending effect changes
        (render thread). The mix is the automation's mix at ``start``."""
        with self._lock:
            index = self._state_index(start)
            if self._dirty or index != self._state:
                stems, master = self._sound.states[index][1:]
                self._target, self._send_target, sizes = strip_gains(stems, self.names)
                self._room_of = self.rooms.assign(sizes, start)
                self._master_target = db_to_gain(master.gain_db)
                self._ceiling_db = master.limiter_ceiling_db
                self._fx_pending = (stems, master)
                self._state, self._dirty = index, False
            block = BlockSettings(
                target=self._target,
                current=self._current,
                master_target=self._master_target,
                master_current=self._master_current,
                timeline=self._sound.timeline,
                send_target=self._send_target,
                send_current=self._send_current,
                rooms=list(self.rooms.live),
                room_of=self._room_of,
                heard=self._heard(),
            )
            self._current = self._target
            self._send_current = self._send_target
            self._master_current = self._master_target
            self._next_frame = start + frames
            fx, self._fx_pending = self._fx_pending, None
        if fx is not None:
            stems, master = fx
            for name, chain in zip(self.names, self.chains, strict=True):
                chain.update(stems[name].fx)
            self.master_chain.update(master.fx)
        return block

    def _heard(self) -> list[bool]:
        """Whether each stem is heard in the block being taken (lock held): computed when
        the gains change, not every block."""
        gains = (self._current, self._target, self._send_current, self._send_target)
        if self._heard_for is not None and all(
            a is b for a, b in zip(gains, self._heard_for, strict=True)
        ):
            return self._heard_list
        self._heard_for = gains
        self._heard_list = np.logical_or.reduce([g.any(axis=1) for g in gains]).tolist()
        return self._heard_list

    def render_group(
        self, group: int, start: int, out: np.ndarray, block: BlockSettings, sends: np.ndarray
    ) -> None:
        """Sum the stems of ``group`` (after their effects and faders) into ``out``, and their
        reverb sends into ``sends`` (float32 (rooms, frames, 2), zeroed by the caller).

        The stems are split into two groups so an offline render can run them on two threads;
        real-time playback sums the same groups the same way, so both give identical samples.
        The faders, meters and sends of a group's stems are a few NumPy calls over all of them
        at once (channel-major, shape (stems, 2, frames)), not a few per stem: each call hands
        the GIL back and forth, and on a busy machine every hand-back may cost the feeder a
        wait.
        """
        frames = out.shape[0]
        work = self._work[group]
        sounding = block.heard
        heard: list[int] = []  # the group's stems that sound in this block, in order
        for i in self.members[group]:
            if not sounding[i]:
                self._falls_silent(i)
                continue
            self._silent[i] = False
            piece = self.read(i, start, frames, block.timeline)
            n = piece.shape[0]
            if n == 0:
                self.peaks[i] = 0.0
                continue
            slot = work.pieces[len(heard)]
            if self.chains[i].active:
                self.chains[i].process_into(piece, slot[:, :n])
            else:
                slot[:, :n] = piece.T
            if n < frames:  # past a stem's end: silence
                slot[:, n:frames] = 0.0
            heard.append(i)
        if not heard:
            out.fill(0.0)
            return
        count = len(heard)
        pieces, scaled = work.pieces[:count, :, :frames], work.scaled[:count, :, :frames]
        gains = work.gains[:count, :, :frames]
        ramp = None if block.steady else self._ramp_for(frames)[:, 0]
        # The stems' rows of the gain arrays: a slice (no copy) when all of the group sound.
        rows: slice | list[int] = heard
        if heard[-1] - heard[0] == count - 1:
            rows = slice(heard[0], heard[-1] + 1)
        # The same float32 steps as offline._Piece, stem by stem: piece × (lo + (hi − lo) ×
        # ramp), summed in stem order (a reduction over the first axis adds in order).
        _ramped(pieces, block.current[rows], block.target[rows], ramp, gains, scaled)
        np.add.reduce(scaled, axis=0, out=out.T)
        np.abs(scaled, out=gains)
        self.peaks[rows] = gains.max(axis=(1, 2))
        rooms = [block.room_of[i] for i in heard]
        if max(rooms) < 0:
            return
        # The sends: each stem summed to mono (Freeverb's input), times its send gains,
        # ramped as the fader is, added to its room's send in stem order.
        mono = work.mono[:count, :, :frames]
        np.add(pieces[:, :1], pieces[:, 1:], out=mono)
        _ramped(mono, block.send_current[rows], block.send_target[rows], ramp, gains, scaled)
        for j, room in enumerate(rooms):
            if room >= 0:
                sends[room] += scaled[j].T

    def _falls_silent(self, i: int) -> None:
        """Stem ``i`` is not heard in this block: its meter reads zero, and its effects'
        state is forgotten when it falls silent."""
        self.peaks[i] = 0.0
        if not self._silent[i]:
            # Its effects are not run while silent: forget their echoes and tails so they
            # do not come back out of time when the stem is heard again.
            self.chains[i].reset()
            self._silent[i] = True

    def read(self, index: int, start: int, frames: int, timeline: Timeline | None) -> np.ndarray:
        """Stem ``index``'s audio for output frames ``[start, start + frames)``, arranged and with
        its section mutes, before its effects: float32 (n, 2), n ≤ frames."""
        stem = self._sound.stems[index]
        if timeline is None:
            return stem[start : start + frames]
        piece = timeline.read(stem, start, min(frames, max(0, timeline.frames - start)))
        section_gain = timeline.stem_gain(self.names[index], start, piece.shape[0])
        if section_gain is not None:
            piece = piece * section_gain[:, None]
        return piece

    def render_master(self, start: int, out: np.ndarray, block: BlockSettings) -> None:
        """Master effects, gain, fades and the limiter, in place on the summed ``out``."""
        frames = out.shape[0]
        ramp = self._ramp_for(frames)
        if self.master_chain.active and frames:
            out[:] = self.master_chain.process(out)
        current, target = block.master_current, block.master_target
        master: np.ndarray | np.float32
        if current == target:  # current + 0 × ramp is current, exactly
            master = np.float32(target)
        else:
            master = current + (target - current) * ramp[:, 0]
        if block.timeline is not None:
            fades = block.timeline.master_gain(start, frames)
            if fades is not None:
                master = master * fades
        out *= master[:, None] if np.ndim(master) else master
        self._limit(out, ramp)
        self.peaks[-1] = float(np.abs(out).max()) if frames else 0.0

    def _ramp_for(self, frames: int) -> np.ndarray:
        if frames == self.block_frames:
            return self._ramp
        return np.linspace(0.0, 1.0, frames, endpoint=False, dtype=np.float32)[:, None]

    def _limit(self, out: np.ndarray, ramp: np.ndarray) -> None:
        """A block-wise peak limiter: unity below the ceiling, so an ordinary mix is untouched.

        Each block's gain is ramped from the previous block's to what this block's peak needs
        (attack within one block), then recovers toward unity with a 100 ms release. A hard clip
        at the ceiling catches the part of an attack block before the ramp has come down.
        """
        ceiling = float(10.0 ** (self._ceiling_db / 20.0))
        peak = float(np.abs(out).max()) if out.size else 0.0
        needed = min(1.0, ceiling / peak) if peak > 0.0 else 1.0
        start = self._limiter_gain
        target = needed if needed < start else min(needed, start + (1.0 - start) * self._release)
        if start != 1.0 or target != 1.0:
            out *= start + (target - start) * ramp
        self._limiter_gain = target
        np.clip(out, -ceiling, ceiling, out=out)


def output_frames(recipe: Recipe, track: TrackInfo) -> int:
    """The exact length in frames of what a mixer renders for ``recipe`` (stems of
    ``track.frames``): the arranged sections on the timeline retimed by the tempo."""
    if recipe.tempo_ratio == 1.0 and recipe.key_shift == 0:
        timed = track
    else:
        timed = _retimed(track, recipe.tempo_ratio, round(track.frames / recipe.tempo_ratio))
    if recipe.arrangement.is_default:
        return timed.frames
    return sum(segment.frames for segment in recipe.arrangement.segments(timed))


def grid_up(frame: int) -> int:
    """``frame`` rounded up onto the block grid (where a block after a seek ends)."""
    return -(-frame // GRID_FRAMES) * GRID_FRAMES


def _retimed(track: TrackInfo, ratio: float, frames: int) -> TrackInfo:
    """``track``'s sections on the timeline of its stems played at ``ratio`` times the speed."""
    sections: Sequence[Section] = tuple(
        Section(s.name, s.start_s / ratio, s.end_s / ratio) for s in track.sections
    )
    return replace(track, frames=frames, sections=tuple(sections))
