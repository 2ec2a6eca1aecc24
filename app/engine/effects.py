# SPDX-License-Identifier: GPL-3.0-or-later
"""Effect chains on pedalboard: one per channel strip, one on the master.

A chain holds only the effects that are active (a neutral strip costs nothing and passes audio
bit-exact). Plugins keep their state (echoes, compressor envelopes) from block to block;
a parameter change updates plugins in place, and only switching an effect on or off rebuilds
the chain. Blocks are float32 (frames, 2); pedalboard wants (channels, frames), converted here.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from app.core.effects import HIGH_SHELF_HZ, LOW_SHELF_HZ, Eq, MasterFx, StemFx

COMPRESSOR_ATTACK_MS = 5.0
COMPRESSOR_RELEASE_MS = 120.0
MID_Q = 1.0
# Plugins always run in pieces of this many frames (the render block), however long the call:
# a plugin whose calls grow beyond what it was first prepared for is re-prepared and partly
# reset by pedalboard, which would make a render in long chunks differ from playback in
# blocks. With a fixed piece size both give the same samples (tests/engine/test_effects.py).
PROCESS_FRAMES = 512


def _eq(eq: Eq) -> list[pedalboard.Plugin]:
    """The bands that are not flat (a flat band would pass the audio unchanged, at a cost)."""
    bands: list[pedalboard.Plugin] = []
    if eq.low_db:
        bands.append(pedalboard.LowShelfFilter(cutoff_frequency_hz=LOW_SHELF_HZ, gain_db=eq.low_db))
    if eq.mid_db:
        bands.append(
            pedalboard.PeakFilter(cutoff_frequency_hz=eq.mid_hz, gain_db=eq.mid_db, q=MID_Q)
        )
    if eq.high_db:
        bands.append(
            pedalboard.HighShelfFilter(cutoff_frequency_hz=HIGH_SHELF_HZ, gain_db=eq.high_db)
        )
    return bands


def _ladder(mode: pedalboard.LadderFilter.Mode, cutoff_hz: float) -> pedalboard.Plugin:
    return pedalboard.LadderFilter(mode=mode, cutoff_hz=cutoff_hz, resonance=0.0, drive=1.0)


def _plugins(fx: StemFx | MasterFx) -> list[pedalboard.Plugin]:
    """The plugins for the active effects, in signal order."""
    active = set(fx.active_effects())
    plugins: list[pedalboard.Plugin] = []
    if "eq" in active:
        plugins += _eq(fx.eq)
    if isinstance(fx, StemFx) and "filter" in active:
        # 24 dB/octave ladder filters: a DJ-style sweep, not a gentle first-order tilt.
        if fx.filter.highpass_hz > 20.0:
            plugins.append(_ladder(pedalboard.LadderFilter.Mode.HPF24, fx.filter.highpass_hz))
        if fx.filter.lowpass_hz < 20000.0:
            plugins.append(_ladder(pedalboard.LadderFilter.Mode.LPF24, fx.filter.lowpass_hz))
    if "compressor" in active:
        plugins.append(
            pedalboard.Compressor(
                threshold_db=fx.compressor.threshold_db,
                ratio=fx.compressor.ratio,
                attack_ms=COMPRESSOR_ATTACK_MS,
                release_ms=COMPRESSOR_RELEASE_MS,
            )
        )
    if not isinstance(fx, StemFx):
        return plugins
    if "drive" in active:
        # tanh saturation with the drive undone afterwards: quiet passages keep their level,
        # loud ones are rounded off, as a driven tape or tube stage does.
        plugins += [pedalboard.Distortion(drive_db=fx.drive_db), pedalboard.Gain(-fx.drive_db)]
    if "chorus" in active:
        plugins.append(
            pedalboard.Chorus(rate_hz=fx.chorus.rate_hz, depth=fx.chorus.depth, mix=fx.chorus.mix)
        )
    if "delay" in active:
        plugins.append(
            pedalboard.Delay(
                delay_seconds=fx.delay.time_s, feedback=fx.delay.feedback, mix=fx.delay.mix
            )
        )
    # The reverb is a send to a room shared with the other stems of the same room size
    # (app.engine.rooms), not a plugin in the strip.
    return plugins


def _structure(plugins: list[pedalboard.Plugin]) -> tuple[type, ...]:
    return tuple(type(p) for p in plugins)


class Chain:
    """A live effect chain for one strip or the master bus."""

    def __init__(self, fx: StemFx | MasterFx, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.fx = fx
        self._board = pedalboard.Pedalboard(_plugins(fx))

    @property
    def active(self) -> bool:
        return len(self._board) > 0

    def update(self, fx: StemFx | MasterFx) -> None:
        """Take new settings; keeps plugin state unless an effect was switched on or off.

        Call from the thread that processes (the mixer does it at a block boundary).
        """
        if fx == self.fx:
            return
        fresh = _plugins(fx)
        live = list(self._board)
        if _structure(fresh) == _structure(live):
            # Same plugins, new parameters: copy them over so tails and envelopes carry on.
            for plugin, new in zip(live, fresh, strict=True):
                _copy_parameters(new, plugin)
        else:
            # An effect or EQ band came or went: the plugins that stay keep their state (a
            # reverb's tail is not cut because a band was added before it).
            kept: dict[type, list[pedalboard.Plugin]] = {}
            for plugin in live:
                kept.setdefault(type(plugin), []).append(plugin)
            plugins = []
            for new in fresh:
                same_kind = kept.get(type(new))
                if same_kind:
                    plugin = same_kind.pop(0)
                    _copy_parameters(new, plugin)
                    plugins.append(plugin)
                else:
                    plugins.append(new)
            self._board = pedalboard.Pedalboard(plugins)
        self.fx = fx

    def process(self, block: np.ndarray) -> np.ndarray:
        """Run one block (float32 (frames, 2)) through the chain; returns a new array."""
        return np.ascontiguousarray(self._run(block).T)

    def process_view(self, block: np.ndarray) -> np.ndarray:
        """Run one block (float32 (frames, 2)) through the chain; returns (frames, 2) as a
        transposed view of pedalboard's channel-major output (no copy: for long offline
        chunks, where the copy costs as much as some of the effects)."""
        return self._run(block).T

    def process_into(self, block: np.ndarray, out: np.ndarray) -> None:
        """Run one block (float32 (frames, 2)) through the chain into ``out``, channel-major
        (float32 (2, frames), pedalboard's own layout: no transposing copy)."""
        np.copyto(out, self._run(block))

    def strip_into(self, piece: np.ndarray, out: np.ndarray) -> None:
        """A strip's audio for the mix: ``piece`` (float32 (n, 2)) through the chain (as it is,
        when no effect is on) into ``out``, channel-major (float32 (2, frames), frames ≥ n),
        silent past ``n`` (a stem shorter than the block)."""
        n = piece.shape[0]
        if self.active:
            self.process_into(piece, out[:, :n])
        else:
            out[:, :n] = piece.T
        if n < out.shape[1]:
            out[:, n:] = 0.0

    def _run(self, block: np.ndarray) -> np.ndarray:
        """The chain's output for ``block`` (frames, 2), as pedalboard gives it: (2, frames)."""
        return self._board.process(
            block.T, self.sample_rate, buffer_size=PROCESS_FRAMES, reset=False
        )

    def reset(self) -> None:
        self._board.reset()


def _copy_parameters(source: pedalboard.Plugin, target: pedalboard.Plugin) -> None:
    for name in _PARAMETERS.get(type(target), ()):
        setattr(target, name, getattr(source, name))


# The parameters of each plugin type that settings can change (for in-place updates).
_PARAMETERS: dict[type, tuple[str, ...]] = {
    pedalboard.LowShelfFilter: ("cutoff_frequency_hz", "gain_db", "q"),
    pedalboard.PeakFilter: ("cutoff_frequency_hz", "gain_db", "q"),
    pedalboard.HighShelfFilter: ("cutoff_frequency_hz", "gain_db", "q"),
    pedalboard.LadderFilter: ("mode", "cutoff_hz", "resonance", "drive"),
    pedalboard.Compressor: ("threshold_db", "ratio", "attack_ms", "release_ms"),
    pedalboard.Distortion: ("drive_db",),
    pedalboard.Gain: ("gain_db",),
    pedalboard.Chorus: ("rate_hz", "depth", "mix"),
    pedalboard.Delay: ("delay_seconds", "feedback", "mix"),
}
