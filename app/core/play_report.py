# SPDX-License-Identifier: GPL-3.0-or-later
"""Play reports: a device's signed word that its user listened to a derivative.

Wire form, one report::

    {"report": {"derivative": "drv_…", "listen_licence": "lsn_…", "user": "usr_…",
                "device": "dev_…", "listened_s": 31.0, "started_at": 1733380000},
     "sig": "<base64url Ed25519 signature of the report's RFC 8785 JSON>"}

``listened_s`` is the seconds actually played (seeks and pauses do not count); the studio
reports once it passes the counting threshold (30 s, or the whole remix if shorter). The report
names the listen licence it played under, so a play is tied to a stream the platform issued.
The platform, not the report, decides whether the play counts (``app.server.royalties``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.encoding import b64u, canonical_json, unb64u
from app.core.errors import FanfareError
from app.core.validate import integer, mapping, number, string

#: Seconds of listening after which a play counts (or the whole remix, if it is shorter).
PLAY_THRESHOLD_S = 30.0
MAX_ID = 64


class PlayReportError(FanfareError):
    """A play report that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class PlayReport:
    """One report's fields (``started_at`` in Unix seconds, ``listened_s`` in seconds)."""

    derivative: str
    listen_licence: str
    user: str
    device: str
    listened_s: float
    started_at: int

    def fields(self) -> dict[str, Any]:
        return {
            "derivative": self.derivative,
            "listen_licence": self.listen_licence,
            "user": self.user,
            "device": self.device,
            "listened_s": round(self.listened_s, 1),
            "started_at": self.started_at,
        }


def sign_play_report(report: PlayReport, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The report signed by the device key, as a JSON-ready object."""
    fields = report.fields()
    return {"report": fields, "sig": b64u(key.sign(canonical_json(fields)))}


def read_play_report(doc: Any) -> tuple[PlayReport, bytes]:
    """Parse one report object from outside without verifying it; returns (report, signature).

    Raises:
        PlayReportError: with a sentence.
    """
    try:
        doc = mapping(doc)
        fields, sig = mapping(doc["report"]), unb64u(_text(doc["sig"], 200))
        listened = number(fields["listened_s"])
        if listened < 0:
            raise ValueError("listened_s is out of range")
        report = PlayReport(
            derivative=_text(fields["derivative"], MAX_ID),
            listen_licence=_text(fields["listen_licence"], MAX_ID),
            user=_text(fields["user"], MAX_ID),
            device=_text(fields["device"], MAX_ID),
            listened_s=listened,
            started_at=integer(fields["started_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlayReportError(f"This play report is malformed ({exc}).") from None
    return report, sig


def verify_play_report(report: PlayReport, sig: bytes, device_key: Ed25519PublicKey) -> None:
    """Raise PlayReportError unless ``sig`` is the device's signature of ``report``."""
    try:
        device_key.verify(sig, canonical_json(report.fields()))
    except (InvalidSignature, ValueError):
        raise PlayReportError("This play report's signature does not verify.") from None


def counts_after_s(duration_s: float) -> float:
    """Seconds of listening after which a play of a remix ``duration_s`` long counts."""
    return min(PLAY_THRESHOLD_S, max(0.0, duration_s - 0.5))


def _text(value: Any, limit: int) -> str:
    text = string(value)
    if not text or len(text) > limit:
        raise ValueError("a text field is empty or too long")
    return text
