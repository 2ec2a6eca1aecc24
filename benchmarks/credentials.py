# SPDX-License-Identifier: GPL-3.0-or-later
"""Content Credentials: what signing them adds to the studio's publish, and what checking and
countersigning them adds to the platform's verification, for a 4-minute 8-stem remix.

The remix is the demo's Neon Harbour stems, repeated to 4 minutes, plus three of them again as
extra stems (8 in all), mixed with a fader change (the render at its fastest, so the share the
credentials take is the largest it gets). Publish = render + FLAC encode + sign; verification =
read and check the credentials, decode + fingerprint, then the re-render with the
countersigning beside it in a worker process, as the platform does it (``SignedAhead``);
intake = verification + the watermark variants made and sealed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.codec import decode_audio, encode_flac
from app.core.credentials import (
    RemixFacts,
    edits_of,
    read_credentials,
    remix_manifest,
    sign_flac,
    strip_store,
)
from app.core.recipe import Recipe
from app.core.track import StemInfo, TrackInfo
from app.engine.offline import render_derivative
from app.server.ca import DeviceCA, Publisher, _self_signed
from app.server.countersigning import SignedAhead, countersign_in_worker
from app.server.credentials import countersign
from app.server.fingerprints import fingerprint
from app.server.segments import make_variants
from benchmarks.table import ROOT, Figure, benchmark, median

SECONDS = 240.0
TARGET_SHARE = 0.05


def _remix() -> tuple[dict[str, np.ndarray], TrackInfo, Recipe]:
    folder = ROOT / "assets" / "demo" / "stems" / "neon-harbour"
    loaded = {p.stem: sf.read(p, dtype="float32")[0] for p in sorted(Path(folder).iterdir())}
    rate = sf.info(next(Path(folder).iterdir())).samplerate
    frames = int(SECONDS * rate)
    stems = {}
    for kind, audio in [*loaded.items(), *[(f"{k}2", a) for k, a in list(loaded.items())[:3]]]:
        reps = -(-frames // audio.shape[0])
        stems[kind] = np.ascontiguousarray(np.tile(audio, (reps, 1))[:frames])
    info = TrackInfo(
        id="bench", version=1, title="Bench", artist="Bench", bpm=118.0, key="A major",
        time_signature="4/4", sample_rate=rate, frames=frames,
        stems=tuple(StemInfo(kind) for kind in stems),
    )  # fmt: skip
    recipe = Recipe.default_for(info).with_stem("drums", gain_db=-3.0)
    return stems, info, recipe


def _timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


@benchmark
def credentials_cost(quick: bool) -> list[Figure]:
    """Signing (studio) and checking + countersigning (platform) as shares of publish and of
    verification, for a 4-minute 8-stem remix."""
    stems, info, recipe = _remix()
    ca_key = Ed25519PrivateKey.generate()
    ca = DeviceCA(ca_key, _self_signed(ca_key))
    device = Ed25519PrivateKey.generate()
    certificate = ca.issue("dev_bench", "bench", device.public_key())
    publisher_key = Ed25519PrivateKey.generate()
    publisher = Publisher(
        publisher_key, ca.issue("Fanfare publisher", "platform", publisher_key.public_key())
    )
    runs = 3
    holder: dict[str, bytes] = {}

    def render() -> None:
        audio, _ = render_derivative(stems, info.sample_rate, recipe, track=info)
        holder["flac"] = encode_flac(audio, info.sample_rate)

    facts = RemixFacts(
        title="Bench", fan="bench", software_version="0", track_id="bench", track_version=1,
        track_title="Bench", artist="Bench", track_digest="sha256-0", edits=edits_of(recipe),
        remix={"recipe_sha256": recipe.digest()},
    )  # fmt: skip

    def sign() -> None:
        holder["signed"] = sign_flac(
            holder["flac"],
            remix_manifest(facts),
            device.sign,
            certificate,
        )

    def check() -> None:
        read_credentials(holder["signed"], ca.pem).check_trusted()

    def admit() -> None:  # what the platform does before the re-render, beside the check
        audio, _ = decode_audio(holder["signed"])
        fingerprint(audio, info.sample_rate)

    def rerender() -> None:
        render_derivative(stems, info.sample_rate, recipe, track=info)

    def verify_work() -> None:
        admit()
        rerender()

    def sign_as_publisher() -> None:
        signed = holder["signed"]
        holder["published"] = countersign(
            publisher, signed, strip_store(signed), title="Bench", verification={}
        )

    doc = {
        "id": "drv_bench", "title": "Bench", "by": "bench", "track_title": "Bench",
        "disclosure": {}, "audio_sha256": "0" * 64,
    }  # fmt: skip

    def verify_signing_ahead() -> None:  # the platform's way: countersigned beside the re-render
        admit()
        ahead = SignedAhead(
            lambda disclosure: countersign_in_worker(
                publisher, holder["signed"], doc | {"disclosure": disclosure},
                title="Bench", verification={},
            ),
            {},
        )  # fmt: skip
        rerender()
        holder["published"] = ahead.take({})

    def keep() -> None:  # what the platform does after: watermark variants, sealed
        make_variants("drv_bench", holder["published"], bytes(32))

    render_s = _timed(render, runs)
    sign_s = _timed(sign, runs)
    check_s = _timed(check, runs)
    counter_s = _timed(sign_as_publisher, runs)
    # The worker process started first, as it is once a platform has published anything.
    countersign_in_worker(publisher, holder["signed"], doc, title="B", verification={}).result()
    # The work alone and with the countersigning beside it, in pairs, each pair's order the
    # last one's reversed: what it adds is the median of the pairs' differences (on this
    # machine a run of the work alone varies by several times the countersigning's cost).
    alone, beside = [], []
    for pair in range(5 if quick else 9):
        order = ((verify_work, alone), (verify_signing_ahead, beside))
        for fn, times in order if pair % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    work_s = median(alone)
    added_s = median([b - a for a, b in zip(alone, beside, strict=True)])  # < 0: noise
    keep_s = _timed(keep, runs)
    publish_share = sign_s / (render_s + sign_s)
    cost_s = check_s + max(0.0, added_s)
    verify_share = cost_s / (work_s + cost_s)
    intake_share = cost_s / (work_s + cost_s + keep_s)
    size_mb = len(holder["signed"]) / 1e6
    return [
        Figure(f"credentials: sign a 4-min remix ({size_mb:.0f} MB FLAC)", sign_s, "s", "", None),
        Figure("credentials: check a 4-min remix's", check_s, "s", "", None),
        Figure("credentials: countersign as publisher, alone", counter_s, "s", "", None),
        Figure(
            "credentials: countersign's time added to verification (beside the re-render)",
            added_s,
            "s",
            "",
            None,
        ),
        Figure(
            "credentials: share of the studio's publish (render+encode+sign)",
            100 * publish_share,
            "%",
            "<= 5 %",
            publish_share <= TARGET_SHARE,
        ),
        Figure(
            "credentials: share of the platform's verification (check, re-render, sign beside)",
            100 * verify_share,
            "%",
            "<= 5 %",
            verify_share <= TARGET_SHARE,
        ),
        Figure(
            "credentials: share of the platform's intake (verification + watermark variants)",
            100 * intake_share,
            "%",
            "<= 5 %",
            intake_share <= TARGET_SHARE,
        ),
    ]
