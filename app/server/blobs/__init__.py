# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the platform keeps its blobs (encrypted stems, published derivatives, model files,
uploads in progress): a folder on one machine (the embedded default) or an S3-compatible
object store shared by several, behind one interface (:class:`BlobStore`).

Either way a blob is whole or absent: a crash mid-write leaves no half blob visible (a
temporary file renamed into place; an S3 PUT, which is atomic).
"""

from __future__ import annotations

from app.server.blobs.folder import FolderBlobs
from app.server.blobs.store import BlobMissingError, BlobStore, BlobStoreError, check_name
from app.server.config import ConfigError, ServerConfig

__all__ = [
    "BlobMissingError",
    "BlobStore",
    "BlobStoreError",
    "FolderBlobs",
    "check_name",
    "open_blobs",
]


def open_blobs(config: ServerConfig) -> BlobStore:
    """The store ``config`` names: its ``blob_store`` URL (``s3://…``), else the data
    folder's ``blobs/``."""
    if config.blob_store:
        from app.server.blobs.s3 import S3Blobs  # boto3 loads only for a platform that uses it

        try:
            return S3Blobs.from_url(config.blob_store)
        except ValueError as exc:
            raise ConfigError(f"FANFARE_BLOB_STORE: {exc}.") from None
    return FolderBlobs(config.blob_dir)
