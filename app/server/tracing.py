# SPDX-License-Identifier: GPL-3.0-or-later
"""Naming the listener a recording of a walled stream came from, by its watermark.

The excerpt is read against the remix's own audio (``app.server.watermark.read_segments``):
a soft bit per segment it covers. A segment reads as a bit when it is sure (``|z| ≥ MIN_Z``)
and about as strong as the others (``|soft| ≥ half the median``); otherwise as an erasure —
which is what a segment where two averaged copies differ reads as, their marks cancelling.

Every listener (device of an account) that was ever issued a listen licence for the remix
has a codeword (``app.server.segments.codeword``), pseudo-random and independent of every
other's. An innocent listener's codeword agrees with the ``n`` bits read at each position
with probability 1/2, independently; so the chance that any of ``K`` innocent listeners agrees
on ``m`` or more is at most ``K × P(Binomial(n, 1/2) ≥ m)``. A listener is named only when
that bound is at most ``FALSE_POSITIVE_BOUND``. Two listeners who averaged their copies both
agree on every bit read (the segments they share), so both are named once enough are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.codec import decode_audio
from app.server.blobs import BlobStore
from app.server.db import Derivative, DerivativeAudio, Device, ListenLicenceRow, User
from app.server.garden import plaintext, variants_of
from app.server.segments import codeword, listener_tag, pattern_key
from app.server.watermark import SegmentReading, read_segments

#: A segment's reading must be this many standard errors from 0 to count as a bit.
MIN_Z = 3.0
#: ... and at least this share of the median strength of the sure ones.
MIN_SHARE = 0.5
#: The most probability, over all listeners of the remix, of naming one who is innocent.
FALSE_POSITIVE_BOUND = 1e-6


@dataclass(frozen=True)
class TracedListener:
    """One listener the watermark names.

    Attributes:
        user_id, user_name: the account.
        device_id, device_name: the device the stream was licensed to.
        licences: every listen licence issued to that device for the remix, oldest first.
        stream: the codeword's name (``listen licence.stream``).
        agreement: bits read that agree with this listener's codeword.
        bits: bits read (segments neither unread nor erased).
        false_positive: the bound on naming an innocent listener with this agreement.
    """

    user_id: str
    user_name: str
    device_id: str
    device_name: str
    licences: tuple[str, ...]
    stream: str
    agreement: int
    bits: int
    false_positive: float

    def to_dict(self) -> dict[str, object]:
        return {
            "licence_id": self.licences[-1],
            "licences": list(self.licences),
            "user": self.user_name,
            "user_id": self.user_id,
            "device": self.device_name,
            "device_id": self.device_id,
            "stream": self.stream,
            "agreement": self.agreement,
            "bits": self.bits,
            "false_positive": self.false_positive,
            "sentence": (
                f"listen licence {self.licences[-1]} of {self.user_name}'s device "
                f"“{self.device_name}” ({self.agreement} of {self.bits} watermark bits agree; "
                f"the chance of naming an innocent listener is below {self.false_positive:.1e})."
            ),
        }


@dataclass(frozen=True)
class WatermarkTrace:
    """What the watermark of an excerpt says.

    Attributes:
        derivative_id: the remix read against.
        segments: segments the excerpt covers.
        bits: of those, the ones read as bits (the rest are erasures).
        erased: segment indices read as erasures (where averaged copies differ, or too weak).
        listeners: the listeners named (several where copies were combined), surest first.
        candidates: how many listeners were compared.
    """

    derivative_id: str
    segments: int
    bits: int
    erased: tuple[int, ...]
    listeners: tuple[TracedListener, ...]
    candidates: int

    def to_dict(self) -> dict[str, object]:
        return {
            "derivative": self.derivative_id,
            "segments": self.segments,
            "bits": self.bits,
            "erased": list(self.erased),
            "candidates": self.candidates,
            "listeners": [found.to_dict() for found in self.listeners],
        }


def hard_bits(readings: list[SegmentReading]) -> dict[int, int]:
    """Segment index → 0 (variant A) or 1 (B), for the readings sure enough to be bits."""
    sure = [abs(r.soft) for r in readings if abs(r.z) >= MIN_Z]
    if not sure:
        return {}
    strength = float(np.median(sure))
    return {
        r.index: int(r.soft > 0)
        for r in readings
        if abs(r.z) >= MIN_Z and abs(r.soft) >= MIN_SHARE * strength
    }


def tail_at_least(n: int, m: int) -> float:
    """P(Binomial(n, 1/2) ≥ m), in log space (n may be thousands)."""
    if m <= 0:
        return 1.0
    if m > n:
        return 0.0
    logs = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
        for k in range(m, n + 1)
    ]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def identify_listener(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    derivative_id: str,
    excerpt: np.ndarray,
    rate: int,
) -> WatermarkTrace | None:
    """Which listener's stream ``excerpt`` was recorded from.

    Args:
        derivative_id: the remix the excerpt is of (the fingerprint names it).
        excerpt: the recording, float (frames, channels) or (frames,), at ``rate`` Hz; 20 s
            or more reads reliably (60 s: about 40 bits).

    Returns None where no watermark can be read: a remix kept before watermarks, or an
    excerpt that cannot be placed in it. Otherwise the reading, with the listeners named
    (none where no codeword agrees significantly).
    """
    kept = session.get(DerivativeAudio, derivative_id)
    if kept is None:
        return None
    variants = variants_of(blobs, kept)
    if variants is None:
        return None
    secret = variants.secret(master_key)
    derivative = session.get(Derivative, derivative_id)
    if derivative is None:
        return None
    reference, _ = decode_audio(plaintext(session, blobs, master_key, derivative))
    readings = read_segments(reference, pattern_key(secret), excerpt, rate)
    if not readings:
        return None
    bits = hard_bits(readings)
    issued = session.execute(
        select(ListenLicenceRow.user_id, ListenLicenceRow.device_id, ListenLicenceRow.id)
        .where(ListenLicenceRow.derivative_id == derivative_id)
        .order_by(ListenLicenceRow.issued_at, ListenLicenceRow.id)
    ).all()
    by_listener: dict[tuple[str, str], list[str]] = {}
    for user_id, device_id, licence_id in issued:
        by_listener.setdefault((user_id, device_id), []).append(licence_id)
    indices = np.array(sorted(bits), dtype=np.int64)
    read = np.array([bits[i] for i in indices], dtype=np.uint8)
    named = []
    for (user_id, device_id), licences in by_listener.items():
        stream = listener_tag(secret, user_id, device_id)
        expected = codeword(secret, stream, variants.segments)[indices]
        agreement = int(np.sum(expected == read))
        bound = len(by_listener) * tail_at_least(len(read), agreement)
        if bound <= FALSE_POSITIVE_BOUND:
            user, device = session.get(User, user_id), session.get(Device, device_id)
            named.append(
                TracedListener(
                    user_id,
                    user.name if user else user_id,
                    device_id,
                    device.name if device else device_id,
                    tuple(licences),
                    stream,
                    agreement,
                    len(read),
                    bound,
                )
            )
    named.sort(key=lambda found: found.false_positive)
    return WatermarkTrace(
        derivative_id=derivative_id,
        segments=len(readings),
        bits=len(read),
        erased=tuple(r.index for r in readings if r.index not in bits),
        listeners=tuple(named),
        candidates=len(by_listener),
    )
