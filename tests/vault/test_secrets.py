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
