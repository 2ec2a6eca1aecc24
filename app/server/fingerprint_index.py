# SPDX-License-Identifier: GPL-3.0-or-later
"""Every track version's and derivative's fingerprint: the table, the in-memory index that
finds the recording an excerpt comes from, and ``trace`` (which also undoes speed changes).

The index is an inverted index over sampled sub-fingerprint keys (the top 20 bits of each
32-bit value), held as sorted numpy arrays searched with ``searchsorted``:
1. only keys whose hash falls in 1/``SAMPLING`` of the hash space are indexed and queried
   (content-defined, so an excerpt samples the same keys as the whole recording wherever it
   starts), which keeps ~1.25 bytes a sub-fingerprint in the postings;
2. each query key meeting an indexed one votes for (recording, offset);
3. the best-voted recordings are scored exactly: the BER of the whole query at that offset.
Rows added by any process are picked up at the next lookup (rows are numbered in order).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.server.db import Derivative, Fingerprint, Track, User
from app.server.fingerprints import (
    ITEM_S,
    KEY_SHIFT,
    MIN_OVERLAP_ITEMS,
    FingerprintError,
    best_alignment,
    fingerprint,
    from_bytes,
    to_bytes,
)

SUBJECTS = ("mix", "stem", "derivative")
#: One key in this many is indexed (those whose hash's top bits are zero): 8 keeps 100,000
#: four-minute recordings in ~250 MB of postings and still gives a 20 s excerpt ~20 keys.
SAMPLING_BITS = 3
SAMPLING = 1 << SAMPLING_BITS
#: A query key held by more indexed positions than this says nothing about where the query
#: comes from (silence, a drone): it is not voted with.
MAX_POSTINGS = 4096
#: Recordings scored exactly per lookup, from the vote's best.
CANDIDATES = 12
#: Votes a recording needs to be scored: one shared key is chance.
MIN_VOTES = 2
#: The BER under which a lookup reports a recording. Unrelated music sits near 0.5, but the
#: best of many tries (candidates, alignments, speeds) over a 20 s excerpt of simple music
#: (held chords give few independent bits) was seen at 0.33; a copy after MP3 at 128 kbps,
#: resampling, gain and a corrected speed change stays under 0.1 (docs/robustness-fingerprint.md).
MATCH_BER = 0.25
#: Positions are stored as uint16: a recording's first 2 h 15 min are indexed.
MAX_POSITION = 65535
#: Speed factors ``trace`` tries (a copy played 3 % fast is 1.03), nearest 1.0 first:
#: Chromaprint is not speed-invariant, and a step of 0.5 % leaves at most 0.25 % to drift.
SPEEDS = tuple(
    sorted((round(1 + step * 0.005, 3) for step in range(-7, 8)), key=lambda s: abs(s - 1))
)
#: A match this close needs no further speeds tried.
CONFIDENT_BER = 0.15
#: The shortest excerpt ``trace`` names a source for, in seconds.
MIN_TRACE_S = 20.0
_GOLDEN = np.uint64(0x9E3779B1)  # Knuth's multiplicative hash: spreads the keys before sampling


class TraceError(FingerprintError):
    """A file could not be traced (too short, unreadable, or silent)."""


@dataclass(frozen=True)
class Entry:
    """What an indexed fingerprint is of (a ``Fingerprint`` row without its data)."""

    fingerprint_id: int
    subject: str
    track_id: str
    track_version: int
    stem: str | None
    derivative_id: str | None
    user_id: str
    duration_s: float


@dataclass(frozen=True)
class Hit:
    """An indexed recording a query matched.

    Attributes:
        entry: what it is.
        ber: bit error rate of the query against it at ``offset_s`` (0 identical, ≈ 0.5
            unrelated).
        offset_s: where the query starts in the indexed recording, in seconds.
        overlap_s: seconds compared.
        votes: query keys that met it at that offset (a measure of the vote, not of the match).
    """

    entry: Entry
    ber: float
    offset_s: float
    overlap_s: float
    votes: int


@dataclass(frozen=True)
class Trace:
    """Where an excerpt comes from: the best hit, at the speed factor that found it (1.03: the
    excerpt plays 3 % faster than the indexed recording)."""

    hit: Hit
    speed: float


@dataclass(frozen=True)
class _Segment:
    """Postings sorted by key: ``keys[i]`` occurs in recording ``docs[i]`` at ``positions[i]``."""

    keys: np.ndarray  # uint32
    docs: np.ndarray  # uint32: index into FingerprintIndex's entries
    positions: np.ndarray  # uint16: sub-fingerprint index in that recording


def _sampled(keys: np.ndarray) -> np.ndarray:
    """Which keys are indexed (and queried): bool (n,)."""
    hashed = (keys.astype(np.uint64) * _GOLDEN) & np.uint64(0xFFFFFFFF)
    return (hashed >> np.uint64(32 - SAMPLING_BITS)) == 0


def _postings(doc: int, fp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = fp[:MAX_POSITION] >> KEY_SHIFT
    where = np.flatnonzero(_sampled(keys))
    return keys[where], np.full(len(where), doc, dtype=np.uint32), where.astype(np.uint16)


def _segment(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> _Segment:
    keys = np.concatenate([p[0] for p in parts]).astype(np.uint32)
    # Stable: a segment merged from two sorted ones is two runs, which timsort merges in O(n).
    order = np.argsort(keys, kind="stable")
    docs = np.concatenate([p[1] for p in parts])[order]
    positions = np.concatenate([p[2] for p in parts])[order]
    return _Segment(keys[order], docs, positions)


def _expand(lo: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Every index in the ranges ``[lo[i], lo[i] + counts[i])``, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return starts + np.arange(total)


class FingerprintIndex:
    """The fingerprints of every track version, stem and derivative, searchable in memory.

    One per platform process. Built from the ``fingerprints`` table at the first lookup, and
    brought up to date at each lookup with the rows added since (by this process or another).
    ``sessions`` None: an index fed only through ``add`` (benchmarks, tools).
    """

    def __init__(self, sessions: sessionmaker[Session] | None = None) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._raw: list[np.ndarray] = []
        # Size-tiered, as a log-structured store: a new batch is a small segment, merged with
        # its neighbour while that is not much bigger, so each posting is re-sorted O(log n) times.
        self._segments: tuple[_Segment, ...] = ()
        self._last_id = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes the raw fingerprints and the postings take (not the entries' objects)."""
        raw = sum(fp.nbytes for fp in self._raw)
        postings = sum(s.keys.nbytes + s.docs.nbytes + s.positions.nbytes for s in self._segments)
        return raw + postings

    def add(self, batch: list[tuple[Entry, np.ndarray]]) -> None:
        """Index recordings: (what it is, its uint32 fingerprint) each."""
        with self._lock:
            self._add_locked(batch)

    def _add_locked(self, batch: list[tuple[Entry, np.ndarray]]) -> None:
        if not batch:
            return
        parts = []
        for entry, fp in batch:
            doc = len(self._entries)
            self._entries.append(entry)
            self._raw.append(np.asarray(fp, dtype=np.uint32))
            parts.append(_postings(doc, self._raw[-1]))
            self._last_id = max(self._last_id, entry.fingerprint_id)
        segments = [*self._segments, _segment(parts)]
        while len(segments) > 1 and len(segments[-1].keys) * 4 >= len(segments[-2].keys):
            newer, older = segments.pop(), segments.pop()
            segments.append(_segment([(s.keys, s.docs, s.positions) for s in (older, newer)]))
        self._segments = tuple(segments)

    def refresh(self) -> None:
        """Index the table's rows added since the last refresh (all of them, the first time)."""
        if self._sessions is None:
            return
        with self._lock, self._sessions() as session:
            rows = session.scalars(
                select(Fingerprint).where(Fingerprint.id > self._last_id).order_by(Fingerprint.id)
            ).all()
            self._add_locked([(_entry(row), from_bytes(row.data)) for row in rows])

    def lookup(self, fp: np.ndarray, limit: int = 5, *, max_ber: float = MATCH_BER) -> list[Hit]:
        """The indexed recordings closest to a query, best (lowest BER) first.

        Args:
            fp: the query's uint32 (items,) fingerprint (``fingerprint``): an excerpt of 20 s
                or more, or a whole recording.
            limit: at most this many hits.
            max_ber: hits at or above this BER are left out.

        Returns:
            Up to ``limit`` hits, each at the offset where the query fits it best.
        """
        self.refresh()
        query = np.asarray(fp, dtype=np.uint32)
        segments, entries, raw = self._segments, self._entries, self._raw
        docs, offsets, votes = _vote(segments, query)
        hits = []
        for doc, offset, count in zip(docs, offsets, votes, strict=True):
            indexed = raw[int(doc)]
            min_overlap = min(MIN_OVERLAP_ITEMS, len(indexed), len(query))
            ber, best, overlap = best_alignment(indexed, query, [int(offset)], min_overlap)
            if overlap and ber < max_ber:
                hit = Hit(entries[int(doc)], ber, best * ITEM_S, overlap * ITEM_S, int(count))
                hits.append(hit)
        hits.sort(key=lambda h: h.ber)
        return hits[:limit]


def _vote(
    segments: tuple[_Segment, ...], query: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best-voted (recording, offset) pairs, one per recording: (docs, offsets, votes),
    at most ``CANDIDATES`` with ``MIN_VOTES`` or more, most votes first."""
    keys = query >> KEY_SHIFT
    at = np.flatnonzero(_sampled(keys))
    keys = keys[at]
    codes = []
    for segment in segments:
        lo = np.searchsorted(segment.keys, keys, side="left")
        counts = np.searchsorted(segment.keys, keys, side="right") - lo
        counts[counts > MAX_POSTINGS] = 0
        found = _expand(lo, counts)
        offsets = segment.positions[found].astype(np.int64) - np.repeat(at, counts)
        # (recording, offset) in one int64: offsets lie within ±2^20 items.
        codes.append((segment.docs[found].astype(np.int64) << 21) + (offsets + (1 << 20)))
    if not codes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    pairs, counts = np.unique(np.concatenate(codes), return_counts=True)
    # An excerpt rarely starts on Chromaprint's frame grid: its matches split between two
    # neighbouring offsets, so each pair also counts its neighbours' votes.
    scores = counts.copy()
    for step in (-1, 1):
        near = np.clip(np.searchsorted(pairs, pairs + step), 0, len(pairs) - 1)
        scores += np.where(pairs[near] == pairs + step, counts[near], 0)
    order = np.argsort(-scores, kind="stable")
    docs = pairs[order] >> 21
    _, first = np.unique(docs, return_index=True)  # each recording's best-voted offset
    first = np.sort(first)[:CANDIDATES]
    first = first[scores[order][first] >= MIN_VOTES]
    chosen = order[first]
    return pairs[chosen] >> 21, (pairs[chosen] & ((1 << 21) - 1)) - (1 << 20), scores[chosen]


def _entry(row: Fingerprint) -> Entry:
    return Entry(
        fingerprint_id=row.id,
        subject=row.subject,
        track_id=row.track_id,
        track_version=row.track_version,
        stem=row.stem,
        derivative_id=row.derivative_id,
        user_id=row.user_id,
        duration_s=row.duration_s,
    )


def index_track_version(
    session: Session, track: Track, stems: dict[str, np.ndarray], rate: int
) -> list[Fingerprint]:
    """Fingerprint a track version's own mix (its stems summed at unity) and each stem, and add
    the rows to ``session`` (the caller commits, with the version they belong to).

    Args:
        track: the track, already at the version ``stems`` are of.
        stems: stem kind → float32 (frames, channels), equally long, at ``rate`` Hz.
    """
    mix = np.zeros_like(next(iter(stems.values())), dtype=np.float32)
    for audio in stems.values():
        mix += audio
    duration_s = mix.shape[0] / rate
    made: list[tuple[str | None, np.ndarray]] = [(None, fingerprint(mix, rate))]
    made += [(kind, fingerprint(audio, rate)) for kind, audio in stems.items()]
    rows = [
        Fingerprint(
            subject="mix" if kind is None else "stem",
            track_id=track.id,
            track_version=track.version,
            stem=kind,
            user_id=track.artist_id,
            duration_s=duration_s,
            data=to_bytes(fp),
        )
        for kind, fp in made
    ]
    session.add_all(rows)
    return rows


def index_derivative(
    session: Session,
    derivative_id: str,
    track: Track,
    user_id: str,
    audio: np.ndarray,
    rate: int,
    *,
    fp: np.ndarray | None = None,
) -> Fingerprint:
    """Add a derivative's fingerprint row to ``session`` (the caller commits it).

    Args:
        track: the track it remixes, at the version it was made from.
        user_id: the fan who made it.
        audio: float32 (frames, channels) at ``rate`` Hz, as published.
        fp: its fingerprint where the caller has computed it already (not computed again).
    """
    made = fingerprint(audio, rate) if fp is None else np.asarray(fp, dtype=np.uint32)
    row = Fingerprint(
        subject="derivative",
        track_id=track.id,
        track_version=track.version,
        derivative_id=derivative_id,
        user_id=user_id,
        duration_s=audio.shape[0] / rate,
        data=to_bytes(made),
    )
    session.add(row)
    return row


def track_fingerprints(session: Session, track_id: str, version: int) -> dict[str, np.ndarray]:
    """A track version's stored fingerprints: ``"mix"`` and each stem's kind → uint32 (items,)."""
    rows = session.scalars(
        select(Fingerprint).where(
            Fingerprint.track_id == track_id,
            Fingerprint.track_version == version,
            Fingerprint.subject.in_(("mix", "stem")),
        )
    )
    return {row.stem or "mix": from_bytes(row.data) for row in rows}


def trace(index: FingerprintIndex, audio: np.ndarray, rate: float) -> Trace | None:
    """Where ``audio`` (float (frames, channels) at ``rate`` Hz) comes from, trying each of
    ``SPEEDS``; None when nothing indexed is closer than ``MATCH_BER``.

    Raises:
        TraceError: the audio lasts under ``MIN_TRACE_S`` or is silent.
    """
    duration_s = audio.shape[0] / rate
    # 20 s of the music, at any speed tried: 20 s played 3 % fast lasts 19.4 s.
    if duration_s * max(SPEEDS) < MIN_TRACE_S:
        raise TraceError(
            f"This recording lasts {duration_s:.1f} s; tracing needs at least "
            f"{MIN_TRACE_S:g} s of it."
        )
    if not np.any(np.abs(audio) > 1e-4):
        raise TraceError("This recording is silent; there is nothing to trace.")
    best: Trace | None = None
    for speed in SPEEDS:
        # Declaring the rate slower by the speed factor plays a sped-up copy at its own speed.
        hits = index.lookup(fingerprint(audio, rate / speed), limit=1)
        if hits and (best is None or hits[0].ber < best.hit.ber):
            best = Trace(hits[0], speed)
        if best is not None and best.hit.ber <= CONFIDENT_BER:
            break
    return best


def describe(session: Session, found: Trace) -> dict[str, Any]:
    """A trace as ``fanfare-platform trace --json`` prints it: the source's names, the BER,
    offset and speed, and a sentence saying it."""
    hit, entry = found.hit, found.hit.entry
    owner = session.get(User, entry.user_id)
    track = session.get(Track, entry.track_id)
    doc: dict[str, Any] = {
        "subject": entry.subject,
        "track_id": entry.track_id,
        "track_version": entry.track_version,
        "track_title": track.title if track else entry.track_id,
        "ber": round(hit.ber, 4),
        "offset_s": round(hit.offset_s, 2),
        "speed": found.speed,
    }
    measure = (
        f"(bit error rate {hit.ber:.3f}, {_clock(hit.offset_s)} into it, "
        f"at {_speed_words(found.speed)})"
    )
    name = (owner.display_name or owner.name) if owner else entry.user_id
    if entry.subject == "derivative":
        derivative = session.get(Derivative, entry.derivative_id)
        title = derivative.title if derivative else "a removed remix"
        doc |= {"derivative_id": entry.derivative_id, "title": title, "fan": name}
        doc["sentence"] = (
            f"This comes from the remix '{title}' ({entry.derivative_id}) by {name}, made "
            f"from '{doc['track_title']}' {measure}."
        )
    else:
        doc |= {"artist": name, "stem": entry.stem}
        part = f"the {entry.stem} stem of " if entry.stem else ""
        doc["sentence"] = (
            f"This comes from {part}'{doc['track_title']}' v{entry.track_version} by {name} "
            f"{measure}."
        )
    return doc


def _clock(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _speed_words(speed: float) -> str:
    if speed == 1.0:
        return "its own speed"
    return f"{abs(speed - 1) * 100:.1f} % {'faster' if speed > 1 else 'slower'}"
