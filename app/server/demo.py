# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo catalogue and accounts that an empty platform can be seeded with.

The catalogue comes from ``assets/demo/catalogue.json`` (made by ``assets/demo/make_demo.py``);
its stems go through the same ingest as any artist's upload. The style models shipped in
``models/`` are registered (checked, signed) on every seed, so a new release's models appear.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.server.accounts import create_user
from app.server.blobs import BlobStore
from app.server.db import Track, User
from app.server.ingest import IngestError
from app.server.style_models import seed_models
from app.server.track_states import set_state
from app.server.uploads import UploadError, upload_files
from app.server.vaultkeys import Signer

DEMO_PASSWORD = "fanfare-demo"
DEMO_FAN = "fan"
ADMIN = "admin"
ASSETS_ENV = "FANFARE_ASSETS"


def assets_dir() -> Path:
    """The assets folder: ``$FANFARE_ASSETS``, or ``assets/`` beside the ``app`` package."""
    env = os.environ.get(ASSETS_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets"


def _user_name(display: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", display.lower()).strip("-")[:32]


def _catalogue() -> tuple[Path, dict[str, Any]]:
    path = assets_dir() / "demo" / "catalogue.json"
    return path, json.loads(path.read_text(encoding="utf-8"))


def demo_accounts() -> dict[str, tuple[str, str, str]]:
    """The demo's accounts but the admin: name → (role, display name, tier): two fans and
    the catalogue's artists."""
    users = {
        DEMO_FAN: ("fan", "Demo Fan", "superfan"),
        "fan2": ("fan", "Second Fan", "free"),
    }
    for entry in _catalogue()[1]["tracks"]:
        users.setdefault(_user_name(entry["artist"]), ("artist", entry["artist"], "free"))
    return users


def seed_demo(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    *,
    password: str = DEMO_PASSWORD,
    admin: bool = True,
) -> bool:
    """Seed the demo accounts and catalogue; False if the catalogue was there already.

    Args:
        password: every demo account's password (the embedded platform gives each
            installation its own).
        admin: also make the ``admin`` account.

    Idempotent: a seed interrupted half-way (accounts made, tracks missing) is completed on the
    next start instead of leaving a platform without its catalogue.
    """
    catalogue_path, catalogue = _catalogue()
    # The style models shipped with this release, including ones added since the first seed.
    seed_models(session, blobs, Signer.load_or_create(session, master_key))
    if all(session.get(Track, entry["id"]) for entry in catalogue["tracks"]):
        return False
    users = demo_accounts()
    if admin:
        users[ADMIN] = ("admin", "Platform Admin", "free")
    for name, (role, display, tier) in users.items():
        if session.scalar(select(User).where(User.name == name)) is None:
            create_user(session, name, role, password, display, tier=tier)
    for entry in catalogue["tracks"]:
        if session.get(Track, entry["id"]) is not None:
            continue
        # The catalogue's artists are among the users made above: exactly one row each.
        artist = session.scalars(select(User).where(User.name == _user_name(entry["artist"]))).one()
        # The artist's own path: uploaded stem by stem, ingested as a draft, then made live.
        meta = {
            "title": entry["title"],
            "bpm": float(entry["bpm"]),
            "key": entry["key"],
            "time_signature": entry.get("time_signature", "4/4"),
            "sections": entry.get("sections", []),
            "policy": entry.get("policy"),
        }
        files = {kind: catalogue_path.parent / rel for kind, rel in entry["stems"].items()}
        try:
            track = upload_files(session, blobs, master_key, artist, meta, files)
        except UploadError as exc:
            raise IngestError(f"The demo track '{entry['id']}' cannot be seeded: {exc}") from None
        if track.id != entry["id"]:
            raise IngestError(f"The demo track '{entry['title']}' came in as '{track.id}'.")
        track.required_tier = entry.get("required_tier", "free")
        set_state(session, track, artist, "live")
    return True
