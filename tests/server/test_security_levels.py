# SPDX-License-Identifier: GPL-3.0-or-later
"""Device security levels on the platform: stated in the certificate, fixed at the first
enrolment, bounding the licence's life and offline grace, and an artist's minimum enforced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.keys import DeviceKeys
from app.core.licence import Licence, verify_licence
from app.core.security_level import SecurityLevel, certificate_security_level
from app.server.config import LEVEL_TERMS_S
from tests.helpers.platform import (
    API,
    TRACK,
    TestClient,
    device_body,
    open_client,
    pinned_keys,
    sign_in,
)


@pytest.fixture
def client(platform_dir: Path) -> Iterator[TestClient]:
    with open_client(platform_dir) as client:
        yield client


def enrol(client: TestClient, level: str | None, keys: DeviceKeys | None = None) -> Any:
    """Sign the demo fan in afresh and enrol ``keys`` stating ``level`` (None: not said)."""
    headers, _ = sign_in(client, "fan")
    body: dict[str, Any] = device_body(keys or DeviceKeys.generate())
    if level is not None:
        body["security_level"] = level
    return headers, client.post(f"{API}/devices", headers=headers, json=body)


def licence(client: TestClient, headers: dict[str, str], device_id: str) -> Any:
    body = {"track_id": TRACK, "device_id": device_id}
    return client.post(f"{API}/licences", headers=headers, json=body)


def opened(client: TestClient, response: Any) -> Licence:
    assert response.status_code == 201, response.text
    return verify_licence(response.content, pinned_keys(client), now=time.time())


def set_policy(client: TestClient, **changes: Any) -> None:
    artist, _ = sign_in(client, "nova-lane")
    policy = client.get(f"{API}/tracks/{TRACK}", headers=artist).json()["policy"] | changes
    answer = client.patch(f"{API}/tracks/{TRACK}", headers=artist, json={"policy": policy})
    assert answer.status_code == 200, answer.text


def test_the_certificate_states_the_level_the_device_first_enrolled_with(
    client: TestClient,
) -> None:
    keys = DeviceKeys.generate()
    _, keyring = enrol(client, "keyring", keys)
    assert keyring.status_code == 201, keyring.text
    doc = keyring.json()
    assert doc["security_level"] == "keyring"
    assert certificate_security_level(doc["certificate_pem"]) is SecurityLevel.KEYRING
    # The same keys claiming more later stay what they were: they lived where they lived.
    _, again = enrol(client, "hardware", keys)
    assert again.json()["device_id"] == doc["device_id"]
    assert again.json()["security_level"] == "keyring"
    # A client that says nothing is taken at the weakest level.
    _, silent = enrol(client, None)
    assert certificate_security_level(silent.json()["certificate_pem"]) is SecurityLevel.FILE
    _, unknown = enrol(client, "titanium")
    assert unknown.status_code == 422
    assert "security level" in unknown.json()["detail"]


def test_a_weaker_device_gets_a_shorter_licence_and_offline_grace(client: TestClient) -> None:
    terms = {}
    for level in ("file", "keyring"):
        headers, device = enrol(client, level)
        got = opened(client, licence(client, headers, device.json()["device_id"]))
        terms[level] = (got.expires_at - got.issued_at, got.offline_grace_s)
    assert terms["file"] == LEVEL_TERMS_S[SecurityLevel.FILE] == (7200, 600)
    assert terms["keyring"] == LEVEL_TERMS_S[SecurityLevel.KEYRING] == (86400, 3600)


def test_an_artists_minimum_refuses_weaker_devices_with_a_sentence(client: TestClient) -> None:
    set_policy(client, min_security_level="keyring")
    headers, device = enrol(client, "file")
    refused = licence(client, headers, device.json()["device_id"])
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "The artist allows this track only on devices that keep their keys in the system "
        "keyring (or safer); this device keeps them in a file."
    )
    headers, device = enrol(client, "keyring")
    assert opened(client, licence(client, headers, device.json()["device_id"]))


def test_offline_use_below_the_artists_minimum_gets_no_grace(client: TestClient) -> None:
    set_policy(client, offline_min_security_level="keyring")
    headers, device = enrol(client, "file")
    assert opened(client, licence(client, headers, device.json()["device_id"])).offline_grace_s == 0
    headers, device = enrol(client, "keyring")
    got = opened(client, licence(client, headers, device.json()["device_id"]))
    assert got.offline_grace_s == 3600


def test_a_policy_with_an_unknown_level_is_refused(client: TestClient) -> None:
    artist, _ = sign_in(client, "nova-lane")
    policy = client.get(f"{API}/tracks/{TRACK}", headers=artist).json()["policy"]
    answer = client.patch(
        f"{API}/tracks/{TRACK}",
        headers=artist,
        json={"policy": policy | {"min_security_level": "vault"}},
    )
    assert answer.status_code == 422
    assert "security level" in answer.json()["detail"]
