# SPDX-License-Identifier: GPL-3.0-or-later
"""Fingerprints: made at ingest, compared, indexed, and traced back from a copied excerpt
(MP3 at 128 kbps, 44.1 kHz, ±6 dB, ±3 % speed), by the index and by ``fanfare-platform trace``.

The demo catalogue's stems are read as ingest stores them (48 kHz); the platform is a copy of
the seeded demo platform, whose ingest fingerprinted every track.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from pedalboard.io import AudioFile
from sqlalchemy import select

from app.core.policy import Policy, evaluate
from app.core.recipe import loads
from app.core.track import TrackInfo
from app.server import cli
from app.server.config import ServerConfig
from app.server.db import Track, User, make_sessions
from app.server.demo import assets_dir
from app.server.fingerprint_index import (
    MIN_TRACE_S,
    Entry,
    Fingerprint,
    FingerprintIndex,
    TraceError,
    index_derivative,
    trace,
    track_fingerprints,
)
from app.server.fingerprints import (
    ITEM_S,
    AudioFileError,
    difference,
    fingerprint,
    from_bytes,
    read_audio_file,
)
from app.server.ingest import SourceStem, load_stems
from app.server.schema import connect
from tests.helpers.platform import copy_platform

RATE = 48_000
EXCERPT_AT_S = 23.37  # off Chromaprint's 0.124 s frame grid, as a real excerpt would be
Audio = tuple[np.ndarray, float]


def _stems(track_id: str) -> dict[str, np.ndarray]:
    catalogue = json.loads((assets_dir() / "demo" / "catalogue.json").read_text())
    entry = next(e for e in catalogue["tracks"] if e["id"] == track_id)
    demo = assets_dir() / "demo"
    stems, _ = load_stems([SourceStem(k, demo / p) for k, p in entry["stems"].items()])
    return stems


@pytest.fixture(scope="module")
def harbour() -> dict[str, np.ndarray]:
    """neon-harbour's stems as ingest stores them: float32 (frames, 2) at 48 kHz."""
    return _stems("neon-harbour")


@pytest.fixture(scope="module")
def mix(harbour: dict[str, np.ndarray]) -> np.ndarray:
    """neon-harbour's own mix, under full scale as a released master would be."""
    total = sum(harbour.values())
    assert isinstance(total, np.ndarray)
    return (total / np.abs(total).max() * 0.9).astype(np.float32)


@pytest.fixture(scope="module")
def platform(seeded_platform_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seeded demo platform, shared by this module's read-only tests."""
    return copy_platform(seeded_platform_template, tmp_path_factory.mktemp("fp") / "platform")


@pytest.fixture(scope="module")
def index(platform: Path) -> FingerprintIndex:
    """The platform's index, as a platform process builds it from the table."""
    engine = connect(ServerConfig.load(platform).database_url)
    return FingerprintIndex(make_sessions(engine))


# --- copies, as they reach the platform ------------------------------------------------------


def mp3_128k(audio: Audio) -> Audio:
    samples, rate = audio
    buffer = io.BytesIO()
    with AudioFile(buffer, "w", rate, samples.shape[1], format="mp3", quality=128) as out:
        out.write(samples.T)
    buffer.seek(0)
    with AudioFile(buffer) as decoded:
        return np.ascontiguousarray(decoded.read(decoded.frames).T), float(decoded.samplerate)


def to_44k1(audio: Audio) -> Audio:
    return soxr.resample(audio[0], audio[1], 44_100), 44_100.0


def gain(db: float) -> Callable[[Audio], Audio]:
    return lambda a: (np.clip(a[0] * np.float32(10 ** (db / 20)), -1, 1), a[1])


def speed(factor: float) -> Callable[[Audio], Audio]:
    """Played ``factor`` times as fast: resampled, then declared at the old rate."""
    return lambda a: (soxr.resample(a[0], a[1], a[1] / factor), a[1])


def excerpt(audio: np.ndarray, seconds: float = 20.0, at_s: float = EXCERPT_AT_S) -> Audio:
    return audio[int(at_s * RATE) : int((at_s + seconds) * RATE)], float(RATE)


COPIES: dict[str, tuple[float, list[Callable[[Audio], Audio]]]] = {
    # name: (speed factor, steps after the 20 s excerpt)
    "mp3": (1.0, [mp3_128k]),
    "44.1 kHz": (1.0, [to_44k1]),
    "+6 dB": (1.0, [gain(6.0)]),
    "-6 dB": (1.0, [gain(-6.0)]),
    "+3 % speed": (1.03, [speed(1.03)]),
    "-3 % speed": (0.97, [speed(0.97)]),
    "all at once": (1.03, [speed(1.03), gain(-6.0), to_44k1, mp3_128k]),
}


# --- fingerprints and their difference --------------------------------------------------------


def test_a_fingerprint_is_whole_and_difference_is_a_bit_error_rate(mix: np.ndarray) -> None:
    whole = fingerprint(mix, RATE)
    assert whole.dtype == np.uint32
    # One sub-fingerprint every ITEM_S seconds of the whole track (no 120 s cap), bar the
    # frames Chromaprint's filters need to fill.
    assert abs(len(whole) * ITEM_S - mix.shape[0] / RATE) < 3.0
    assert difference(whole, whole).ber == 0.0
    part = fingerprint(*excerpt(mix))
    found = difference(whole, part)
    assert found.ber < 0.1
    assert found.offset_s == pytest.approx(EXCERPT_AT_S, abs=2 * ITEM_S)
    assert found.overlap_s > 15.0
    unrelated = difference(whole, fingerprint(sum(_stems("copper-wire").values()), RATE))
    assert unrelated.ber > 0.4


def test_a_copy_is_close_and_the_other_tracks_are_not(mix: np.ndarray) -> None:
    original = fingerprint(mix, RATE)
    copy = fingerprint(*mp3_128k((mix, float(RATE))))
    assert difference(original, copy).ber < 0.1
    assert difference(original, fingerprint(sum(_stems("paper-moons").values()), RATE)).ber > 0.4


# --- at ingest --------------------------------------------------------------------------------


def test_ingest_fingerprints_each_track_versions_mix_and_stems(platform: Path) -> None:
    engine = connect(ServerConfig.load(platform).database_url)
    with make_sessions(engine)() as session:
        for track in session.scalars(select(Track)):
            stored = track_fingerprints(session, track.id, track.version)
            kinds = set(json.loads(json.dumps(list(stored))))
            assert "mix" in kinds and len(kinds) >= 5, kinds
            rows = session.scalars(select(Fingerprint).where(Fingerprint.track_id == track.id))
            for row in rows:
                assert row.user_id == track.artist_id
                assert row.duration_s == pytest.approx(track.frames / track.sample_rate)
                assert len(from_bytes(row.data)) * ITEM_S > row.duration_s - 3.0


# --- trace ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(COPIES))
def test_trace_names_the_track_a_copied_excerpt_comes_from(
    name: str, mix: np.ndarray, index: FingerprintIndex
) -> None:
    factor, steps = COPIES[name]
    # 20 s of the music: taken a little longer where it is then sped up.
    audio = excerpt(mix, seconds=20.0 * factor)
    for step in steps:
        audio = step(audio)
    found = trace(index, *audio)
    assert found is not None
    assert (found.hit.entry.track_id, found.hit.entry.subject) == ("neon-harbour", "mix")
    assert found.hit.ber < 0.2
    assert found.speed == pytest.approx(factor, abs=0.005)
    assert found.hit.offset_s == pytest.approx(EXCERPT_AT_S, abs=0.5)


def test_trace_finds_nothing_in_unrelated_music(index: FingerprintIndex) -> None:
    # A chord progression the catalogue does not hold, with noise: music-like, unrelated.
    rng = np.random.default_rng(7)
    t = np.arange(int(30 * RATE)) / RATE
    roots = np.repeat([220.0, 246.9, 196.0, 174.6], int(7.5 * RATE))
    chord = sum(np.sin(2 * np.pi * roots * ratio * t) for ratio in (1.0, 1.26, 1.5))
    audio = (0.2 * chord + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    assert trace(index, np.stack([audio, audio], axis=1), RATE) is None


def test_trace_says_the_minimum_for_a_short_or_silent_recording(
    mix: np.ndarray, index: FingerprintIndex
) -> None:
    with pytest.raises(TraceError, match=f"at least {MIN_TRACE_S:g} s"):
        trace(index, *excerpt(mix, seconds=12.0))
    with pytest.raises(TraceError, match="silent"):
        trace(index, np.zeros((25 * RATE, 2), dtype=np.float32), RATE)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "leak.mp3"
    junk.write_bytes(b"not audio at all" * 64)
    with pytest.raises(AudioFileError, match=r"leak\.mp3 is not audio"):
        read_audio_file(junk)
    with pytest.raises(AudioFileError, match="There is no file"):
        read_audio_file(tmp_path / "missing.wav")


# --- the index --------------------------------------------------------------------------------


def test_the_index_finds_the_right_recording_among_many(harbour: dict[str, np.ndarray]) -> None:
    index = FingerprintIndex()
    rng = np.random.default_rng(3)
    filler = [
        (
            Entry(n, "derivative", "other", 1, None, f"drv_{n}", "fan", 200.0),
            rng.integers(0, 2**32, size=int(rng.integers(1400, 1900)), dtype=np.uint32),
        )
        for n in range(1, 5001)
    ]
    index.add(filler[:2500])
    stems = [
        (Entry(9000 + n, "stem", "neon-harbour", 1, kind, None, "artist", 74.7), fp)
        for n, (kind, fp) in enumerate((k, fingerprint(a, RATE)) for k, a in harbour.items())
    ]
    index.add(stems)
    index.add(filler[2500:])  # the real ones between two batches: merged segments still find
    assert len(index) == 5000 + len(harbour)
    for kind, audio in harbour.items():
        query = fingerprint(*mp3_128k(excerpt(audio)))
        hits = index.lookup(query)
        # Not its offset: a stem plays the same in both choruses, so either place is right.
        assert hits and hits[0].entry.stem == kind, (kind, hits[:2])
        assert hits[0].ber < 0.2
    assert index.lookup(fingerprint(*excerpt(_stems("paper-moons")["drums"]))) == []


def test_a_new_row_is_found_by_a_running_index(
    platform_dir: Path, harbour: dict[str, np.ndarray]
) -> None:
    engine = connect(ServerConfig.load(platform_dir).database_url)
    sessions = make_sessions(engine)
    index = FingerprintIndex(sessions)
    remix = (harbour["drums"] + harbour["bass"] * 0.5).astype(np.float32)
    assert all(
        hit.entry.subject != "derivative" for hit in index.lookup(fingerprint(*excerpt(remix)))
    )
    with sessions() as session:
        track = session.get(Track, "neon-harbour")
        fan = session.scalars(select(User).where(User.name == "fan")).one()
        assert track is not None
        index_derivative(session, "drv_new", track, fan.id, remix, RATE)
        session.commit()
    hit = index.lookup(fingerprint(*excerpt(remix)))[0]
    assert (hit.entry.derivative_id, hit.entry.user_id) == ("drv_new", fan.id)
    assert hit.ber < 0.1  # the excerpt is off the frame grid the whole was fingerprinted on


# --- fanfare-platform trace -------------------------------------------------------------------


def _write_mp3(path: Path, audio: Audio) -> Path:
    samples, rate = audio
    with AudioFile(str(path), "w", rate, samples.shape[1], quality=128) as out:
        out.write(samples.T)
    return path


def test_the_cli_names_the_track_with_its_measures(
    platform: Path, mix: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak = _write_mp3(tmp_path / "leak.mp3", speed(0.97)(excerpt(mix, seconds=21.0)))
    assert cli.main(["trace", str(leak), "--data", str(platform)]) == 0
    sentence = capsys.readouterr().out.strip()
    assert sentence.startswith("This comes from 'Neon Harbour' v1 by Nova Lane")
    assert "3.0 % slower" in sentence and "0:23" in sentence
    assert cli.main(["trace", str(leak), "--data", str(platform), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["found"] and doc["track_id"] == "neon-harbour" and doc["speed"] == 0.97
    assert doc["artist"] == "Nova Lane" and doc["watermark"] is None


def test_the_cli_says_when_nothing_matches_or_the_file_is_too_short(
    platform: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(11)
    noise = (0.1 * rng.standard_normal((25 * RATE, 2))).astype(np.float32)
    sf.write(tmp_path / "noise.wav", noise, RATE)
    assert cli.main(["trace", str(tmp_path / "noise.wav"), "--data", str(platform)]) == 1
    assert capsys.readouterr().out.strip() == (
        "noise.wav matches no track or remix on this platform."
    )
    sf.write(tmp_path / "short.wav", noise[: 5 * RATE], RATE)
    assert cli.main(["trace", str(tmp_path / "short.wav"), "--data", str(platform)]) == 1
    assert "tracing needs at least 20 s" in capsys.readouterr().err


# --- the honest remixes kept for calibration --------------------------------------------------


def test_the_honest_remix_fixtures_are_allowed_by_their_policies() -> None:
    folder = Path(__file__).resolve().parents[1] / "fixtures" / "remixes"
    catalogue = json.loads((assets_dir() / "demo" / "catalogue.json").read_text())
    entries = {e["id"]: e for e in catalogue["tracks"]}
    models = {"timbre.violin@1": "timbre", "character.tape@1": "character"}
    models["character.tube@1"] = "character"
    recipes = sorted(folder.glob("*.json"))
    assert len(recipes) >= 10
    readme = (folder / "README.md").read_text()
    for path in recipes:
        recipe = loads(path.read_bytes())
        entry = entries[recipe.track_id]
        stems = [{"kind": kind} for kind in entry["stems"]]
        frames = round(entry["duration_s"] * RATE)
        info = TrackInfo.from_dict(
            {**entry, "version": 1, "sample_rate": RATE, "stems": stems, "frames": frames}
        )
        recipe.check_fits(info)
        decision = evaluate(
            Policy.from_dict(entry["policy"]), recipe, publishing=True, track=info, models=models
        )
        assert decision.allowed, (path.name, decision.reasons)
        assert f"`{path.name}`" in readme
