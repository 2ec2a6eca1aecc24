# SPDX-License-Identifier: GPL-3.0-or-later
"""This device's key pairs: created once, kept in the secret store."""

from __future__ import annotations

from app.core.keys import DeviceKeys
from app.vault.secrets import SecretStore

_NAME = "device-keys"


def load_or_create_device_keys(store: SecretStore) -> tuple[DeviceKeys, bool]:
    """Return this device's keys and whether they were just created.

    A stored value that cannot be parsed is an error, not a reason to mint new keys silently:
    new keys would orphan every licence sealed to the old ones.
    """
    stored = store.get(_NAME)
    if stored is not None:
        return DeviceKeys.from_secret(stored), False
    keys = DeviceKeys.generate()
    store.set(_NAME, keys.to_secret())
    return keys, True


def forget_device_keys(store: SecretStore) -> None:
    """Drop this device's keys (after the platform revoked them); new ones come on next use."""
    store.delete(_NAME)
