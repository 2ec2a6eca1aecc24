# SPDX-License-Identifier: GPL-3.0-or-later
"""The forensic watermark of walled streams: variants spliced at FLAC frames, the mark (silent at
segment edges, under the peak and under the masking offset), reading it back after what a
recording does, each listener's stream and licence, and naming the listener from an excerpt."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import given
from hypothesis import strategies as st

from app.core.bundle import StemHeader, encrypt_stem
from app.core.codec import decode_audio, encode_flac
from app.core.errors import (
    BundleError,
    BundleHeaderError,
    BundleKeyError,
    BundleMismatchError,
    BundleTruncatedError,
    LicenceDeviceError,
    LicenceFormatError,
)
from app.core.keys import DeviceKeys
from app.core.listen_licence import verify_listen_licence
from app.core.segmented import SegmentedReader, StreamHeader, segment_name
from app.engine.loudness import true_peak_dbtp
from app.server.flac_frames import layout
from app.server.tracing import (
    FALSE_POSITIVE_BOUND,
    MIN_Z,
    hard_bits,
    identify_listener,
    tail_at_least,
)
from app.server.watermark import (
    ALPHA,
    SEGMENT_FRAMES,
    bark,
    inaudibility,
    mark,
    read_segments,
    segment_count,
)
from tests.core.test_fuzz import FUZZ
from tests.helpers.platform import Fan, Studio, drums_down, open_client, pinned_keys

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"
SECRET = bytes(range(32))


@functools.cache
def music(track: str = "neon-harbour") -> np.ndarray:
    """A demo track's stems summed at 48 kHz, peaking at -1 dBFS: float32 (frames, 2)."""
    stems = json.loads((DEMO / "catalogue.json").read_text())
    entry = next(t for t in stems["tracks"] if t["id"] == track)
    mix: np.ndarray | None = None
    for path in entry["stems"].values():
        audio, rate = sf.read(DEMO / path, dtype="float32", always_2d=True)
        mix = audio if mix is None else mix[: len(audio)] + audio[: len(mix)]
    assert mix is not None
    mix = np.asarray(soxr.resample(mix, rate, 48_000), dtype=np.float32)
    return mix * np.float32(0.89 / np.max(np.abs(mix)))


@functools.cache
def marked(track: str = "neon-harbour") -> np.ndarray:
    return mark(music(track), SECRET)


def stream_of(bits: np.ndarray, track: str = "neon-harbour") -> np.ndarray:
    """What a listener with codeword ``bits`` hears: per segment, A (0) or B (1)."""
    x, w = music(track), marked(track)
    signs = np.repeat(bits.astype(np.float32) * 2 - 1, SEGMENT_FRAMES)[: len(x)]
    return x + w * signs[:, None]


def bits_for(seed: int, track: str = "neon-harbour") -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, segment_count(len(music(track))))


def mp3(audio: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """``audio`` through MP3 at 128 kbit/s and back (pedalboard's LAME and decoder)."""
    from pedalboard.io import AudioFile

    buffer = io.BytesIO()
    with AudioFile(buffer, "w", samplerate=rate, num_channels=2, format="mp3", quality=128) as f:
        f.write(audio.T)
    buffer.seek(0)
    with AudioFile(buffer) as f:
        return f.read(f.frames).T.astype(np.float32), int(f.samplerate)


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Played ``factor`` times as fast (tape-like: the pitch moves too), at 48 kHz."""
    return np.asarray(soxr.resample(audio, 48_000 * factor, 48_000), dtype=np.float32)


# --- FLAC variants splice -------------------------------------------------------------------


def test_frames_of_two_encodings_splice_into_a_valid_flac_that_seeks() -> None:
    x = music()[: 20 * 48_000 + 1234]
    w = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32) * 0.01
    a, b = encode_flac(x - w, 48_000), encode_flac(x + w, 48_000)
    la, lb = layout(a), layout(b)
    assert la.head == lb.head and la.block_size == 4096 and la.samples == len(x)
    per = SEGMENT_FRAMES // la.block_size
    bits = np.random.default_rng(1).integers(0, 2, segment_count(len(x)))
    spliced = la.head + b"".join(
        (lb.piece(b, i * per, (i + 1) * per) if bit else la.piece(a, i * per, (i + 1) * per))
        for i, bit in enumerate(bits)
    )
    got, _ = decode_audio(spliced)
    da, db = decode_audio(a)[0], decode_audio(b)[0]
    signs = np.repeat(bits, SEGMENT_FRAMES)[: len(x)].astype(bool)
    assert np.array_equal(got, np.where(signs[:, None], db, da))
    with sf.SoundFile(io.BytesIO(spliced)) as f:
        f.seek(700_000)
        assert np.array_equal(f.read(5000, dtype="float32"), got[700_000:705_000])


# --- the mark ---------------------------------------------------------------------------------


def test_the_mark_is_zero_at_segment_edges_keeps_the_true_peak_and_sits_under_the_mask() -> None:
    x, w = music(), marked()
    for edge in range(SEGMENT_FRAMES, len(x), SEGMENT_FRAMES):
        assert np.max(np.abs(w[edge - 2 : edge + 2])) < 1e-6  # a step of a 24-bit LSB or two
    # Neither variant passes the remix's own true peak, between samples either (4x
    # oversampled, as BS.1770 measures it).
    peak = true_peak_dbtp(x, 48_000)
    assert max(true_peak_dbtp(x + w, 48_000), true_peak_dbtp(x - w, 48_000)) <= peak + 0.01
    figure = inaudibility(x, w)
    # Johnston's tonal masking offset, less the margin: the mark's depth by design.
    assert figure.nmr_p99_db <= -1.0
    assert figure.snr_db > 28.0
    assert ALPHA[0] == pytest.approx(
        10 ** (-(14.5 + bark(np.array([515.6]))[0] + 3) / 20), rel=0.02
    )


def transformed(name: str, audio: np.ndarray) -> tuple[np.ndarray, int]:
    """One of the recordings the watermark must survive."""
    if name == "mp3 128k":
        return mp3(audio, 48_000)
    if name == "44.1 kHz":
        return np.asarray(soxr.resample(audio, 48_000, 44_100), dtype=np.float32), 44_100
    if name == "+6 dB (clipped)":
        return np.clip(audio * 2.0, -1.0, 1.0), 48_000
    if name == "-6 dB":
        return audio * 0.5, 48_000
    if name in ("+3 % speed", "-3 % speed"):
        return speed(audio, 1.03 if name[0] == "+" else 0.97), 48_000
    if name == "60 s excerpt":
        return audio[7 * 48_000 : 67 * 48_000], 48_000
    assert name == "all combined"
    played = np.clip(soxr.resample(speed(audio, 1.03), 48_000, 44_100) * 2.0, -1.0, 1.0).astype(
        np.float32
    )
    recorded, rate = mp3(played, 44_100)
    return recorded[5 * rate : 65 * rate], rate


TRANSFORMS = [
    "mp3 128k", "44.1 kHz", "+6 dB (clipped)", "-6 dB", "+3 % speed", "-3 % speed",
    "60 s excerpt", "all combined",
]  # fmt: skip


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_bit_reads_back_after(name: str) -> None:
    bits = bits_for(7)
    excerpt, rate = transformed(name, stream_of(bits))
    readings = read_segments(music(), SECRET, excerpt, rate)
    assert len(readings) >= 40  # a 60 s excerpt covers 43 of 1.365 s
    read = hard_bits(readings)
    assert len(read) >= 0.85 * len(readings)  # the rest erased (unsure), never wrong
    assert all(bits[i] == bit for i, bit in read.items())


def test_unmarked_audio_and_another_key_read_as_nothing() -> None:
    for audio, key in ((music(), SECRET), (stream_of(bits_for(3)), bytes(32))):
        readings = read_segments(music(), key, audio, 48_000)
        assert sum(abs(r.z) >= MIN_Z for r in readings) <= 1
    assert read_segments(music(), SECRET, music("copper-wire")[: 30 * 48_000], 48_000) == []


def test_two_averaged_copies_read_as_erasures_where_they_differ_and_as_both_elsewhere() -> None:
    one, two = bits_for(1), bits_for(2)
    averaged, rate = mp3((stream_of(one) + stream_of(two)) / 2, 48_000)
    read = hard_bits(read_segments(music(), SECRET, averaged, rate))
    differ = {i for i in range(len(one)) if one[i] != two[i]}
    assert not differ & set(read)  # every differing segment is an erasure
    assert len(read) >= 0.9 * (len(one) - len(differ))
    assert all(one[i] == bit == two[i] for i, bit in read.items())


def test_the_false_positive_bound_is_the_binomial_tail() -> None:
    assert tail_at_least(10, 10) == pytest.approx(2**-10)
    assert tail_at_least(10, 0) == 1.0 and tail_at_least(10, 11) == 0.0
    exact = sum(math.comb(40, k) for k in range(30, 41)) / 2**40
    assert tail_at_least(40, 30) == pytest.approx(exact, rel=1e-9)


# --- one listener's stream --------------------------------------------------------------------


def _blobs(keys: list[bytes], plains: list[bytes], derivative: str = "drv_1") -> list[bytes]:
    return [
        encrypt_stem(k, StemHeader(derivative, 1, segment_name(i)), p)
        for i, (k, p) in enumerate(zip(keys, plains, strict=True))
    ]


def _stream(blobs: list[bytes], derivative: str = "drv_1") -> bytes:
    header = StreamHeader(derivative, 1000, SEGMENT_FRAMES, tuple(len(b) for b in blobs))
    return header.to_bytes() + b"".join(blobs)


def _reader(data: bytes, keys: list[bytes], derivative: str = "drv_1") -> SegmentedReader:
    reader = SegmentedReader(keys, lambda o, n: data[o : o + n], len(data), derivative=derivative)
    reader.verify()
    return reader


def test_a_stream_reads_as_its_segments_joined_and_refuses_each_tampering() -> None:
    keys = [bytes([i]) * 32 for i in range(3)]
    plains = [b"a" * 70_000, b"b" * 10, b"c" * 65_536]
    blobs = _blobs(keys, plains)
    data = _stream(blobs)
    reader = _reader(data, keys)
    assert reader.size == sum(map(len, plains))
    assert reader.read(69_995, 20) == b"a" * 5 + b"b" * 10 + b"c" * 5
    stream = reader.open()
    stream.seek(-3, io.SEEK_END)
    assert stream.read() == b"ccc"
    cases: list[tuple[bytes, list[bytes], str, type[BundleError]]] = [
        (data, keys[:2], "drv_1", BundleMismatchError),  # a key short
        (data, keys, "drv_2", BundleMismatchError),  # another remix
        (data[:-1], keys, "drv_1", BundleTruncatedError),
        (data + b"x", keys, "drv_1", BundleHeaderError),
        (b"FFSTEM" + data[6:], keys, "drv_1", BundleHeaderError),
        (_stream([blobs[1], blobs[0], blobs[2]]), keys, "drv_1",
         BundleMismatchError),  # segments reordered (their headers name their place)
        (data, [keys[0], keys[2], keys[1]], "drv_1", BundleKeyError),  # another variant's key
    ]  # fmt: skip
    for blob, held, derivative, error in cases:
        with pytest.raises(error):
            _reader(blob, held, derivative)


# --- on the platform --------------------------------------------------------------------------


def _stream_audio(fan: Fan, derivative: str) -> tuple[np.ndarray, bytes, object]:
    licence = fan.listen_licence(derivative)
    response = fan.get(f"/derivatives/{derivative}/stream", params={"licence": licence.licence_id})
    assert response.status_code == 200, response.text
    data = response.content
    reader = SegmentedReader(
        licence.segment_keys(fan.keys), lambda o, n: data[o : o + n], len(data),
        derivative=derivative,
    )  # fmt: skip
    reader.verify()
    return decode_audio(reader.read(0, reader.size))[0], data, licence


def test_each_listener_streams_their_own_variants_and_the_platform_names_them(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        drv = fan.publish(drums_down(studio), studio.flac(drums_down(studio))).json()["id"]
        platform = client.app.state.platform  # type: ignore[attr-defined]
        with platform.sessions() as session:
            from app.server.db import Derivative
            from app.server.garden import plaintext

            published, _ = decode_audio(
                plaintext(session, platform.blobs, platform.config.master_key,
                          session.get(Derivative, drv))
            )  # fmt: skip
        heard1, data1, licence1 = _stream_audio(fan, drv)
        heard2, data2, licence2 = _stream_audio(fan2, drv)
        assert licence1.version == licence2.version == 2 and licence1.stream != licence2.stream
        assert data1 != data2 and heard1.shape == heard2.shape == published.shape
        for heard in (heard1, heard2):
            noise = float(np.sum((heard - published) ** 2))
            assert 10 * np.log10(float(np.sum(published**2)) / noise) > 28.0
        # A renewed licence holds the same stream: the cached copy keeps playing.
        assert fan2.listen_licence(drv).stream == licence2.stream
        # Byte ranges, as the whole stream has them.
        part = client.get(
            f"/api/v1/derivatives/{drv}/stream", params={"licence": licence2.licence_id},
            headers=fan2.headers | {"range": "bytes=1000-1999"},
        )  # fmt: skip
        assert part.status_code == 206 and part.content == data2[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(data2)}"
        # Another listener's licence, or a v1 reading of a v2 licence: refused.
        other = fan2.get(f"/derivatives/{drv}/stream", params={"licence": licence1.licence_id})
        assert other.status_code == 403
        with pytest.raises(LicenceFormatError):
            licence2.content_key(fan2.keys)
        with pytest.raises(LicenceDeviceError):
            licence2.segment_keys(fan.keys)

        def trace(audio: np.ndarray, rate: int) -> tuple[list[str], int]:
            with platform.sessions() as session:
                found = identify_listener(
                    session, platform.blobs, platform.config.master_key, drv, audio, rate
                )
            assert found is not None and found.candidates == 2
            return sorted(t.user_name for t in found.listeners), found.bits

        recorded, rate = mp3(heard2[5 * 48_000 : 65 * 48_000], 48_000)
        assert trace(recorded, rate)[0] == ["fan2"]
        # Averaged: bits only where the two streams agree (about half the segments); both are
        # named once those are enough for the bound (2 listeners x 2^-bits <= 1e-6).
        names, bits = trace(*mp3((heard1 + heard2) / 2, 48_000))
        assert names == (["fan", "fan2"] if 2 * 2.0**-bits <= FALSE_POSITIVE_BOUND else [])
        assert trace(published, 48_000)[0] == []  # the unmarked remix names nobody


def test_a_version_2_licence_refuses_what_it_cannot_be(platform_dir: Path, studio: Studio) -> None:
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan")
        drv = fan.publish(drums_down(studio), studio.flac(drums_down(studio))).json()["id"]
        response = client.post(
            f"/api/v1/derivatives/{drv}/listen", headers=fan.headers,
            json={"device_id": fan.device_id},
        )  # fmt: skip
        data = response.content
        doc = json.loads(data)
        assert doc["version"] == 2 and "sealed_key" not in doc["body"]
        where = {"user": fan.user_id, "device": fan.device_id, "derivative": drv}
        licence = verify_listen_licence(data, pinned_keys(client), now=time.time(), **where)
        assert len(licence.segment_keys(fan.keys)) == licence.segments
        doc["body"]["segments"] += 1  # the signature no longer holds
        with pytest.raises(Exception, match="signature"):
            verify_listen_licence(json.dumps(doc).encode(), pinned_keys(client),
                                  now=time.time(), **where)  # fmt: skip
        with pytest.raises(LicenceDeviceError):
            licence.segment_keys(DeviceKeys.generate())


@FUZZ
@given(st.binary(max_size=2048), st.integers(0, 200), st.integers(0, 255))
def test_a_stream_from_outside_fails_only_with_its_typed_errors(
    junk: bytes, at: int, value: int
) -> None:
    """Random bytes, and a genuine stream with one byte changed or cut short."""
    keys = [bytes([1]) * 32, bytes([2]) * 32]
    genuine = _stream(_blobs(keys, [b"x" * 100, b"y" * 50]))
    changed = bytearray(genuine)
    changed[at % len(changed)] = value
    for data in (junk, bytes(changed), genuine[: at % len(genuine)], b"FFSEGS\x01" + junk):
        with contextlib.suppress(BundleError):
            _reader(data, keys)


def test_trace_names_the_remix_and_the_listener_a_recording_comes_from(
    platform_dir: Path, studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    from app.server import cli as platform_cli

    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        drv = fan.publish(drums_down(studio), studio.flac(drums_down(studio))).json()["id"]
        heard, _, licence = _stream_audio(fan2, drv)
    # 40 s of fan2's stream, recorded as an MP3 and saved as a WAV, 2 % fast.
    recorded, rate = mp3(speed(heard[10 * 48_000 : 50 * 48_000], 1.02), 48_000)
    leak = tmp_path / "leak.wav"
    sf.write(leak, recorded, rate)
    assert platform_cli.main(["trace", str(leak), "--json", "--data", str(platform_dir)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["found"] and drv in doc["sentence"]
    named = doc["watermark"]["listeners"]
    assert [(n["user"], n["device_id"]) for n in named] == [("fan2", fan2.device_id)]
    assert licence.licence_id in named[0]["licences"]  # type: ignore[attr-defined]
    assert "It was recorded from the stream of listen licence" in doc["sentence"]
