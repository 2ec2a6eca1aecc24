# SPDX-License-Identifier: GPL-3.0-or-later
"""Licences: signature, device binding, validity window and per-stem key sealing."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.encoding import b64u
from app.core.errors import (
    LicenceDeviceError,
    LicenceExpiredError,
    LicenceFormatError,
    LicenceRightsError,
    LicenceSignatureError,
)
from app.core.keys import DeviceKeys, key_id
from app.core.licence import Licence, sign_licence, verify_licence

PLATFORM = Ed25519PrivateKey.generate()
TRUSTED = {key_id(PLATFORM.public_key()): PLATFORM.public_key()}
DEVICE = DeviceKeys.generate()
KEYS = {"drums": b"d" * 32, "bass": b"b" * 32}


def _body(**changes: object) -> Licence:
    now = int(time.time())
    body = Licence(
        licence_id="lic_1",
        user="usr_1",
        device="dev_1",
        track="song",
        track_version=1,
        policy={"version": 1},
        issued_at=now,
        not_before=now - 60,
        expires_at=now + 3600,
        renew_after=now + 1800,
        offline_grace_s=600,
        rights={"play": True, "remix": True, "publish": False},
        sealed_keys={},
        watermark_session="w",
    )
    return replace(body, **changes)


def _issue(**changes: object) -> bytes:
    return sign_licence(
        _body(**changes), PLATFORM, content_keys=KEYS, device_kem=DEVICE.kem_public()
    )


def test_round_trip_opens_each_stem_key_on_the_device() -> None:
    licence = verify_licence(_issue(), TRUSTED, user="usr_1", device="dev_1", now=time.time())
    assert {s: licence.content_key(DEVICE, s) for s in KEYS} == KEYS
    licence.require("play")
    with pytest.raises(LicenceRightsError):
        licence.require("publish")


def test_another_device_cannot_open_the_keys() -> None:
    licence = verify_licence(_issue(), TRUSTED)
    with pytest.raises(LicenceDeviceError):
        licence.content_key(DeviceKeys.generate(), "drums")


def test_a_sealed_key_cannot_move_to_another_stem() -> None:
    licence = verify_licence(_issue(), TRUSTED)
    # Even a platform-signed licence cannot carry one stem's ciphertext under another's name:
    # the HPKE info binds licence id and stem.
    swapped = replace(
        licence,
        sealed_keys={"drums": licence.sealed_keys["bass"], "bass": licence.sealed_keys["drums"]},
    )
    with pytest.raises(LicenceDeviceError):
        swapped.content_key(DEVICE, "drums")


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: d["body"]["rights"].update(publish=True), LicenceSignatureError),
        (
            lambda d: d["body"].update(expires_at=d["body"]["expires_at"] + 10**6),
            LicenceSignatureError,
        ),
        (lambda d: d.update(sig=b64u(b"\x00" * 64)), LicenceSignatureError),
        (lambda d: d.update(kid="ed25519:0000000000000000"), LicenceSignatureError),
        (lambda d: d.update(version=2), LicenceFormatError),
        (lambda d: d.update(format="other"), LicenceFormatError),
        (lambda d: d.pop("body"), LicenceFormatError),
    ],
    ids=["rights", "expiry", "signature", "unknown key", "version", "format", "no body"],
)
def test_tampered_or_forged_licences_are_refused(mutate, error) -> None:
    doc = json.loads(_issue())
    mutate(doc)
    with pytest.raises(error):
        verify_licence(json.dumps(doc).encode(), TRUSTED)


def test_a_licence_signed_by_an_untrusted_key_is_refused() -> None:
    forged = sign_licence(_body(), Ed25519PrivateKey.generate())
    with pytest.raises(LicenceSignatureError):
        verify_licence(forged, TRUSTED)


def test_wrong_user_or_device_is_refused() -> None:
    with pytest.raises(LicenceDeviceError, match="device"):
        verify_licence(_issue(), TRUSTED, device="dev_2")
    with pytest.raises(LicenceDeviceError, match="account"):
        verify_licence(_issue(), TRUSTED, user="usr_2")


def test_validity_window() -> None:
    now = int(time.time())
    with pytest.raises(LicenceExpiredError, match="expired"):
        verify_licence(_issue(expires_at=now - 1), TRUSTED, now=now)
    with pytest.raises(LicenceExpiredError, match="not valid yet"):
        verify_licence(_issue(not_before=now + 100), TRUSTED, now=now)


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"null", b"\xff\xfe", b"{}" + b" " * 300_000])
def test_garbage_is_a_format_error(data: bytes) -> None:
    with pytest.raises(LicenceFormatError):
        verify_licence(data, TRUSTED)
