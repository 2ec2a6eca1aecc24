# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a versioned JSON document from outside: the size bound, the JSON, the schema, the
version (a newer one refused, an older one stepped through its migrations), each failure a
sentence in the format's own words and its own typed error. Recipes, projects and style-model
manifests are read through it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.errors import FanfareError

Migration = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Wording:
    """The sentences of one format: ``not_json`` may name ``{reason}`` (the parser's error);
    ``newer`` names ``{version}`` (the document's) and ``{current}`` (what this reads)."""

    too_large: str
    not_json: str
    not_this: str
    no_version: str
    newer: str


def read_versioned(
    data: bytes | str | Mapping[str, Any],
    *,
    schema: str,
    current: int,
    max_bytes: int,
    wording: Wording,
    error: type[FanfareError],
    newer_error: type[FanfareError],
    migrations: Mapping[int, Migration] | None = None,
) -> dict[str, Any]:
    """The document in ``data`` (bytes, text, or one already parsed), at version
    ``current``.

    Raises:
        newer_error: the document is of a later version than ``current``.
        error: anything else (too large, not JSON, another schema, no version).
    """
    if isinstance(data, Mapping):
        doc: Any = dict(data)
    else:
        if len(data) > max_bytes:
            raise error(wording.too_large)
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise error(wording.not_json.format(reason=type(exc).__name__)) from None
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise error(wording.not_this)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise error(wording.no_version)
    if version > current:
        raise newer_error(wording.newer.format(version=version, current=current))
    while version < current:
        doc = (migrations or {})[version](doc)
        version = doc["version"]
    return dict(doc)
