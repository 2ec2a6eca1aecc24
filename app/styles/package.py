# SPDX-License-Identifier: GPL-3.0-or-later
"""A verified style-model package, its golden self-test, and the processor that plays it.

Nothing reaches onnxruntime before the manifest's signature (or, for a package read from this
repository by the platform, its hashes) and every file's SHA-256 have been checked, and a
package whose golden self-test fails is refused.

``golden.npz`` holds the model's golden input and output tensors, named ``in.<input>`` and
``out.<output>`` after the ONNX graph's tensors (state tensors included).
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.core.errors import StyleModelError
from app.core.style_manifest import StyleManifest, open_manifest, parse_manifest
from app.styles.base import StyleProcessor
from app.styles.runtime import make_session
from app.styles.runtimes import RUNTIMES


@dataclass(frozen=True)
class StylePackage:
    """A manifest and its files, checked against each other."""

    manifest: StyleManifest
    files: Mapping[str, bytes]
    _session: list[Any] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.manifest.check_files(self.files)

    @classmethod
    def from_signed(
        cls,
        signed_manifest: bytes,
        trusted: Mapping[str, Ed25519PublicKey],
        read: Callable[[str], bytes],
    ) -> StylePackage:
        """A package as the platform serves it: the signed manifest is verified against the
        pinned platform keys (key id → key), then every file it names is got with
        ``read(name)`` (from a cache folder or the platform) and checked against it.

        Nothing is read before the signature holds. Raises StyleModelError (or
        StyleModelVersionError) with the reason, or whatever ``read`` raises.
        """
        manifest = open_manifest(signed_manifest, trusted)
        return cls(manifest, {name: read(name) for name in manifest.files})

    @classmethod
    def from_dir(cls, folder: Path) -> StylePackage:
        """A package from a folder (``manifest.json`` and its files): what the platform
        imports. Raises StyleModelError."""
        try:
            manifest = parse_manifest((folder / "manifest.json").read_bytes())
            files = {name: (folder / name).read_bytes() for name in manifest.files}
        except OSError as exc:
            raise StyleModelError(f"The model in {folder} could not be read ({exc}).") from None
        return cls(manifest, files)

    def session(self) -> Any:
        """The model's onnxruntime session, made once and shared (``run`` is thread-safe)."""
        with self._lock:
            if not self._session:
                self._session.append(make_session(self.files["model.onnx"]))
            return self._session[0]

    def golden(self) -> dict[str, np.ndarray]:
        """The golden tensors (``in.*`` and ``out.*``)."""
        try:
            with np.load(io.BytesIO(self.files[self.manifest.golden_file])) as npz:
                return {name: npz[name] for name in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise StyleModelError(
                f"The model {self.manifest.ref}'s golden data cannot be read ({exc})."
            ) from None

    def self_test(self) -> float:
        """Run the model on its golden input; returns the largest deviation from the golden
        output. Raises StyleModelError when it exceeds the manifest's tolerance (a model that
        does not compute what it was shipped to compute is never played)."""
        golden = self.golden()
        session = self.session()
        feeds = {name[3:]: value for name, value in golden.items() if name.startswith("in.")}
        names = [o.name for o in session.get_outputs()]
        try:
            results = session.run(names, feeds)
        except Exception as exc:  # onnxruntime's own error types
            raise StyleModelError(
                f"The model {self.manifest.ref} fails its self-test ({exc})."
            ) from None
        worst = 0.0
        for name, result in zip(names, results, strict=True):
            expected = golden.get(f"out.{name}")
            if expected is None or expected.shape != result.shape:
                raise StyleModelError(
                    f"The model {self.manifest.ref} fails its self-test (output {name})."
                )
            worst = max(worst, float(np.max(np.abs(result - expected), initial=0.0)))
        if not worst <= self.manifest.golden_atol:
            raise StyleModelError(
                f"The model {self.manifest.ref} fails its self-test: its output is {worst:.2g} "
                f"away from the golden output (at most {self.manifest.golden_atol:g} allowed)."
            )
        return worst

    def processor(
        self, knobs: Mapping[str, float], sample_rate: int, octave_shift: int | None = None
    ) -> StyleProcessor:
        """A processor playing this model with ``knobs`` on a stem at ``sample_rate``.

        Args:
            octave_shift: for timbre models, octaves to move the melody; None chooses them from
                the stem's pitch and the model's range.
        """
        values = self.manifest.knob_values(knobs)
        return RUNTIMES[self.manifest.runtime](self, values, sample_rate, octave_shift)
