# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing's steps, and an estimate of how long a remix takes to render and to verify.

:meth:`OpenTrack.publish <app.studio.open_track.OpenTrack.publish>` reports its progress as
``progress(step, fraction_of_step)``: the steps of :data:`PUBLISH_STEPS` in order, each from
0 to 1. *Rendering* is this computer's render (then its FLAC encoding and signing),
*Uploading* the bytes sent, *Verifying* the platform's own progress as it checks and
re-renders the remix (it answers the upload once it is done).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.recipe import Recipe, styles_of
from app.core.track import TrackInfo

RENDERING, UPLOADING, VERIFYING = "Rendering", "Uploading", "Verifying"
PUBLISH_STEPS = (RENDERING, UPLOADING, VERIFYING)

#: Seconds of mixing per second of remix per heard stem, at the written tempo and key, until
#: this process has timed a render of its own (measured: 0.05-0.08 s for the demo's 75 s with
#: 3 stems heard, on a 2-core machine; rounded up).
PLAIN_S_PER_STEM_S = 0.0005
#: Seconds per second of remix to finish a render, until this process has timed one: the
#: loudness pass with its 4x oversampled true-peak limiter (measured: 1.0-1.6 s for 75 s),
#: the FLAC encoding (0.15 s) and signing.
FINISH_S_PER_S = 0.022
#: Threads the offline render sums its stems on (``engine.kernel.stem_groups``: two groups).
RENDER_THREADS = 2
#: What verification adds to its re-render, per second of remix (measured: 0.8 s to decode,
#: fingerprint and check the upload, 1.4 s to countersign it, make its watermark variants and
#: seal them, for 75 s).
VERIFY_EXTRA_S_PER_S = 0.03
#: An estimate over this many seconds (render and verification together) is worth saying.
LONG_S = 20.0

#: The speeds this process measured (``note_render``): mixing, finishing.
_speeds = {"mix": PLAIN_S_PER_STEM_S, "finish": FINISH_S_PER_S}


@dataclass(frozen=True)
class PublishEstimate:
    """About how long publishing a remix takes on this computer (an estimate, not a promise:
    the platform's computer may be faster or busier, and the upload's time is not in it).
    ``mix_s`` is the part of ``render_s`` before the loudness pass, encoding and signing."""

    mix_s: float
    render_s: float
    verify_s: float

    @property
    def long(self) -> bool:
        """Worth telling before starting."""
        return self.render_s + self.verify_s > LONG_S

    def sentence(self) -> str:
        return (
            f"This remix takes about {_round_s(self.render_s)} s to render and "
            f"{_round_s(self.verify_s)} s to verify."
        )


def estimate(
    recipe: Recipe,
    info: TrackInfo,
    *,
    stretched: float = 0.0,
    platform_stretched: bool = False,
) -> PublishEstimate:
    """An estimate of the seconds to render ``recipe`` here and to verify it on the platform.

    From the remix's length, its heard stems and whether they are retimed, transposed or
    styled, at the speeds this process last measured: the plain mix's and the finishing's
    (:func:`note_render`, else the constants above), Rubber Band's per 0.5 s chunk
    (``StretchedSource.recent_make_s``) and a style model's (``StyledSource.recent_make_s``),
    shared by the render's threads. A timbre model's pitch analysis of the whole stem is not
    counted. The platform re-renders the same recipe, so verifying is taken to cost the same
    render plus its own checks.

    Args:
        stretched: the share (0..1) of the retimed chunks already in this studio's chunk store
            (playback made them): the render mixes those instead of stretching them.
        platform_stretched: the platform was told of this tempo and key ahead (the studio's
            warm hint), so its re-render stretches nothing either.
    """
    # The engine loads with a track; the command line's start-up does without it.
    from app.engine.stretched import STRETCH_CHUNK_FRAMES, StretchedSource
    from app.engine.styled import STYLE_CHUNK_FRAMES, StyledSource

    rate = info.sample_rate
    seconds = recipe.output_frames(info) / rate
    stems = _heard_stems(recipe)
    mix_s = seconds * stems * _speeds["mix"]
    stretch_s = style_s = 0.0
    retimed = recipe.tempo_ratio != 1.0 or recipe.key_shift != 0
    if retimed:
        chunks = seconds * rate / STRETCH_CHUNK_FRAMES
        stretch_s = chunks * stems * StretchedSource.recent_make_s / min(stems, RENDER_THREADS)
    styled = sum(1 for kind in styles_of(recipe) if not recipe.stems[kind].mute)
    if styled:
        chunks = seconds * recipe.tempo_ratio * rate / STYLE_CHUNK_FRAMES  # the stem's own time
        style_s = chunks * styled * StyledSource.recent_make_s / min(styled, RENDER_THREADS)
    if retimed:  # the store keeps a styled stem stretched: stored, neither is made again
        stretch_s += style_s
    else:
        mix_s += style_s
    plain_s = mix_s + seconds * _speeds["finish"]
    render_s = plain_s + stretch_s * (1.0 - min(1.0, max(0.0, stretched)))
    verify_s = (plain_s if platform_stretched else plain_s + stretch_s) + (
        seconds * VERIFY_EXTRA_S_PER_S
    )
    return PublishEstimate(render_s - seconds * _speeds["finish"], render_s, verify_s)


def note_render(recipe: Recipe, info: TrackInfo, mix_s: float, finish_s: float) -> None:
    """A render of ``recipe`` here took ``mix_s`` to mix and ``finish_s`` to finish (the
    loudness pass, encoding, signing): keep the speeds for the next :func:`estimate` (the
    mixing speed only from a remix at the written tempo and key, without styles)."""
    seconds = recipe.output_frames(info) / info.sample_rate
    if seconds <= 0:
        return
    _speeds["finish"] = finish_s / seconds
    if recipe.tempo_ratio == 1.0 and recipe.key_shift == 0 and not styles_of(recipe):
        _speeds["mix"] = mix_s / (seconds * _heard_stems(recipe))


def _heard_stems(recipe: Recipe) -> int:
    """The stems the render reads (a muted stem is skipped, not rendered)."""
    soloed = [kind for kind, mix in recipe.stems.items() if mix.solo]
    return max(1, len(soloed or [kind for kind, mix in recipe.stems.items() if not mix.mute]))


def _round_s(seconds: float) -> int:
    """Seconds as a person would say them: to 5 s over a minute."""
    return max(1, round(seconds / 5) * 5 if seconds > 60 else round(seconds))
