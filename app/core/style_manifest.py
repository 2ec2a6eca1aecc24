# SPDX-License-Identifier: GPL-3.0-or-later
"""The style-model package: a manifest that describes and pins an ONNX model, signed by the
platform.

A package is ``manifest.json`` plus the files it lists (``model.onnx``, ``golden.npz``). The
manifest (JSON, schema version 1)::

    {"schema": "fanfare.style-model", "version": 1,
     "id": "timbre.violin", "model_version": 1,
     "family": "timbre",                 # what a policy allows: "timbre" or "character"
     "runtime": "ddsp",                  # which processor plays it: "ddsp" or "waveform"
     "display_name": "Violin", "description": "...", "licence": "...",
     "stem_kinds": ["lead", "vocal"],    # the stems it suits (others may be refused by the UI)
     "io": {"inputs":  [{"name": "f0", "dtype": "float32", "shape": [1, "T", 1]}, ...],
            "outputs": [...],
            "state": [{"input": "h_in", "output": "h_out", "shape": [1, 1, 64]}]},
     "audio": {"sample_rate": 16000, "hop": 160, "latency_samples": 0,
               "look_ahead_samples": 0, "look_behind_samples": 8000},
     "conditioning": {"f0_hz": [180.0, 1400.0], "loudness_db": [-70.0, 0.0]},
     "knobs": [{"id": "noise", "name": "Breath", "min": 0.0, "max": 1.0, "default": 0.5,
                "unit": ""}],
     "synth": {...},                     # runtime parameters (e.g. harmonics), free-form
     "golden": {"file": "golden.npz", "atol": 0.0001},
     "files": {"model.onnx": {"sha256": "…", "bytes": 123}, "golden.npz": {...}},
     "training": {...}}                  # data, steps, loss, measured quality: free-form

The platform serves it in the signed envelope of licences (``core.licence.sign_envelope``,
format ``fanfare.style-model``): Ed25519 over the RFC 8785 JSON of ``{"body", "kid"}``. The
studio opens it against the platform keys it pinned, then checks each file's size and SHA-256
before any byte reaches onnxruntime.

Sample counts in ``audio`` are at the model's own ``sample_rate``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.encoding import sha256_hex
from app.core.errors import LicenceError, StyleModelError, StyleModelVersionError
from app.core.licence import open_signed, sign_envelope
from app.core.validate import integer, listing, mapping, number, string
from app.core.versioned import Wording, read_versioned

SCHEMA = "fanfare.style-model"
VERSION = 1
FORMAT = "fanfare.style-model"  # the signed envelope's format
MAX_MANIFEST_BYTES = 256 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024
FAMILIES = ("timbre", "character")
RUNTIMES = ("ddsp", "waveform")
MAX_KNOBS = 8
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Knob:
    """A user-facing control with its range and default (in ``unit``)."""

    id: str
    name: str
    min: float
    max: float
    default: float
    unit: str = ""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int


@dataclass(frozen=True)
class StyleManifest:
    """A parsed manifest (only :func:`parse_manifest` builds one from outside bytes)."""

    id: str
    model_version: int
    family: str
    runtime: str
    display_name: str
    description: str
    licence: str
    stem_kinds: tuple[str, ...]
    io: dict[str, Any]
    sample_rate: int
    hop: int
    latency_samples: int
    look_ahead_samples: int
    look_behind_samples: int
    conditioning: dict[str, tuple[float, float]]
    knobs: tuple[Knob, ...]
    synth: dict[str, Any]
    golden_file: str
    golden_atol: float
    files: dict[str, FileEntry]
    training: dict[str, Any]
    doc: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def ref(self) -> str:
        """``id@version``: how recipes, licences and messages name this model."""
        return f"{self.id}@{self.model_version}"

    def knob(self, knob_id: str) -> Knob:
        for knob in self.knobs:
            if knob.id == knob_id:
                return knob
        raise StyleModelError(f"The model {self.display_name} has no control named '{knob_id}'.")

    def knob_values(self, given: Mapping[str, float]) -> dict[str, float]:
        """Every knob's value: ``given`` ones checked against their range, others default.

        Raises StyleModelError for an unknown knob or a value outside its range.
        """
        values = {knob.id: knob.default for knob in self.knobs}
        for knob_id, value in given.items():
            knob = self.knob(knob_id)
            if not knob.min <= value <= knob.max:
                raise StyleModelError(
                    f"{self.display_name}'s {knob.name} must stay within "
                    f"{knob.min:g}..{knob.max:g}{knob.unit and ' ' + knob.unit}, not {value:g}."
                )
            values[knob_id] = float(value)
        return values

    def check_files(self, files: Mapping[str, bytes]) -> None:
        """Raise StyleModelError unless ``files`` are exactly the listed ones, byte for byte."""
        missing = sorted(set(self.files) - set(files))
        if missing:
            raise StyleModelError(f"The model {self.ref} is missing {', '.join(missing)}.")
        for name, entry in self.files.items():
            data = files[name]
            if len(data) != entry.bytes or sha256_hex(data) != entry.sha256:
                raise StyleModelError(
                    f"The model {self.ref}'s {name} does not match its signed manifest "
                    "(damaged or altered): it was not loaded."
                )


_WORDING = Wording(
    too_large="This model manifest is too large.",
    not_json="This model manifest is not valid JSON.",
    not_this="This is not a Fanfare style-model manifest.",
    no_version="This model manifest has no valid version number.",
    newer="This model was packaged for a newer Fanfare (manifest version {version}; this one "
    "reads up to {current}).",
)


def parse_manifest(data: bytes | str | dict[str, Any]) -> StyleManifest:
    """Parse a manifest strictly (bytes from a file, or the body of a signed envelope).

    Raises:
        StyleModelVersionError: from a newer Fanfare.
        StyleModelError: anything else malformed, with the reason.
    """
    doc = read_versioned(
        data, schema=SCHEMA, current=VERSION, max_bytes=MAX_MANIFEST_BYTES, wording=_WORDING,
        error=StyleModelError, newer_error=StyleModelVersionError,
    )  # fmt: skip
    try:
        return _from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StyleModelError(f"This model manifest is malformed ({exc}).") from None


def _from_dict(doc: dict[str, Any]) -> StyleManifest:
    model_id = _match(_ID, string(doc["id"]), "model id")
    family = string(doc["family"])
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    runtime = string(doc["runtime"])
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}")
    audio = mapping(doc["audio"])
    io = mapping(doc["io"])
    for part in ("inputs", "outputs"):
        for tensor in listing(io[part]):
            string(mapping(tensor)["name"])
    for state in listing(io.get("state", [])):
        string(mapping(state)["input"]), string(state["output"])
    knobs = tuple(_knob(k) for k in listing(doc.get("knobs", [])))
    if len(knobs) > MAX_KNOBS or len({k.id for k in knobs}) != len(knobs):
        raise ValueError("too many knobs, or two with one id")
    files = {
        _match(_FILE, name, "file name"): _file(entry)
        for name, entry in mapping(doc["files"]).items()
    }
    if "model.onnx" not in files:
        raise ValueError("no model.onnx in files")
    golden = mapping(doc["golden"])
    golden_file = string(golden["file"])
    if golden_file not in files:
        raise ValueError("the golden file is not among the files")
    sample_rate = _positive(integer(audio["sample_rate"]), 192_000)
    return StyleManifest(
        id=model_id,
        model_version=_positive(integer(doc["model_version"]), 1_000_000),
        family=family,
        runtime=runtime,
        display_name=_text(doc["display_name"], 60),
        description=_text(doc.get("description", ""), 2000, empty=True),
        licence=_text(doc["licence"], 500),
        stem_kinds=tuple(_match(_ID, string(k), "stem kind") for k in listing(doc["stem_kinds"])),
        io=io,
        sample_rate=sample_rate,
        hop=_positive(integer(audio["hop"]), sample_rate),
        latency_samples=_count(audio.get("latency_samples", 0), sample_rate),
        look_ahead_samples=_count(audio.get("look_ahead_samples", 0), sample_rate),
        look_behind_samples=_count(audio.get("look_behind_samples", 0), 10 * sample_rate),
        conditioning={
            string(name): _range(value)
            for name, value in mapping(doc.get("conditioning", {})).items()
        },
        knobs=knobs,
        synth=mapping(doc.get("synth", {})),
        golden_file=golden_file,
        golden_atol=number(golden.get("atol", 1e-4)),
        files=files,
        training=mapping(doc.get("training", {})),
        doc=doc,
    )


def _knob(value: Any) -> Knob:
    doc = mapping(value)
    knob = Knob(
        id=_match(_ID, string(doc["id"]), "knob id"),
        name=_text(doc["name"], 40),
        min=number(doc["min"]),
        max=number(doc["max"]),
        default=number(doc["default"]),
        unit=_text(doc.get("unit", ""), 10, empty=True),
    )
    if not knob.min <= knob.default <= knob.max or knob.min == knob.max:
        raise ValueError(f"knob {knob.id!r} has a bad range or default")
    return knob


def _file(value: Any) -> FileEntry:
    doc = mapping(value)
    digest = _match(_HEX64, string(doc["sha256"]), "sha256")
    size = integer(doc["bytes"])
    if not 0 < size <= MAX_FILE_BYTES:
        raise ValueError(f"a file of {size} bytes")
    return FileEntry(sha256=digest, bytes=size)


def _range(value: Any) -> tuple[float, float]:
    items = listing(value)
    if len(items) != 2 or number(items[0]) > number(items[1]):
        raise ValueError(f"bad range {value!r:.40}")
    return (number(items[0]), number(items[1]))


def _match(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"bad {what} {value!r:.40}")
    return value


def _text(value: Any, limit: int, *, empty: bool = False) -> str:
    text = string(value)
    if len(text) > limit or (not text and not empty):
        raise ValueError(f"a text of {len(text)} characters (1..{limit})")
    return text


def _positive(value: int, limit: int) -> int:
    if not 0 < value <= limit:
        raise ValueError(f"{value} is outside 1..{limit}")
    return value


def _count(value: Any, limit: int) -> int:
    count = integer(value)
    if not 0 <= count <= limit:
        raise ValueError(f"{count} samples is outside 0..{limit}")
    return count


def file_entries(files: Mapping[str, bytes]) -> dict[str, dict[str, Any]]:
    """The ``files`` field for these file contents (what a packaging script writes)."""
    return {
        name: {"sha256": sha256_hex(data), "bytes": len(data)}
        for name, data in sorted(files.items())
    }


def sign_manifest(manifest: StyleManifest, signing_key: Ed25519PrivateKey) -> bytes:
    """The manifest in the platform's signed envelope (wire bytes)."""
    return sign_envelope(FORMAT, manifest.doc, signing_key)


def open_manifest(data: bytes, trusted: Mapping[str, Ed25519PublicKey]) -> StyleManifest:
    """Verify a signed manifest against the pinned platform keys and parse it.

    Raises:
        StyleModelError: a bad signature, an untrusted key, or a malformed manifest.
        StyleModelVersionError: a manifest from a newer Fanfare.
    """
    try:
        _, body = open_signed(data, trusted, FORMAT, "model manifest", MAX_MANIFEST_BYTES)
    except LicenceError as exc:
        raise StyleModelError(f"{exc} The model was not loaded.") from None
    return parse_manifest(body)
