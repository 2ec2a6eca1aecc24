# SPDX-License-Identifier: GPL-3.0-or-later
"""Company: whether a stem the artist protects is ever heard (almost) alone in a remix.

A policy can say that a stem may not be heard on its own (``solo: false``). Counting the
stems a recipe leaves up is not enough: a stem panned hard left with the rest hard right is
alone in the left channel, and a stem with the rest pulled far down for a minute is alone for
that minute, however many stems the whole song keeps. So the render measures, hop by hop of
the output, how the stems' sounds (after their effects and faders, as they enter the master)
sit against each other, and this module judges each stem in short windows and in four views
of the stereo signal: left, right, mid (L+R)/2 and side (L-R)/2.

The rule (``docs/security.md`` says it in words): a protected stem is *alone* in a window and
view when the rest of the mix there is more than ``ALONE_DB`` under it, it is not itself
inaudible there (within ``AUDIBLE_DB`` of the whole mix), and the track as written was not
already like that at the same place (the remix isolates it ``BEYOND_ORIGINAL_DB`` further than
the original does). The side view counts only where the stem's two channels are one signal
panned (``SIDE_COHERENCE``): then left minus right is a copy of it; a stereo recording's side
is its width, not the stem. A remix with any such window is refused. Windows are ``WINDOW_S`` long,
so a stem alone for a beat or a fill passes; a breakdown where some stems drop out passes as
long as others stay with the protected one.

The measure is the Gram matrix of the stems' channels per hop (every cross product of every
stem's left and right over the hop), from which any stem's and any "everything but it" energy
in any linear view follows without keeping the audio.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.effects import MasterFx
from app.core.policy import Policy, company_reasons
from app.core.recipe import AUDIBLE_RANGE_DB
from app.engine.effects import Chain

WINDOW_S = 3.0  # how long a stem must be alone to count (a fill or a pickup is music)
HOP_S = 0.5  # the measure's time step
ALONE_DB = 20.0  # the rest of the mix this far under a stem leaves it effectively alone
BEYOND_ORIGINAL_DB = 6.0  # how much further than the track as written a remix may isolate it
AUDIBLE_DB = 50.0  # a stem this far under the whole mix in a window is not heard there
SIDE_COHERENCE = 0.7  # how alike a stem's channels must be for its side to be a copy of it

#: The views of the stereo signal: (weight of the left channel, weight of the right).
VIEWS: dict[str, tuple[float, float]] = {
    "left": (1.0, 0.0),
    "right": (0.0, 1.0),
    "mid": (0.5, 0.5),
    "side": (0.5, -0.5),
}
VIEW_WORDS = {
    "left": "the left channel",
    "right": "the right channel",
    "mid": "the centre (L+R)",
    "side": "the side (L-R)",
}
SILENT_DB = 120.0  # the rest this far under a stem is nothing at all (rounding, not music)


class Grams:
    """The Gram matrix of the stems' channels per hop: float64 (hops, 2·stems, 2·stems), rows
    ``2i`` and ``2i + 1`` being stem ``i``'s left and right."""

    def __init__(self, stems: int, frames: int, hop_frames: int) -> None:
        self.hop_frames = hop_frames
        hops = max(1, -(-frames // hop_frames))
        self.values = np.zeros((hops, 2 * stems, 2 * stems), dtype=np.float64)

    def add(self, pos: int, signals: np.ndarray) -> None:
        """Add ``signals`` (float32 (2·stems, n): the stems' channels at output frames
        ``[pos, pos + n)``) hop by hop."""
        n = signals.shape[1]
        start = 0
        while start < n:
            hop = (pos + start) // self.hop_frames
            if hop >= self.values.shape[0]:
                return
            end = min(n, (hop + 1) * self.hop_frames - pos)
            part = signals[:, start:end]
            self.values[hop] += part @ part.T
            start = end


def source_grams(raw: Sequence[Any], hop_frames: int) -> Grams:
    """The Gram matrices of the stems as written (``raw``: each a source of (frames, 2)), at
    unity gain: what the original track puts in each view at each place."""
    frames = max(int(r.shape[0]) for r in raw)
    grams = Grams(len(raw), frames, hop_frames)
    signals = np.zeros((2 * len(raw), hop_frames), dtype=np.float32)
    for pos in range(0, frames, hop_frames):
        n = min(hop_frames, frames - pos)
        signals.fill(0.0)
        for i, stem in enumerate(raw):
            piece = np.asarray(stem[pos : pos + n], dtype=np.float32)
            signals[2 * i : 2 * i + 2, : piece.shape[0]] = piece.T
        grams.add(pos, signals[:, :n])
    return grams


@dataclass(frozen=True)
class Passage:
    """A stretch of the remix where a protected stem is alone in one view or more."""

    stem: str
    views: tuple[str, ...]  # of ``VIEWS``, in its order
    start_s: float
    end_s: float
    company_db: float  # the rest of the mix is at least this far under the stem throughout

    def sentence(self) -> str:
        words = [VIEW_WORDS[v] for v in self.views]
        where = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        under = (
            "nothing else heard with it"
            if self.company_db >= SILENT_DB
            else f"the rest of the mix {self.company_db:.0f} dB or more under it"
        )
        return (
            f"the {self.stem} stem would be heard almost alone from {_clock(self.start_s)} "
            f"to {_clock(self.end_s)} in {where} ({under})"
        )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class CompanyMeter:
    """Measures a render's stems piece by piece (``add``), then judges them (``alone``).

    Made empty and handed to the render, which starts it (``start``) and feeds it.
    """

    def __init__(self) -> None:
        self.names: list[str] = []

    def start(
        self,
        names: Sequence[str],
        raw: Sequence[Any],
        frames: int,
        sample_rate: int,
        source_frame: Callable[[int], int],
    ) -> None:
        """Begin measuring a render.

        Args:
            names: the stems, in the render's order.
            raw: each stem as written (the original's measure is taken from them).
            frames: the render's length; ``sample_rate`` in Hz.
            source_frame: the frame of the track as written heard at an output frame.
        """
        self.names = list(names)
        self.sample_rate = sample_rate
        self.hop_frames = max(1, round(HOP_S * sample_rate))
        self.frames = frames
        self.remix = Grams(len(names), frames, self.hop_frames)
        self._raw = list(raw)
        self._source_frame = source_frame
        self._signals = np.zeros((2 * len(names), 0), dtype=np.float32)
        # The master's EQ colours every stem alike but can cut the rest of the mix away from a
        # protected stem's band; each stem goes through its own copy of it for the measure.
        self._master_eq: list[Chain] | None = None

    def master(self, fx: MasterFx) -> None:
        """The master effects from here on (their EQ is applied to the measure)."""
        eq = MasterFx(eq=fx.eq)
        if not eq.eq.active and self._master_eq is None:
            return
        if self._master_eq is None:
            self._master_eq = [Chain(eq, self.sample_rate) for _ in self.names]
        else:
            for chain in self._master_eq:
                chain.update(eq)

    def add(self, pos: int, n: int, parts: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> None:
        """Stems' sounds at output frames ``[pos, pos + n)``: (stem index, its strip's output
        channel-major float32 (2, ≥ n), its (dry, send) gains float32 (2, 2) per channel)."""
        if self._signals.shape[1] < n:
            self._signals = np.zeros((2 * len(self.names), n), dtype=np.float32)
        signals = self._signals[:, :n]
        signals.fill(0.0)
        for i, strip, gains in parts:
            # The send counts as the stem heard: its room's sound carries it.
            gain = np.sqrt(np.square(gains, dtype=np.float32).sum(axis=0))
            rows = signals[2 * i : 2 * i + 2]
            np.multiply(strip[:, :n], gain[:, None], out=rows)
            if self._master_eq is not None:
                rows[:] = self._master_eq[i].process(rows.T).T
        self.remix.add(pos, signals)

    def alone(self, protected: Collection[str], own: Collection[str] = ()) -> list[Passage]:
        """The passages where a stem of ``protected`` is alone (see the module's rule); the
        stems in ``own`` (the fan's recorded parts) keep no one company."""
        chosen = [i for i, name in enumerate(self.names) if name in protected]
        if not chosen or len(self.names) < 2:
            return []
        hops = self.remix.values.shape[0]
        width = max(1, round(WINDOW_S / HOP_S))
        remix = _windows(self.remix.values, width)
        original = source_grams(self._raw, self.hop_frames)
        mapped = self._mapped(original.values, hops)
        original_windows = _windows(mapped, width)
        count = len(self.names)
        # The whole mix's energy, both channels: what "inaudible" is measured against.
        loud = sum(_energy(remix, np.tile(side, count)) for side in ([1.0, 0.0], [0.0, 1.0]))
        views = list(VIEWS)
        passages: list[Passage] = []
        for i in chosen:
            lone = np.zeros((len(views), remix.shape[0]), dtype=bool)
            under = np.full(lone.shape, np.inf)
            for v, view in enumerate(views):
                stem_w, rest_w = _weights(i, count, VIEWS[view])
                for j, name in enumerate(self.names):
                    if name in own:
                        rest_w[2 * j : 2 * j + 2] = 0.0
                stem = _energy(remix, stem_w)
                now = _ratio_db(stem, _energy(remix, rest_w))
                was = _ratio_db(
                    _energy(original_windows, stem_w), _energy(original_windows, rest_w)
                )
                heard = stem > loud * 10 ** (-AUDIBLE_DB / 10) + 1e-12
                if view == "side":
                    # A stem's side is a copy of it only when its channels are one signal
                    # panned (coherent); a stereo recording's side is its width, not it.
                    heard &= _coherence(remix, i) >= SIDE_COHERENCE
                lone[v] = heard & (now > ALONE_DB) & (now > was + BEYOND_ORIGINAL_DB)
                under[v] = now
            passages += self._passages(self.names[i], views, lone, under)
        return sorted(passages, key=lambda p: (p.start_s, p.stem))

    def _mapped(self, original: np.ndarray, hops: int) -> np.ndarray:
        """The original's Gram per output hop: the source hops it plays, summed (a retimed
        hop covers more or fewer of them; a repeat reads the same ones again)."""
        cumulative = np.concatenate([np.zeros_like(original[:1]), np.cumsum(original, axis=0)])
        last = original.shape[0]
        starts = [
            min(last - 1, max(0, self._source_frame(h * self.hop_frames) // self.hop_frames))
            for h in range(hops + 1)
        ]
        out = np.empty((hops, *original.shape[1:]), dtype=np.float64)
        for h in range(hops):
            lo = starts[h]
            hi = starts[h + 1] if starts[h + 1] > lo else lo + 1
            out[h] = cumulative[min(hi, last)] - cumulative[lo]
        return out

    def _passages(
        self, stem: str, views: list[str], lone: np.ndarray, under: np.ndarray
    ) -> list[Passage]:
        """Runs of windows where ``stem`` is alone in some view (``lone``: bool (views,
        windows); ``under``: the rest's dB under it, alike) as passages of the remix."""
        index = np.flatnonzero(lone.any(axis=0))
        if not index.size:
            return []
        total_s = self.frames / self.sample_rate
        # Windows overlap: lone windows less than a window apart make one passage.
        breaks = np.flatnonzero(np.diff(index) > round(WINDOW_S / HOP_S))
        firsts = np.concatenate(([0], breaks + 1))
        lasts = np.concatenate((breaks, [index.size - 1]))
        found = []
        for first, last in zip(firsts, lasts, strict=True):
            a, b = int(index[first]), int(index[last]) + 1
            run = lone[:, a:b]
            worst = under[:, a:b][run]
            found.append(
                Passage(
                    stem,
                    views=tuple(v for k, v in enumerate(views) if run[k].any()),
                    start_s=a * HOP_S,
                    end_s=min(total_s, (b - 1) * HOP_S + WINDOW_S),
                    company_db=float(np.min(worst)),
                )
            )
        return found


def _windows(grams: np.ndarray, width: int) -> np.ndarray:
    """Sums of ``width`` consecutive hops, one per starting hop (fewer hops: one window)."""
    if grams.shape[0] <= width:
        whole: np.ndarray = grams.sum(axis=0, keepdims=True)
        return whole
    cumulative = np.concatenate([np.zeros_like(grams[:1]), np.cumsum(grams, axis=0)])
    sums: np.ndarray = cumulative[width:] - cumulative[:-width]
    return sums


def _weights(i: int, count: int, view: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The channel weights of stem ``i`` alone and of every other stem, in ``view``."""
    every = np.tile(np.asarray(view), count)
    stem = np.zeros(2 * count)
    stem[2 * i : 2 * i + 2] = view
    return stem, every - stem


def _coherence(grams: np.ndarray, i: int) -> np.ndarray:
    """How much stem ``i``'s left and right are one signal, per window: LR² / (LL·RR), 1 for
    a mono source however panned, near 0 for independent channels."""
    left, right, both = (
        grams[:, 2 * i, 2 * i],
        grams[:, 2 * i + 1, 2 * i + 1],
        grams[:, 2 * i, 2 * i + 1],
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.square(both) / (left * right)
    coherent: np.ndarray = np.nan_to_num(value, nan=0.0, posinf=0.0)
    return coherent


def _energy(grams: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The energy of the weighted sum of channels, per window: wᵀ G w."""
    energy: np.ndarray = np.einsum("i,hij,j->h", weights, grams, weights)
    return energy


def _ratio_db(stem: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """How far under the stem the rest is, in dB (inf where the rest is silent)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 10 * np.log10(np.maximum(stem, 0.0) / np.maximum(rest, 0.0))
    finite: np.ndarray = np.nan_to_num(ratio, nan=-np.inf, posinf=np.inf)
    return finite


def heard_reasons(
    policy: Policy,
    levels: Mapping[str, float],
    company: CompanyMeter,
    limit: int = 3,
    *,
    own: Collection[str] = (),
) -> list[str]:
    """What a render shows the policy's rules on company break, as the render measured it
    (``levels`` and ``company`` filled by it): the stems really heard over the whole song
    (a stem filtered or compressed into silence keeps no one company), then the passages
    where a protected stem is alone (the first ``limit`` of them, and how many more). The
    stems in ``own`` are the fan's recorded parts: they keep no licensed stem company."""
    heard = [k for k, db in levels.items() if db >= -AUDIBLE_RANGE_DB and k not in own]
    reasons = company_reasons(policy, [heard], publishing=True)
    protected = [k for k in company.names if not policy.rule(k).solo and k not in own]
    passages = company.alone(protected, own)
    reasons += [p.sentence() for p in passages[:limit]]
    if len(passages) > limit:
        reasons.append(f"and {len(passages) - limit} more such passage(s)")
    return reasons
