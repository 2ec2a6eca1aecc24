# SPDX-License-Identifier: GPL-3.0-or-later
"""This device's key pairs, one set per account: created once, kept in the secret store.

Each account a person signs in to on this computer has keys of its own, so that a second
account (an artist's beside a fan's) enrols as a device of its own rather than being refused
as keys enrolled elsewhere. Keys from before that were one set for everyone (``device-keys``)
are taken over by the account that was signed in with them.
"""

from __future__ import annotations

from app.core.keys import DeviceKeys
from app.vault.secrets import SecretStore

_NAME = "device-keys"


def _name(account: str) -> str:
    return f"{_NAME}|{account}" if account else _NAME


def load_or_create_device_keys(
    store: SecretStore, account: str = "", *, adopt_shared: bool = False
) -> tuple[DeviceKeys, bool]:
    """Return this device's keys for ``account`` (e.g. platform URL and user name; "" for the
    one shared set) and whether they were just created.

    ``adopt_shared``: with no keys of its own yet, the account takes the shared set from
    before per-account keys (it was the account signed in with them).

    A stored value that cannot be parsed is an error, not a reason to mint new keys silently:
    new keys would orphan every licence sealed to the old ones.
    """
    stored = store.get(_name(account))
    if stored is None and account and adopt_shared:
        stored = store.get(_NAME)
        if stored is not None:
            store.set(_name(account), stored)
    if stored is not None:
        return DeviceKeys.from_secret(stored), False
    keys = DeviceKeys.generate()
    store.set(_name(account), keys.to_secret())
    return keys, True


def forget_device_keys(store: SecretStore, account: str = "") -> None:
    """Drop ``account``'s keys (after the platform revoked them); new ones come on next use."""
    store.delete(_name(account))
