# SPDX-License-Identifier: GPL-3.0-or-later
"""Typed calls to the platform's JSON API (``/api/v1``)."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import httpx

from app.core.track import TrackInfo
from app.platform_client.errors import (
    AuthError,
    DeviceRevokedAuthError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    PlatformError,
    PlatformUnreachableError,
)

API = "/api/v1"
UNIX_SCHEME = "http+unix://"  # then the socket's path, percent-encoded
TIMEOUT_S = 30.0
#: The upload's answer comes once the platform has verified the remix, which re-renders it:
#: minutes for a long, retimed one. Its progress is asked for meanwhile (``PUBLISH_HEADER``).
VERIFY_TIMEOUT_S = 900.0
#: The header naming an upload's random publish id, under which the platform keeps how far
#: its verification is (``GET /derivatives/publishing/{id}``).
PUBLISH_HEADER = "X-Fanfare-Publish"
#: The project a remix was made in (``app.core.project``), sent with its upload.
PROJECT_HEADER = "X-Fanfare-Project"
POLL_S = 0.4  # how often that progress is asked for
POLL_TIMEOUT_S = 5.0
#: Asks the platform to answer an upload at once with the job that verifies it (RFC 7240).
ASYNC = {"Prefer": "respond-async"}
#: How long the platform may hold a question about the job before answering, in seconds.
JOB_WAIT_S = 10.0
#: How long an upload is sent again while the platform is away, and the pause between tries,
#: in seconds: long enough for a database or an API process to restart.
UPLOAD_RETRY_S = 60.0
UPLOAD_RETRY_PAUSE_S = 1.0
#: The answers of a platform that is away for a moment, not of one that refuses.
AWAY = (502, 503, 504)
UPLOAD_PIECE_BYTES = 64 * 1024  # the upload is handed to the socket, and counted, in these
#: Each of the platform's verification steps as a share of the whole: (from, to).
VERIFY_SHARES = {
    "checking": (0.0, 0.1),
    "re-rendering": (0.1, 0.85),
    "publishing": (0.85, 1.0),
    "done": (1.0, 1.0),
}


def platform_name(base_url: str) -> str:
    """How a platform URL is shown to a user: the embedded platform's socket as the words
    "this computer", any other URL as it is."""
    return "this computer" if base_url.startswith(UNIX_SCHEME) else base_url.rstrip("/")


class PlatformClient:
    """One platform, one account (after :meth:`login` or with a saved ``token``).

    Args:
        base_url: e.g. ``https://fanfare.example`` or ``http://127.0.0.1:8750``; or a Unix
            socket, ``http+unix://`` and its percent-encoded path (the embedded platform).
        token: a bearer token from an earlier sign-in.
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = TIMEOUT_S):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        if self.base_url.startswith(UNIX_SCHEME):
            socket_path = unquote(self.base_url[len(UNIX_SCHEME) :])
            self._http = httpx.Client(
                base_url="http://fanfare.localhost" + API,
                transport=httpx.HTTPTransport(uds=socket_path),
                timeout=timeout_s,
            )
        else:
            self._http = httpx.Client(base_url=self.base_url + API, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise PlatformUnreachableError(
                f"The platform at {platform_name(self.base_url)} cannot be reached "
                f"({type(exc).__name__})."
            ) from None
        if response.status_code >= 400:
            raise _error_for(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise PlatformError("The platform sent a reply that is not JSON.") from None

    # --- accounts and devices ------------------------------------------------------------------

    def login(
        self, user: str, password: str, device: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Sign in; stores and returns the token document (``token``, ``expires_at``, ``user``).

        ``device``: an enrolled device's sign-in proof (``device_id``, ``signed_at``,
        ``signature``), so the attempt counts as from that known device."""
        body: dict[str, Any] = {"username": user, "password": password}
        if device is not None:
            body["device"] = device
        doc = self._json("POST", "/auth/login", json=body)
        self.token = str(doc["token"])
        return dict(doc)

    def logout(self) -> None:
        """End this session on the platform (the token stops working)."""
        if self.token:
            self._request("POST", "/auth/logout")
        self.token = None

    def platform_keys(self) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The platform's licence-signing keys (key id → base64url raw key) and endorsements."""
        doc = self._json("GET", "/platform/keys")
        try:
            keys = {str(k["kid"]): str(k["public_key"]) for k in doc["keys"]}
            endorsements = [
                {"kid": str(e["kid"]), "by": str(e["by"]), "sig": str(e["sig"])}
                for e in doc.get("endorsements", [])
            ]
        except (KeyError, TypeError):
            raise PlatformError("The platform's key list is malformed.") from None
        return keys, endorsements

    def enrol_device(
        self, name: str, signing_key: str, kem_key: str, proof: str, security_level: str = "file"
    ) -> dict[str, Any]:
        """Enrol public keys; ``proof`` is the device's signature showing it holds them, and
        ``security_level`` says where it keeps them (``app.core.security_level``)."""
        body = {
            "name": name,
            "signing_public_key": signing_key,
            "kem_public_key": kem_key,
            "proof": proof,
            "security_level": security_level,
        }
        return dict(self._json("POST", "/devices", json=body))

    # --- catalogue and content -----------------------------------------------------------------

    def tracks(self) -> list[TrackInfo]:
        return [TrackInfo.from_dict(t) for t in self._json("GET", "/tracks")]

    def set_track_state(self, track_id: str, state: str) -> dict[str, Any]:
        """Move one of the artist's tracks to ``state``; the track document, with
        ``licences_revoked``."""
        return dict(self._json("POST", f"/tracks/{_seg(track_id)}/state", json={"state": state}))

    def save_policy(self, track_id: str, policy: dict[str, Any]) -> dict[str, Any]:
        """Save one of the artist's tracks' policy as its next version; the track document."""
        return dict(self._json("PATCH", f"/tracks/{_seg(track_id)}", json={"policy": policy}))

    def own_track(self, track_id: str) -> dict[str, Any]:
        """One track's document (with ``state`` and ``policy_version``)."""
        return dict(self._json("GET", f"/tracks/{_seg(track_id)}"))

    def policy_history(self, track_id: str) -> list[dict[str, Any]]:
        """Every version of one of the artist's tracks' policy, oldest first."""
        return [dict(v) for v in self._json("GET", f"/tracks/{_seg(track_id)}/policies")]

    def track_audit(self, track_id: str) -> list[dict[str, Any]]:
        """Every change to one of the artist's tracks, oldest first."""
        return [dict(entry) for entry in self._json("GET", f"/tracks/{_seg(track_id)}/audit")]

    def own_tracks(self) -> list[dict[str, Any]]:
        """The signed-in artist's tracks, whatever their state: each a track document (the
        track's metadata with ``published``, ``remix_opt_in`` and ``required_tier``)."""
        return [dict(t) for t in self._json("GET", "/tracks", params={"mine": "true"})]

    def track(self, track_id: str) -> TrackInfo:
        return TrackInfo.from_dict(self._json("GET", f"/tracks/{_seg(track_id)}"))

    def stem_blob(self, track_id: str, version: int, stem: str, *, offset: int = 0) -> bytes:
        """Download an encrypted stem, from byte ``offset`` on (HTTP range) to resume."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        path = f"/tracks/{_seg(track_id)}/versions/{int(version)}/stems/{_seg(stem)}"
        response = self._request("GET", path, headers=headers)
        if offset and response.status_code != 206:
            raise PlatformError("The platform ignored a resume request.", response.status_code)
        return response.content

    def stem_envelopes(self, track_id: str, version: int) -> bytes:
        """The version's stem envelopes for the timeline (``core/envelopes``, unparsed)."""
        path = f"/tracks/{_seg(track_id)}/versions/{int(version)}/envelopes"
        return self._request("GET", path).content

    def licence(
        self, track_id: str, device_id: str, preview_policy: dict[str, Any] | None = None
    ) -> bytes:
        """Request a licence for this device; returns the signed licence bytes.

        ``preview_policy``: the track's artist previews this draft policy (no publishing)."""
        body: dict[str, Any] = {"track_id": track_id, "device_id": device_id}
        if preview_policy is not None:
            body["preview_policy"] = preview_policy
        return self._request("POST", "/licences", json=body).content

    def renew_licence(self, licence_id: str) -> bytes:
        return self._request("POST", f"/licences/{_seg(licence_id)}/renew").content

    def revocations(self) -> bytes:
        """The signed list of this account's revoked licences and devices."""
        return self._request("GET", "/licences/revocations").content

    def revoke_device(self, device_id: str) -> dict[str, Any]:
        return dict(self._json("DELETE", f"/devices/{_seg(device_id)}"))

    def devices(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/devices"))

    # --- style models --------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """The style models the platform offers (id, version, family, knobs, …)."""
        return list(self._json("GET", "/models")["models"])

    def model_manifest(self, model_id: str, version: int) -> bytes:
        """A model's manifest in the platform's signed envelope."""
        return self._request("GET", f"/models/{_seg(model_id)}/{int(version)}/manifest").content

    def model_file(self, model_id: str, version: int, name: str) -> bytes:
        path = f"/models/{_seg(model_id)}/{int(version)}/files/{_seg(name)}"
        return self._request("GET", path).content

    # --- derivatives ---------------------------------------------------------------------------

    def warm_track(self, track_id: str, recipe: bytes) -> bool:
        """Tell the platform the recipe (JSON) a fan is working on, so it stretches the track
        at its tempo and key before the upload; whether it queued that (a hint)."""
        doc = self._json(
            "POST",
            f"/tracks/{_seg(track_id)}/warm",
            content=recipe,
            headers={"content-type": "application/json"},
        )
        return bool(doc.get("queued", False)) if isinstance(doc, dict) else False

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
        """Upload a rendered derivative (FLAC bytes from memory, its Content Credentials
        signed in) with its recipe and the takes of its recorded parts (FLAC files by their
        SHA-256); the platform answers once it has verified it.
        ``project_id``: the project it was made in (the account's drafts list it under it).

        ``on_progress(step, fraction)``, each step from 0 to 1: ``"uploading"`` as the bytes
        go out, then ``"verifying"`` with the platform's own progress, asked for every
        ``POLL_S`` from a second thread while the upload waits for its answer (a failed
        question is skipped; it never fails the upload). Called from this thread and that
        one, never from both at once.

        While the platform is away (unreachable, or answering 502, 503 or 504: restarting, its
        database or store down) the upload is sent again for up to ``UPLOAD_RETRY_S``, under
        the same publish id, so that it is kept once; then the last error is raised.
        """
        files = [
            ("audio", ("derivative.flac", audio, "audio/flac")),
            ("recipe", ("recipe.json", recipe, "application/json")),
        ]
        files += [("take", (f"{d}.flac", data, "audio/flac")) for d, data in (takes or {}).items()]
        # One id for every attempt: an upload sent again after a lost answer is the same job.
        publish_id = secrets.token_urlsafe(16)
        headers = {PUBLISH_HEADER: publish_id, **ASYNC}
        if project_id:
            headers[PROJECT_HEADER] = project_id
        watch = (
            _VerificationWatch(self, publish_id, on_progress) if on_progress is not None else None
        )
        deadline = time.monotonic() + UPLOAD_RETRY_S
        try:
            while True:
                try:
                    answer = self._send_upload(files, {"title": title}, headers, watch)
                    break
                except PlatformError as exc:
                    away = isinstance(exc, PlatformUnreachableError) or exc.status in AWAY
                    if not away or time.monotonic() + UPLOAD_RETRY_PAUSE_S > deadline:
                        raise
                    time.sleep(UPLOAD_RETRY_PAUSE_S)  # restarting, or its store is: again
            doc = self._published(answer)
        except BaseException:
            if watch is not None:
                watch.stop()
            raise
        if watch is not None:
            watch.stop(finished=True)
        return doc

    def _send_upload(
        self,
        files: list[tuple[str, tuple[str, bytes, str]]],
        data: dict[str, str],
        headers: dict[str, str],
        watch: _VerificationWatch | None,
    ) -> httpx.Response:
        """POST the upload once; with a ``watch``, its bytes are counted as they go out and the
        watch starts once all are out."""
        timeout = httpx.Timeout(self.timeout_s, read=VERIFY_TIMEOUT_S)
        if watch is None:
            return self._request(
                "POST", "/derivatives", files=files, data=data, timeout=timeout, headers=headers
            )
        # httpx builds the multipart body (the same fields, boundary and length); it goes out
        # piece by piece, so that what is sent can be counted.
        form = httpx.Request("POST", self._http.base_url, files=files, data=data)
        stream = form.stream
        assert isinstance(stream, httpx.SyncByteStream)
        size = int(form.headers["Content-Length"])

        def body() -> Iterator[bytes]:
            sent = 0
            watch.report("uploading", 0.0)
            for part in stream:
                for at in range(0, len(part), UPLOAD_PIECE_BYTES):
                    piece = part[at : at + UPLOAD_PIECE_BYTES]
                    yield piece  # returns once the transport has written it and wants more
                    sent += len(piece)
                    watch.report("uploading", min(1.0, sent / size))
            watch.start()  # every byte is out: the platform verifies before it answers

        headers = headers | {
            "Content-Type": form.headers["Content-Type"],
            "Content-Length": str(size),
        }
        return self._request(
            "POST", "/derivatives", content=body(), headers=headers, timeout=timeout
        )

    def _published(self, answer: httpx.Response) -> dict[str, Any]:
        """The published remix from the upload's answer: at once (201), or once the job it
        queued (202) ends (the platform holds each question up to ``JOB_WAIT_S`` and answers
        as the job ends). A platform that is away for a moment (a
        worker or its database restarting) is asked again until ``VERIFY_TIMEOUT_S``."""
        try:
            doc = answer.json()
        except ValueError:
            raise PlatformError("The platform sent a reply that is not JSON.") from None
        if answer.status_code != 202:
            return dict(doc)
        path = f"/derivatives/jobs/{_seg(str(doc['job_id']))}"
        deadline = time.monotonic() + VERIFY_TIMEOUT_S
        while doc.get("state") not in ("done", "refused", "failed"):
            if time.monotonic() > deadline:
                raise PlatformError(
                    "The platform has not finished verifying this upload; it may still "
                    "publish it: look in your remixes later."
                )
            asked = time.monotonic()
            try:
                doc = self._json(
                    "GET", path, params={"wait": JOB_WAIT_S},
                    timeout=httpx.Timeout(POLL_TIMEOUT_S, read=JOB_WAIT_S + POLL_TIMEOUT_S),
                )  # fmt: skip
            except PlatformUnreachableError:
                pass  # away for a moment (restarting): ask again
            except PlatformError as exc:
                if exc.status < 500:
                    raise
            ended = doc.get("state") in ("done", "refused", "failed")
            if not ended and time.monotonic() - asked < POLL_S / 4:
                time.sleep(POLL_S)  # answered at once (not held, or not reached): pace them
        if doc["state"] != "done":
            raise _error_for(
                httpx.Response(int(doc["status_code"]), json={"detail": doc["detail"]})
            )
        return dict(doc["derivative"])

    def publishing(self, publish_id: str) -> dict[str, Any]:
        """How far the platform is with verifying this account's upload ``publish_id``:
        ``{"step", "fraction", "updated_at"}`` (``app.server.publishing``)."""
        path = f"/derivatives/publishing/{_seg(publish_id)}"
        return dict(self._json("GET", path, timeout=POLL_TIMEOUT_S))

    # --- drafts: projects kept on the platform ----------------------------------------------------

    def save_draft(self, project_id: str, document: dict[str, Any]) -> dict[str, Any]:
        """Keep a project (its ``.fanfare`` JSON) on the platform; its summary back."""
        return dict(self._json("PUT", f"/drafts/{_seg(project_id)}", json=document))

    def drafts(self) -> list[dict[str, Any]]:
        """The account's drafts, last changed first, each with the remixes published from it."""
        return list(self._json("GET", "/drafts"))

    def draft(self, project_id: str) -> dict[str, Any]:
        """One draft's project document."""
        return dict(self._json("GET", f"/drafts/{_seg(project_id)}"))

    def delete_draft(self, project_id: str) -> None:
        self._request("DELETE", f"/drafts/{_seg(project_id)}")

    def derivatives(self, *, mine: bool = True) -> list[dict[str, Any]]:
        return list(self._json("GET", "/derivatives", params={"mine": str(mine).lower()}))

    def open_upload(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Start uploading a track (``meta``: title, bpm, key, ..., stems with kind, size and
        sha256); the upload's document (``upload_id``, ``received``, ``chunk_bytes``)."""
        return dict(self._json("POST", "/uploads", json=meta))

    def upload_status(self, upload_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/uploads/{_seg(upload_id)}"))

    def send_piece(self, upload_id: str, kind: str, offset: int, data: bytes) -> int:
        """One piece of a stem at ``offset``; the bytes the platform now holds of it."""
        path = f"/uploads/{_seg(upload_id)}/stems/{_seg(kind)}"
        doc = self._json(
            "PUT",
            path,
            params={"offset": offset},
            content=data,
            headers={"content-type": "application/octet-stream"},
        )
        return int(doc["received"])

    def finish_upload(self, upload_id: str) -> dict[str, Any]:
        """Ingest the uploaded track (a draft); its track document."""
        return dict(self._json("POST", f"/uploads/{_seg(upload_id)}/finish"))

    def derivative(self, derivative_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/derivatives/{_seg(derivative_id)}"))

    # --- the garden ---------------------------------------------------------------------------

    def feed(
        self,
        *,
        sort: str = "new",
        track: str | None = None,
        fan: str | None = None,
        artist: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of published remixes: ``{"items": [...], "next": offset or None}``."""
        params: dict[str, Any] = {"sort": sort, "limit": limit, "offset": offset}
        for name, value in (("track", track), ("fan", fan), ("artist", artist), ("q", q)):
            if value:
                params[name] = value
        return dict(self._json("GET", "/feed", params=params))

    def listen_licence(self, derivative_id: str, device_id: str) -> bytes:
        """A listen licence for this device (signed bytes)."""
        path = f"/derivatives/{_seg(derivative_id)}/listen"
        return self._request("POST", path, json={"device_id": device_id}).content

    def derivative_stream(self, derivative_id: str, licence_id: str | None = None) -> bytes:
        """A remix's audio as its ciphertext (a listen licence opens it): with ``licence_id``
        (a version 2 listen licence), that listener's watermarked stream."""
        params = {"licence": licence_id} if licence_id is not None else None
        path = f"/derivatives/{_seg(derivative_id)}/stream"
        return self._request("GET", path, params=params).content

    def download(self, derivative_id: str) -> bytes:
        """An open remix's published FLAC, tagged; a walled one is refused (403)."""
        return self._request("GET", f"/derivatives/{_seg(derivative_id)}/download").content

    def report_derivative(self, derivative_id: str, reason: str) -> dict[str, Any]:
        """Report a remix to the moderators with ``reason`` (once per account)."""
        path = f"/derivatives/{_seg(derivative_id)}/report"
        return dict(self._json("POST", path, json={"reason": reason}))

    def report_plays(self, reports: list[dict[str, Any]]) -> dict[str, Any]:
        """Send signed play reports; each answered with whether it counted."""
        return dict(self._json("POST", "/plays", json={"reports": reports}))

    def earnings(self) -> dict[str, Any]:
        """This account's statement: per remix and per month."""
        return dict(self._json("GET", "/earnings"))

    def track_derivatives(self, track_id: str) -> list[dict[str, Any]]:
        """Every remix of one of the artist's tracks, whatever its status, newest first."""
        return [dict(d) for d in self._json("GET", f"/tracks/{_seg(track_id)}/derivatives")]

    def decide(self, derivative_id: str, decision: str, reason: str = "") -> dict[str, Any]:
        """Approve, refuse or take down a remix of the artist's track; the derivative."""
        body = {"decision": decision, "reason": reason}
        return dict(self._json("POST", f"/derivatives/{_seg(derivative_id)}/decision", json=body))


class _VerificationWatch:
    """Asks the platform how far it is with one upload's verification, every ``POLL_S`` on a
    thread of its own, and reports it as ``"verifying"``: a fraction of the whole that only
    grows (``VERIFY_SHARES``). Nothing is reported once it is stopped."""

    def __init__(
        self, client: PlatformClient, publish_id: str, report: Callable[[str, float], None]
    ) -> None:
        self._client = client
        self._publish_id = publish_id
        self._report = report
        self._stopped = threading.Event()
        self._lock = threading.Lock()  # held while reporting: reports never overlap
        self._thread: threading.Thread | None = None
        self._reached = 0.0

    def report(self, step: str, fraction: float) -> None:
        """Report the upload's own progress (``"uploading"``), in turn with the questions'."""
        with self._lock:
            self._report(step, fraction)

    def start(self) -> None:
        """Start asking (once: an upload sent again does not start a second thread)."""
        with self._lock:
            self._report("verifying", 0.0)
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="fanfare-publish-progress", daemon=True
        )
        self._thread.start()

    def stop(self, *, finished: bool = False) -> None:
        """No more questions; ``finished``: the platform answered, verification is done."""
        with self._lock:
            self._stopped.set()
            if finished:
                self._report("verifying", 1.0)
        if self._thread is not None:
            self._thread.join(timeout=POLL_S)  # a question in flight ends on its own

    def _run(self) -> None:
        while not self._stopped.wait(POLL_S):
            try:
                doc = self._client.publishing(self._publish_id)
                start, end = VERIFY_SHARES[str(doc["step"])]
                fraction = start + (end - start) * min(1.0, max(0.0, float(doc["fraction"])))
            except Exception:  # not there yet, refused, unreachable: the upload's answer says
                continue
            with self._lock:
                if self._stopped.is_set():
                    return
                if fraction > self._reached:
                    self._reached = fraction
                    with contextlib.suppress(Exception):  # the caller's display, not the upload
                        self._report("verifying", fraction)


def _seg(value: str) -> str:
    """One URL path segment: refuse separators rather than let them change the path."""
    if not value or "/" in value or value in (".", ".."):
        raise NotFoundError(f"'{value}' is not a valid id.")
    return httpx.URL("/" + value).raw_path.decode()[1:]


def _error_for(response: httpx.Response) -> PlatformError:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if not isinstance(detail, str):
        detail = (
            json.dumps(detail) if detail else f"The platform answered HTTP {response.status_code}."
        )
    status = response.status_code
    if status == 401 and response.headers.get("x-fanfare-reason") == "device-revoked":
        return DeviceRevokedAuthError(detail, status)
    kind = {401: AuthError, 403: ForbiddenError, 404: NotFoundError, 410: GoneError}.get(
        status, PlatformError
    )
    return kind(detail, status)
