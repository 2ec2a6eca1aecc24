# SPDX-License-Identifier: GPL-3.0-or-later
"""The style models a studio can use: fetched from the platform, verified, cached, self-tested.

A package is loaded only when its manifest carries the signature of a platform key this studio
pinned, every file matches the manifest's SHA-256, and the model passes its golden self-test;
anything else is refused with the reason and never reaches the engine. Packages are cached on
disk (they are not the artist's audio: the walled garden is about stems and renders) and checked
again every time they are read back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Required, TypedDict, cast

from app.core.errors import StyleModelError
from app.core.files import atomic_write
from app.platform_client.client import PlatformClient
from app.styles.package import StylePackage

_REF = re.compile(r"^([a-z0-9][a-z0-9._-]{0,63})@([1-9][0-9]{0,6})$")
SIGNED_NAME = "manifest.signed.json"


class OfferedModel(TypedDict, total=False):
    """A style model as the platform lists it (``GET /models``)."""

    id: Required[str]
    version: Required[int]
    ref: Required[str]  # "id@version"
    family: Required[str]  # "timbre", "character"
    display_name: str
    description: str
    stem_kinds: list[str]  # the stems it was made for
    knobs: list[dict[str, Any]]
    files: list[str]


class ModelStems(OfferedModel, total=False):
    """An offered model with what one open track's licence and policy allow of it
    (:meth:`OpenTrack.model_stems`)."""

    allowed: Required[bool]  # it may go on some stem of this track
    stems: Required[list[str]]  # the stems of this track it may go on


class ModelTracks(OfferedModel, total=False):
    """An offered model with the tracks it may be used on (:meth:`Studio.model_tracks`)."""

    allowed_tracks: Required[list[str]]  # ids of the tracks whose licence lets this fan use it


def split_ref(ref: str) -> tuple[str, int]:
    """``"timbre.violin@1"`` → ``("timbre.violin", 1)``; raises StyleModelError."""
    match = _REF.match(ref)
    if match is None:
        raise StyleModelError(f"'{ref}' does not name a style model.")
    return match.group(1), int(match.group(2))


class StyleLibrary:
    """Verified style packages by ``id@version``.

    Args:
        client: the platform client (``model_manifest``, ``model_file``, ``models``).
        trusted: returns the pinned platform keys (key id → Ed25519 public key).
        cache_dir: where packages are kept between runs.
    """

    def __init__(
        self,
        client: PlatformClient,
        trusted: Callable[[], Mapping[str, Any]],
        cache_dir: Path,
    ) -> None:
        self.client = client
        self._trusted = trusted
        self.cache_dir = cache_dir
        self._packages: dict[str, StylePackage] = {}
        self._lock = threading.Lock()

    def offered(self) -> list[OfferedModel]:
        """The platform's list of models (id, version, ref, family, display name, knobs…)."""
        # The platform's JSON, as its listing writes it (server/style_models.py).
        return cast(list[OfferedModel], self.client.models())

    def package(self, ref: str) -> StylePackage:
        """The verified, self-tested package ``ref``: from memory, the disk cache, or the
        platform. Raises StyleModelError (or a PlatformError when it must be fetched and the
        platform cannot give it)."""
        with self._lock:
            found = self._packages.get(ref)
            if found is not None:
                return found
            model_id, version = split_ref(ref)
            folder = self.cache_dir / model_id / str(version)
            package = self._from_disk(folder)
            if package is None:
                package = self._fetch(model_id, version, folder)
            if package.manifest.ref != ref:
                raise StyleModelError(f"The platform sent {package.manifest.ref} for {ref}.")
            package.self_test()
            self._packages[ref] = package
            return package

    def _from_disk(self, folder: Path) -> StylePackage | None:
        """The cached package, re-verified; None when absent or no longer valid (a damaged
        or tampered cache is fetched again, not trusted)."""
        try:
            signed = (folder / SIGNED_NAME).read_bytes()
            return StylePackage.from_signed(
                signed, self._trusted(), lambda name: (folder / name).read_bytes()
            )
        except (OSError, StyleModelError):
            return None

    def _fetch(self, model_id: str, version: int, folder: Path) -> StylePackage:
        signed = self.client.model_manifest(model_id, version)
        package = StylePackage.from_signed(  # checks every file before anything is kept
            signed, self._trusted(), lambda name: self.client.model_file(model_id, version, name)
        )
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in package.files.items():
            atomic_write(folder / name, data)
        atomic_write(folder / SIGNED_NAME, signed)
        return package
