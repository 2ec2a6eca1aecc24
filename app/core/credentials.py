# SPDX-License-Identifier: GPL-3.0-or-later
"""Content Credentials (C2PA) in a derivative's FLAC: what the studio signs, what the platform
adds as publisher, and how anyone reads them back.

A remix carries two manifests once published:

- **the fan's** (signed by the device's Ed25519 key under the certificate the platform's device
  CA issued it): the licensed track version it opened (a ``parentOf`` ingredient whose id names
  the track, its version and the digest of its sealed stems), every style model used
  (``inputTo``), what was done (``c2pa.opened``, ``c2pa.edited``, ``c2pa.changedSpeed``), the AI
  disclosure as IPTC digital source types, the fan as author, and, in ``org.fanfare.remix``,
  what C2PA has no field for: the recipe's digest, the licence, the device and the account;
- **the platform's** (signed under its publisher certificate, from the same CA): ``c2pa.published``
  after its re-render matched the upload, with the fan's signed upload as its ``parentOf``
  ingredient and, in ``org.fanfare.verification``, how it was checked.

The manifest store sits in an ID3v2 tag in front of the FLAC stream (c2pa-rs's FLAC handler);
decoders skip it. See docs/formats.md, "Content Credentials".
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import c2pa

from app.core.errors import FanfareError
from app.core.recipe import Recipe

MIME_FLAC = "audio/flac"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: A remix that used a style model: human stems with parts made by a trained model.
COMPOSITE_AI = IPTC + "compositeWithTrainedAlgorithmicMedia"
#: A remix made with non-generative tools only (mixing, effects, tempo, key, arrangement).
HUMAN_EDITS = IPTC + "humanEdits"
#: A fan's own recorded part: captured from a real-life source by a digital device.
DIGITAL_CAPTURE = IPTC + "digitalCapture"
#: Custom assertions: what the C2PA vocabulary has no field for.
REMIX_LABEL = "org.fanfare.remix"
VERIFICATION_LABEL = "org.fanfare.verification"
PUBLISHER_NAME = "Fanfare publisher"
#: The soft binding's algorithm: Fanfare's A/B segment watermark (not in C2PA's registry).
WATERMARK_ALG = (
    "org.fanfare.ab-segments.1"  # the common name of the platform's publisher certificate
)
_NO_AUTO_ACTIONS = {
    "builder": {
        "actions": {
            "auto_placed_action": {"enabled": False},
            "auto_opened_action": {"enabled": False},
            "auto_created_action": {"enabled": False},
        }
    }
}
# Sniffed formats `fanfare verify` reads (c2pa-rs has a handler for each).
_MAGIC = ((b"fLaC", MIME_FLAC), (b"RIFF", "audio/wav"), (b"ID3", "audio/mpeg"))


class CredentialsError(FanfareError):
    """A file's Content Credentials are missing, altered or not trusted.

    ``reason`` is one of ``missing``, ``edited``, ``untrusted``, ``invalid`` or ``unreadable``;
    the message is a sentence for the user.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class RemixFacts:
    """What the studio knows of a remix when it signs it.

    Attributes:
        title: the remix's title.
        fan: the account's display name (the author).
        software_version: Fanfare's version.
        track_id, track_version, track_title, artist: the licensed track version.
        track_digest: ``sealed_digest`` of the stems it was made from.
        models: style models used, ``ref -> name``.
        styled_stems: which stem each style model played, ``stem -> ref``.
        edits: what was done, in words (e.g. "mixed 5 stems", "tempo x1.10").
        tempo_ratio: the remix's tempo over the track's (1.0: unchanged).
        remix: the ``org.fanfare.remix`` assertion (recipe digest, licence, device, user, ...).
        parts: the fan's own recorded parts, ``stem name -> (role, take digest)``.
    """

    title: str
    fan: str
    software_version: str
    track_id: str
    track_version: int
    track_title: str
    artist: str
    track_digest: str
    models: Mapping[str, str] = field(default_factory=dict)
    styled_stems: Mapping[str, str] = field(default_factory=dict)
    edits: Sequence[str] = ()
    tempo_ratio: float = 1.0
    remix: Mapping[str, Any] = field(default_factory=dict)
    parts: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def take_ingredient_id(digest: str) -> str:
    """A fan's recorded take as an ingredient: the SHA-256 of its FLAC file."""
    return f"fanfare:take/{digest}"


def track_ingredient_id(track_id: str, version: int, digest: str) -> str:
    """The licensed track version as an ingredient: its id, version and sealed digest."""
    return f"fanfare:track/{track_id}/v{version}/{digest}"


def model_ingredient_id(ref: str) -> str:
    return f"fanfare:style-model/{ref}"


def remix_manifest(facts: RemixFacts) -> dict[str, Any]:
    """The fan's manifest definition (c2pa-rs's JSON form)."""
    track_ref = track_ingredient_id(facts.track_id, facts.track_version, facts.track_digest)
    agent = {"name": "Fanfare", "version": facts.software_version}
    source_type = COMPOSITE_AI if facts.models else HUMAN_EDITS
    actions: list[dict[str, Any]] = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": [track_ref]}},
        {
            "action": "c2pa.edited",
            "softwareAgent": agent,
            "digitalSourceType": source_type,
            "description": "; ".join(facts.edits) or "remixed",
        },
    ]
    if abs(facts.tempo_ratio - 1.0) > 1e-9:
        actions.append(
            {
                "action": "c2pa.changedSpeed",
                "softwareAgent": agent,
                "description": f"tempo x{facts.tempo_ratio:.3f} (pitch kept)",
            }
        )
    for stem, ref in sorted(facts.styled_stems.items()):
        actions.append(
            {
                "action": "c2pa.edited",
                "softwareAgent": {"name": facts.models.get(ref, ref)},
                "digitalSourceType": COMPOSITE_AI,
                "description": f"the {stem} stem played by the style model {ref}",
                "parameters": {"ingredientIds": [model_ingredient_id(ref)]},
            }
        )
    for name, (role, digest) in sorted(facts.parts.items()):
        actions.append(
            {
                "action": "c2pa.placed",
                "softwareAgent": agent,
                "digitalSourceType": DIGITAL_CAPTURE,
                "description": f"fan-recorded {role} ({name})",
                "parameters": {"ingredientIds": [take_ingredient_id(digest)]},
            }
        )
    ingredients = (
        [
            {
                "title": f"{facts.track_title} (version {facts.track_version}) by {facts.artist}",
                "format": MIME_FLAC,
                "relationship": "parentOf",
                "instance_id": track_ref,
            }
        ]
        + [
            {
                "title": name,
                "format": "application/onnx",
                "relationship": "inputTo",
                "instance_id": model_ingredient_id(ref),
            }
            for ref, name in sorted(facts.models.items())
        ]
        + [
            {
                "title": f"fan-recorded {role} ({name}) by {facts.fan}",
                "format": MIME_FLAC,
                "relationship": "componentOf",
                "instance_id": take_ingredient_id(digest),
            }
            for name, (role, digest) in sorted(facts.parts.items())
        ]
    )
    return {
        "claim_generator_info": [agent],
        "title": facts.title,
        "format": MIME_FLAC,
        "ingredients": ingredients,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {
                "label": "stds.schema-org.CreativeWork",
                "data": {
                    "@context": "https://schema.org",
                    "@type": "MusicRecording",
                    "name": facts.title,
                    "author": [{"@type": "Person", "name": facts.fan}],
                    "isBasedOn": {
                        "@type": "MusicRecording",
                        "name": facts.track_title,
                        "byArtist": {"@type": "MusicGroup", "name": facts.artist},
                    },
                },
            },
            {"label": REMIX_LABEL, "data": dict(facts.remix)},
        ],
    }


def publisher_manifest(
    *, title: str, software_version: str, verification: Mapping[str, Any], parent_title: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The platform's manifest definition and its parent ingredient (the fan's upload)."""
    parent_id = "fanfare:upload"
    manifest = {
        "claim_generator_info": [{"name": "Fanfare platform", "version": software_version}],
        "title": title,
        "format": MIME_FLAC,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": [parent_id]}},
                        {
                            "action": "c2pa.published",
                            "description": "verified by re-render: the platform rendered the "
                            "recipe from its own copy of the stems and found the same audio",
                        },
                        {
                            # Streams differ from this file by design: the hard binding holds
                            # for the file (downloads), the watermark binds each stream.
                            "action": "c2pa.watermarked",
                            "description": "each listener's stream carries a forensic "
                            "watermark naming its listen licence (A/B segment variants); a "
                            "stream's bytes therefore differ from this file's",
                        },
                    ]
                },
            },
            {"label": VERIFICATION_LABEL, "data": dict(verification)},
            {
                # The watermark as this manifest's soft binding: where a stream's bytes differ
                # from the file, its mark leads back to this remix (docs/formats.md).
                "label": "c2pa.soft-binding",
                "data": {
                    "alg": WATERMARK_ALG,
                    "blocks": [
                        {
                            "scope": {},
                            "value": base64.b64encode(
                                str(verification.get("derivative", "")).encode()
                            ).decode(),
                        }
                    ],
                    "pad": [],
                },
            },
        ],
    }
    parent = {"title": parent_title, "relationship": "parentOf", "instance_id": parent_id}
    return manifest, parent


def sign_flac(
    flac: bytes,
    manifest: Mapping[str, Any],
    sign: Callable[[bytes], bytes],
    certificate_pem: str,
    *,
    parent: tuple[Mapping[str, Any], bytes] | None = None,
) -> bytes:
    """``flac`` with ``manifest`` signed into it by ``sign`` (an Ed25519 signature of the bytes
    given) under ``certificate_pem``; ``parent``: an ingredient definition and the signed file it
    stands for, whose manifests go into the store too."""
    context = c2pa.Context.from_dict(_NO_AUTO_ACTIONS)
    signer = c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ED25519, certificate_pem, None)
    out = io.BytesIO()
    try:
        with c2pa.Builder(dict(manifest), context) as builder:
            if parent is not None:
                builder.add_ingredient(dict(parent[0]), MIME_FLAC, io.BytesIO(parent[1]))
            builder.sign(signer, MIME_FLAC, io.BytesIO(flac), out)
    finally:
        signer.close()
        context.close()
    return out.getvalue()


def strip_store(data: bytes) -> bytes:
    """A FLAC file without the ID3v2 tag in front that holds a manifest store (the bare
    stream the manifest's hard binding was computed around)."""
    if data[:3] != b"ID3" or len(data) < 10:
        return data
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    footer = 10 if data[5] & 0x10 else 0
    return data[10 + size + footer :]


@dataclass(frozen=True)
class Manifest:
    """One manifest of a store, as read."""

    label: str
    signer: str  # the signing certificate's common name (a device id, or PUBLISHER_NAME)
    issuer: str
    serial: str
    claim_generator: str
    title: str
    actions: list[dict[str, Any]]
    ingredients: list[dict[str, Any]]
    assertions: dict[str, Any]

    @property
    def source_types(self) -> list[str]:
        return sorted({a["digitalSourceType"] for a in self.actions if "digitalSourceType" in a})

    @property
    def uses_ai(self) -> bool:
        return any(t.startswith(IPTC) and "Algorithmic" in t for t in self.source_types)


@dataclass(frozen=True)
class Credentials:
    """A file's manifest store, read and validated against one trust anchor.

    ``state`` is c2pa's: ``Trusted`` (valid and signed under the anchor), ``Valid`` (intact but
    signed under another certificate) or ``Invalid``; ``failures`` the validation codes.
    """

    state: str
    failures: list[str]
    active: Manifest
    manifests: dict[str, Manifest]

    def parent(self, manifest: Manifest | None = None) -> Manifest | None:
        """The manifest of ``manifest``'s ``parentOf`` ingredient (the fan's, under the
        platform's), if it has one."""
        of = manifest or self.active
        for ingredient in of.ingredients:
            if ingredient.get("relationship") == "parentOf" and ingredient.get("active_manifest"):
                return self.manifests.get(str(ingredient["active_manifest"]))
        return None

    def check_trusted(self) -> None:
        """Raise CredentialsError unless the store is intact and signed under the anchor."""
        if self.state == "Trusted":
            return
        if any(code.startswith("assertion.dataHash") for code in self.failures):
            raise CredentialsError(
                "edited",
                "The audio was changed after it was signed: its Content Credentials no longer "
                "match it.",
            )
        if "signingCredential.untrusted" in self.failures or self.state == "Valid":
            raise CredentialsError(
                "untrusted",
                "The Content Credentials are signed under a certificate this platform did not "
                "issue.",
            )
        raise CredentialsError(
            "invalid",
            "The Content Credentials do not verify (" + ", ".join(self.failures[:3]) + ").",
        )


def sniff(data: bytes) -> str | None:
    """The MIME type of an audio file c2pa can read, from its first bytes; None otherwise."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            if magic == b"ID3" and b"fLaC" in data[: 10 + _id3_size(data) + 4]:
                return MIME_FLAC
            return mime
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    return None


def _id3_size(data: bytes) -> int:
    if len(data) < 10:
        return 0
    return (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]


def read_credentials(data: bytes, trust_anchor_pem: str) -> Credentials:
    """Read and validate the manifest store in ``data`` (FLAC, WAV or MP3) with
    ``trust_anchor_pem`` as the only trusted root; nothing is fetched from the network.

    Raises:
        CredentialsError: ``unreadable`` (not an audio file c2pa reads) or ``missing`` (no
            manifest store: stripped, or never signed).
    """
    mime = sniff(data)
    if mime is None:
        raise CredentialsError("unreadable", "This is not a FLAC, WAV or MP3 file.")
    context = c2pa.Context.from_dict(
        {"trust": {"trust_anchors": trust_anchor_pem}, "verify": {"remote_manifest_fetch": False}}
    )
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=context)
        if reader is None:
            raise CredentialsError(
                "missing",
                "This file carries no Content Credentials (they were never signed into it, "
                "or were stripped).",
            )
        with reader:
            store = json.loads(reader.json())
            state = str(reader.get_validation_state())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "not found" in str(exc).lower():
            raise CredentialsError(
                "missing",
                "This file carries no Content Credentials (they were never signed into it, "
                "or were stripped).",
            ) from None
        raise CredentialsError(
            "invalid", f"The Content Credentials cannot be read ({str(exc)[:120]})."
        ) from None
    finally:
        context.close()
    results = store.get("validation_results", {}).get("activeManifest", {})
    failures = [str(f.get("code")) for f in results.get("failure", [])]
    manifests = {label: _manifest(label, doc) for label, doc in store["manifests"].items()}
    return Credentials(state, failures, manifests[store["active_manifest"]], manifests)


def _manifest(label: str, doc: dict[str, Any]) -> Manifest:
    signature = doc.get("signature_info", {})
    assertions = {a["label"]: a.get("data") for a in doc.get("assertions", [])}
    actions = (assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}).get(
        "actions", []
    )
    generator = doc.get("claim_generator_info") or [{}]
    return Manifest(
        label=label,
        signer=str(signature.get("common_name", "")),
        issuer=str(signature.get("issuer", "")),
        serial=str(signature.get("cert_serial_number", "")),
        claim_generator=" ".join(
            str(generator[0].get(k, "")) for k in ("name", "version") if generator[0].get(k)
        ),
        title=str(doc.get("title", "")),
        actions=list(actions),
        ingredients=list(doc.get("ingredients", [])),
        assertions=assertions,
    )


def sealed_digest(heads: Mapping[str, bytes]) -> str:
    """A track version's identity in credentials: SHA-256 over its stems' sealed heads
    (``bundle.sealed_head``) in kind order, as ``sha256-<hex>``."""
    digest = hashlib.sha256()
    for kind in sorted(heads):
        digest.update(kind.encode() + b"\0" + hashlib.sha256(heads[kind]).digest())
    return "sha256-" + digest.hexdigest()


def edits_of(recipe: Recipe) -> list[str]:
    """What a recipe did to the track, in short phrases for the ``c2pa.edited`` action."""
    heard = recipe.audible_stems()
    edits = [f"mixed {len(heard)} of {len(recipe.stems)} stems"]
    effects = sorted({name for mix in recipe.stems.values() for name in mix.fx.active_effects()})
    if effects:
        edits.append("effects: " + ", ".join(effects))
    if recipe.tempo_ratio != 1.0:
        edits.append(f"tempo x{recipe.tempo_ratio:.3f}")
    if recipe.key_shift:
        edits.append(f"key {recipe.key_shift:+d} semitones")
    if not recipe.arrangement.is_default:
        edits.append("rearranged")
    if recipe.automation:
        edits.append(f"{len(recipe.automation)} recorded moves")
    return edits


def summary(credentials: Credentials) -> dict[str, Any]:
    """What a listener or tool wants to know of a remix's credentials, as plain data: who
    published it and how it was checked, who made it from what, with which edits and AI."""
    active = credentials.active
    published = active.signer == PUBLISHER_NAME
    made = credentials.parent() if published else active
    doc: dict[str, Any] = {
        "state": credentials.state,
        "trusted": credentials.state == "Trusted",
        "failures": credentials.failures,
        "manifests": len(credentials.manifests),
        "title": active.title,
        "publisher": None,
        "made": None,
    }
    if published:
        doc["publisher"] = {
            "signer": active.signer,
            "claim_generator": active.claim_generator,
            "verification": active.assertions.get(VERIFICATION_LABEL) or {},
        }
    if made is not None:
        work = made.assertions.get("stds.schema-org.CreativeWork") or {}
        authors = [str(a.get("name", "")) for a in work.get("author", []) if isinstance(a, dict)]
        parents = [i for i in made.ingredients if i.get("relationship") == "parentOf"]
        models = [
            {"name": str(i.get("title", "")), "id": str(i.get("instance_id", ""))}
            for i in made.ingredients
            if i.get("relationship") == "inputTo"
        ]
        edits = [
            str(a.get("description", ""))
            for a in made.actions
            if a.get("action") in ("c2pa.edited", "c2pa.changedSpeed") and a.get("description")
        ]
        doc["made"] = {
            "by": authors[0] if authors else "",
            "device": made.signer,
            "claim_generator": made.claim_generator,
            "from": [str(p.get("title", "")) for p in parents],
            "edits": edits,
            "ai": {"used": made.uses_ai, "models": models, "source_types": made.source_types},
        }
    return doc


def sentences(doc: dict[str, Any]) -> list[str]:
    """``summary`` in sentences, most important first."""
    if doc["trusted"]:
        lines = ["Its Content Credentials are valid and trusted."]
    elif doc["state"] == "Valid":
        lines = [
            "Its Content Credentials are intact but signed under a certificate this platform "
            "did not issue: who made it cannot be confirmed."
        ]
    else:
        lines = [
            "Its Content Credentials are not valid (" + ", ".join(doc["failures"][:3]) + "): "
            "the file was changed after it was signed, or the signature is wrong."
        ]
    publisher = doc.get("publisher")
    if publisher:
        check = publisher["verification"]
        lines.append(
            "Published by Fanfare after it verified the remix by re-rendering its recipe"
            + (f" (remix {check['derivative']})." if check.get("derivative") else ".")
        )
    made = doc.get("made")
    if made:
        source = " and ".join(made["from"]) or "an unnamed source"
        lines.append(
            f"Made by {made['by'] or 'an unnamed fan'} (device {made['device']}) from "
            f"{source}" + (": " + "; ".join(made["edits"]) if made["edits"] else "") + "."
        )
        ai = made["ai"]
        if ai["used"]:
            names = ", ".join(m["name"] for m in ai["models"]) or "an unnamed model"
            lines.append(f"AI was used: the style model {names} (edited with generative AI).")
        else:
            lines.append("No AI was used: human edits of the licensed recording only.")
    return lines
