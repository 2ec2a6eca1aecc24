# SPDX-License-Identifier: GPL-3.0-or-later
"""What an open track needs from the session that opened it: the narrow boundary between
:class:`~app.studio.open_track.OpenTrack` and :class:`~app.studio.session.Studio`, which
implements it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app.core.keys import DeviceKeys
from app.core.licence import Licence
from app.core.track import TrackInfo
from app.engine.output import Buffering
from app.studio.style_library import OfferedModel
from app.studio.takes import TakeStore
from app.styles.package import StylePackage


class TrackServices(Protocol):
    """The session's side of an open track."""

    @property
    def takes(self) -> TakeStore:
        """The fan's recorded takes on this computer."""
        ...

    @property
    def output_device(self) -> str | int | None:
        """The PortAudio output device to play on (None: the system default)."""
        ...

    @property
    def buffering(self) -> Buffering:
        """The audio buffer the user chose (every track plays with it)."""
        ...

    def set_buffering(self, buffering: Buffering) -> None:
        """Play every open track with ``buffering`` from now on, and keep it for the next
        start (raises OutputUnavailableError, PreferencesError)."""
        ...

    def renew_licence(self, licence: Licence, info: TrackInfo) -> Licence:
        """Renew ``licence`` online; the new one is verified and cached (raises PlatformError,
        LicenceError, NotSignedInError)."""
        ...

    def offered_models(self) -> list[OfferedModel]:
        """The style models the platform offers."""
        ...

    def style_package(self, ref: str) -> StylePackage:
        """The verified, self-tested package of model ``ref`` (raises StyleModelError)."""
        ...

    def upload_derivative(
        self,
        *,
        audio: bytes,
        recipe: bytes,
        title: str,
        on_progress: Callable[[str, float], None] | None = None,
        project_id: str | None = None,
        takes: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """Upload a rendered derivative with its Content Credentials signed into ``audio``
        (``project_id``: the project it was made in; ``takes``: the FLAC files of its recorded
        parts by digest);
        returns the platform's record of it once the platform has verified it.
        ``on_progress(step, fraction)``: "uploading", then "verifying", each from 0 to 1."""
        ...

    def stem_envelopes(self, info: TrackInfo) -> bytes:
        """The track version's stem envelopes from the platform, unparsed (raises
        PlatformError, PlatformUnreachableError)."""
        ...

    def warm_track(self, track_id: str, recipe: bytes) -> bool:
        """Tell the platform the recipe (JSON) being worked on, so that it stretches the track
        at that tempo and key before the upload comes (a hint; raises PlatformError)."""
        ...

    @property
    def user_id(self) -> str:
        """The signed-in account (named in the Content Credentials)."""
        ...

    @property
    def user_name(self) -> str:
        """The signed-in account's name (the remix's author in its Content Credentials)."""
        ...

    @property
    def device_id(self) -> str:
        """This device as the platform enrolled it (named in the Content Credentials)."""
        ...

    @property
    def certificate_pem(self) -> str:
        """This device's X.509 certificate from the platform's device CA (PEM): what its
        Content Credentials are signed under."""
        ...

    def device_keys(self) -> DeviceKeys:
        """This device's keys (the Content Credentials are signed with them)."""
        ...
