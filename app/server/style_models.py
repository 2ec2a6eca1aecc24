# SPDX-License-Identifier: GPL-3.0-or-later
"""The style models the platform offers: registering a package, signing its manifest, serving
it, and loading it for the re-render that verifies an upload.

A package is registered only after its hashes and its golden self-test pass here, so the
platform never offers a model that would fail on the fans' machines. Its manifest is signed with
the licence-signing key (the studio pins that key) and stored as signed; its files go to the
blob store under ``models/<id>/<version>/``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import StyleModelError
from app.core.style_manifest import parse_manifest, sign_manifest
from app.server.blobs import BlobStore
from app.server.db import StyleModel
from app.server.vaultkeys import Signer
from app.styles.package import StylePackage


def models_dir() -> Path:
    """The models shipped in this repository (``models/`` beside the ``app`` package)."""
    return Path(__file__).resolve().parents[2] / "models"


def shipped_packages() -> list[Path]:
    """The folders under ``models/`` that hold a package (a ``manifest.json``)."""
    root = models_dir()
    return sorted(p.parent for p in root.glob("*/manifest.json")) if root.is_dir() else []


def blob_name(model_id: str, version: int, file: str) -> str:
    return f"models/{model_id}/{version}/{file}"


def register_model(session: Session, blobs: BlobStore, signer: Signer, folder: Path) -> StyleModel:
    """Check, sign and store the package in ``folder``; returns its row (the existing row if
    this id and version is already offered with the same files).

    Raises StyleModelError: damaged files, a failing self-test, or the same id and version
    with other files (a version is immutable: publish a new one).
    """
    package = StylePackage.from_dir(folder)
    manifest = package.manifest
    existing = session.get(StyleModel, manifest.ref)
    if existing is not None:
        if existing.manifest.get("files") != manifest.doc.get("files"):
            raise StyleModelError(
                f"{manifest.ref} is already offered with other files: give it a new version."
            )
        return existing
    package.self_test()
    for name, data in package.files.items():
        blobs.put(blob_name(manifest.id, manifest.model_version, name), data)
    row = StyleModel(
        ref=manifest.ref,
        model_id=manifest.id,
        version=manifest.model_version,
        family=manifest.family,
        manifest=manifest.doc,
        signed_manifest=sign_manifest(manifest, signer.private),
    )
    session.add(row)
    session.commit()
    return row


def seed_models(session: Session, blobs: BlobStore, signer: Signer) -> int:
    """Register every package shipped in ``models/`` that is not offered yet; returns how
    many were added."""
    before = len(offered(session))
    for folder in shipped_packages():
        register_model(session, blobs, signer, folder)
    return len(offered(session)) - before


def offered(session: Session) -> dict[str, str]:
    """Every model the platform offers: ``id@version`` → family."""
    return {
        ref: family for ref, family in session.execute(select(StyleModel.ref, StyleModel.family))
    }


def listing(session: Session) -> list[dict[str, Any]]:
    """The public description of each offered model (for the catalogue of models)."""
    rows = session.scalars(select(StyleModel).order_by(StyleModel.ref)).all()
    return [_summary(row) for row in rows]


def _summary(row: StyleModel) -> dict[str, Any]:
    doc = row.manifest
    return {
        "id": row.model_id,
        "version": row.version,
        "ref": row.ref,
        "family": row.family,
        "display_name": doc.get("display_name", row.model_id),
        "description": doc.get("description", ""),
        "stem_kinds": doc.get("stem_kinds", []),
        "knobs": doc.get("knobs", []),
        "files": sorted(doc.get("files", {})),
    }


class PackageCache:
    """Verified packages by ``id@version`` for re-renders (read from the blob store once)."""

    def __init__(self) -> None:
        self._packages: dict[str, StylePackage] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, blobs: BlobStore, ref: str) -> StylePackage:
        """The package ``ref``; raises StyleModelError when the platform does not offer it."""
        with self._lock:
            found = self._packages.get(ref)
            if found is not None:
                return found
            row = session.get(StyleModel, ref)
            if row is None:
                raise StyleModelError(f"The style model {ref} is not offered by this platform.")
            manifest = parse_manifest(row.manifest)
            files = {
                name: blobs.get(blob_name(row.model_id, row.version, name))
                for name in manifest.files
            }
            package = StylePackage(manifest, files)
            self._packages[ref] = package
            return package
