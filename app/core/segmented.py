# SPDX-License-Identifier: GPL-3.0-or-later
"""A watermarked stream (``FFSEGS`` v1): one listener's remix as segments, each sealed under
its own key.

The platform keeps two encrypted variants of every segment of a walled remix; a listener's
stream is its own choice of one variant per segment, copied byte for byte, and its listen
licence holds only the chosen variants' keys. Layout (integers big-endian):

    magic "FFSEGS" | version 0x01 | meta_len u32 | meta (canonical JSON, ≤ 64 KiB)
    | segments × u32: each segment blob's length | the segment blobs, in order

``meta`` = ``{"codec": "flac", "derivative": "drv_…", "frames": F, "segment_frames": 65536,
"segments": N}``. Segment ``i`` is an ``FFSTEM`` blob (``app.core.bundle``) whose header names
``(derivative, 1, "segment-<i, 5 digits>")``; the plaintexts joined in order are one FLAC
stream (segment 0 begins with its metadata). A segment's key commits to it, so a segment moved,
dropped, repeated or from another variant fails as its own ``BundleError``.

Nothing here touches a disk: the reader takes a ``read_at(offset, size)`` function.
"""

from __future__ import annotations

import bisect
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.bundle import PlainStream, StemReader
from app.core.encoding import canonical_json
from app.core.errors import BundleHeaderError, BundleMismatchError, BundleTruncatedError

MAGIC = b"FFSEGS"
FORMAT_VERSION = 1
MAX_META_SIZE = 64 * 1024
#: The most segments a stream may have (a day of audio at 1.365 s a segment).
MAX_SEGMENTS = 65_280
_FIXED = len(MAGIC) + 1 + 4


def segment_name(index: int) -> str:
    """The ``stem`` field of segment ``index``'s FFSTEM header."""
    return f"segment-{index:05d}"


@dataclass(frozen=True)
class StreamHeader:
    """The public header of a watermarked stream.

    Attributes:
        derivative: the remix's id.
        frames: its length in samples (per channel).
        segment_frames: samples per segment (the last may be shorter).
        lengths: each segment blob's length in bytes, in order.
        codec: the plaintext's codec.
    """

    derivative: str
    frames: int
    segment_frames: int
    lengths: tuple[int, ...]
    codec: str = "flac"

    @property
    def segments(self) -> int:
        return len(self.lengths)

    def to_bytes(self) -> bytes:
        """The header bytes (magic to the length table)."""
        meta = canonical_json(
            {
                "codec": self.codec,
                "derivative": self.derivative,
                "frames": self.frames,
                "segment_frames": self.segment_frames,
                "segments": self.segments,
            }
        )
        table = struct.pack(f">{self.segments}I", *self.lengths)
        return MAGIC + bytes([FORMAT_VERSION]) + struct.pack(">I", len(meta)) + meta + table


def read_stream_header(read_at: Callable[[int, int], bytes], size: int) -> tuple[StreamHeader, int]:
    """Parse a stream's header; returns it and the offset of segment 0's blob.

    Raises:
        BundleHeaderError: not a watermarked stream, or a malformed one.
        BundleTruncatedError: the segments' lengths add up to more than ``size``.
    """
    fixed = read_at(0, _FIXED)
    if len(fixed) < _FIXED or fixed[: len(MAGIC)] != MAGIC:
        raise BundleHeaderError("This is not a Fanfare stream.")
    if fixed[len(MAGIC)] != FORMAT_VERSION:
        raise BundleHeaderError(f"Stream format version {fixed[len(MAGIC)]} is not supported.")
    (meta_len,) = struct.unpack(">I", fixed[len(MAGIC) + 1 :])
    if meta_len > MAX_META_SIZE:
        raise BundleHeaderError("This stream's header is too large to be genuine.")
    try:
        meta = json.loads(read_at(_FIXED, meta_len))
        count = int(meta["segments"])
        header_fields = (str(meta["derivative"]), int(meta["frames"]), int(meta["segment_frames"]))
        codec = str(meta["codec"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise BundleHeaderError("This stream's header is malformed.") from None
    if not 0 < count <= MAX_SEGMENTS or header_fields[1] < 0 or header_fields[2] <= 0:
        raise BundleHeaderError("This stream's header is malformed.")
    table = read_at(_FIXED + meta_len, 4 * count)
    if len(table) != 4 * count:
        raise BundleTruncatedError("This stream download is truncated: its header is cut short.")
    lengths = struct.unpack(f">{count}I", table)
    start = _FIXED + meta_len + 4 * count
    if start + sum(lengths) > size:
        raise BundleTruncatedError("This stream download is truncated.")
    if start + sum(lengths) < size:
        raise BundleHeaderError("This stream has bytes after its last segment.")
    return StreamHeader(*header_fields, lengths=tuple(lengths), codec=codec), start


class SegmentedReader:
    """Random access to a watermarked stream's plaintext (its FLAC), decrypting only the
    chunks read, segment by segment (each through its own :class:`StemReader`).

    Args:
        keys: each segment's 32-byte key, in order (from the listen licence).
        read_at: ``read_at(offset, size)`` of the stream's bytes (the studio's cache file).
        size: the stream's length in bytes.
        derivative: the remix the caller asked for.

    Raises (here, in :meth:`verify` or on reading): ``BundleError`` subclasses, each with a
    sentence; a wrong number of keys is a ``BundleMismatchError``.
    """

    def __init__(
        self,
        keys: Sequence[bytes],
        read_at: Callable[[int, int], bytes],
        size: int,
        *,
        derivative: str,
    ) -> None:
        header, start = read_stream_header(read_at, size)
        if header.derivative != derivative:
            raise BundleMismatchError("This stream is of another remix than the one requested.")
        if len(keys) != header.segments:
            raise BundleMismatchError(
                f"This stream has {header.segments} segments, but the licence holds "
                f"{len(keys)} keys."
            )
        self.header = header
        self._readers: list[StemReader] = []
        self._starts: list[int] = []  # each segment's first plaintext byte
        plain = 0
        for index, (key, length) in enumerate(zip(keys, header.lengths, strict=True)):
            reader = StemReader(
                key, _window(read_at, start, length), length,
                expect=(derivative, 1, segment_name(index)),
            )  # fmt: skip
            self._readers.append(reader)
            self._starts.append(plain)
            plain += reader.size
            start += length
        #: Length of the plaintext (the FLAC stream) in bytes.
        self.size = plain

    def verify(self) -> None:
        """Authenticate every chunk of every segment, keeping nothing."""
        for reader in self._readers:
            reader.verify()

    def read(self, offset: int, size: int) -> bytes:
        """``size`` plaintext bytes from ``offset`` (fewer at the end)."""
        end = min(self.size, offset + size)
        parts = []
        position = max(offset, 0)
        while position < end:
            index = _segment_at(self._starts, position)
            reader, first = self._readers[index], self._starts[index]
            piece = reader.read(position - first, end - position)
            if not piece:
                break
            parts.append(piece)
            position += len(piece)
        return b"".join(parts)

    def open(self) -> PlainStream:
        """A read-only, seekable file over the plaintext, for a decoder (one per thread)."""
        return PlainStream(self)


def _window(
    read_at: Callable[[int, int], bytes], start: int, length: int
) -> Callable[[int, int], bytes]:
    """``read_at`` of the bytes ``[start, start + length)`` alone."""

    def read(offset: int, size: int) -> bytes:
        size = max(0, min(size, length - offset))
        return read_at(start + offset, size) if size else b""

    return read


def _segment_at(starts: list[int], position: int) -> int:
    """The segment holding plaintext byte ``position`` (``starts``: each segment's first)."""
    return max(0, bisect.bisect_right(starts, position) - 1)
