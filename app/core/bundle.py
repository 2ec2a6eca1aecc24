# SPDX-License-Identifier: GPL-3.0-or-later
"""Encrypted stems: the STREAM construction of age/agead over AES-256-GCM.

One stem is one blob: a header, then the codec bytes (FLAC) in fixed-size chunks, each sealed with
AES-256-GCM. The full byte layout is specified in docs/formats.md. In short:

- ``payload_key = HKDF-SHA256(content_key, salt, "fanfare/stem/v1/payload" || SHA256(prefix))``
  where ``prefix`` is the header up to the key commitment, so a header edit changes every key.
- ``commitment = HKDF-SHA256(content_key, salt, "fanfare/stem/v1/commit" || SHA256(prefix))``
  stored in the header: a wrong key is told apart from tampering before any chunk is tried.
- chunk ``i`` uses nonce ``i as 11-byte big-endian || last_flag`` and the whole header as
  associated data, so chunks cannot be reordered, dropped, duplicated or moved between stems,
  and truncation is detected because the final chunk carries the flag.

Nothing here touches a disk: input and output are ``bytes``, or, for :class:`StemReader`, a
``read_at(offset, size)`` function the caller supplies (the vault reads its cache file with it).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.errors import (
    BundleHeaderError,
    BundleKeyError,
    BundleMismatchError,
    BundleTamperedError,
    BundleTrailingDataError,
    BundleTruncatedError,
)

MAGIC = b"FFSTEM"
FORMAT_VERSION = 1
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
KEY_SIZE = 32
SALT_SIZE = 16
COMMIT_SIZE = 32
MAX_META_SIZE = 4096
AEAD_NAME = "AES-256-GCM"
_PREFIX_FIXED = len(MAGIC) + 1 + 4  # magic, version byte, meta length


@dataclass(frozen=True)
class StemHeader:
    """The public, authenticated header of one encrypted stem.

    Attributes:
        track_id: platform id of the track.
        track_version: the track's version (a re-master gets a new version and new keys).
        stem: the stem's kind within the track, e.g. ``"drums"``.
        codec: the payload's codec, e.g. ``"flac"``.
        chunk_size: plaintext bytes per chunk (all but the last chunk are exactly this long).
    """

    track_id: str
    track_version: int
    stem: str
    codec: str = "flac"
    chunk_size: int = CHUNK_SIZE

    def meta_bytes(self) -> bytes:
        """Canonical JSON of the header fields (sorted keys, no spaces)."""
        meta = {
            "aead": AEAD_NAME,
            "chunk_size": self.chunk_size,
            "codec": self.codec,
            "stem": self.stem,
            "track_id": self.track_id,
            "track_version": self.track_version,
        }
        return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


def new_content_key() -> bytes:
    """A fresh random 256-bit content key."""
    return os.urandom(KEY_SIZE)


def _derive(content_key: bytes, salt: bytes, label: bytes, prefix: bytes) -> bytes:
    info = b"fanfare/stem/v1/" + label + b"|" + hashlib.sha256(prefix).digest()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(content_key)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_stem(content_key: bytes, header: StemHeader, plaintext: bytes) -> bytes:
    """Seal ``plaintext`` (codec bytes) under ``content_key``; returns the whole blob."""
    if len(content_key) != KEY_SIZE:
        raise ValueError("content keys are 32 bytes")
    meta = header.meta_bytes()
    salt = os.urandom(SALT_SIZE)
    prefix = MAGIC + bytes([FORMAT_VERSION]) + struct.pack(">I", len(meta)) + meta + salt
    commitment = _derive(content_key, salt, b"commit", prefix)
    head = prefix + commitment
    aead = AESGCM(_derive(content_key, salt, b"payload", prefix))
    size = header.chunk_size
    # An empty payload is one empty final chunk; otherwise the final chunk is never empty.
    count = max(1, -(-len(plaintext) // size))
    parts = [head]
    view = memoryview(plaintext)
    for i in range(count):
        parts.append(aead.encrypt(_nonce(i, i == count - 1), view[i * size : (i + 1) * size], head))
    return b"".join(parts)


@dataclass(frozen=True)
class _Parsed:
    header: StemHeader
    head: bytes
    salt: bytes
    prefix: bytes
    commitment: bytes


#: Enough bytes from a blob's start to hold its whole head (prefix, salt and key commitment).
LONGEST_HEAD = _PREFIX_FIXED + MAX_META_SIZE + SALT_SIZE + COMMIT_SIZE


def sealed_head(blob_prefix: bytes) -> bytes:
    """A stem blob's head (header, salt and key commitment) from its first bytes
    (``LONGEST_HEAD`` suffice). With the chunks' AEAD tags, which take it as associated data,
    it names exactly one sealed content: a digest of the heads identifies a track version.

    Raises:
        BundleHeaderError, BundleTruncatedError: not a Fanfare stem blob.
    """
    return _parse(blob_prefix).head


def read_header(blob: bytes) -> StemHeader:
    """Parse and check the header of a stem blob without any key.

    Raises:
        BundleHeaderError: the bytes are not a Fanfare stem header.
    """
    return _parse(blob).header


def _parse(blob: bytes) -> _Parsed:
    if len(blob) < _PREFIX_FIXED or blob[: len(MAGIC)] != MAGIC:
        raise BundleHeaderError("This download is not a Fanfare stem (its header is wrong).")
    version = blob[len(MAGIC)]
    if version != FORMAT_VERSION:
        raise BundleHeaderError(
            f"This stem uses format version {version}; this Fanfare reads version "
            f"{FORMAT_VERSION}. Update Fanfare."
        )
    (meta_len,) = struct.unpack(">I", blob[len(MAGIC) + 1 : _PREFIX_FIXED])
    if meta_len > MAX_META_SIZE:
        raise BundleHeaderError("This stem's header is too large to be genuine.")
    head_len = _PREFIX_FIXED + meta_len + SALT_SIZE + COMMIT_SIZE
    if len(blob) < head_len:
        raise BundleTruncatedError("This stem download is truncated inside its header.")
    meta_raw = blob[_PREFIX_FIXED : _PREFIX_FIXED + meta_len]
    try:
        meta = json.loads(meta_raw)
        if not isinstance(meta, dict):
            raise TypeError("header is not an object")
        header = StemHeader(
            track_id=_field(meta, "track_id", str),
            track_version=_field(meta, "track_version", int),
            stem=_field(meta, "stem", str),
            codec=_field(meta, "codec", str),
            chunk_size=_field(meta, "chunk_size", int),
        )
        if meta.get("aead") != AEAD_NAME:
            raise ValueError("unknown AEAD")
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BundleHeaderError(f"This stem's header is malformed ({exc}).") from None
    if header.meta_bytes() != meta_raw:
        raise BundleHeaderError("This stem's header is not in canonical form.")
    if not 1024 <= header.chunk_size <= 16 * 1024 * 1024:
        raise BundleHeaderError("This stem's header names an impossible chunk size.")
    salt_at = _PREFIX_FIXED + meta_len
    return _Parsed(
        header=header,
        head=blob[:head_len],
        salt=blob[salt_at : salt_at + SALT_SIZE],
        prefix=blob[: salt_at + SALT_SIZE],
        commitment=blob[salt_at + SALT_SIZE : head_len],
    )


_Field = TypeVar("_Field", str, int)


def _field(meta: dict[str, object], name: str, kind: type[_Field]) -> _Field:
    value = meta.get(name)
    # bool is an int subclass; a header with "track_version": true is not genuine.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"field {name!r} is missing or of the wrong type")
    return value


def iter_decrypt(
    content_key: bytes,
    blob: bytes,
    *,
    expect: tuple[str, int, str] | None = None,
) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, authenticating each before it is released.

    Args:
        content_key: the stem's 32-byte content key (from the licence).
        blob: the whole encrypted stem.
        expect: ``(track_id, track_version, stem)`` the caller asked for; a blob for another
            stem (a swapped file) is refused before decryption.

    Raises:
        BundleHeaderError, BundleMismatchError, BundleKeyError, BundleTamperedError,
        BundleTruncatedError, BundleTrailingDataError: each failure has its own type.
    """
    for sealed in _sealed_chunks(content_key, blob, expect):
        try:
            plain = sealed.aead.decrypt(sealed.nonce, sealed.chunk, sealed.head)
        except InvalidTag:
            raise sealed.failure() from None
        sealed.check(len(plain))
        yield plain


@dataclass(frozen=True)
class _Sealed:
    """One chunk to open, with what is needed to explain a failure."""

    aead: AESGCM
    body: memoryview
    index: int
    end: int
    last: bool
    chunk: memoryview
    head: bytes

    @property
    def nonce(self) -> bytes:
        return _nonce(self.index, self.last)

    def failure(self) -> Exception:
        return _classify_failure(
            self.aead, self.body, self.index, self.end, self.last, self.chunk, self.head
        )

    def check(self, plain_len: int) -> None:
        if self.last and plain_len == 0 and self.index > 0:
            raise BundleTamperedError("This stem's final chunk is empty.", self.index)


def _open_header(
    content_key: bytes, head: bytes, expect: tuple[str, int, str] | None
) -> tuple[_Parsed, AESGCM]:
    """Parse the header at the start of ``head``, check it is the stem expected and that the
    key is the one it was sealed with; returns it and the payload cipher."""
    parsed = _parse(head)
    header = parsed.header
    if expect is not None and (header.track_id, header.track_version, header.stem) != expect:
        raise BundleMismatchError(
            f"This download holds stem {header.stem!r} of {header.track_id} "
            f"v{header.track_version}, not the one requested."
        )
    if len(content_key) != KEY_SIZE or not hmac.compare_digest(
        _derive(content_key, parsed.salt, b"commit", parsed.prefix), parsed.commitment
    ):
        raise BundleKeyError("The licence's key does not open this stem.")
    return parsed, AESGCM(_derive(content_key, parsed.salt, b"payload", parsed.prefix))


def _sealed_chunks(
    content_key: bytes, blob: bytes, expect: tuple[str, int, str] | None
) -> Iterator[_Sealed]:
    """Check header, expectation and key commitment, then yield the chunks in order."""
    parsed, aead = _open_header(content_key, blob, expect)
    header = parsed.header
    body = memoryview(blob)[len(parsed.head) :]
    size = header.chunk_size + TAG_SIZE
    if len(body) < TAG_SIZE:
        raise BundleTruncatedError("This stem download is truncated: its final chunk is missing.")
    index = 0
    pos = 0
    while True:
        chunk = body[pos : pos + size]
        pos += len(chunk)
        last = pos >= len(body)
        yield _Sealed(aead, body, index, pos, last, chunk, parsed.head)
        if last:
            return
        index += 1


def _classify_failure(
    aead: AESGCM,
    body: memoryview,
    index: int,
    pos: int,
    last: bool,
    chunk: memoryview,
    head: bytes,
) -> Exception:
    """Tell truncation and trailing bytes apart from tampering, for a clearer message."""
    if not last:
        # A genuine final chunk followed by more bytes: trailing data, not tampering.
        try:
            aead.decrypt(_nonce(index, True), chunk, head)
            return BundleTrailingDataError(
                f"{len(body) - pos} unexpected byte(s) follow this stem's end."
            )
        except InvalidTag:
            pass
    if last and len(chunk) >= TAG_SIZE:
        # A full-size chunk at the end that only opens as a non-final chunk: the rest was cut off.
        try:
            aead.decrypt(_nonce(index, False), chunk, head)
            return BundleTruncatedError(
                "This stem download is truncated: it ends before its final chunk."
            )
        except InvalidTag:
            pass
    if last:
        # Try the chunk as final with bytes appended after it: trailing data.
        for cut in range(1, min(len(chunk) - TAG_SIZE, 4096) + 1):
            try:
                aead.decrypt(_nonce(index, True), chunk[: len(chunk) - cut], head)
                return BundleTrailingDataError(f"{cut} unexpected byte(s) follow this stem's end.")
            except InvalidTag:
                continue
    return BundleTamperedError(
        f"This stem was altered or damaged (chunk {index} failed authentication).", index
    )


def plaintext_size(blob: bytes) -> int:
    """The plaintext length of a well-formed blob, from its header and size alone."""
    parsed = _parse(blob)
    body = len(blob) - len(parsed.head)
    sealed = parsed.header.chunk_size + TAG_SIZE
    chunks = max(1, -(-body // sealed))
    return max(0, body - chunks * TAG_SIZE)


def decrypt_into(
    content_key: bytes,
    blob: bytes,
    out: bytearray | memoryview,
    *,
    expect: tuple[str, int, str] | None = None,
) -> int:
    """Decrypt a whole stem into ``out`` (at least :func:`plaintext_size` bytes) without
    intermediate copies; returns the length. Raises the errors of :func:`iter_decrypt`; after a
    failure ``out`` holds unauthenticated bytes and must be discarded.
    """
    view = memoryview(out)
    position = 0
    for sealed in _sealed_chunks(content_key, blob, expect):
        size = len(sealed.chunk) - TAG_SIZE
        if size < 0:
            raise sealed.failure()
        try:
            sealed.aead.decrypt_into(
                sealed.nonce, sealed.chunk, sealed.head, view[position : position + size]
            )
        except InvalidTag:
            raise sealed.failure() from None
        sealed.check(size)
        position += size
    return position


def decrypt_stem(
    content_key: bytes, blob: bytes, *, expect: tuple[str, int, str] | None = None
) -> bytearray:
    """Decrypt a whole stem into a new buffer (see :func:`iter_decrypt` for errors)."""
    out = bytearray(plaintext_size(blob))
    decrypt_into(content_key, blob, out, expect=expect)
    return out


class StemReader:
    """Random access to a stem's plaintext, decrypting only the chunks that are read.

    The studio plays a long track without holding it in memory: the encrypted blob stays in the
    on-disk cache, and the decoder reads the codec stream through :meth:`open`, which decrypts
    and authenticates each 64 KiB chunk it touches (kept in a small cache). :meth:`verify`
    authenticates every chunk once, keeping none, so a damaged blob is refused when the track
    opens, not half-way through a song.

    Args:
        content_key: the stem's 32-byte content key (from the licence).
        read_at: ``read_at(offset, size)`` returns ``size`` bytes of the blob from ``offset``
            (fewer only at its end).
        size: the blob's length in bytes.
        expect: ``(track_id, track_version, stem)`` the caller asked for.

    Raises (here or on reading): the errors of :func:`iter_decrypt`.
    """

    CACHED_CHUNKS = 8

    def __init__(
        self,
        content_key: bytes,
        read_at: Callable[[int, int], bytes],
        size: int,
        *,
        expect: tuple[str, int, str] | None = None,
    ) -> None:
        parsed, aead = _open_header(content_key, read_at(0, min(size, LONGEST_HEAD)), expect)
        header = parsed.header
        body = size - len(parsed.head)
        if body < TAG_SIZE:
            raise BundleTruncatedError(
                "This stem download is truncated: its final chunk is missing."
            )
        self.header = header
        self._aead = aead
        self._head = parsed.head
        self._read_at = read_at
        self._sealed = header.chunk_size + TAG_SIZE
        self._body_start = len(parsed.head)
        self._body_size = body
        self.chunks = max(1, -(-body // self._sealed))
        #: Length of the plaintext (the codec stream) in bytes.
        self.size = body - self.chunks * TAG_SIZE
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _open_chunk(self, index: int) -> bytes:
        offset = index * self._sealed
        chunk = self._read_at(self._body_start + offset, self._sealed)
        last = index == self.chunks - 1
        try:
            plain = self._aead.decrypt(_nonce(index, last), chunk, self._head)
        except InvalidTag:
            raise BundleTamperedError(
                f"This stem was altered or damaged (chunk {index} failed authentication).", index
            ) from None
        if last and not plain and index > 0:
            raise BundleTamperedError("This stem's final chunk is empty.", index)
        return plain

    def chunk(self, index: int) -> bytes:
        """The plaintext of chunk ``index`` (authenticated)."""
        with self._lock:
            found = self._cache.get(index)
            if found is not None:
                self._cache.move_to_end(index)
                return found
        plain = self._open_chunk(index)
        with self._lock:
            self._cache[index] = plain
            while len(self._cache) > self.CACHED_CHUNKS:
                self._cache.popitem(last=False)
        return plain

    def verify(self) -> None:
        """Authenticate every chunk (nothing is kept); raises like :func:`iter_decrypt`, with
        truncation and trailing bytes told apart from tampering."""
        for index in range(self.chunks):
            try:
                self._open_chunk(index)
            except BundleTamperedError:
                body = memoryview(self._read_at(self._body_start, self._body_size))
                start = index * self._sealed
                end = min(start + self._sealed, self._body_size)
                raise _classify_failure(
                    self._aead, body, index, end, end >= self._body_size, body[start:end],
                    self._head,
                ) from None  # fmt: skip

    def read(self, offset: int, size: int) -> bytes:
        """``size`` plaintext bytes from ``offset`` (fewer at the end)."""
        end = min(self.size, offset + size)
        if end <= offset:
            return b""
        step = self.header.chunk_size
        parts = []
        for index in range(offset // step, (end - 1) // step + 1):
            plain = self.chunk(index)
            lo = max(offset, index * step) - index * step
            hi = min(end, (index + 1) * step) - index * step
            parts.append(plain[lo:hi])
        return b"".join(parts)

    def open(self) -> PlainStream:
        """A read-only, seekable file over the plaintext, for a decoder (one per thread)."""
        return PlainStream(self)


class RandomAccess(Protocol):
    """Plaintext read at offsets: a :class:`StemReader`, or a listener's segmented stream."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, size: int) -> bytes: ...


class PlainStream(io.RawIOBase):
    """A seekable, read-only file view of a :class:`RandomAccess` plaintext (what a decoder
    reads a stem or a remix through)."""

    def __init__(self, reader: RandomAccess) -> None:
        super().__init__()
        self._reader = reader
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._reader.size}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._reader.read(self._position, len(buffer))
        memoryview(buffer)[: len(data)] = data
        self._position += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._reader.size - self._position
        data = self._reader.read(self._position, size)
        self._position += len(data)
        return data
