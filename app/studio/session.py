# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio: one signed-in account on one platform, and the tracks it opens.

:class:`Studio` signs in, enrols this device and pins the platform's keys; :meth:`Studio.open_track`
returns an :class:`OpenTrack` whose stems stay encrypted in the cache and are decrypted and
decoded on demand, with a mixer, a player, the current recipe, and :meth:`OpenTrack.publish` to
render and upload the derivative. The Studio serves its open tracks through the narrow
:class:`~app.studio.services.TrackServices`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform as host
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature

from app.core import project as project_format
from app.core.bundle import LONGEST_HEAD, sealed_head
from app.core.credentials import sealed_digest
from app.core.encoding import unb64u
from app.core.errors import (
    BundleError,
    BundleHeaderError,
    FanfareError,
    LicenceError,
    LicenceExpiredError,
    LicenceRightsError,
    PolicyError,
)
from app.core.files import atomic_write
from app.core.keys import (
    DeviceKeys,
    ed25519_public_from_b64,
    endorsement_message,
    enrolment_proof,
    key_id,
    sign_in_proof,
)
from app.core.licence import Licence, Revocations, verify_revocations
from app.core.licence import verify_licence as open_licence
from app.core.policy import Policy
from app.core.project import Project
from app.core.security_level import refusal
from app.core.track import TrackInfo
from app.engine.allocator import limit_malloc_arenas
from app.engine.output import Buffering
from app.engine.sources import EncodedSource
from app.platform_client.client import PlatformClient, platform_name
from app.platform_client.errors import (
    AuthError,
    DeviceRevokedAuthError,
    ForbiddenError,
    NotFoundError,
    PlatformError,
    PlatformUnreachableError,
)
from app.studio.artist import OwnTrack
from app.studio.errors import (
    DeviceRevokedError,
    LicenceRevokedError,
    NotSignedInError,
    PlatformKeyChangedError,
    PreferencesError,
)
from app.studio.garden import Garden
from app.studio.listening import Listening
from app.studio.open_track import OpenTrack, Progress, quiet
from app.studio.permissions import StylePermissions
from app.studio.preferences import AUTOSAVE_RANGE_S, Preferences
from app.studio.profile import Profile, ProfileBook, StudioPaths
from app.studio.projects import ProjectStore, autosave_interval_s
from app.studio.style_library import ModelTracks, OfferedModel, StyleLibrary
from app.studio.takes import TakeStore
from app.studio.uploading import NewTrack, upload_track
from app.styles.package import StylePackage
from app.vault.cache import BlobCache, BlobFile
from app.vault.content import open_stems
from app.vault.device import forget_device_keys, load_or_create_device_keys
from app.vault.licences import LicenceCache
from app.vault.secrets import SecretStore

T = TypeVar("T")


class Studio:
    """The signed-in studio for one platform.

    Args:
        platform_url: the platform's base URL.
        paths: where profiles, secrets and the blob cache live.
        secrets: the secret store (defaults to the OS keyring with an announced file fallback).
        output_device: PortAudio output device for playback (None: the system default).

    It is its open tracks' :class:`~app.studio.services.TrackServices`.
    """

    def __init__(
        self,
        platform_url: str,
        *,
        paths: StudioPaths | None = None,
        secrets: SecretStore | None = None,
        output_device: str | int | None = None,
    ) -> None:
        limit_malloc_arenas()  # before any engine thread allocates
        self.paths = paths or StudioPaths.default()
        self.url = platform_url.rstrip("/")
        self.secrets = secrets or SecretStore(self.paths.secrets_file)
        self.output_device = output_device
        self.preferences = Preferences.load(self.paths.preferences_file)
        #: The fan's remix projects on this machine: saved files, autosaves, the recent list.
        self.projects = ProjectStore(self.paths)
        #: The fan's own recorded takes (their audio: kept on disk, unlike licensed audio).
        self.takes = TakeStore(self.paths.takes_dir)
        self.book = ProfileBook(self.paths.profiles_file)
        self.profile: Profile = self.book.get(self.url)
        self.client = PlatformClient(self.url, self.secrets.get(self._token_name))
        self.cache = BlobCache(self.paths.blob_cache_dir)
        self.licences = LicenceCache(self.paths.licence_cache_dir, self.secrets)
        self.styles = StyleLibrary(self.client, self._pinned, self.paths.model_cache_dir)
        #: Licence ids the platform says are revoked (from the last sync).
        self.revoked_licences: set[str] = set()
        #: Sentences the user should see once (e.g. where device keys are kept).
        self.notices: list[str] = [self.secrets.notice] if self.secrets.notice else []
        self._keys: DeviceKeys | None = None
        self._keys_user = ""  # the account _keys belong to
        self._open_tracks: weakref.WeakSet[OpenTrack] = weakref.WeakSet()
        #: Published remixes: the feed, listening, downloads, earnings.
        self.garden = Garden(self)

    @property
    def _token_name(self) -> str:
        return f"token|{self.url}"

    @property
    def platform_name(self) -> str:
        """The platform as a user knows it: its URL, or "this computer" for the embedded one."""
        return platform_name(self.url)

    @property
    def signed_in(self) -> bool:
        """Whether this studio holds a session that has not run out, on an enrolled device."""
        live = self.profile.token_expires_at > time.time()
        return bool(self.client.token and self.profile.device_id and live)

    @property
    def user_name(self) -> str:
        return self.profile.user_name

    @property
    def user_id(self) -> str:
        return self.profile.user_id

    @property
    def device_id(self) -> str:
        """This device as the platform enrolled it ("" before it is)."""
        return self.profile.device_id

    def device_keys(self) -> DeviceKeys:
        """This device's keys for the account signed in here (each account has its own)."""
        return self._keys_for(self.profile.user_name)

    def _keys_for(self, user: str) -> DeviceKeys:
        if self._keys is None or self._keys_user != user:
            self._keys, created = load_or_create_device_keys(
                self.secrets,
                self._key_account(user),
                adopt_shared=bool(user) and user == self.profile.user_name,
            )
            self._keys_user = user
            if created:
                self.notices.append("Created this device's keys.")
        return self._keys

    def _key_account(self, user: str) -> str:
        return f"{self.url}|{user}"

    # --- accounts ------------------------------------------------------------------------------

    def login(self, user: str, password: str) -> Profile:
        """Sign in, pin the platform's keys (first use) and enrol this device.

        A device this account enrolled before signs the sign-in: its failures then count
        apart from anyone else's, so a guesser cannot lock its owner out."""
        known = None
        if self.profile.device_id and self.profile.user_name == user:
            signed_at = int(time.time())
            known = {
                "device_id": self.profile.device_id,
                "signed_at": signed_at,
                "signature": sign_in_proof(
                    self._keys_for(user), user, self.profile.device_id, signed_at
                ),
            }
        doc = self.client.login(user, password, device=known)
        self._pin_keys()
        keys = self._keys_for(user)
        device = self.client.enrol_device(
            f"Fanfare on {host.node() or 'this computer'}",
            keys.signing_public_b64(),
            keys.kem_public().to_b64(),
            enrolment_proof(keys),
            self.secrets.security_level.label,
        )
        profile = self.profile
        profile.user_id = str(doc["user"]["id"])
        profile.user_name = str(doc["user"]["name"])
        profile.role = str(doc["user"]["role"])
        profile.token_expires_at = int(doc["expires_at"])
        profile.device_id = str(device["device_id"])
        profile.certificate_pem = str(device.get("certificate_pem", ""))
        profile.ca_pem = str(device.get("ca_pem", ""))
        self.secrets.set(self._token_name, str(doc["token"]))
        self.book.current = self.url
        self.book.save()
        return profile

    def logout(self) -> None:
        """Sign out here and on the platform (if it can be reached)."""
        with contextlib.suppress(PlatformError):
            self.client.logout()
        self.secrets.delete(self._token_name)
        self.client.token = None
        self.profile.token_expires_at = 0
        self.book.save()

    def _pin_keys(self) -> None:
        """Trust on first use; afterwards only keys a pinned key has endorsed (a rotation).

        A pinned key id offered with other key bytes, or no pinned key offered at all, means
        this is not the platform the user signed in to before: refuse, change nothing.
        """
        offered, endorsements = self.client.platform_keys()
        genuine = {}
        for kid, text in offered.items():
            try:
                if key_id(ed25519_public_from_b64(text)) == kid:
                    genuine[kid] = text
            except ValueError:
                continue  # a malformed key is simply not trusted
        pinned = self.profile.pinned_keys
        if not pinned:
            pinned.update(genuine)
            return
        changed = any(genuine.get(kid, text) != text for kid, text in pinned.items())
        if changed or not set(genuine) & set(pinned):
            raise PlatformKeyChangedError(
                f"The platform at {self.url} signs with keys this app has never seen; it may "
                "not be the platform you signed in to before. Nothing was changed."
            )
        for kid, text in genuine.items():
            if kid not in pinned and self._endorsed(kid, text, endorsements):
                pinned[kid] = text

    def _endorsed(self, kid: str, text: str, endorsements: list[dict[str, str]]) -> bool:
        key = ed25519_public_from_b64(text)
        for entry in endorsements:
            by = self.profile.pinned_keys.get(entry["by"])
            if entry["kid"] != kid or by is None:
                continue
            try:
                ed25519_public_from_b64(by).verify(
                    unb64u(entry["sig"]), endorsement_message(kid, key)
                )
                return True
            except (InvalidSignature, ValueError):
                continue
        return False

    def _require_sign_in(self) -> None:
        if not self.signed_in:
            raise NotSignedInError(f"You are not signed in to {self.platform_name}.")

    # --- catalogue -----------------------------------------------------------------------------

    def tracks(self) -> list[TrackInfo]:
        self._require_sign_in()
        return self._signed(self.client.tracks)

    def own_tracks(self) -> list[OwnTrack]:
        """The signed-in artist's tracks, whatever their state (none for a fan)."""
        self._require_sign_in()
        if self.profile.role not in ("artist", "admin"):
            return []
        return [OwnTrack.from_doc(doc) for doc in self._signed(self.client.own_tracks)]

    def set_track_state(self, track_id: str, state: str) -> tuple[OwnTrack, int]:
        """Move one of this artist's tracks to ``state`` (draft, live, paused, withdrawn):
        the track as it now stands, and how many fans' licences that revoked."""
        self._require_sign_in()
        doc = self._signed(lambda: self.client.set_track_state(track_id, state))
        return OwnTrack.from_doc(doc), int(doc.get("licences_revoked", 0))

    def own_track(self, track_id: str) -> OwnTrack:
        """One of this artist's tracks as it stands (its policy in ``info.policy``)."""
        self._require_sign_in()
        return OwnTrack.from_doc(self._signed(lambda: self.client.own_track(track_id)))

    def save_policy(self, track_id: str, policy: dict[str, Any]) -> OwnTrack:
        """Save a policy for one of this artist's tracks as its next version.

        Raises:
            PolicyError: it does not parse (checked here first, in the same words).
            PlatformError: the platform refused it (a contradiction with the track).
        """
        self._require_sign_in()
        Policy.from_dict(policy)
        return OwnTrack.from_doc(self._signed(lambda: self.client.save_policy(track_id, policy)))

    def policy_history(self, track_id: str) -> list[dict[str, Any]]:
        """Every version of a track's policy: ``version``, ``created_at``, ``by``, ``policy``."""
        self._require_sign_in()
        return self._signed(lambda: self.client.policy_history(track_id))

    def track_audit(self, track_id: str) -> list[dict[str, Any]]:
        """Every change to one of this artist's tracks: ``at``, ``actor``, ``field``, ``old``,
        ``new``, oldest first."""
        self._require_sign_in()
        return self._signed(lambda: self.client.track_audit(track_id))

    def track(self, track_id: str) -> TrackInfo:
        """One track's public metadata."""
        self._require_sign_in()
        info: TrackInfo = self._signed(lambda: self.client.track(track_id))
        return info

    def devices(self) -> list[dict[str, Any]]:
        """This account's enrolled devices (active and revoked)."""
        self._require_sign_in()
        return self._signed(self.client.devices)

    def revoke_device(self, device_id: str) -> dict[str, Any]:
        """Revoke one of this account's devices (a lost laptop): its licences stop working."""
        self._require_sign_in()
        return self._signed(lambda: self.client.revoke_device(device_id))

    def derivatives(self, *, mine: bool = True) -> list[dict[str, Any]]:
        self._require_sign_in()
        return self._signed(lambda: self.client.derivatives(mine=mine))

    def upload_track(self, new: NewTrack, progress: Progress = quiet) -> OwnTrack:
        """Upload an artist's track from stem files, resuming an earlier attempt of the same
        upload; it arrives as a draft only this artist sees."""
        self._require_sign_in()
        pending = self.paths.data_dir / "uploads"
        scope = f"{self.url}|{self.profile.user_name}"
        doc = self._signed(lambda: upload_track(self.client, pending, scope, new, progress))
        return OwnTrack.from_doc(doc)

    def listen(self, derivative_id: str) -> Listening:
        """A remix this account may hear, licensed to this device and ready to play with the
        user's audio buffer setting (see :meth:`Garden.listen`); close it when done."""
        self._require_sign_in()
        return self.garden.listen(derivative_id)

    def track_derivatives(self, track_id: str) -> list[dict[str, Any]]:
        """The remixes fans made of one of this artist's tracks, whatever their status."""
        self._require_sign_in()
        return self._signed(lambda: self.client.track_derivatives(track_id))

    def decide(self, derivative_id: str, decision: str, reason: str = "") -> dict[str, Any]:
        """Approve or refuse a remix waiting for review, or take one down ("approve",
        "refuse", "take down"), with the reason its maker sees."""
        self._require_sign_in()
        return self._signed(lambda: self.client.decide(derivative_id, decision, reason))

    def model_tracks(self, track_id: str | None = None) -> list[ModelTracks]:
        """The style models the platform offers, each with ``allowed_tracks``: the tracks
        (``track_id`` only, when given) whose current licence lets this fan use it.

        Tracks this account may not license are left out of ``allowed_tracks``.
        """
        self._require_sign_in()
        offered = self.offered_models()
        tracks = [self.track(track_id)] if track_id else self.tracks()
        covered: dict[str, list[str]] = {m["ref"]: [] for m in offered}
        for info in tracks:
            try:
                licence = self._licence(info)
            except (ForbiddenError, NotFoundError):
                if track_id:
                    raise
                continue
            permissions = StylePermissions.of(info, Policy.from_dict(licence.policy), licence)
            for ref in permissions.placeable_refs():
                covered.setdefault(ref, []).append(info.id)
        return [
            ModelTracks(**model, allowed_tracks=covered.get(model["ref"], [])) for model in offered
        ]

    def offered_models(self) -> list[OfferedModel]:
        """The style models the platform offers, as it lists them."""
        return self._signed(self.styles.offered)

    def style_package(self, ref: str) -> StylePackage:
        """The verified, self-tested package of model ``ref`` (see :class:`StyleLibrary`)."""
        return self.styles.package(ref)

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
        """Upload a rendered derivative (its Content Credentials signed in) with its recipe
        and the takes of its recorded parts; ``on_progress("uploading" or "verifying",
        fraction)`` as it goes; ``project_id``: the project it was made in."""
        return self._signed(
            lambda: self.client.upload_derivative(
                audio=audio, recipe=recipe, title=title, on_progress=on_progress,
                project_id=project_id, takes=takes,
            )
        )  # fmt: skip

    # --- drafts ---------------------------------------------------------------------------------

    def save_draft(self, project: Project) -> dict[str, Any]:
        """Keep ``project`` on the platform too, so it opens on another machine of this
        account; the draft's summary (its published remixes included)."""
        return self._signed(lambda: self.client.save_draft(project.id, project.to_dict()))

    def drafts(self) -> list[dict[str, Any]]:
        """This account's drafts on the platform, last changed first."""
        return self._signed(self.client.drafts)

    def draft(self, project_id: str) -> Project:
        """A draft from the platform, as a project.

        Raises:
            ProjectError: what the platform holds is not a project this studio reads.
        """
        document = self._signed(lambda: self.client.draft(project_id))
        return project_format.loads(json.dumps(document))

    def stem_envelopes(self, info: TrackInfo) -> bytes:
        """The version's stem envelopes (see ``PlatformClient.stem_envelopes``)."""
        return self._signed(lambda: self.client.stem_envelopes(info.id, info.version))

    def warm_track(self, track_id: str, recipe: bytes) -> bool:
        """Tell the platform the recipe being worked on (see ``PlatformClient.warm_track``)."""
        return self._signed(lambda: self.client.warm_track(track_id, recipe))

    @property
    def certificate_pem(self) -> str:
        """This device's certificate from the platform's device CA (PEM)."""
        if not self.profile.certificate_pem:
            raise NotSignedInError(
                "This device has no certificate from the platform yet: sign in again."
            )
        return self.profile.certificate_pem

    def signed(self, call: Callable[[], T]) -> T:
        """``call`` to the platform as this account: a refused session becomes
        NotSignedInError, a revoked device DeviceRevokedError (and is forgotten)."""
        self._require_sign_in()
        return self._signed(call)

    def trusted_keys(self) -> dict[str, Any]:
        """The platform keys pinned for this platform, by key id."""
        return self._pinned()

    def _signed(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except DeviceRevokedAuthError as exc:
            self._forget_device()
            raise DeviceRevokedError(str(exc)) from None
        except AuthError as exc:
            raise NotSignedInError(f"{exc} Sign in again.") from None

    def _forget_device(self) -> None:
        """This device was revoked: its identity is burned. Forget it, so that signing in
        again makes new keys and enrols them."""
        self.profile.device_id = ""
        self.book.save()
        forget_device_keys(self.secrets, self._key_account(self.profile.user_name))
        self._keys = None

    def open_track(
        self,
        track_id: str,
        progress: Progress = quiet,
        preview_policy: dict[str, Any] | None = None,
    ) -> OpenTrack:
        """License, download (or reuse the encrypted cache) and open the stems: decrypted and
        decoded in memory, on demand, as they play.

        ``preview_policy``: the track's artist opens it as a fan would under this draft policy:
        the same controls and refusals, and nothing made can be published.

        Raises:
            NotSignedInError, PlatformError subclasses, LicenceError and BundleError subclasses,
            AudioFormatError: each with a sentence for the user.
        """
        self._require_sign_in()
        try:
            info: TrackInfo = self._signed(lambda: self.client.track(track_id))
            self._remember_info(info)
            progress("Checking revocations", 0.03)
            self.sync_revocations()
            progress("Requesting a licence", 0.05)
            licence = self._licence(info, preview_policy)
            offline = False
        except PlatformUnreachableError as exc:
            if preview_policy is not None:  # a preview is made by the platform, online
                raise
            info, licence = self._offline_licence(track_id, exc)
            offline = True
        files: dict[str, BlobFile] = {}
        try:
            for index, kind in enumerate(info.stem_kinds):
                progress(f"Fetching the {kind} stem", 0.1 + 0.6 * index / len(info.stems))
                files[kind] = self._blob_file(info, kind)
            progress("Checking the stems", 0.75)
            try:
                stems = open_stems(info, files, licence, self.device_keys())
            except BundleError:
                # A damaged cache entry: fetch every stem once more before giving up, and keep
                # nothing that failed authentication.
                for kind in info.stem_kinds:
                    files.pop(kind).close()
                    self.cache.discard(info.id, info.version, kind)
                    files[kind] = self._blob_file(info, kind)
                try:
                    stems = open_stems(info, files, licence, self.device_keys())
                except BundleError:
                    for kind in info.stem_kinds:
                        self.cache.discard(info.id, info.version, kind)
                    raise
        except BaseException:
            for blob in files.values():
                blob.close()
            raise
        progress("Ready", 1.0)
        sources = {kind: EncodedSource(s.open, s.frames) for kind, s in stems.items()}
        track = OpenTrack(
            self,
            info,
            licence,
            sources,
            offline=offline,
            resources=list(files.values()),
            preview=preview_policy is not None,
            sealed_digest=sealed_digest(
                {kind: sealed_head(f.read_at(0, LONGEST_HEAD)) for kind, f in files.items()}
            ),
        )
        self._open_tracks.add(track)
        return track

    # --- licences ------------------------------------------------------------------------------

    @property
    def _scope(self) -> str:
        """Separates cached licences of different platforms and accounts."""
        return hashlib.sha256(f"{self.url}|{self.profile.user_id}".encode()).hexdigest()[:16]

    def _pinned(self) -> dict[str, Any]:
        return {k: ed25519_public_from_b64(v) for k, v in self.profile.pinned_keys.items()}

    def _verify_here_now(self, data: bytes) -> Licence:
        """Signature by a pinned key, this account, this device, inside its window."""
        return open_licence(
            data,
            self._pinned(),
            user=self.profile.user_id,
            device=self.profile.device_id,
            now=time.time(),
        )

    def verify_licence(self, data: bytes, info: TrackInfo) -> Licence:
        """Verify licence bytes for ``info`` on this device now, and cache them encrypted."""
        licence = self._verify_here_now(data)
        if (licence.track, licence.track_version) != (info.id, info.version):
            raise LicenceRightsError("The platform sent a licence for another track version.")
        if licence.licence_id in self.revoked_licences:
            raise LicenceRevokedError("This licence has been revoked by the platform.")
        if licence.offline_grace_s > 0:
            self.licences.put(self._scope, info.id, data)
        else:
            # Not for offline use on this device (the artist asks for safer keys for that):
            # an older saved licence must not open the track offline either.
            self.licences.discard(self._scope, info.id)
        return licence

    def _licence(self, info: TrackInfo, preview_policy: dict[str, Any] | None = None) -> Licence:
        device = self.profile.device_id
        data = self._signed(lambda: self.client.licence(info.id, device, preview_policy))
        return self.verify_licence(data, info)

    def renew_licence(self, licence: Licence, info: TrackInfo) -> Licence:
        """Renew ``licence`` online; the new one is verified and cached like any other."""
        data = self._signed(lambda: self.client.renew_licence(licence.licence_id))
        return self.verify_licence(data, info)

    def sync_revocations(self) -> Revocations:
        """Fetch the signed revocation list; a revoked device must sign in and enrol again."""
        data = self._signed(self.client.revocations)
        revocations = verify_revocations(data, self._pinned(), user=self.profile.user_id)
        if self.profile.device_id in revocations.devices:
            self._forget_device()
            raise DeviceRevokedError(
                "This device was revoked on your account; sign in again to enrol it anew."
            )
        self.revoked_licences = set(revocations.licences)
        for track_id in self._known_tracks():  # a revoked licence cannot open anything offline
            cached = self.licences.get(self._scope, track_id)
            if cached is None:
                continue
            try:
                revoked = open_licence(cached, self._pinned()).licence_id in revocations.licences
            except LicenceError:
                revoked = True
            if revoked:
                self.licences.discard(self._scope, track_id)
        self.profile.last_revocation_sync = int(time.time())
        self.book.save()
        return revocations

    def _offline_licence(
        self, track_id: str, cause: PlatformUnreachableError
    ) -> tuple[TrackInfo, Licence]:
        """Open from the encrypted licence cache while the platform cannot be reached.

        Allowed while the cached licence is unexpired and the last revocation sync is no older
        than the licence's offline grace.
        """
        info = self._cached_info(track_id)
        data = self.licences.get(self._scope, track_id) if info else None
        if info is None or data is None:
            level = self.secrets.security_level
            policy = _policy_or_none(info.policy) if info is not None else None
            if policy is not None and level < policy.offline_min_security_level:
                needed = policy.offline_min_security_level
                raise PlatformUnreachableError(
                    f"{cause} {refusal(needed, level, 'this track offline')}"
                ) from None
            raise PlatformUnreachableError(
                f"{cause} This track has no licence on this computer for offline use."
            ) from None
        licence = self._verify_here_now(data)
        if time.time() - self.profile.last_revocation_sync > licence.offline_grace_s:
            raise LicenceExpiredError(
                "You have been offline longer than this licence allows; connect to the "
                "platform to keep remixing."
            )
        self.notices.append(f"Offline: opened '{info.title}' with its saved licence.")
        return info, licence

    def _info_path(self, track_id: str) -> Any:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in track_id) or "_"
        return self.paths.cache_dir / "tracks" / self._scope / f"{safe}.json"

    def _remember_info(self, info: TrackInfo) -> None:
        atomic_write(self._info_path(info.id), json.dumps(info.to_dict()).encode())

    def _cached_info(self, track_id: str) -> TrackInfo | None:
        try:
            return TrackInfo.from_dict(json.loads(self._info_path(track_id).read_bytes()))
        except (OSError, ValueError, FanfareError):
            return None

    def _known_tracks(self) -> list[str]:
        folder = self.paths.cache_dir / "tracks" / self._scope
        return [p.stem for p in folder.glob("*.json")] if folder.exists() else []

    def _blob_file(self, info: TrackInfo, kind: str) -> BlobFile:
        """The stem's encrypted blob in the cache, downloaded first if it is not there."""
        blob = self.cache.open(info.id, info.version, kind)
        if blob is None:
            data = self._signed(lambda: self.client.stem_blob(info.id, info.version, kind))
            self.cache.put(info.id, info.version, kind, data)
            del data
            blob = self.cache.open(info.id, info.version, kind)
            if blob is None:
                raise BundleHeaderError(f"The {kind} stem the platform sent is not a Fanfare stem.")
        return blob

    # --- preferences -------------------------------------------------------------------------

    @property
    def buffering(self) -> Buffering:
        """The audio buffer the user chose (every track plays with it)."""
        return self.preferences.buffering

    def set_buffering(self, buffering: Buffering) -> None:
        """Play with ``buffering`` from now on, in every open track (a playing one is heard
        again at once from where it was) and after the next start.

        Raises:
            OutputUnavailableError: the device would not open with it (the track is paused).
            PreferencesError: it took effect but could not be saved.
        """
        self.preferences.audio_buffer = buffering.name
        try:
            self.preferences.save()
            unsaved = None
        except OSError as exc:
            unsaved = exc
        for track in list(self._open_tracks):
            track.play_with(buffering)
        if unsaved is not None:
            raise PreferencesError(
                f"The audio buffer is set to {buffering.label} for now, but it could not be "
                f"saved for the next start ({unsaved.strerror or unsaved})."
            )

    @property
    def autosave_s(self) -> float:
        """Seconds between autosaves the user chose (``FANFARE_AUTOSAVE_S`` overrides it)."""
        return autosave_interval_s(self.preferences.autosave_s)

    def set_autosave_s(self, seconds: float) -> None:
        """Autosave every ``seconds`` (5 to 3600) from now on and after the next start.

        Raises:
            PreferencesError: out of range, or it could not be saved.
        """
        low, high = AUTOSAVE_RANGE_S
        if not low <= seconds <= high:
            raise PreferencesError(f"Autosave every {low:g} to {high:g} seconds.")
        self.preferences.autosave_s = float(seconds)
        try:
            self.preferences.save()
        except OSError as exc:
            raise PreferencesError(
                f"Autosave is set to every {seconds:g} s for now, but it could not be saved "
                f"for the next start ({exc.strerror or exc})."
            ) from None

    def close(self) -> None:
        """Close every track still open (their players and licence keepers), then the client."""
        for track in list(self._open_tracks):
            track.close()
        self.client.close()


def _policy_or_none(doc: dict[str, Any]) -> Policy | None:
    """A cached track's policy, or None if it cannot be read (only used to explain)."""
    try:
        return Policy.from_dict(doc)
    except PolicyError:
        return None
