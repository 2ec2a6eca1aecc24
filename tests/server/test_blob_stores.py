# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's blob stores: a folder and a real S3 object store (SeaweedFS on loopback)
behave alike; a write cut off leaves no half blob; a platform whose store stops answering
says so and serves again when it returns."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.server.blobs import BlobMissingError, BlobStore, FolderBlobs
from app.server.blobs.s3 import S3Blobs, parse_url, redact
from app.server.blobs.store import CHUNK
from app.server.config import ConfigError, ServerConfig
from app.server.db import make_sessions
from app.server.demo import seed_demo
from app.server.schema import connect
from app.server.stack.seaweed import LocalSeaweed
from app.server.vaultkeys import Signer
from tests.helpers.platform import API, TRACK, Fan, open_client


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "folder":
        return FolderBlobs(tmp_path / "blobs")
    return S3Blobs.from_url(request.getfixturevalue("s3_url"))


def test_both_stores_keep_read_list_and_delete_blobs_alike(store: BlobStore) -> None:
    body = bytes(range(256)) * (CHUNK // 128 + 3)  # a little over two chunks
    assert store.put("stems/t/v1/drums.stem", body) == len(body)
    store.put("stems/t/v1/bass.stem", b"bass")
    store.put("stems/t/v10/bass.stem", b"other version")
    assert store.get("stems/t/v1/drums.stem") == body
    assert store.size("stems/t/v1/drums.stem") == len(body)
    assert store.read("stems/t/v1/drums.stem", 1000, 300) == body[1000:1300]
    assert store.read("stems/t/v1/drums.stem", len(body) - 5, 100) == body[-5:]
    assert store.read("stems/t/v1/drums.stem", len(body) + 5, 10) == b""
    assert b"".join(store.chunks("stems/t/v1/drums.stem", 7, len(body) - 7)) == body[7:-7]
    assert all(len(c) <= CHUNK for c in store.chunks("stems/t/v1/drums.stem"))
    assert store.sizes("stems/t/v1/") == {
        "stems/t/v1/drums.stem": len(body),
        "stems/t/v1/bass.stem": 4,
    }
    store.put("stems/t/v1/bass.stem", b"replaced")
    assert store.get("stems/t/v1/bass.stem") == b"replaced"
    store.delete("stems/t/v1/bass.stem")
    store.delete("stems/t/v1/bass.stem")  # gone already: nothing to do
    assert not store.exists("stems/t/v1/bass.stem")
    with pytest.raises(BlobMissingError):
        store.get("stems/t/v1/bass.stem")
    with pytest.raises(BlobMissingError):
        store.size("nothing/here")
    with pytest.raises(ValueError):
        store.put("../outside", b"x")


def test_an_upload_cut_off_mid_object_leaves_no_half_blob(s3_url: str) -> None:
    store = S3Blobs.from_url(s3_url)
    name = "derivatives/drv_cut.flac"
    url = store.client.generate_presigned_url(
        "put_object", Params={"Bucket": store.bucket, "Key": store.prefix + name}
    )
    parts = urlsplit(url)
    body = b"\x01" * 1_000_000
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        request = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock.sendall(request + body[: len(body) // 2])  # and the connection drops
    assert not store.exists(name)
    assert store.sizes("derivatives/") == {}


def test_a_store_url_is_read_with_its_credentials_and_never_shown_with_them() -> None:
    endpoint, bucket, prefix, credentials = parse_url("s3+http://key:s%2Fcret@10.0.0.5:8333/b/p/q")
    assert (endpoint, bucket, prefix) == ("http://10.0.0.5:8333", "b", "p/q/")
    assert credentials == {"aws_access_key_id": "key", "aws_secret_access_key": "s/cret"}
    assert parse_url("s3://my-bucket")[:3] == (None, "my-bucket", "")
    assert "s%2Fcret" not in redact("s3+http://key:s%2Fcret@10.0.0.5:8333/b")
    for bad in ("http://x/b", "s3+http://10.0.0.5:8333/", "s3://"):
        with pytest.raises(ValueError):
            parse_url(bad)


def test_a_bad_store_url_stops_the_platform_with_a_sentence(tmp_path: Path) -> None:
    from app.server.blobs import open_blobs

    config = ServerConfig.load(tmp_path, blob_store="ftp://nowhere/bucket")
    with pytest.raises(ConfigError, match=r"FANFARE_BLOB_STORE: .*not an s3://"):
        open_blobs(config)


def test_a_platform_on_the_object_store_serves_stems_and_says_when_the_store_is_down(
    tmp_path: Path, seaweed: LocalSeaweed, s3_url: str
) -> None:
    config = ServerConfig.load(tmp_path / "platform", blob_store=s3_url)
    blobs = S3Blobs.from_url(s3_url)
    engine = connect(config.database_url)
    with make_sessions(engine)() as session:
        Signer.load_or_create(session, config.master_key)
        assert seed_demo(session, blobs, config.master_key)
    engine.dispose()
    assert not (config.data_dir / "blobs").exists()  # nothing in the folder: all in the store

    with open_client(config.data_dir, blob_store=s3_url) as client:
        fan = Fan.sign_in(client, "fan")
        fan.licence()
        path = f"/tracks/{TRACK}/versions/1/stems/drums"
        whole = fan.get(path)
        assert whole.status_code == 200
        # A download resumed where it broke off: the rest, byte for byte.
        rest = fan.client.get(API + path, headers=fan.headers | {"Range": "bytes=1000-"})
        assert rest.status_code == 206 and rest.content == whole.content[1000:]

        seaweed.stop()
        try:
            down = fan.get(path)
            assert down.status_code == 503
            assert "storage is not answering" in down.json()["detail"]
        finally:
            seaweed.start()
        again = fan.get(path)
        assert again.status_code == 200
        assert hashlib.sha256(again.content).digest() == hashlib.sha256(whole.content).digest()
