# SPDX-License-Identifier: GPL-3.0-or-later
"""The mixer: stems → per-stem effects, gain, pan, mute, solo, reverb sends → sum → master
effects, gain → limiter, one block at a time for real-time playback.

The arithmetic of a block lives in :mod:`app.engine.kernel`, which the offline render
(:mod:`app.engine.offline`) calls too, over long chunks, so a render equals what was heard.
The master limiter here is a block-wise peak limiter; the true-peak limiter and loudness
normalisation of a published derivative are in ``app.engine.loudness``. Buffers are float32 of
shape (frames, 2). Parameter changes take effect at the next block boundary and are ramped
linearly across that block, so a fader never clicks.

Blocks lie on a fixed grid of ``BLOCK_FRAMES`` output frames (a block after a seek may be
shorter, to get back onto it); the recipe's automation moves fall on the same grid, so a move
takes effect at the same block in playback and in a render.

What the stems sound like (tempo, key, styles) and the switch from one sound to the next are
:mod:`app.engine.switching`'s; the mixer reads the current sound's sources.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.automation import GRID_FRAMES, make_move
from app.core.recipe import MasterMix, Recipe, StemMix
from app.core.track import TrackInfo
from app.engine import kernel
from app.engine import timeline as timelines
from app.engine.chunk_store import ChunkStore
from app.engine.effects import Chain
from app.engine.gains import db_to_gain, strip_gains
from app.engine.kernel import CHANNELS, StripWork
from app.engine.rooms import Room, Rooms
from app.engine.sources import ChunkedSource
from app.engine.stretched import StretchedSource
from app.engine.styled import StyledSources
from app.engine.switching import SWITCH_READY_BLOCKS, Sounds, State
from app.engine.timeline import Timeline
from app.styles.package import StylePackage

BLOCK_FRAMES = GRID_FRAMES


@dataclass(frozen=True)
class BlockSettings:
    """The settings one block is rendered with (taken once, used by both stem groups)."""

    #: Each stem's (left, right) fader gains at the block's end and start, (stems, 2).
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
    #: Whether each stem is audible in this block, directly or through its send.
    audible: list[bool]

    @property
    def steady(self) -> bool:
        """Whether no gain moves in this block (the usual case: a change ramps over one)."""
        return self.current is self.target and self.send_current is self.send_target


@dataclass
class _Targets:
    """What the mix moves toward from the next block (the mixer's lock guards it)."""

    dry: np.ndarray
    send: np.ndarray
    room_of: list[int]
    master: float
    ceiling_db: float


def stem_rows(indices: list[int]) -> slice | list[int]:
    """Rows of a per-stem array for ``indices`` (in order): a slice (no copy) when they are
    consecutive."""
    if indices[-1] - indices[0] == len(indices) - 1:
        return slice(indices[0], indices[-1] + 1)
    return indices


class Mixer:
    """Mixes a track's stems under a recipe, block by block.

    Args:
        stems: stem kind → its source as written: float32 (frames, 2) audio or a chunked
            source, all at ``sample_rate`` (a shorter stem is silent past its end).
        recipe: the initial settings; change them with :meth:`set_recipe`.
        block_frames: frames per render block.
        track: the track's metadata (sections); needed to arrange or retime it.
        styles: the verified style-model package for a model ``id@version`` (raises
            StyleModelError when it has none); needed to play a recipe with styles.
        store: where retimed and transposed chunks are kept once made (see ChunkStore).
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
        store: ChunkStore | None = None,
    ) -> None:
        self.names = list(recipe.stems)
        missing = [n for n in self.names if n not in stems]
        if missing:
            raise ValueError(f"no audio for stems {missing}")
        if GRID_FRAMES % block_frames:
            raise ValueError(f"the block size must divide {GRID_FRAMES} frames")
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.track = track
        self._styled = StyledSources(styles, sample_rate)
        raw = [stems[n] for n in self.names]
        self.sounds = Sounds(
            self.names, raw, sample_rate, block_frames, track, self._styled, recipe, store=store
        )
        self._lock = threading.Lock()
        self._recipe = recipe
        self._state = -1  # index of the automation mix the last block used
        self._dirty = True  # the recipe changed: recompute targets at the next block
        self._next_frame = 0  # the output frame the next block starts at
        self.chains = [Chain(recipe.stems[n].fx, sample_rate) for n in self.names]
        self.master_chain = Chain(recipe.master.fx, sample_rate)
        self.rooms = Rooms(sample_rate)
        zero = np.zeros((len(self.names), CHANNELS), dtype=np.float32)
        self._to = _Targets(zero, zero, [], 1.0, recipe.master.limiter_ceiling_db)
        self._current = self._send_current = zero
        self._master_current = 1.0
        self._fx_pending: tuple[dict[str, StemMix], MasterMix] | None = None
        self._limiter_gain = 1.0
        self._audible_for: tuple[np.ndarray, ...] | None = None  # the gains _audible is of
        self._audible: list[bool] = []
        self._sends = [np.zeros((0, block_frames, CHANNELS), dtype=np.float32) for _ in range(2)]
        self._jump_to_mix(0)
        self._silent = [False] * len(self.names)
        self._release = kernel.limiter_release(block_frames, sample_rate)
        # Two stem groups (see render_group), each with its own work buffers.
        self.groups = (0, 1)
        self.members = kernel.stem_groups(len(self.names))
        self._work = [StripWork(len(m), block_frames) for m in self.members]
        self._partials = [np.empty((block_frames, CHANNELS), dtype=np.float32) for _ in range(2)]
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
        return self.sounds.current.frames

    @property
    def source_frames(self) -> int:
        return self.sounds.current.source_frames

    @property
    def stems(self) -> list[Any]:
        """The sources the stems are read from now (arrays, or chunked sources)."""
        return self.sounds.current.stems

    @property
    def states(self) -> list[State]:
        """The mixes the automation passes through: (from output frame, stems, master)."""
        return self.sounds.current.states

    @property
    def timeline(self) -> Timeline | None:
        """The arranged timeline, or None when the sections play as written."""
        return self.sounds.current.timeline

    @property
    def next_frame(self) -> int:
        """The output frame the next block will start at."""
        return self._next_frame

    def adjustments(self) -> dict[str, str]:
        """What the style runtime adjusted on each styled stem (e.g. moved it an octave), in a
        sentence, for the stems whose analysis has run."""
        return self._styled.adjustments()

    def section_at(self, frame: int) -> tuple[int, int]:
        """The output frames ``[start, end)`` of the section (or arranged segment) at ``frame``."""
        return self.sounds.section_at(frame)

    def source_position(self, frame: int) -> int:
        """The frame of the track as written heard at output ``frame``."""
        return self.sounds.source_position(frame)

    def mix_at(self, frame: int) -> tuple[dict[str, StemMix], MasterMix]:
        """The stems' and master's settings at output ``frame`` (after automation)."""
        return self.sounds.current.mix_at(frame)

    # --- changing it ----------------------------------------------------------------------------

    def set_recipe(
        self, recipe: Recipe, *, live: tuple[str, dict[str, Any]] | None = None
    ) -> Recipe:
        """Apply new settings from the next block on (thread-safe; ramps, never jumps).

        Args:
            live: ``(target, changes)`` of an edit made while recording automation: it is
                added to ``recipe`` as a move at the block where it takes effect.

        Returns the recipe as applied (with the live move in place). A new tempo, key or style
        is made ahead while the old sound plays; see :meth:`switch_ready`.
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
            sound, new = self.sounds.prepare(candidate, frame)
            with self._lock:
                if live is not None and frame != self._next_frame:
                    continue  # a block was taken meanwhile: stamp the move at the next one
                self._recipe = candidate
                self.sounds.take(sound, new=new)
                if not new:
                    self._dirty = True
                return candidate

    @property
    def switch_waiting(self) -> bool:
        """Whether a tempo, key or style change is waiting to be switched to."""
        return self.sounds.pending is not None

    @property
    def switch_retimes(self) -> bool:
        """Whether the waiting change is a new tempo or key (see ``Sounds.retimes``)."""
        return self.sounds.retimes

    def switch_ready(self, frame: int) -> bool:
        """Whether a change is waiting and its sound is made at output ``frame``."""
        return self.sounds.pending_made(frame)

    def switch(self, frame: int) -> int:
        """Make a waiting change sound from output ``frame`` of the old timeline on; returns
        the same moment on the new timeline (render thread, or while stopped)."""
        with self._lock:
            pending = self.sounds.pending
            if pending is None:
                return frame
            mapped = self.sounds.map_frame(frame, pending)
            old = self.sounds.switch_over()
            self._dirty = True
        if old is not None:
            self.sounds.retire(old)
        self._reset(mapped)  # keeps the bridges: playback reads on from the switch point
        return mapped

    def follow(self, frame: int, loop: tuple[int, int] | None = None) -> None:
        """Playback is at ``frame``: keep the sources made ahead of it (see ``Sounds.follow``)."""
        self.sounds.follow(frame, loop)

    def warm(self, frame: int) -> None:
        """Playback may start at ``frame``: have its first chunk made in the background."""
        self.sounds.warm(frame)

    def wait_made(self, frame: int, frames: int, timeout_s: float = 2.0) -> bool:
        """Wait until ``[frame, frame + frames)`` of the current sound is made (see
        ``Sounds.wait_made``): playback's first fill then reads made chunks."""
        return self.sounds.wait_made(frame, frames, timeout_s)

    def close(self) -> None:
        """Stop the prefetch threads (see ``Sounds.close``)."""
        self.sounds.close()

    def reset(self, frame: int = 0, *, quick_start: bool = False) -> None:
        """Forget ramps, effect tails and limiter state (after a seek to output ``frame``):
        the next block starts settled on the mix at ``frame``.

        With ``quick_start`` (playback starts there now), a stretched stem whose chunk at
        ``frame`` is not made yet starts with a bridge (see ``StretchedSource.bridge_from``),
        so that the first audio does not wait for eight chunks; otherwise it is read from
        the chunk grid alone, as a render reads it.
        """
        ready = SWITCH_READY_BLOCKS * self.block_frames
        for stem in self.sounds.current.stems:
            if isinstance(stem, ChunkedSource):
                stem.drop_bridge()
                if (
                    quick_start
                    and isinstance(stem, StretchedSource)
                    and not stem.made_for(frame, ready)
                ):
                    stem.bridge_from(frame)
        self._reset(frame)

    def _reset(self, frame: int) -> None:
        with self._lock:
            self.rooms.reset()
            self._jump_to_mix(frame)
            self._limiter_gain = 1.0
        for chain in (*self.chains, self.master_chain):
            chain.reset()
        self.follow(frame)

    def _aim_at(self, frame: int) -> None:
        """Targets for the automation's mix at output ``frame``, its effects to be taken at
        the next block (lock held)."""
        sound = self.sounds.current
        self._state = sound.state_index(frame)
        stems, master = sound.states[self._state][1:]
        dry, send, sizes = strip_gains(stems, self.names)
        room_of = self.rooms.assign(sizes, frame)
        self._to = _Targets(
            dry, send, room_of, db_to_gain(master.gain_db), master.limiter_ceiling_db
        )
        self._fx_pending = (stems, master)
        self._dirty = False

    def _jump_to_mix(self, frame: int) -> None:
        """Settle on the mix at ``frame`` with no ramp (lock held)."""
        self._next_frame = frame
        self._aim_at(frame)
        self._current = self._to.dry.copy()
        self._send_current = self._to.send.copy()
        self._master_current = self._to.master

    # --- rendering ------------------------------------------------------------------------------

    def render(self, start: int, out: np.ndarray) -> None:
        """Render frames ``[start, start + len(out))`` into ``out`` (float32, (frames, 2)).

        ``len(out)`` must not exceed ``block_frames``; past the end of the track it is silence.
        """
        frames = out.shape[0]
        block = self.take_block(start, frames)
        partials = [partial[:frames] for partial in self._partials]
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
            if self._dirty or self.sounds.current.state_index(start) != self._state:
                self._aim_at(start)
            to = self._to
            block = BlockSettings(
                target=to.dry,
                current=self._current,
                master_target=to.master,
                master_current=self._master_current,
                timeline=self.sounds.current.timeline,
                send_target=to.send,
                send_current=self._send_current,
                rooms=list(self.rooms.live),
                room_of=to.room_of,
                audible=self._audible_now(),
            )
            self._current, self._send_current = to.dry, to.send
            self._master_current = to.master
            self._next_frame = start + frames
            fx, self._fx_pending = self._fx_pending, None
        if fx is not None:
            stems, master = fx
            for name, chain in zip(self.names, self.chains, strict=True):
                chain.update(stems[name].fx)
            self.master_chain.update(master.fx)
        return block

    def _audible_now(self) -> list[bool]:
        """Whether each stem is audible in the block being taken (lock held): computed when
        the gains change, not every block."""
        gains = (self._current, self._to.dry, self._send_current, self._to.send)
        if self._audible_for is not None and all(
            a is b for a, b in zip(gains, self._audible_for, strict=True)
        ):
            return self._audible
        self._audible_for = gains
        self._audible = np.logical_or.reduce([g.any(axis=1) for g in gains]).tolist()
        return self._audible

    def render_group(
        self, group: int, start: int, out: np.ndarray, block: BlockSettings, sends: np.ndarray
    ) -> None:
        """Sum the stems of ``group`` (after their effects and faders) into ``out``, and their
        reverb sends into ``sends`` (float32 (rooms, frames, 2), zeroed by the caller).

        The stems are split into two groups so an offline render can run them on two threads;
        playback sums the same groups the same way, so both give identical samples. A group's
        faders, meters and sends are a few NumPy calls over all its stems at once (the kernel),
        not a few per stem: each call hands the GIL back and forth, and on a busy machine every
        hand-back may cost the feeder a wait.
        """
        frames = out.shape[0]
        work = self._work[group]
        heard: list[int] = []  # the group's stems that sound in this block, in order
        for i in self.members[group]:
            if not block.audible[i]:
                self._falls_silent(i)
                continue
            self._silent[i] = False
            piece = self.read(i, start, frames, block.timeline)
            if piece.shape[0] == 0:  # past the stem's end
                self.peaks[i] = 0.0
                continue
            self.chains[i].strip_into(piece, work.pieces[len(heard), :, :frames])
            heard.append(i)
        if not heard:
            out.fill(0.0)
            return
        count, rows = len(heard), stem_rows(heard)
        ramp = None if block.steady else kernel.ramp(frames)
        kernel.mix_strips(work, count, frames, block.current[rows], block.target[rows], ramp, out)
        self.peaks[rows] = kernel.strip_peaks(work, count, frames)
        rooms = [block.room_of[i] for i in heard]
        if max(rooms) >= 0:
            send_lo, send_hi = block.send_current[rows], block.send_target[rows]
            kernel.mix_sends(work, count, frames, send_lo, send_hi, ramp, rooms, sends)

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
        stem = self.sounds.current.stems[index]
        return timelines.read(stem, self.names[index], timeline, start, frames)

    def render_master(self, start: int, out: np.ndarray, block: BlockSettings) -> None:
        """Master effects, gain, fades and the limiter, in place on the summed ``out``."""
        frames = out.shape[0]
        ramp = kernel.ramp(frames)
        if self.master_chain.active and frames:
            out[:] = self.master_chain.process(out)
        fades = block.timeline.master_gain(start, frames) if block.timeline is not None else None
        gain = kernel.master_gain(block.master_current, block.master_target, ramp, fades)
        kernel.apply_gain(out, gain)
        ceiling = kernel.ceiling_gain(self._to.ceiling_db)
        peak = float(np.abs(out).max()) if out.size else 0.0
        target = kernel.limiter_target(peak, ceiling, self._limiter_gain, self._release)
        kernel.limit(out, self._limiter_gain, target, ramp)
        self._limiter_gain = target
        kernel.clip(out, ceiling)
        self.peaks[-1] = float(np.abs(out).max()) if frames else 0.0


def grid_up(frame: int) -> int:
    """``frame`` rounded up onto the block grid (where a block after a seek ends)."""
    return -(-frame // GRID_FRAMES) * GRID_FRAMES
