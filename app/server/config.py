# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's configuration: where its data lives, its database and its master key."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.files import atomic_write
from app.core.security_level import SecurityLevel

MASTER_KEY_ENV = "FANFARE_MASTER_KEY"
TOKEN_TTL_S = 12 * 3600
LICENCE_TTL_S = 24 * 3600
OFFLINE_GRACE_S = 3600
#: (longest licence, longest offline grace) in seconds for a device of each security level:
#: a key in a file is easier to lift, so what it unlocks lasts less.
LEVEL_TERMS_S: dict[SecurityLevel, tuple[int, int]] = {
    SecurityLevel.FILE: (2 * 3600, 600),
    SecurityLevel.KEYRING: (LICENCE_TTL_S, OFFLINE_GRACE_S),
    SecurityLevel.HARDWARE: (LICENCE_TTL_S, 24 * 3600),
}
LISTEN_LICENCE_TTL_S = 600
PLAY_VALUE_MICRO = 4000  # 0.004 per play, about what a stream pays
PLAYS_PER_DEVICE_PER_DAY = 300
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def _flag(text: str) -> bool:
    """An on/off setting: 1, true, yes, on / 0, false, no, off (any case)."""
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


# Operator settings that may come from the environment: (field, variable, parser, what it is).
_ENV_SETTINGS: tuple[tuple[str, str, Callable[[str], Any], str], ...] = (
    ("licence_ttl_s", "FANFARE_LICENCE_TTL_S", int, "a whole number"),
    ("login_per_minute", "FANFARE_LOGIN_PER_MINUTE", float, "a number"),
    ("licence_per_minute", "FANFARE_LICENCE_PER_MINUTE", float, "a number"),
    ("upload_per_minute", "FANFARE_UPLOAD_PER_MINUTE", float, "a number"),
    ("api_docs", "FANFARE_API_DOCS", _flag, "on or off"),
    ("trusted_proxies", "FANFARE_TRUSTED_PROXIES", str, "a list of addresses"),
    ("listen_licence_ttl_s", "FANFARE_LISTEN_LICENCE_TTL_S", int, "a whole number"),
    ("play_value_micro", "FANFARE_PLAY_VALUE_MICRO", int, "a whole number"),
    ("currency", "FANFARE_CURRENCY", str, "a currency code"),
    ("plays_per_device_per_day", "FANFARE_PLAYS_PER_DEVICE_PER_DAY", int, "a whole number"),
    ("uploads_per_day_free", "FANFARE_UPLOADS_PER_DAY_FREE", int, "a whole number"),
    ("uploads_per_day_superfan", "FANFARE_UPLOADS_PER_DAY_SUPERFAN", int, "a whole number"),
    ("warms_per_day", "FANFARE_WARMS_PER_DAY", int, "a whole number"),
    ("blob_store", "FANFARE_BLOB_STORE", str, "an s3://, s3+http:// or s3+https:// URL"),
)


class ConfigError(Exception):
    """The platform cannot start with this configuration (the message says why)."""


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one platform instance.

    Attributes:
        data_dir: holds the blob folder (unless ``blob_store`` names an object store), the
            master key file of a single machine and, by default, the SQLite database.
        database_url: any SQLAlchemy URL; defaults to SQLite in ``data_dir``.
        master_key: 32 bytes that wrap content keys and signing keys (envelope encryption).
    """

    data_dir: Path
    database_url: str
    master_key: bytes
    licence_ttl_s: int = LICENCE_TTL_S
    login_per_minute: float = 10.0
    licence_per_minute: float = 120.0
    upload_per_minute: float = 6.0
    #: Serve the interactive API documentation (/docs, /redoc, /openapi.json): off unless an
    #: operator turns it on, since it maps every route for whoever asks.
    api_docs: bool = False
    #: The proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    #: addresses or networks, as uvicorn's ``forwarded_allow_ips``); none by default, so a
    #: client cannot pick the address its sign-in attempts are counted under.
    trusted_proxies: str = ""
    #: How long a listen licence lets a device stream a remix; the studio renews it as it plays.
    listen_licence_ttl_s: int = LISTEN_LICENCE_TTL_S
    #: What one counted play pays, in millionths of the currency, split by the licence's
    #: revenue split (``app.server.royalties``).
    play_value_micro: int = PLAY_VALUE_MICRO
    #: The currency plays are paid in (ISO 4217), as statements show it.
    currency: str = "EUR"
    #: The most plays one device may add in a day, all remixes together.
    plays_per_device_per_day: int = PLAYS_PER_DEVICE_PER_DAY
    #: Remixes an account may send through verification per UTC day, by tier (the spam
    #: gate's quota; refusals the gate makes before verification do not count).
    uploads_per_day_free: int = 10
    uploads_per_day_superfan: int = 50
    #: Tempo or key changes a fan's studio may ask the platform to stretch ahead of an upload,
    #: per UTC day (``warming``; each costs up to minutes of one core).
    warms_per_day: int = 40
    #: Where blobs live when not in the data folder's ``blobs/``: an S3-compatible object
    #: store's URL (``app.server.blobs.s3``), shared by every machine of a deployment.
    blob_store: str | None = None

    def proxy_settings(self) -> dict[str, Any]:
        """uvicorn's keyword arguments for the forwarded headers (see ``trusted_proxies``)."""
        trusted = self.trusted_proxies.strip()
        return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or "127.0.0.1"}

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @classmethod
    def load(
        cls, data_dir: Path, database_url: str | None = None, **overrides: Any
    ) -> ServerConfig:
        """Configuration for ``data_dir``; the master key comes from the environment
        (``FANFARE_MASTER_KEY``, base64) or, for a single-machine platform, from a key file
        created on first start in ``data_dir`` with mode 0600. It is never in the repository.
        """
        for name, env, parse, what in _ENV_SETTINGS:
            if name not in overrides and os.environ.get(env):
                try:
                    overrides[name] = parse(os.environ[env])
                except ValueError:
                    raise ConfigError(f"{env} must be {what}.") from None
        data_dir = data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        url = database_url or f"sqlite:///{data_dir / 'platform.sqlite3'}"
        return cls(
            data_dir=data_dir, database_url=url, master_key=_master_key(data_dir), **overrides
        )


def _master_key(data_dir: Path) -> bytes:
    env = os.environ.get(MASTER_KEY_ENV)
    if env:
        try:
            key = base64.b64decode(env, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{MASTER_KEY_ENV} is not valid base64.") from None
        if len(key) != 32:
            raise ConfigError(f"{MASTER_KEY_ENV} must decode to 32 bytes.")
        return key
    path = data_dir / "master.key"
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise ConfigError(f"{path} is damaged (it must hold 32 bytes).")
        return key
    key = os.urandom(32)
    atomic_write(path, key, mode=0o600, fsync=True)
    return key
