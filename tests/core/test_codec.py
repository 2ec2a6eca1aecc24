# SPDX-License-Identifier: GPL-3.0-or-later
"""FLAC in memory: lossless to 24 bits; anything else is a typed error."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.codec import decode_audio, encode_flac
from app.core.errors import AudioFormatError
from tests.helpers.audio import sine


def test_flac_round_trip_is_exact_to_24_bits() -> None:
    audio = sine(440.0, 0.5) * np.array([1.0, 0.5], dtype=np.float32)
    decoded, rate = decode_audio(encode_flac(audio, 48_000))
    assert rate == 48_000
    assert decoded.shape == audio.shape
    assert np.max(np.abs(decoded - audio)) <= 2.0**-23


def test_mono_becomes_stereo() -> None:
    mono = sine(220.0, 0.1)[:, :1]
    decoded, _ = decode_audio(encode_flac(np.ascontiguousarray(mono), 48_000))
    assert decoded.shape[1] == 2
    np.testing.assert_array_equal(decoded[:, 0], decoded[:, 1])


@pytest.mark.parametrize("data", [b"", b"not audio at all", b"fLaC" + b"\x00" * 100])
def test_non_audio_is_an_audio_format_error(data: bytes) -> None:
    with pytest.raises(AudioFormatError):
        decode_audio(data)
