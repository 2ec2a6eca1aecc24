# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing speed: the render and the platform's verification of an 8-stem remix, plain,
retimed (x1.1), transposed (+2 semitones) and styled (a style model on the lead, retimed), as
x real time, beside sox's ``tempo`` and a plain pedalboard ``time_stretch`` script doing the
same tempo change in the same run.

Each remix is rendered three ways:

* *cold*: nothing stretched before (a render from the command line, or the platform's first
  upload at that tempo and key);
* *after playback*: from the chunk store playback filled while the remix played (the prefetcher
  makes the rest of every stem into it once what lies ahead is made): the studio's publish
  render;
* verification *cold* and *warm*: the platform's work on an upload (decode the FLAC,
  fingerprint, re-render, compare), first with an empty chunk store, then with the store a
  previous upload at the same tempo and key left (another fan's, or the same remix's).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.styles import packages
from benchmarks.table import ROOT, Figure, benchmark

TARGET_RETIMED = 20.0
TARGET_STYLED = 15.0
RATIO = 1.1


def _stems(seconds: float) -> tuple[dict[str, np.ndarray], int]:
    """Neon Harbour's 5 stems repeated to ``seconds``, plus three of them again: 8 stems."""
    folder = ROOT / "assets" / "demo" / "stems" / "neon-harbour"
    loaded = {p.stem: sf.read(p, dtype="float32")[0] for p in sorted(folder.iterdir())}
    rate = sf.info(next(folder.iterdir())).samplerate
    frames = int(seconds * rate)
    stems = {}
    for kind, audio in [*loaded.items(), *[(f"{k}2", a) for k, a in list(loaded.items())[:3]]]:
        reps = -(-frames // audio.shape[0])
        stems[kind] = np.ascontiguousarray(np.tile(audio, (reps, 1))[:frames])
    return stems, rate


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _sox_tempo(stems: dict[str, np.ndarray], rate: int) -> float | None:
    """Seconds for sox to apply ``tempo 1.1`` to each stem, 2 processes at a time, and mix."""
    if shutil.which("sox") is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="fanfare-bench-sox-"))
    try:  # benchmark input only: the demo's CC0 stems, deleted after
        for name, audio in stems.items():
            sf.write(folder / f"{name}.wav", audio, rate, subtype="FLOAT")

        def one(name: str) -> None:
            subprocess.run(
                ["sox", str(folder / f"{name}.wav"), str(folder / f"{name}.t.wav"), "tempo",
                 str(RATIO)], check=True, capture_output=True,
            )  # fmt: skip

        def run() -> None:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(one, stems))
            subprocess.run(
                ["sox", "-m", *[str(folder / f"{n}.t.wav") for n in stems],
                 str(folder / "mix.wav")], check=True, capture_output=True,
            )  # fmt: skip

        return _timed(run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pedalboard_script(stems: dict[str, np.ndarray], rate: int) -> float:
    """Seconds for a plain script: ``pedalboard.time_stretch`` (its defaults: Rubber Band's
    finer engine) on each whole stem, 2 threads, summed."""
    import pedalboard

    def one(audio: np.ndarray) -> np.ndarray:
        out: np.ndarray = pedalboard.time_stretch(
            np.ascontiguousarray(audio.T), float(rate), stretch_factor=RATIO
        ).T
        return out

    def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            outs = list(pool.map(one, stems.values()))
        frames = min(o.shape[0] for o in outs)
        np.sum([o[:frames] for o in outs], axis=0)

    return _timed(run)


@benchmark
def publish_speed(quick: bool) -> list[Figure]:
    """x real time of the render (cold, and after playback) and of the platform's verification
    (cold, and warm) for plain, retimed, transposed and styled 8-stem remixes."""
    from app.core.codec import decode_audio, encode_flac
    from app.core.recipe import Recipe
    from app.core.style_slot import StyleSlot
    from app.core.track import StemInfo, TrackInfo
    from app.engine.chunk_store import ChunkStore
    from app.engine.mixer import Mixer
    from app.engine.offline import render_derivative
    from app.engine.stretched import StretchedSource
    from app.server.fingerprints import fingerprint
    from app.styles.package import StylePackage
    from tests.helpers.waiting import wait_for

    seconds = 60.0 if quick else 240.0
    stems, rate = _stems(seconds)
    info = TrackInfo(
        id="bench", version=1, title="Bench", artist="Bench", bpm=118.0, key="A major",
        time_signature="4/4", sample_rate=rate, frames=int(seconds * rate),
        stems=tuple(StemInfo(kind) for kind in stems),
    )  # fmt: skip
    found = {p.name: StylePackage.from_dir(p) for p in packages()}
    timbre = next(p for n, p in found.items() if n.startswith("timbre."))
    by_ref = {p.manifest.ref: p for p in found.values()}
    plain = Recipe.default_for(info).with_stem("drums", gain_db=-3.0)
    remixes = {
        "plain": plain,
        "retimed x1.1": plain.with_tempo(ratio=RATIO),
        "transposed +2": plain.with_tempo(key_shift=2),
        "styled (lead), retimed x1.1": plain.with_tempo(ratio=RATIO).with_stem(
            "lead", style=StyleSlot.make(timbre.manifest.id, timbre.manifest.model_version)
        ),
    }

    def measured(label: str, recipe: Recipe) -> list[Figure]:
        out_s = seconds / recipe.tempo_ratio

        def rendered(store: ChunkStore) -> np.ndarray:
            audio, _ = render_derivative(
                stems, rate, recipe, track=info, styles=by_ref.__getitem__, store=store
            )
            return audio

        started = time.perf_counter()
        flac = encode_flac(rendered(ChunkStore()), rate)
        cold_s = time.perf_counter() - started  # the FLAC encode is a few tenths of a second
        # Playback fills a store: the prefetcher makes what lies ahead, then finishes the rest.
        studio = ChunkStore(2**31)
        mixer = Mixer(stems, rate, recipe, track=info, styles=by_ref.__getitem__, store=studio)
        finish_started = time.perf_counter()
        try:
            mixer.reset(0)
            mixer.follow(0)
            retimed = [s for s in mixer.stems if isinstance(s, StretchedSource)]
            wait_for(
                lambda: all(all(s.stored(i) for i in range(s.chunks)) for s in retimed),
                timeout_s=3600,
            )
        finally:
            mixer.close()
        finish_s = time.perf_counter() - finish_started
        after_s = _timed(lambda: rendered(studio))
        platform = ChunkStore(2**31)

        def verify() -> None:
            audio, _ = decode_audio(flac)
            fingerprint(audio, rate)
            expected = rendered(platform)
            assert float(np.max(np.abs(expected - audio))) < 1e-5

        verify_cold_s = _timed(verify)
        verify_warm_s = _timed(verify)
        moved = recipe.tempo_ratio != 1.0 or recipe.key_shift != 0
        target = TARGET_STYLED if "styled" in label else TARGET_RETIMED
        finishing = [
            Figure(
                f"{label}: playback finishing the stretch (one thread, resting), per minute",
                60.0 * finish_s / out_s,
                "s",
                "",
                None,
            )
        ]
        return [
            Figure(f"{label}: render, cold", out_s / cold_s, "x real time", "", None),
            Figure(
                f"{label}: render after playback (the studio's publish)",
                out_s / after_s,
                "x real time",
                f">= {target:.0f}" if moved else "",
                out_s / after_s >= target if moved else None,
            ),
            *(finishing if moved else []),
            Figure(f"{label}: verification, cold", out_s / verify_cold_s, "x real time", "", None),
            Figure(
                f"{label}: verification, warm (same tempo and key before)",
                out_s / verify_warm_s,
                "x real time",
                ">= the render after playback",
                verify_warm_s <= after_s * 1.05,
            ),
            Figure(
                f"{label}: verification per published minute, cold / warm",
                60.0 * verify_cold_s / out_s,
                f"s (warm {60.0 * verify_warm_s / out_s:.1f} s)",
                "",
                None,
            ),
        ]

    figures = [f for label, recipe in remixes.items() for f in measured(label, recipe)]
    sox_s = _sox_tempo(stems, rate)
    if sox_s is not None:
        figures.append(
            Figure(
                f"sox tempo {RATIO} on 8 stems (2 at a time) and mix",
                seconds / RATIO / sox_s,
                "x real time",
                "",
                None,
            )
        )
    script_s = _pedalboard_script(stems, rate)
    figures.append(
        Figure(
            f"plain pedalboard time_stretch {RATIO} on 8 whole stems (2 threads) and sum",
            seconds / RATIO / script_s,
            "x real time",
            "",
            None,
        )
    )
    return figures
