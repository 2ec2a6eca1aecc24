# SPDX-License-Identifier: GPL-3.0-or-later
"""Cutting a FLAC stream at frame boundaries, so that two encodings can be spliced.

Two FLAC encodings of audio of the same length, rate, channels and bit depth, made with one
fixed block size, have frame ``k`` start at sample ``k × block size`` in both, and each frame
header names its own number (fixed-blocksize streams count frames) and carries its own CRCs.
So frames ``[0, k)`` of one followed by frames ``[k, …)`` of the other is a valid FLAC stream,
once STREAMINFO stops claiming what no longer holds: the MD5 of the audio and the minimum and
maximum frame sizes, which the format lets be 0 (unknown). Frames are found by their headers:
the sync code, the expected frame number and the header's CRC-8 (FLAC format, RFC 9639 §9.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import AudioFormatError

_SYNC_FIXED = b"\xff\xf8"
_STREAMINFO = 0
_BLOCK_CODES = {
    1: 192,
    **{c: 576 << (c - 2) for c in range(2, 6)},
    **{c: 256 << (c - 8) for c in range(8, 16)},
}


def _crc8(data: bytes) -> int:
    """FLAC's header CRC-8 (polynomial x^8 + x^2 + x + 1, initial 0)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


@dataclass(frozen=True)
class FlacLayout:
    """Where a FLAC stream's parts are.

    Attributes:
        head: the metadata (``fLaC`` to the first frame), STREAMINFO's MD5 and frame sizes
            zeroed (unknown).
        block_size: samples per frame (every frame but the last).
        frames: each frame's byte offset, then the stream's length.
        samples: the stream's length in samples (per channel).
    """

    head: bytes
    block_size: int
    frames: tuple[int, ...]
    samples: int

    def piece(self, data: bytes, first_frame: int, last_frame: int) -> bytes:
        """Frames ``[first_frame, last_frame)`` of ``data`` (the stream this layout is of)."""
        last_frame = min(last_frame, len(self.frames) - 1)
        return data[self.frames[first_frame] : self.frames[last_frame]]


def _utf8_number(data: bytes, at: int) -> tuple[int, int] | None:
    """FLAC's UTF-8-like coded frame number at ``at``: (value, bytes), or None."""
    first = data[at] if at < len(data) else 0xFF
    if first < 0x80:
        return first, 1
    length = next((n for n in range(2, 8) if first >> (7 - n) == (0xFF >> (7 - n)) - 1), 0)
    if not length or at + length > len(data):
        return None
    value = first & (0x7F >> length)
    for byte in data[at + 1 : at + length]:
        if byte >> 6 != 0b10:
            return None
        value = (value << 6) | (byte & 0x3F)
    return value, length


def _header_at(data: bytes, at: int, number: int, rate_code: int, depth_bits: int) -> bool:
    """Whether a frame header for frame ``number`` of this stream starts at ``at``."""
    if data[at : at + 2] != _SYNC_FIXED or at + 6 > len(data):
        return False
    size_code, rate = data[at + 2] >> 4, data[at + 2] & 0x0F
    if rate != rate_code or size_code == 0 or data[at + 3] & 0x0F != depth_bits:
        return False
    coded = _utf8_number(data, at + 4)
    if coded is None or coded[0] != number:
        return False
    end = at + 4 + coded[1] + {6: 1, 7: 2}.get(size_code, 0) + {12: 1, 13: 2, 14: 2}.get(rate, 0)
    return end < len(data) and _crc8(data[at:end]) == data[end]


def layout(data: bytes) -> FlacLayout:
    """Find the frames of a fixed-blocksize FLAC stream.

    Raises:
        AudioFormatError: not FLAC, a variable block size, or frames that cannot be found.
    """
    if data[:4] != b"fLaC":
        raise AudioFormatError("This is not a FLAC stream.")
    position, info = 4, b""
    while True:
        if position + 4 > len(data):
            raise AudioFormatError("This FLAC stream's metadata is cut short.")
        kind, size = data[position] & 0x7F, int.from_bytes(data[position + 1 : position + 4], "big")
        if kind == _STREAMINFO:
            info_at = position + 4
            info = data[info_at : info_at + 34]
        last = data[position] & 0x80
        position += 4 + size
        if last:
            break
    if len(info) != 34:
        raise AudioFormatError("This FLAC stream has no STREAMINFO.")
    low, high = int.from_bytes(info[0:2], "big"), int.from_bytes(info[2:4], "big")
    if low != high:
        raise AudioFormatError("This FLAC stream's block size varies; it cannot be spliced.")
    packed = int.from_bytes(info[10:18], "big")
    samples = packed & ((1 << 36) - 1)
    head = bytearray(data[:position])
    head[info_at + 4 : info_at + 10] = bytes(6)  # min and max frame size: unknown
    head[info_at + 18 : info_at + 34] = bytes(16)  # MD5 of the audio: unknown
    frames = _frames(data, position, -(-samples // low))
    return FlacLayout(bytes(head), low, frames, samples)


def _frames(data: bytes, start: int, count: int) -> tuple[int, ...]:
    """Each frame's offset (``count`` frames from ``start``), then the stream's length."""
    if count == 0 or data[start : start + 2] != _SYNC_FIXED:
        raise AudioFormatError("This FLAC stream's first frame is not where its metadata ends.")
    rate_code, depth_bits = data[start + 2] & 0x0F, data[start + 3] & 0x0F
    offsets = [start]
    for number in range(1, count):
        at = data.find(_SYNC_FIXED, offsets[-1] + 6)
        while at >= 0 and not _header_at(data, at, number, rate_code, depth_bits):
            at = data.find(_SYNC_FIXED, at + 1)
        if at < 0:
            raise AudioFormatError(f"FLAC frame {number} of {count} could not be found.")
        offsets.append(at)
    return (*offsets, len(data))
