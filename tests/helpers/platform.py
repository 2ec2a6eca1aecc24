# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's HTTP API as a genuine client uses it: a cheap copy of a platform's data, a
TestClient over it, a signed-in fan with an enrolled device, and the stems a studio holds.

Uploads are built the way the studio builds them (``OpenTrack.publish``): a licence for an
enrolled device opens the downloaded stems, the offline engine renders the recipe, the render is
encoded as FLAC and its Content Credentials are signed into it with the device's Ed25519 key
under the certificate the platform issued.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app import __version__
from app.core.bundle import LONGEST_HEAD, sealed_head
from app.core.codec import encode_flac
from app.core.credentials import RemixFacts, edits_of, remix_manifest, sealed_digest, sign_flac
from app.core.keys import DeviceKeys, ed25519_public_from_b64, enrolment_proof
from app.core.licence import Licence, verify_licence
from app.core.listen_licence import ListenLicence, verify_listen_licence
from app.core.recipe import Recipe, styles_of
from app.core.track import TrackInfo
from app.engine.offline import render_derivative
from app.server.api import create_app
from app.server.config import ServerConfig

with warnings.catch_warnings():
    # Starlette 1.x warns that it prefers the httpx2 fork; httpx works and is what is installed.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = [
    "API",
    "PASSWORD",
    "TRACK",
    "Fan",
    "Studio",
    "TestClient",
    "copy_platform",
    "device_body",
    "drums_down",
    "open_client",
    "pinned_keys",
    "sign_in",
]

API = "/api/v1"
PASSWORD = "fanfare-demo"
TRACK = "neon-harbour"


def copy_platform(template: Path, target: Path) -> Path:
    """Copy a platform data folder, hard-linking its blobs instead of copying ~120 MB.

    Safe because the blob store never writes a file in place (it writes a temporary file and
    renames it over the old one), so no test can change the template's blobs through a link.
    """

    def link_or_copy(src: str, dst: str) -> object:
        if Path(src).is_relative_to(template / "blobs"):
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.copytree(template, target, copy_function=link_or_copy)
    return target


def open_client(data_dir: Path, **overrides: Any) -> TestClient:
    """A client over an app of its own (fresh rate limiters) for ``data_dir``, with
    ``ServerConfig`` fields overridden. Server errors come back as responses (a 500), as a real
    client would see them."""
    app = create_app(ServerConfig.load(data_dir, **overrides))
    return TestClient(app, raise_server_exceptions=False)


def sign_in(client: TestClient, name: str) -> tuple[dict[str, str], str]:
    """Bearer headers and the user id of a demo account."""
    response = client.post(f"{API}/auth/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    doc = response.json()
    return {"authorization": f"Bearer {doc['token']}"}, doc["user"]["id"]


def device_body(keys: DeviceKeys, name: str = "test laptop") -> dict[str, str]:
    return {
        "name": name,
        "signing_public_key": keys.signing_public_b64(),
        "kem_public_key": keys.kem_public().to_b64(),
        "proof": enrolment_proof(keys),
    }


def pinned_keys(client: TestClient) -> dict[str, Ed25519PublicKey]:
    doc = client.get(f"{API}/platform/keys").json()
    return {k["kid"]: ed25519_public_from_b64(k["public_key"]) for k in doc["keys"]}


@dataclass
class Fan:
    """A signed-in account with one enrolled device."""

    client: TestClient
    headers: dict[str, str]
    user_id: str
    keys: DeviceKeys
    device_id: str
    certificate_pem: str = ""
    name: str = ""
    _digests: dict[str, str] = field(default_factory=dict)

    @classmethod
    def sign_in(cls, client: TestClient, name: str, keys: DeviceKeys | None = None) -> Fan:
        headers, user_id = sign_in(client, name)
        keys = keys or DeviceKeys.generate()
        response = client.post(f"{API}/devices", headers=headers, json=device_body(keys))
        assert response.status_code == 201, response.text
        doc = response.json()
        return cls(client, headers, user_id, keys, doc["device_id"], doc["certificate_pem"], name)

    def sealed_digest(self, track_id: str = TRACK) -> str:
        """What the studio names the track version by: the digest of its stem blobs' heads."""
        if track_id not in self._digests:
            info = TrackInfo.from_dict(self.get(f"/tracks/{track_id}").json())
            heads = {}
            for kind in info.stem_kinds:
                blob = self.client.get(
                    f"{API}/tracks/{track_id}/versions/{info.version}/stems/{kind}",
                    headers=self.headers | {"range": f"bytes=0-{LONGEST_HEAD - 1}"},
                ).content
                heads[kind] = sealed_head(blob)
            self._digests[track_id] = sealed_digest(heads)
        return self._digests[track_id]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(API + path, headers=self.headers, **kwargs)

    def licence(self, track_id: str = TRACK) -> Licence:
        body = {"track_id": track_id, "device_id": self.device_id}
        response = self.client.post(f"{API}/licences", headers=self.headers, json=body)
        assert response.status_code == 201, response.text
        return verify_licence(response.content, pinned_keys(self.client), now=time.time())

    def listen_licence(self, derivative_id: str, now: float | None = None) -> ListenLicence:
        """A listen licence for this fan's device, verified (at ``now``: the platform's time,
        where a test moves its clock)."""
        body = {"device_id": self.device_id}
        response = self.client.post(
            f"{API}/derivatives/{derivative_id}/listen", headers=self.headers, json=body
        )
        assert response.status_code == 201, response.text
        return verify_listen_licence(
            response.content, pinned_keys(self.client), user=self.user_id,
            device=self.device_id, derivative=derivative_id,
            now=time.time() if now is None else now,
        )  # fmt: skip

    def signed(
        self,
        recipe: Recipe,
        audio: bytes,
        licence: Licence,
        *,
        models: dict[str, str] | None = None,
        certificate_pem: str | None = None,
        key: Ed25519PrivateKey | None = None,
        **changes: Any,
    ) -> bytes:
        """``audio`` with the Content Credentials ``OpenTrack._signed`` signs into it, with
        ``changes`` made to its remix assertion; ``key`` and ``certificate_pem`` sign it under
        another identity."""
        styles = styles_of(recipe)
        used = sorted({slot.ref for slot in styles.values()})
        digest = self.sealed_digest(recipe.track_id)
        remix: dict[str, Any] = {
            "recipe_sha256": recipe.digest(),
            "licence_id": licence.licence_id,
            "watermark_session": licence.watermark_session,
            "track": recipe.track_id,
            "track_version": recipe.track_version,
            "track_digest": digest,
            "device": self.device_id,
            "user": self.user_id,
            "created_at": int(time.time()),
            "ai": {"used": bool(used), "models": used},
        }
        facts = RemixFacts(
            title=recipe.title,
            fan=self.name,
            software_version=__version__,
            track_id=recipe.track_id,
            track_version=recipe.track_version,
            track_title=recipe.track_id,
            artist="",
            track_digest=digest,
            models=models if models is not None else {ref: ref for ref in used},
            styled_stems={kind: slot.ref for kind, slot in styles.items()},
            edits=edits_of(recipe),
            tempo_ratio=recipe.tempo_ratio,
            remix=remix | changes,
        )
        return sign_flac(
            audio,
            remix_manifest(facts),
            (key or self.keys.signing).sign,
            certificate_pem or self.certificate_pem,
        )

    def post_parts(
        self,
        parts: dict[str, bytes],
        title: str = "Harbour Lights",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST /derivatives with these multipart ``parts`` (and ``headers`` beside the
        fan's bearer token, e.g. a publish id)."""
        files = {
            name: (f"{name}.bin", data, "application/octet-stream") for name, data in parts.items()
        }
        return self.client.post(
            f"{API}/derivatives",
            headers=self.headers | (headers or {}),
            files=files,
            data={"title": title},
        )

    def upload(self, recipe: Recipe, signed: bytes) -> httpx.Response:
        """Upload ``signed`` (FLAC with its Content Credentials) as the render of ``recipe``."""
        return self.post_parts({"audio": signed, "recipe": recipe.to_json().encode()})

    def publish(self, recipe: Recipe, audio: bytes, **changes: Any) -> httpx.Response:
        """Upload ``audio`` as the render of ``recipe`` under a fresh licence, signed."""
        return self.upload(
            recipe, self.signed(recipe, audio, self.licence(recipe.track_id), **changes)
        )


@dataclass
class Studio:
    """What a genuine client holds for neon-harbour: its metadata and decrypted stems."""

    info: TrackInfo
    stems: dict[str, np.ndarray]
    keys: DeviceKeys
    _renders: dict[str, bytes] = field(default_factory=dict)

    @property
    def recipe(self) -> Recipe:
        return Recipe.default_for(self.info, title="Harbour Lights")

    def flac(self, recipe: Recipe) -> bytes:
        """The FLAC of the published form of ``recipe`` (cached per recipe)."""
        digest = recipe.digest()
        if digest not in self._renders:
            audio, _ = render_derivative(self.stems, self.info.sample_rate, recipe, track=self.info)
            self._renders[digest] = encode_flac(audio, self.info.sample_rate)
        return self._renders[digest]


def drums_down(studio: Studio) -> Recipe:
    """A small honest remix: the drums 3 dB down, the keys and the pad muted (its fingerprint
    differs from the original mix's in ~16 % of its bits, past the spam gate's 10 %)."""
    recipe = studio.recipe.with_stem("drums", gain_db=-3.0)
    return recipe.with_stem("keys", mute=True).with_stem("pad", mute=True)
