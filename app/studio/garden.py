# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden as one signed-in listener sees it: the feed, a remix opened to listen, the
signed play reports, a download of an open remix, and what the account has earned.

A remix is streamed as its ciphertext into the encrypted cache (useless without a listen
licence, as a stem is without its licence), opened with the key sealed to this device, and
decrypted and decoded in memory as it plays. A walled remix published with a watermark comes
as this listener's own stream (``app.core.segmented``): its segments' variants chosen for this
device of this account, each under its own key, all sealed in the listen licence.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from app.core.bundle import StemReader
from app.core.codec import audio_info
from app.core.errors import BundleError, BundleHeaderError
from app.core.files import atomic_write
from app.core.keys import DeviceKeys
from app.core.listen_licence import ListenLicence, verify_listen_licence
from app.core.play_report import PlayReport, sign_play_report
from app.core.segmented import SegmentedReader
from app.engine.output import Buffering
from app.engine.sources import EncodedSource
from app.platform_client.client import PlatformClient
from app.studio.listening import Listening
from app.studio.profile import Profile
from app.vault.cache import BlobCache, BlobFile

#: How often a playing remix's listen licence is renewed (seconds): how soon a take-down
#: reaches a listener.
RENEW_EVERY_S = 15.0
#: The cache keys a remix's ciphertext like a stem: (derivative id, version 1, "mix").
MIX = "mix"


class GardenServices(Protocol):
    """What the garden needs of the signed-in session (the :class:`Studio`)."""

    client: PlatformClient
    profile: Profile
    cache: BlobCache

    def signed(self, call: Any) -> Any: ...
    def device_keys(self) -> DeviceKeys: ...
    def trusted_keys(self) -> dict[str, Any]: ...
    @property
    def output_device(self) -> str | int | None: ...
    @property
    def buffering(self) -> Buffering: ...


class Garden:
    """The garden of the session ``services``."""

    def __init__(self, services: GardenServices) -> None:
        self._s = services

    def feed(self, **query: Any) -> dict[str, Any]:
        """A page of published remixes (``sort``, ``track``, ``fan``, ``artist``, ``q``,
        ``limit``, ``offset``): ``{"items": [...], "next": offset or None}``."""
        return dict(self._s.signed(lambda: self._s.client.feed(**query)))

    def remix(self, derivative_id: str) -> dict[str, Any]:
        """A remix's document with what the player shows (walled, plays, overview)."""
        return dict(self._s.signed(lambda: self._s.client.derivative(derivative_id)))

    def earnings(self) -> dict[str, Any]:
        """This account's statement, per remix and per month."""
        return dict(self._s.signed(self._s.client.earnings))

    def download(self, derivative_id: str, path: Path) -> int:
        """Save an open remix, as published and tagged, to ``path``; returns its size.

        Raises:
            ForbiddenError: the remix is walled (the platform's sentence says so).
        """
        data = self._s.signed(lambda: self._s.client.download(derivative_id))
        atomic_write(path, data)
        return len(data)

    def report(self, derivative_id: str, reason: str) -> None:
        """Report a remix to the platform's moderators, saying why (raises PlatformError with
        the platform's sentence: reported already, your own remix, no reason)."""
        self._s.signed(lambda: self._s.client.report_derivative(derivative_id, reason))

    def _licence(self, derivative_id: str) -> ListenLicence:
        profile = self._s.profile
        data = self._s.signed(
            lambda: self._s.client.listen_licence(derivative_id, profile.device_id)
        )
        return verify_listen_licence(
            data,
            self._s.trusted_keys(),
            user=profile.user_id,
            device=profile.device_id,
            derivative=derivative_id,
            now=time.time(),
        )

    def _report(
        self, derivative_id: str, licence: ListenLicence, heard_s: float, started: int
    ) -> bool:
        """Sign and send one play report; whether the platform counted it."""
        profile = self._s.profile
        report = PlayReport(
            derivative=derivative_id,
            listen_licence=licence.licence_id,
            user=profile.user_id,
            device=profile.device_id,
            listened_s=heard_s,
            started_at=started,
        )
        signed = sign_play_report(report, self._s.device_keys().signing)
        answer = self._s.signed(lambda: self._s.client.report_plays([signed]))
        return bool(answer["results"][0]["counted"])

    def _blob(self, derivative_id: str, *, fresh: bool = False) -> BlobFile:
        cache = self._s.cache
        blob = None if fresh else cache.open(derivative_id, 1, MIX)
        if blob is None:
            data = self._s.signed(lambda: self._s.client.derivative_stream(derivative_id))
            cache.put(derivative_id, 1, MIX, data)
            del data
            blob = cache.open(derivative_id, 1, MIX)
            if blob is None:
                raise BundleHeaderError("The remix the platform sent is not Fanfare audio.")
        return blob

    def _stream(
        self, derivative_id: str, licence: ListenLicence, *, fresh: bool = False
    ) -> BlobFile:
        """This listener's watermarked stream, from the cache or the platform."""
        cache = self._s.cache
        blob = None if fresh else cache.open_stream(derivative_id, licence.stream)
        if blob is None:
            data = self._s.signed(
                lambda: self._s.client.derivative_stream(derivative_id, licence.licence_id)
            )
            cache.put_stream(derivative_id, licence.stream, data)
            del data
            blob = cache.open_stream(derivative_id, licence.stream)
            if blob is None:
                raise BundleHeaderError("The remix the platform sent is not Fanfare audio.")
        return blob

    def _reader(
        self, derivative_id: str, licence: ListenLicence
    ) -> tuple[BlobFile, StemReader | SegmentedReader]:
        """The remix's ciphertext (cached, or fetched once more if the cached copy does not
        open) and a reader of its plaintext, every chunk authenticated."""
        keys = self._s.device_keys()
        if licence.version == 2:
            segment_keys = licence.segment_keys(keys)

            def fetch(fresh: bool) -> BlobFile:
                return self._stream(derivative_id, licence, fresh=fresh)

            def make(blob: BlobFile) -> StemReader | SegmentedReader:
                return SegmentedReader(
                    segment_keys, blob.read_at, blob.size, derivative=derivative_id
                )

        else:
            key = licence.content_key(keys)

            def fetch(fresh: bool) -> BlobFile:
                return self._blob(derivative_id, fresh=fresh)

            def make(blob: BlobFile) -> StemReader | SegmentedReader:
                return StemReader(key, blob.read_at, blob.size, expect=(derivative_id, 1, MIX))

        blob = fetch(False)
        try:
            try:
                reader = make(blob)
                reader.verify()
            except BundleError:  # a damaged cache entry: fetch it once more
                blob.close()
                blob = fetch(True)
                reader = make(blob)
                reader.verify()
        except BaseException:
            blob.close()
            raise
        return blob, reader

    def listen(self, derivative_id: str, *, renew_every_s: float = RENEW_EVERY_S) -> Listening:
        """Open a remix to listen: licensed to this device, its ciphertext from the cache or
        the platform, checked, and ready to play; close it when done.

        Raises:
            NotSignedInError, PlatformError subclasses (GoneError: taken down or withdrawn),
            LicenceError and BundleError subclasses, AudioFormatError: each with a sentence.
        """
        doc = self.remix(derivative_id)
        licence = self._licence(derivative_id)
        blob, reader = self._reader(derivative_id, licence)
        try:
            frames, rate, _ = audio_info(reader.open())
            source = EncodedSource(reader.open, frames)
            # A play is reported under the licence the listening started with: the platform
            # checks the listening it reports took as long as it says, from that licence on.
            return Listening(
                doc,
                source,
                rate,
                licence=licence,
                renew=lambda: self._licence(derivative_id),
                report=lambda heard, started: self._report(derivative_id, licence, heard, started),
                renew_every_s=renew_every_s,
                resources=(blob,),
                device=self._s.output_device,
                buffering=self._s.buffering,
            )
        except BaseException:
            blob.close()
            raise
