# SPDX-License-Identifier: GPL-3.0-or-later
"""Device secrets: the announced file fallback, and keys that persist."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.core.keys import DeviceKeys
from app.vault.cache import BlobCache
from app.vault.device import load_or_create_device_keys
from app.vault.secrets import SecretStore


def test_without_a_keyring_the_fallback_is_announced_and_private(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.json")
    assert store.notice is not None and "readable only by you" in store.notice
    store.set("token", "abc")
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600
    assert SecretStore(tmp_path / "secrets.json").get("token") == "abc"
    store.delete("token")
    assert store.get("token") is None
    assert not list(tmp_path.glob(".part-*")), "no temporary file may be left behind"


def test_device_keys_are_created_once_and_reloaded(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.json")
    keys, created = load_or_create_device_keys(store)
    again, created_again = load_or_create_device_keys(SecretStore(tmp_path / "secrets.json"))
    assert created and not created_again
    assert again.signing_public_b64() == keys.signing_public_b64()
    assert again.kem_public() == keys.kem_public()


def test_damaged_stored_keys_are_an_error_not_a_silent_new_identity(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets.json")
    store.set("device-keys", "not-keys")
    with pytest.raises(ValueError):
        load_or_create_device_keys(store)
    assert store.get("device-keys") == "not-keys"


def test_device_key_secret_round_trip() -> None:
    keys = DeviceKeys.generate()
    assert DeviceKeys.from_secret(keys.to_secret()).to_secret() == keys.to_secret()


def test_blob_cache_discards_what_is_not_a_genuine_stem(tmp_path: Path) -> None:
    cache = BlobCache(tmp_path)
    cache.put("song", 1, "drums", b"garbage")
    assert cache.get("song", 1, "drums") is None
    assert not cache.path("song", 1, "drums").exists()
    # Names from the platform cannot escape the cache folder.
    for track, stem in (("../../etc", "../passwd"), ("..", ".."), (".", "/")):
        assert cache.path(track, 1, stem).resolve().is_relative_to(tmp_path.resolve())


def test_a_damaged_key_file_is_an_error_not_a_new_identity(tmp_path: Path) -> None:
    from app.vault.secrets import SecretStoreError

    path = tmp_path / "secrets.json"
    store = SecretStore(path)
    load_or_create_device_keys(store)
    path.write_text("{not json")
    with pytest.raises(SecretStoreError, match="damaged"):
        load_or_create_device_keys(SecretStore(path))
    assert path.read_text() == "{not json"  # left for the user to restore


def test_the_key_file_is_sealed_to_this_computer(tmp_path: Path) -> None:
    from app.vault.secrets import SecretStoreError

    path = tmp_path / "secrets.json"
    store = SecretStore(path, use_keyring=False, identity=b"this-machine|1000")
    keys, _ = load_or_create_device_keys(store)
    store.set("token", "bearer-token-value")
    text = path.read_text()
    # Nothing in it a script could lift: no key, no token, in any encoding we write.
    assert keys.to_secret() not in text and "bearer-token-value" not in text
    assert store.security_level.label == "file"
    # The same computer and user read it back.
    again = SecretStore(path, use_keyring=False, identity=b"this-machine|1000")
    assert again.get("token") == "bearer-token-value"
    # The file copied elsewhere (a backup, a synced home, a script with the folder) is
    # refused with a sentence, and left as it was.
    elsewhere = SecretStore(path, use_keyring=False, identity=b"other-machine|1000")
    with pytest.raises(SecretStoreError, match="made on another computer"):
        elsewhere.get("token")
    assert path.read_text() == text


def test_a_key_file_from_before_sealing_is_read_and_sealed(tmp_path: Path) -> None:
    import json

    path = tmp_path / "secrets.json"
    keys = DeviceKeys.generate()
    path.write_text(json.dumps({"device-keys": keys.to_secret(), "token": "t"}))
    store = SecretStore(path, use_keyring=False)
    loaded, created = load_or_create_device_keys(store)
    assert not created and loaded.to_secret() == keys.to_secret()
    assert keys.to_secret() not in path.read_text()
    assert SecretStore(path, use_keyring=False).get("token") == "t"


def test_with_a_keyring_every_secret_lives_there_and_none_in_a_file(
    secret_service: object, tmp_path: Path
) -> None:
    import keyring

    path = tmp_path / "secrets.json"
    store = SecretStore(path)
    assert store.notice is None and store.security_level.label == "keyring"
    keys, created = load_or_create_device_keys(store)
    from app.vault.licences import LicenceCache

    LicenceCache(tmp_path / "licences", store).put("scope", "track", b"licence bytes")
    assert created and not path.exists()
    held = keyring.get_keyring()
    assert held.get_password("org.fanfare.Studio", "device-keys") == keys.to_secret()
    assert held.get_password("org.fanfare.Studio", "licence-cache-key")
