# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers of outside bytes under hypothesis: only typed errors, in bounded time."""

from __future__ import annotations

import contextlib
import datetime
import json

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import recipe as recipe_format
from app.core.bundle import StemHeader, decrypt_stem, encrypt_stem
from app.core.credentials import CredentialsError, read_credentials
from app.core.errors import BundleError, LicenceError, RecipeError
from app.core.keys import key_id
from app.core.licence import verify_licence

FUZZ = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
KEY = bytes(32)
BLOB = encrypt_stem(KEY, StemHeader("t", 1, "drums", chunk_size=1024), bytes(3000))
PLATFORM = Ed25519PrivateKey.generate()
TRUSTED = {key_id(PLATFORM.public_key()): PLATFORM.public_key()}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_as_a_stem(data: bytes) -> None:
    with contextlib.suppress(BundleError):
        decrypt_stem(KEY, data)


@FUZZ
@given(st.integers(0, len(BLOB) - 1), st.integers(1, 255), st.integers(0, 64))
def test_mutated_stems_never_decrypt(position: int, flip: int, cut: int) -> None:
    data = bytearray(BLOB)
    data[position] ^= flip
    try:
        decrypt_stem(KEY, bytes(data[: len(data) - cut]))
    except BundleError:
        return
    raise AssertionError("a mutated stem decrypted")


@FUZZ
@given(st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_licences(data: bytes) -> None:
    with contextlib.suppress(LicenceError):
        verify_licence(data, TRUSTED)


@FUZZ
@given(json_values)
def test_random_licence_shaped_documents(body: object) -> None:
    doc = {
        "format": "fanfare.licence",
        "version": 1,
        "kid": next(iter(TRUSTED)),
        "body": body,
        "sig": "AA",
    }
    with contextlib.suppress(LicenceError):
        verify_licence(json.dumps(doc).encode(), TRUSTED)


@FUZZ
@given(st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_recipes(data: bytes) -> None:
    with contextlib.suppress(RecipeError):
        recipe_format.loads(data)


@FUZZ
@given(json_values, json_values)
def test_random_recipe_shaped_documents(stems: object, master: object) -> None:
    doc = {
        "schema": "fanfare.recipe",
        "version": 1,
        "track": {"id": "t", "version": 1},
        "stems": stems,
        "master": master,
    }
    with contextlib.suppress(RecipeError):
        recipe_format.loads(json.dumps(doc))


# A trust anchor for the credentials fuzz: any PEM certificate does (nothing random verifies).
_ANCHOR_KEY = Ed25519PrivateKey.generate()
_ANCHOR = (
    x509.CertificateBuilder()
    .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "fuzz")]))
    .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "fuzz")]))
    .public_key(_ANCHOR_KEY.public_key())
    .serial_number(1)
    .not_valid_before(datetime.datetime(2026, 1, 1))
    .not_valid_after(datetime.datetime(2036, 1, 1))
    .sign(_ANCHOR_KEY, None)
    .public_bytes(serialization.Encoding.PEM)
    .decode()
)


@FUZZ
@given(
    st.binary(max_size=2048)
    | st.tuples(
        st.sampled_from([b"ID3", b"fLaC", b"RIFF", b"\xff\xfb"]), st.binary(max_size=2048)
    ).map(b"".join)
)
def test_random_files_as_content_credentials(data: bytes) -> None:
    # Whatever the bytes, reading their credentials answers or raises CredentialsError.
    with contextlib.suppress(CredentialsError):
        read_credentials(data, _ANCHOR).check_trusted()
