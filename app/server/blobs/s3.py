# SPDX-License-Identifier: GPL-3.0-or-later
"""Blobs in an S3-compatible object store (boto3): AWS S3, or any server that speaks its API
(SeaweedFS, MinIO, Ceph's RGW…), shared by every API and job worker of a deployment.

The store is named by a URL:

- ``s3://BUCKET[/PREFIX]``: AWS, with boto3's own credentials and region (its environment
  variables, ``~/.aws``, an instance role);
- ``s3+http://[KEY:SECRET@]HOST:PORT/BUCKET[/PREFIX]`` (or ``s3+https://``): a server at that
  address, with those credentials if given (else boto3's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.server.blobs.store import CHUNK, BlobMissingError, BlobStore, BlobStoreError, check_name

#: A store that does not answer fails a request in seconds, not minutes: the user is told
#: and the upload is kept to try again (``BlobStoreError``).
_CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=30,
    retries={"max_attempts": 3, "mode": "standard"},
    max_pool_connections=32,
    s3={"addressing_style": "path"},
)
_MISSING = {"NoSuchKey", "404", "NotFound"}


class _PastTheEnd(Exception):
    """A range that starts at or after the object's end (S3 answers 416): no bytes."""


def parse_url(url: str) -> tuple[str | None, str, str, dict[str, str]]:
    """(endpoint or None for AWS, bucket, key prefix, credentials) of an S3 store URL."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        endpoint, path = None, f"{parts.netloc}{parts.path}"
    elif parts.scheme in ("s3+http", "s3+https"):
        if not parts.hostname:
            raise ValueError(f"{url!r} names no server")
        port = f":{parts.port}" if parts.port else ""
        endpoint = f"{parts.scheme[3:]}://{parts.hostname}{port}"
        path = parts.path
    else:
        raise ValueError(f"{url!r} is not an s3://, s3+http:// or s3+https:// URL")
    bucket, _, prefix = path.strip("/").partition("/")
    if not bucket:
        raise ValueError(f"{url!r} names no bucket")
    credentials = {}
    if parts.scheme != "s3" and parts.username:
        credentials = {
            "aws_access_key_id": unquote(parts.username),
            "aws_secret_access_key": unquote(parts.password or ""),
        }
    return endpoint, bucket, f"{prefix.strip('/')}/" if prefix.strip("/") else "", credentials


def redact(url: str) -> str:
    """``url`` without its secret, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":…@", 1)


class S3Blobs(BlobStore):
    """Blobs as objects ``PREFIX + name`` in one bucket."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", where: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.where = where or f"s3://{bucket}/{prefix}"

    @classmethod
    def from_url(cls, url: str) -> S3Blobs:
        endpoint, bucket, prefix, credentials = parse_url(url)
        client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, config=_CLIENT_CONFIG, **credentials
        )
        return cls(client, bucket, prefix, redact(url))

    def create_bucket(self) -> None:
        """Make the bucket if it is not there (what a stack's set-up does once)."""
        try:
            self._call(self.client.head_bucket, self.bucket, Bucket=self.bucket)
        except BlobMissingError:
            self._call(self.client.create_bucket, self.bucket, Bucket=self.bucket)

    def _key(self, name: str) -> str:
        return self.prefix + check_name(name)

    def _call(self, method: Any, name: str, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise BlobMissingError(name) from None
            if code == "InvalidRange":
                raise _PastTheEnd(name) from None
            raise BlobStoreError(f"The object store {self.where} refused ({code}).") from None
        except BotoCoreError as exc:
            raise BlobStoreError(
                f"The object store {self.where} cannot be reached ({type(exc).__name__})."
            ) from None

    def put(self, name: str, data: bytes) -> int:
        self._call(self.client.put_object, name, Bucket=self.bucket, Key=self._key(name), Body=data)
        return len(data)

    def get(self, name: str) -> bytes:
        return b"".join(self.chunks(name, 0, None))

    def read(self, name: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return b"".join(self.chunks(name, start, start + length))

    def size(self, name: str) -> int:
        head = self._call(self.client.head_object, name, Bucket=self.bucket, Key=self._key(name))
        return int(head["ContentLength"])

    def delete(self, name: str) -> None:
        self._call(self.client.delete_object, name, Bucket=self.bucket, Key=self._key(name))

    def sizes(self, prefix: str) -> dict[str, int]:
        found: dict[str, int] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/")) + "/"
        )
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    found[item["Key"][len(self.prefix) :]] = int(item["Size"])
        except (ClientError, BotoCoreError) as exc:
            raise BlobStoreError(
                f"The object store {self.where} cannot list {prefix} ({type(exc).__name__})."
            ) from None
        return found

    def chunks(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        # One GET for the whole range, read as it arrives.
        if end is not None and end <= start:
            return
        asked: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(name)}
        if start or end is not None:
            asked["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            answer = self._call(self.client.get_object, name, **asked)
        except _PastTheEnd:
            return
        body = answer["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        except BotoCoreError as exc:
            raise BlobStoreError(
                f"The object store {self.where} broke off {name} ({type(exc).__name__})."
            ) from None
        finally:
            body.close()
