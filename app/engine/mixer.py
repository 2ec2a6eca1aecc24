# SPDX-License-Identifier: GPL-3.0-or-later
"""The mixer: stems → per-stem effects, gain, pan, mute, solo → sum → master effects, gain →
limiter.

One processing path serves real-time playback and offline render: both call
:meth:`Mixer.render` on consecutive blocks of ``block_frames`` frames, so a render equals what
was heard. The master limiter here is a block-wise peak limiter; the true-peak limiter and
loudness normalisation of a published derivative are in ``app.engine.loudness``. Buffers are
float32 of shape (frames, 2). Parameter changes take effect at the next block boundary and are
ramped linearly across that block, so a fader never clicks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.core.recipe import GAIN_DB_MIN, Recipe
from app.core.track import TrackInfo
from app.engine.effects import Chain
from app.engine.timeline import Timeline

BLOCK_FRAMES = 512
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


def channel_gains(recipe: Recipe, names: list[str]) -> np.ndarray:
    """Per-stem (left, right) linear gains from the recipe: shape (stems, 2), float32."""
    any_solo = any(recipe.stems[n].solo for n in names)
    gains = np.zeros((len(names), CHANNELS), dtype=np.float32)
    for i, name in enumerate(names):
        mix = recipe.stems[name]
        if mix.mute or (any_solo and not mix.solo):
            continue
        gains[i] = np.asarray(pan_gains(mix.pan), dtype=np.float32) * db_to_gain(mix.gain_db)
    return gains


@dataclass(frozen=True)
class BlockSettings:
    """The settings one block is rendered with (taken once, used by both stem groups)."""

    target: np.ndarray
    current: np.ndarray
    master_target: float
    master_current: float
    timeline: Timeline | None


class Mixer:
    """Mixes a track's stems under a recipe, block by block.

    Args:
        stems: stem kind → float32 (frames, 2) audio, all at ``sample_rate`` and equally long
            (a shorter stem is treated as silent past its end).
        recipe: the initial settings; change them with :meth:`set_recipe`.
        block_frames: frames per render block.
    """

    def __init__(
        self,
        stems: dict[str, np.ndarray],
        sample_rate: int,
        recipe: Recipe,
        *,
        block_frames: int = BLOCK_FRAMES,
        track: TrackInfo | None = None,
    ) -> None:
        self.names = list(recipe.stems)
        self.track = track
        missing = [n for n in self.names if n not in stems]
        if missing:
            raise ValueError(f"no audio for stems {missing}")
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self._stems = [stems[n] for n in self.names]
        self.source_frames = max(s.shape[0] for s in self._stems)
        self._timeline = self._make_timeline(recipe)
        self.frames = self._timeline.frames if self._timeline else self.source_frames
        self._lock = threading.Lock()
        self._recipe = recipe
        self._target = channel_gains(recipe, self.names)
        self._current = self._target.copy()
        self._master_target = db_to_gain(recipe.master.gain_db)
        self._master_current = self._master_target
        self._ceiling_db = recipe.master.limiter_ceiling_db
        self._limiter_gain = 1.0
        self._chains = [Chain(recipe.stems[n].fx, sample_rate) for n in self.names]
        self._master_chain = Chain(recipe.master.fx, sample_rate)
        self._silent = [False] * len(self.names)
        self._fx_pending = False
        # Per-block release toward unity with a 100 ms time constant.
        self._release = 1.0 - float(np.exp(-block_frames / (LIMITER_RELEASE_S * sample_rate)))
        # Preallocated work buffers for the per-stem loop (the effects and the master stages
        # still allocate small arrays per block: measured p99 under 1 ms of a 10.7 ms block).
        self._ramp = np.linspace(0.0, 1.0, block_frames, endpoint=False, dtype=np.float32)[:, None]
        # Two stem groups (see render_group), each with its own work buffers.
        self.groups = (0, 1)
        half = (len(self.names) + 1) // 2
        self._members = (range(0, half), range(half, len(self.names)))
        self._gains = [np.empty((block_frames, CHANNELS), dtype=np.float32) for _ in range(2)]
        self._scratches = [np.empty((block_frames, CHANNELS), dtype=np.float32) for _ in range(2)]
        self._partials = [np.empty((block_frames, CHANNELS), dtype=np.float32) for _ in range(2)]
        #: Peak level of each stem (after its fader) and of the master, updated every block;
        #: read by meters from another thread. Shape (stems + 1,), linear.
        self.peaks = np.zeros(len(self.names) + 1, dtype=np.float32)
        #: Energy each stem has put into the mix so far (after its effects and fader): what
        #: the platform uses to tell which stems a listener really hears. Shape (stems,).
        self.energy = np.zeros(len(self.names), dtype=np.float64)

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    def _make_timeline(self, recipe: Recipe) -> Timeline | None:
        if recipe.arrangement.is_default:
            return None
        if self.track is None:
            raise ValueError("an arranged recipe needs the track's sections")
        return Timeline(recipe.arrangement, self.track)

    def section_at(self, frame: int) -> tuple[int, int]:
        """The output frames ``[start, end)`` of the section (or arranged segment) at ``frame``."""
        timeline = self._timeline
        if timeline is not None:
            return timeline.segment_at(frame)
        sections = self.track.sections if self.track is not None else ()
        rate = self.sample_rate
        for section in sections:
            start, end = round(section.start_s * rate), round(section.end_s * rate)
            if start <= frame < end:
                return start, min(end, self.frames)
        return 0, self.frames

    def source_position(self, frame: int) -> int:
        """The source frame heard at output ``frame`` (for the sections display)."""
        timeline = self._timeline
        return timeline.source_position(frame) if timeline else frame

    def set_recipe(self, recipe: Recipe) -> None:
        """Apply new settings from the next block on (thread-safe; ramps, never jumps)."""
        if list(recipe.stems) != self.names:
            raise ValueError("a recipe for other stems cannot be applied to this mixer")
        target = channel_gains(recipe, self.names)
        timeline = (
            self._make_timeline(recipe)
            if recipe.arrangement != self._recipe.arrangement
            else self._timeline
        )
        with self._lock:
            # A new arrangement takes effect at the next block, at the same output position.
            self._timeline = timeline
            self.frames = timeline.frames if timeline else self.source_frames
            self._recipe = recipe
            self._target = target
            self._master_target = db_to_gain(recipe.master.gain_db)
            self._ceiling_db = recipe.master.limiter_ceiling_db
            self._fx_pending = True  # the rendering thread updates its chains at the next block

    def reset(self) -> None:
        """Forget ramps and limiter state (after a seek): the next block starts settled."""
        with self._lock:
            self._current = self._target.copy()
            self._master_current = self._master_target
            self._limiter_gain = 1.0
        for chain in (*self._chains, self._master_chain):
            chain.reset()

    def render(self, start: int, out: np.ndarray) -> None:
        """Render frames ``[start, start + len(out))`` into ``out`` (float32, (frames, 2)).

        ``len(out)`` must not exceed ``block_frames``; past the end of the track it is silence.
        """
        frames = out.shape[0]
        block = self.take_block()
        partials = [buffer[:frames] for buffer in self._partials]
        for group, partial in zip(self.groups, partials, strict=True):
            self.render_group(group, start, partial, block)
        np.add(partials[0], partials[1], out=out)
        self.render_master(start, out, block)

    def take_block(self) -> BlockSettings:
        """Snapshot this block's settings and apply pending effect changes (render thread)."""
        with self._lock:
            block = BlockSettings(
                target=self._target,
                current=self._current,
                master_target=self._master_target,
                master_current=self._master_current,
                timeline=self._timeline,
            )
            self._current = self._target
            self._master_current = self._master_target
            recipe, fx_pending, self._fx_pending = self._recipe, self._fx_pending, False
        if fx_pending:
            for name, chain in zip(self.names, self._chains, strict=True):
                chain.update(recipe.stems[name].fx)
            self._master_chain.update(recipe.master.fx)
        return block

    def render_group(self, group: int, start: int, out: np.ndarray, block: BlockSettings) -> None:
        """Sum the stems of ``group`` (after their effects and faders) into ``out``.

        The stems are split into two groups so an offline render can run them on two threads;
        real-time playback sums the same groups the same way, so both give identical samples.
        """
        frames = out.shape[0]
        out.fill(0.0)
        ramp = self._ramp_for(frames)
        gain, scratch = self._gains[group][:frames], self._scratches[group][:frames]
        timeline = block.timeline
        for i in self._members[group]:
            stem = self._stems[i]
            lo, hi = block.current[i], block.target[i]
            if not (lo.any() or hi.any()):
                self.peaks[i] = 0.0
                if not self._silent[i]:
                    # Its effects are not run while silent: forget their echoes and tails so
                    # they do not come back out of time when the stem is heard again.
                    self._chains[i].reset()
                    self._silent[i] = True
                continue
            self._silent[i] = False
            if timeline is None:
                piece = stem[start : start + frames]
            else:
                piece = timeline.read(stem, start, min(frames, max(0, self.frames - start)))
                section_gain = timeline.stem_gain(self.names[i], start, piece.shape[0])
                if section_gain is not None:
                    piece = piece * section_gain[:, None]
            n = piece.shape[0]
            if n == 0:
                self.peaks[i] = 0.0
                continue
            if self._chains[i].active:
                piece = self._chains[i].process(piece)
            np.subtract(hi, lo, out=gain[:n])
            np.multiply(gain[:n], ramp[:n], out=gain[:n])
            np.add(gain[:n], lo, out=gain[:n])
            np.multiply(piece, gain[:n], out=scratch[:n])
            self.peaks[i] = float(np.abs(scratch[:n]).max())
            flat = scratch[:n].ravel()
            self.energy[i] += float(np.dot(flat, flat))
            out[:n] += scratch[:n]

    def render_master(self, start: int, out: np.ndarray, block: BlockSettings) -> None:
        """Master effects, gain, fades and the limiter, in place on the summed ``out``."""
        frames = out.shape[0]
        ramp = self._ramp_for(frames)
        if self._master_chain.active and frames:
            out[:] = self._master_chain.process(out)
        master = block.master_current + (block.master_target - block.master_current) * ramp[:, 0]
        if block.timeline is not None:
            fades = block.timeline.master_gain(start, frames)
            if fades is not None:
                master = master * fades
        out *= master[:, None]
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
