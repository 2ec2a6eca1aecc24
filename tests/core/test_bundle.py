# SPDX-License-Identifier: GPL-3.0-or-later
"""The encrypted stem format against the failure categories of age's test vectors."""

from __future__ import annotations

import os

import pytest

from app.core import bundle
from app.core.bundle import StemHeader, decrypt_stem, encrypt_stem, iter_decrypt, new_content_key
from app.core.errors import (
    BundleError,
    BundleHeaderError,
    BundleKeyError,
    BundleMismatchError,
    BundleTamperedError,
    BundleTrailingDataError,
    BundleTruncatedError,
)

HEADER = StemHeader(track_id="song", track_version=2, stem="drums", chunk_size=1024)
SEALED = HEADER.chunk_size + bundle.TAG_SIZE
KEY = bytes(range(32))
PLAIN = os.urandom(HEADER.chunk_size * 3 + 100)  # three full chunks and a short final one


def _blob() -> bytes:
    return encrypt_stem(KEY, HEADER, PLAIN)


def _head_len(blob: bytes) -> int:
    return len(blob) - 3 * SEALED - (100 + bundle.TAG_SIZE)


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    head = blob[: _head_len(blob)]
    body = blob[len(head) :]
    return head, [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


@pytest.mark.parametrize("size", [0, 1, 1024, 1025, 4096, 5000])
def test_round_trip_any_length(size: int) -> None:
    plain = os.urandom(size)
    assert decrypt_stem(KEY, encrypt_stem(KEY, HEADER, plain)) == plain


def test_ciphertext_hides_plaintext_and_is_fresh_each_time() -> None:
    one, two = _blob(), _blob()
    assert one != two  # a new salt each time
    assert PLAIN[:64] not in one


def _truncate_final(blob: bytes) -> bytes:
    return blob[: -(100 + bundle.TAG_SIZE)]


def _truncate_mid(blob: bytes) -> bytes:
    return blob[:-50]


def _drop_middle(blob: bytes) -> bytes:
    head, chunks = _chunks(blob)
    return head + b"".join(chunks[:1] + chunks[2:])


def _swap(blob: bytes) -> bytes:
    head, chunks = _chunks(blob)
    return head + b"".join([chunks[1], chunks[0], *chunks[2:]])


def _duplicate(blob: bytes) -> bytes:
    head, chunks = _chunks(blob)
    return head + b"".join([chunks[0], chunks[0], *chunks[1:]])


def _flip_body(blob: bytes) -> bytes:
    data = bytearray(blob)
    data[_head_len(blob) + SEALED + 7] ^= 0x01
    return bytes(data)


def _flip_header(blob: bytes) -> bytes:
    data = bytearray(blob)
    data[_head_len(blob) - 40] ^= 0x80  # inside the salt: every derived key changes
    return bytes(data)


def _trailing(blob: bytes) -> bytes:
    return blob + b"\x00"


def _empty_final(blob: bytes) -> bytes:
    return _truncate_final(blob) + b"\x00" * bundle.TAG_SIZE


CASES = [
    # (name, mutate, error type, chunks released before the failure)
    ("truncated at a chunk boundary", _truncate_final, BundleTruncatedError, 2),
    ("truncated inside the final chunk", _truncate_mid, BundleTamperedError, 3),
    ("middle chunk dropped", _drop_middle, BundleTamperedError, 1),
    ("chunks swapped", _swap, BundleTamperedError, 0),
    ("chunk duplicated", _duplicate, BundleTamperedError, 1),
    ("bit flipped in a chunk", _flip_body, BundleTamperedError, 1),
    ("bit flipped in the header", _flip_header, BundleKeyError, 0),
    ("trailing byte", _trailing, BundleTrailingDataError, 3),
    ("empty final chunk appended", _empty_final, BundleTamperedError, 3),
]


@pytest.mark.parametrize(("name", "mutate", "error", "released"), CASES, ids=[c[0] for c in CASES])
def test_each_failure_has_its_own_error_and_releases_only_authentic_plaintext(
    name: str, mutate, error: type[BundleError], released: int
) -> None:
    out = bytearray()
    with pytest.raises(error):
        for piece in iter_decrypt(KEY, mutate(_blob())):
            out += piece
    # Everything released before the failure is authentic plaintext, chunk-aligned: the
    # "released plaintext" rule of age's test vectors.
    assert bytes(out) == PLAIN[: released * HEADER.chunk_size]


def test_wrong_key_is_told_apart_before_any_chunk() -> None:
    with pytest.raises(BundleKeyError, match="does not open"):
        next(iter_decrypt(new_content_key(), _blob()))


def test_a_stem_for_another_slot_is_refused() -> None:
    with pytest.raises(BundleMismatchError):
        decrypt_stem(KEY, _blob(), expect=("song", 2, "bass"))
    with pytest.raises(BundleMismatchError):
        decrypt_stem(KEY, _blob(), expect=("song", 1, "drums"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"FFSTEM",
        b"RIFF....WAVEfmt ",
        b"FFSTEM\x02" + b"\x00" * 60,
        b"FFSTEM\x01\xff\xff\xff\xff",
    ],
)
def test_not_a_stem_is_a_header_error(data: bytes) -> None:
    with pytest.raises((BundleHeaderError, BundleTruncatedError)):
        decrypt_stem(KEY, data)


def test_header_is_parsed_without_a_key() -> None:
    assert bundle.read_header(_blob()) == HEADER
