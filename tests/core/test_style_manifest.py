# SPDX-License-Identifier: GPL-3.0-or-later
"""The style-model manifest: strict parsing, signatures, file hashes, and fuzzed bytes."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import StyleModelError, StyleModelVersionError
from app.core.keys import key_id
from app.core.style_manifest import (
    file_entries,
    open_manifest,
    parse_manifest,
    sign_manifest,
)

FILES = {"model.onnx": b"onnx bytes", "golden.npz": b"golden bytes"}
DOC: dict[str, Any] = {
    "schema": "fanfare.style-model",
    "version": 1,
    "id": "timbre.test",
    "model_version": 2,
    "family": "timbre",
    "runtime": "ddsp",
    "display_name": "Test",
    "description": "",
    "licence": "GPL-3.0-or-later",
    "stem_kinds": ["lead"],
    "io": {"inputs": [{"name": "f0"}], "outputs": [{"name": "amp"}], "state": []},
    "audio": {"sample_rate": 16000, "hop": 160, "look_behind_samples": 8000},
    "conditioning": {"f0_hz": [100.0, 1000.0]},
    "knobs": [{"id": "breath", "name": "Breath", "min": 0.0, "max": 1.0, "default": 0.5}],
    "golden": {"file": "golden.npz", "atol": 1e-4},
    "files": file_entries(FILES),
}
PLATFORM = Ed25519PrivateKey.generate()
TRUSTED = {key_id(PLATFORM.public_key()): PLATFORM.public_key()}


def test_a_valid_manifest_parses_and_checks_its_files_and_knobs() -> None:
    manifest = parse_manifest(json.dumps(DOC))
    assert manifest.ref == "timbre.test@2"
    manifest.check_files(FILES)
    assert manifest.knob_values({"breath": 0.2}) == {"breath": 0.2}
    assert manifest.knob_values({}) == {"breath": 0.5}
    with pytest.raises(StyleModelError, match=r"Breath must stay within 0\.\.1"):
        manifest.knob_values({"breath": 3.0})
    with pytest.raises(StyleModelError, match="no control named 'colour'"):
        manifest.knob_values({"colour": 0.1})


def test_an_altered_or_missing_file_is_refused() -> None:
    manifest = parse_manifest(json.dumps(DOC))
    with pytest.raises(StyleModelError, match="does not match its signed manifest"):
        manifest.check_files({**FILES, "model.onnx": b"onnx bytez"})
    with pytest.raises(StyleModelError, match=r"missing golden\.npz"):
        manifest.check_files({"model.onnx": FILES["model.onnx"]})


def test_the_signature_binds_the_manifest_to_a_pinned_key() -> None:
    manifest = parse_manifest(json.dumps(DOC))
    signed = sign_manifest(manifest, PLATFORM)
    assert open_manifest(signed, TRUSTED) == manifest
    other = Ed25519PrivateKey.generate()
    with pytest.raises(StyleModelError, match="does not trust"):
        open_manifest(sign_manifest(manifest, other), TRUSTED)
    envelope = json.loads(signed)
    envelope["body"]["knobs"][0]["max"] = 100.0  # a wider knob, smuggled in
    with pytest.raises(StyleModelError, match="signature is not valid"):
        open_manifest(json.dumps(envelope).encode(), TRUSTED)


def test_a_manifest_from_a_newer_fanfare_is_refused_with_its_own_error() -> None:
    with pytest.raises(StyleModelVersionError, match="newer Fanfare"):
        parse_manifest(json.dumps({**DOC, "version": 2}))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("family",), "voice", "unknown family"),
        (("runtime",), "tflite", "unknown runtime"),
        (("id",), "Bad Id", "bad model id"),
        (("audio", "sample_rate"), 0, "outside"),
        (("knobs", 0, "default"), 2.0, "bad range or default"),
        (("files", "model.onnx", "sha256"), "zz", "bad sha256"),
        (("golden", "file"), "other.npz", "golden file"),
        (("conditioning", "f0_hz"), [1000.0, 100.0], "bad range"),
    ],
)
def test_malformed_manifests_are_refused(path: tuple[Any, ...], value: Any, message: str) -> None:
    doc = copy.deepcopy(DOC)
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(StyleModelError, match=message):
        parse_manifest(json.dumps(doc))


@settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_as_a_signed_manifest(data: bytes) -> None:
    with contextlib.suppress(StyleModelError):
        open_manifest(data, TRUSTED)


@settings(max_examples=200, deadline=1000)
@given(st.dictionaries(st.sampled_from(sorted(DOC)), st.text(max_size=8) | st.integers()))
def test_fields_of_the_wrong_type_are_typed_errors(changes: dict[str, Any]) -> None:
    with contextlib.suppress(StyleModelError):
        parse_manifest(json.dumps({**DOC, **changes}))
