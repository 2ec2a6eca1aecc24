# SPDX-License-Identifier: GPL-3.0-or-later
"""A track version's stem envelopes as the platform serves them to the studio's timeline.

Each stem's envelope is one byte per ``bin_frames`` frames: the loudest sample of the bin over
both channels, 255 at full scale, rounded up (``app.engine.peaks`` measures it the same way). The
platform measures them once, from the decoded stems, when the track version is ingested; a
studio that gets them draws the timeline at once instead of decoding every stem again.

Wire form (JSON, version 1)::

    {"schema": "fanfare.envelopes", "version": 1, "bin_frames": 1024, "frames": 3548160,
     "stems": {"drums": "<base64 of 3465 bytes>", ...}}
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from app.core.errors import FanfareError
from app.core.versioned import Wording, read_versioned

SCHEMA = "fanfare.envelopes"
VERSION = 1
MAX_ENVELOPES_BYTES = 4 * 1024 * 1024  # 16 stems of an hour at 1,024 frames a bin, in base64


class EnvelopesError(FanfareError):
    """Envelopes that cannot be read or do not fit the track; the message says why."""


@dataclass(frozen=True)
class Envelopes:
    """``stems``: kind → one byte per ``bin_frames`` frames of a stem ``frames`` long."""

    bin_frames: int
    frames: int
    stems: dict[str, bytes]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "schema": SCHEMA,
                "version": VERSION,
                "bin_frames": self.bin_frames,
                "frames": self.frames,
                "stems": {k: base64.b64encode(v).decode() for k, v in self.stems.items()},
            },
            separators=(",", ":"),
        ).encode()


_WORDING = Wording(
    too_large="These stem envelopes are too large.",
    not_json="These stem envelopes are not valid JSON ({reason}).",
    not_this="This is not a Fanfare stem envelope document.",
    no_version="These stem envelopes have no valid version number.",
    newer="These stem envelopes are of a newer format (version {version}; this Fanfare reads "
    "up to {current}).",
)


def loads(data: bytes, *, frames: int, kinds: tuple[str, ...], bin_frames: int) -> Envelopes:
    """Parse envelopes from the platform and check they fit the track: its length ``frames``,
    every stem in ``kinds``, and the studio's ``bin_frames``.

    Raises:
        EnvelopesError: malformed, or not this track's.
    """
    doc: dict[str, Any] = read_versioned(
        data, schema=SCHEMA, current=VERSION, max_bytes=MAX_ENVELOPES_BYTES, wording=_WORDING,
        error=EnvelopesError, newer_error=EnvelopesError,
    )  # fmt: skip
    if doc.get("bin_frames") != bin_frames or doc.get("frames") != frames:
        raise EnvelopesError("These stem envelopes are of another length or resolution.")
    stems = doc.get("stems")
    if not isinstance(stems, dict) or set(stems) != set(kinds):
        raise EnvelopesError("These stem envelopes are not of this track's stems.")
    bins = -(-frames // bin_frames)
    out: dict[str, bytes] = {}
    for kind in kinds:
        text = stems[kind]
        try:
            values = base64.b64decode(text, validate=True) if isinstance(text, str) else b""
        except (binascii.Error, ValueError):
            values = b""
        if len(values) != bins:
            raise EnvelopesError(f"The envelope of the {kind} stem is damaged.")
        out[kind] = values
    return Envelopes(bin_frames, frames, out)
