# SPDX-License-Identifier: GPL-3.0-or-later
"""A remix's watermark variants as the platform keeps them, and each listener's stream.

At publication (:func:`make_variants`): the watermark ``w`` (``app.server.watermark``) is made
once; ``x - w`` and ``x + w`` are encoded as FLAC with the same fixed block size, cut into
segments at frame boundaries (``app.server.flac_frames``), and every (segment, variant) is
sealed as an ``FFSTEM`` blob under its own key. All of it goes into one file, the *variants
store* (``FFVARS`` v1)::

    magic "FFVARS" | version 0x01 | meta_len u32 | meta (canonical JSON)
    | A_0 … A_{n-1} | B_0 … B_{n-1}

``meta`` = ``{"derivative", "frames", "segment_frames", "segments", "a": [blob lengths],
"b": [blob lengths], "secret": <base64url of the watermark secret wrapped under the master
key>}``.

Every key comes from one random 32-byte secret per remix (HKDF-SHA256, its own ``info`` each):
the pattern key of the DSP, the code key of the listeners' codewords, and each segment's
content key. A listener (one device of one account) gets the codeword
``HKDF-Expand(code key, "fanfare/watermark/v1/bits|" + tag)``, ``tag`` =
``HMAC-SHA256(code key, user + "|" + device)[:8]`` in hex: bit ``i`` picks variant A (0) or B
(1) of segment ``i``. The stream (``app.core.segmented``) is the chosen blobs copied out of the
store as they are: no signal processing and no encryption per listener.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from app.core.bundle import StemHeader, encrypt_stem
from app.core.codec import decode_audio, encode_flac
from app.core.credentials import strip_store
from app.core.encoding import b64u, canonical_json, unb64u
from app.core.errors import AudioFormatError
from app.core.segmented import StreamHeader, segment_name
from app.server.blobs import BlobStore
from app.server.flac_frames import layout
from app.server.vaultkeys import unwrap, wrap
from app.server.watermark import RATE, SEGMENT_FRAMES, mark, segment_count

MAGIC = b"FFVARS"
FORMAT_VERSION = 1
_FIXED = len(MAGIC) + 1 + 4
#: Variants A and B, as bits of a codeword.
VARIANTS = ("a", "b")


class VariantsError(Exception):
    """A variants store that cannot be read (damaged, or of another remix)."""


def secret_purpose(derivative_id: str) -> str:
    return f"fanfare/platform/watermark-secret|{derivative_id}"


def _derive(secret: bytes, info: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=info.encode()).derive(secret)


def pattern_key(secret: bytes) -> bytes:
    """The DSP's pattern key (``app.server.watermark``)."""
    return _derive(secret, "fanfare/watermark/v1/pattern")


def segment_key(secret: bytes, derivative_id: str, index: int, variant: str) -> bytes:
    """The content key of one (segment, variant)."""
    return _derive(secret, f"fanfare/watermark/v1/segment|{derivative_id}|{index}|{variant}")


def listener_tag(secret: bytes, user_id: str, device_id: str) -> str:
    """The 16-hex-digit name of one listener's codeword (also the stream's name in the
    studio's cache)."""
    code = _derive(secret, "fanfare/watermark/v1/code")
    return hmac.new(code, f"{user_id}|{device_id}".encode(), hashlib.sha256).hexdigest()[:16]


def codeword(secret: bytes, tag: str, segments: int) -> np.ndarray:
    """A listener's bits, one per segment (0: variant A, 1: B): uint8 (segments,)."""
    code = _derive(secret, "fanfare/watermark/v1/code")
    length = max(1, -(-segments // 8))
    stream = HKDFExpand(hashes.SHA256(), length, f"fanfare/watermark/v1/bits|{tag}".encode())
    return np.unpackbits(np.frombuffer(stream.derive(code), dtype=np.uint8))[:segments]


def variants_blob_name(audio_blob_name: str) -> str:
    """Where the variants store of the remix whose audio is ``audio_blob_name`` is kept."""
    return audio_blob_name.removesuffix(".ffstem") + ".variants"


@dataclass(frozen=True)
class Variants:
    """A variants store's header, read (see the module docstring)."""

    derivative: str
    frames: int
    segment_frames: int
    a: tuple[int, ...]
    b: tuple[int, ...]
    wrapped_secret: bytes
    body: int  # the offset of A_0

    @property
    def segments(self) -> int:
        return len(self.a)

    def secret(self, master_key: bytes) -> bytes:
        return unwrap(master_key, self.wrapped_secret, secret_purpose(self.derivative))

    def ranges(self, bits: np.ndarray) -> list[tuple[int, int]]:
        """(offset, length) in the store of each chosen segment blob, in order."""
        out, offset_a, offset_b = [], self.body, self.body + sum(self.a)
        for index in range(self.segments):
            if bits[index]:
                out.append((offset_b, self.b[index]))
            else:
                out.append((offset_a, self.a[index]))
            offset_a += self.a[index]
            offset_b += self.b[index]
        return out


def make_variants(derivative_id: str, flac: bytes, master_key: bytes) -> bytes | None:
    """The variants store of a remix's published FLAC (float math, two FLAC encodings and the
    encryption: a few seconds a minute of audio); None when it cannot carry a watermark (not
    48 kHz, or too short for one segment's fades)."""
    audio, rate = decode_audio(flac)
    if rate != RATE or len(audio) < 2 * 4096:
        return None
    secret = os.urandom(32)
    w = mark(audio, pattern_key(secret))
    subtype = _subtype(flac)
    # What precedes the FLAC stream in the published file (the ID3v2 tag holding its Content
    # Credentials) leads the stream too: the listener reads who made it, from what, with which
    # AI. Its hard binding is the published file's, which a marked copy no longer matches.
    store = flac[: len(flac) - len(strip_store(flac))]
    # The two encodings at once: libsndfile runs without the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [
            pool.submit(encode_flac, audio + sign * w, rate, subtype=subtype) for sign in (-1, 1)
        ]
        encoded = [job.result() for job in jobs]
    del w, audio
    layouts = [layout(data) for data in encoded]
    if layouts[0].head != layouts[1].head or layouts[0].block_size != layouts[1].block_size:
        raise AudioFormatError("The two watermark variants were encoded differently.")
    block = layouts[0].block_size
    if SEGMENT_FRAMES % block:
        raise AudioFormatError(f"A FLAC block of {block} samples does not divide a segment.")
    per_segment = SEGMENT_FRAMES // block
    count = segment_count(layouts[0].samples)
    blobs: list[list[bytes]] = [[], []]
    for v, (data, found) in enumerate(zip(encoded, layouts, strict=True)):
        for index in range(count):
            plain = found.piece(data, index * per_segment, (index + 1) * per_segment)
            if index == 0:  # the published file's manifest store (C2PA), then the metadata
                plain = store + found.head + plain
            key = segment_key(secret, derivative_id, index, VARIANTS[v])
            blobs[v].append(
                encrypt_stem(key, StemHeader(derivative_id, 1, segment_name(index)), plain)
            )
    meta = canonical_json(
        {
            "a": [len(b) for b in blobs[0]],
            "b": [len(b) for b in blobs[1]],
            "derivative": derivative_id,
            "frames": layouts[0].samples,
            "secret": b64u(wrap(master_key, secret, secret_purpose(derivative_id))),
            "segment_frames": SEGMENT_FRAMES,
            "segments": count,
        }
    )
    head = MAGIC + bytes([FORMAT_VERSION]) + struct.pack(">I", len(meta)) + meta
    return b"".join([head, *blobs[0], *blobs[1]])


def _subtype(flac: bytes) -> str:
    """The published FLAC's bit depth, kept for the variants."""
    import soundfile as sf  # imported here: only publication needs it

    return str(sf.info(io.BytesIO(flac)).subtype)


def read_variants(blobs: BlobStore, name: str, derivative_id: str) -> Variants:
    """Parse the header of the variants store in blob ``name`` (raises BlobMissingError,
    VariantsError)."""
    size = blobs.size(name)
    fixed = blobs.read(name, 0, _FIXED)
    label = name.rsplit("/", 1)[-1]
    if len(fixed) != _FIXED or fixed[:6] != MAGIC or fixed[6] != FORMAT_VERSION:
        raise VariantsError(f"{label} is not a variants store.")
    (meta_len,) = struct.unpack(">I", fixed[7:])
    try:
        meta = json.loads(blobs.read(name, _FIXED, meta_len))
        found = Variants(
            derivative=str(meta["derivative"]),
            frames=int(meta["frames"]),
            segment_frames=int(meta["segment_frames"]),
            a=tuple(int(n) for n in meta["a"]),
            b=tuple(int(n) for n in meta["b"]),
            wrapped_secret=unb64u(str(meta["secret"])),
            body=_FIXED + meta_len,
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise VariantsError(f"{label} has a malformed header ({exc}).") from None
    if found.derivative != derivative_id or len(found.a) != len(found.b) or not found.a:
        raise VariantsError(f"{label} is not the variants store of {derivative_id}.")
    if found.body + sum(found.a) + sum(found.b) != size:
        raise VariantsError(f"{label} is truncated or has bytes after its variants.")
    return found


@dataclass(frozen=True)
class StreamPlan:
    """One listener's stream: its header bytes, then byte ranges of a blob, in order."""

    blobs: BlobStore
    name: str
    header: bytes
    ranges: tuple[tuple[int, int], ...]

    @property
    def size(self) -> int:
        return len(self.header) + sum(length for _, length in self.ranges)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The stream's bytes ``[start, end)``: the header, then the chosen variants read
        from the store, each range as one read."""
        end = self.size if end is None else min(end, self.size)
        if start < len(self.header):
            yield self.header[start:end]
        position = len(self.header)
        for offset, length in self.ranges:
            lo, hi = max(start, position), min(end, position + length)
            if lo < hi:
                yield from self.blobs.chunks(
                    self.name, offset + lo - position, offset + hi - position
                )
            position += length
            if position >= end:
                break


def stream_plan(blobs: BlobStore, name: str, found: Variants, bits: np.ndarray) -> StreamPlan:
    """The stream of the listener whose codeword is ``bits`` (``app.core.segmented``), from
    the variants store in blob ``name``."""
    ranges = found.ranges(bits)
    header = StreamHeader(
        derivative=found.derivative,
        frames=found.frames,
        segment_frames=found.segment_frames,
        lengths=tuple(length for _, length in ranges),
    ).to_bytes()
    return StreamPlan(blobs, name, header, tuple(ranges))


def listener_keys(secret: bytes, derivative_id: str, bits: np.ndarray) -> bytes:
    """The chosen variants' keys, concatenated in segment order (what a listen licence
    seals): 32 × segments bytes."""
    return b"".join(
        segment_key(secret, derivative_id, index, VARIANTS[int(bit)])
        for index, bit in enumerate(bits)
    )
