# SPDX-License-Identifier: GPL-3.0-or-later
"""Licences over time, on the studio's side: renewal, expiry during playback, revocation,
offline opening from the encrypted cache, and the device certificate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import keyring
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID

from app.core.errors import LicenceExpiredError
from app.core.security_level import certificate_security_level
from app.embedded import EmbeddedPlatform
from app.engine.output import OutputUnavailableError, TransportState
from app.platform_client.errors import PlatformError, PlatformUnreachableError
from app.studio.errors import DeviceRevokedError
from app.studio.session import Studio
from app.studio.status import PlaybackStopped
from tests.helpers.playback import device_required


@pytest.fixture
def short_lived(platform_dir: Path) -> Iterator[EmbeddedPlatform]:
    """The real platform issuing licences that last 4 seconds."""
    platform = EmbeddedPlatform(platform_dir, licence_ttl_s=4)
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture
def signed_in() -> Iterator[object]:
    """Make studios signed in as the demo fan; closes them (and their tracks) afterwards."""
    made: list[Studio] = []

    def make(platform: EmbeddedPlatform) -> Studio:
        studio = Studio(platform.url)
        studio.login(platform.demo_user, platform.demo_password)
        made.append(studio)
        return studio

    yield make
    for studio in made:
        studio.close()


def test_the_licence_is_renewed_before_it_runs_out(
    short_lived: EmbeddedPlatform, signed_in
) -> None:
    track = signed_in(short_lived).open_track("paper-moons")
    first = track.licence
    deadline = time.monotonic() + 8
    while track.licence.licence_id == first.licence_id and time.monotonic() < deadline:
        time.sleep(0.1)
    assert track.licence.licence_id != first.licence_id
    assert track.licence.expires_at > first.expires_at
    track.close()


def test_a_licence_that_expires_during_playback_stops_it_with_a_message(
    short_lived: EmbeddedPlatform, signed_in
) -> None:
    track = signed_in(short_lived).open_track("paper-moons")
    short_lived.stop()  # renewal cannot reach the platform: the licence will run out
    try:
        track.play()
    except OutputUnavailableError:
        track.close()
        if device_required():
            raise
        pytest.skip("no audio device here")
    deadline = time.monotonic() + 10
    while track.playing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not track.playing
    assert track.player.state is TransportState.PAUSED
    assert time.time() >= track.licence.expires_at
    stopped = [n for n in track.take_notices() if isinstance(n, PlaybackStopped)]
    assert any("licence for this track has expired" in n.text for n in stopped)
    with pytest.raises(LicenceExpiredError):
        track.play()
    track.close()


def test_a_revoked_device_must_enrol_again(embedded, signed_in) -> None:
    studio = signed_in(embedded)
    old_device = studio.profile.device_id
    studio.client.revoke_device(old_device)
    with pytest.raises(DeviceRevokedError, match="sign in again"):
        studio.open_track("neon-harbour")
    assert studio.profile.device_id == ""
    studio.login(embedded.demo_user, embedded.demo_password)  # same keys, a new enrolment
    assert studio.profile.device_id not in ("", old_device)
    studio.open_track("neon-harbour").close()


def test_offline_opening_uses_the_encrypted_cache_within_the_grace(
    embedded, signed_in, isolated_home: Path
) -> None:
    studio = signed_in(embedded)
    studio.open_track("neon-harbour").close()
    licence_id = studio.licences.get(studio._scope, "neon-harbour")
    assert licence_id is not None
    for path in (isolated_home).rglob("*.lic"):
        assert b"lic_" not in path.read_bytes()  # on disk only encrypted
    embedded.stop()
    track = studio.open_track("neon-harbour")
    assert track.offline
    assert any("Offline" in n for n in studio.notices)
    track.close()
    studio.profile.last_revocation_sync = int(time.time()) - 10 * 3600
    with pytest.raises(LicenceExpiredError, match="offline longer"):
        studio.open_track("neon-harbour")
    with pytest.raises(PlatformUnreachableError, match="no licence on this computer"):
        studio.open_track("paper-moons")


def test_enrolment_gives_a_device_certificate_from_the_platform_ca(embedded, signed_in) -> None:
    studio = signed_in(embedded)
    cert = x509.load_pem_x509_certificate(studio.profile.certificate_pem.encode())
    ca = x509.load_pem_x509_certificate(studio.profile.ca_pem.encode())
    ca_key = ca.public_key()
    assert isinstance(ca_key, Ed25519PublicKey)
    ca_key.verify(cert.signature, cert.tbs_certificate_bytes)
    assert cert.issuer == ca.subject
    assert cert.public_key().public_bytes_raw() == (
        studio.device_keys().signing.public_key().public_bytes_raw()
    )
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert studio.profile.device_id in cert.subject.rfc4514_string()


def _set_policy(platform: EmbeddedPlatform, **changes: object) -> None:
    """The artist asks more of fans' devices for neon-harbour."""
    with httpx.Client(base_url=f"{platform.url}/api/v1") as client:
        login = {"username": "nova-lane", "password": platform.demo_password}
        token = client.post("/auth/login", json=login).json()["token"]
        headers = {"authorization": f"Bearer {token}"}
        policy = client.get("/tracks/neon-harbour", headers=headers).json()["policy"]
        answer = client.patch(
            "/tracks/neon-harbour", headers=headers, json={"policy": policy | changes}
        )
        assert answer.status_code == 200, answer.text


def test_a_track_that_asks_for_keys_in_a_keyring_opens_only_where_they_are(
    embedded, signed_in, secret_service_for, isolated_home: Path
) -> None:
    _set_policy(embedded, min_security_level="keyring")
    in_a_file = signed_in(embedded)  # no keyring here: the sealed file
    assert in_a_file.secrets.security_level.label == "file"
    with pytest.raises(PlatformError, match="keep their keys in the system keyring"):
        in_a_file.open_track("neon-harbour")
    in_a_file.close()
    key_file = in_a_file.paths.secrets_file.read_bytes()
    with secret_service_for():
        studio = signed_in(embedded)
        assert studio.secrets.security_level.label == "keyring"
        cert = studio.profile.certificate_pem
        assert certificate_security_level(cert).label == "keyring"
        track = studio.open_track("neon-harbour")
        assert track.licence.offline_grace_s == 3600
        track.close()
        # Every secret, the licence-cache key included, is in the keyring, not the file.
        assert studio.paths.secrets_file.read_bytes() == key_file
        held = keyring.get_keyring()
        assert held.get_password("org.fanfare.Studio", "licence-cache-key")
        assert held.get_password("org.fanfare.Studio", f"device-keys|{embedded.url}|fan")


def test_a_track_kept_offline_only_on_safer_devices_does_not_open_offline_from_a_file(
    embedded, signed_in
) -> None:
    _set_policy(embedded, offline_min_security_level="keyring")
    studio = signed_in(embedded)
    track = studio.open_track("neon-harbour")  # online, it opens
    assert track.licence.offline_grace_s == 0
    track.close()
    assert studio.licences.get(studio._scope, "neon-harbour") is None  # nothing kept
    embedded.stop()
    with pytest.raises(PlatformUnreachableError, match="offline only on devices that keep"):
        studio.open_track("neon-harbour")
