# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo catalogue and accounts that an empty platform can be seeded with.

The catalogue comes from ``assets/demo/catalogue.json`` (made by ``assets/demo/make_demo.py``);
its stems go through the same ingest as any artist's upload.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.server.accounts import create_user
from app.server.blobs import BlobStore
from app.server.db import Track, User
from app.server.ingest import SourceStem, publish_track

DEMO_PASSWORD = "fanfare-demo"
DEMO_FAN = "fan"
ASSETS_ENV = "FANFARE_ASSETS"


def assets_dir() -> Path:
    """The assets folder: ``$FANFARE_ASSETS``, or ``assets/`` beside the ``app`` package."""
    env = os.environ.get(ASSETS_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "assets"


def _user_name(display: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", display.lower()).strip("-")[:32]


def seed_demo(session: Session, blobs: BlobStore, master_key: bytes) -> bool:
    """Seed an empty platform with the demo accounts and catalogue; False if it had users."""
    if session.scalar(select(func.count()).select_from(User)):
        return False
    catalogue_path = assets_dir() / "demo" / "catalogue.json"
    catalogue = json.loads(catalogue_path.read_text(encoding="utf-8"))
    create_user(session, DEMO_FAN, "fan", DEMO_PASSWORD, "Demo Fan", tier="superfan")
    create_user(session, "fan2", "fan", DEMO_PASSWORD, "Second Fan", tier="free")
    create_user(session, "admin", "admin", DEMO_PASSWORD, "Platform Admin")
    artists: dict[str, User] = {}
    for entry in catalogue["tracks"]:
        display = entry["artist"]
        if display not in artists:
            artists[display] = create_user(
                session, _user_name(display), "artist", DEMO_PASSWORD, display
            )
        track = publish_track(
            session,
            blobs,
            master_key,
            artist=artists[display],
            title=entry["title"],
            sources=[
                SourceStem(kind, catalogue_path.parent / rel)
                for kind, rel in entry["stems"].items()
            ],
            bpm=float(entry["bpm"]),
            key=entry["key"],
            time_signature=entry.get("time_signature", "4/4"),
            sections=entry.get("sections", []),
            policy=entry.get("policy"),
            track_id=entry["id"],
        )
        track.required_tier = entry.get("required_tier", "free")
    session.commit()
    return True


def has_tracks(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Track)))
