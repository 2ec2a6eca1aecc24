# SPDX-License-Identifier: GPL-3.0-or-later
"""``fanfare verify FILE``: read any audio file's Content Credentials and say whether they are
valid and trusted (under the platform's device CA), who made the remix from what, and with which
AI; ``--json`` for tools. Exit status 0 only when they are valid and trusted.

The trust anchor is the signed-in platform's device CA (kept in the profile at sign-in), or
``--ca FILE`` (PEM), or the CA a ``--platform URL`` serves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.core.credentials import CredentialsError, read_credentials, sentences, summary
from app.core.errors import FanfareError
from app.studio.profile import ProfileBook, StudioPaths

#: Larger than any remix the platform accepts (150 MB) with room for its credentials.
MAX_FILE_BYTES = 200 * 1024 * 1024


def add_command(sub: Any) -> None:
    verify = sub.add_parser("verify", help="check a file's Content Credentials (who, from what)")
    verify.add_argument("file", type=Path)
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--ca", type=Path, help="the trust anchor (PEM) instead of the profile's")
    verify.add_argument("--platform", help="trust the device CA this platform serves")


def _anchor(args: argparse.Namespace) -> str:
    if args.ca is not None:
        try:
            return args.ca.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise FanfareError(f"Cannot read the trust anchor {args.ca} ({exc}).") from None
    if args.platform:
        import httpx  # only this way of running needs the network

        try:
            response = httpx.get(args.platform.rstrip("/") + "/api/v1/platform/ca", timeout=10)
            response.raise_for_status()
            return str(response.json()["ca_pem"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise FanfareError(
                f"Cannot fetch the platform's CA from {args.platform} ({exc})."
            ) from None
    paths = StudioPaths.default()
    book = ProfileBook(paths.profiles_file)
    pem = book.get(book.current).ca_pem if book.current else ""
    if not pem:
        raise FanfareError(
            "No trust anchor: sign in to a platform first, or give --ca FILE or --platform URL."
        )
    return pem


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FanfareError(f"{path.name} is larger than {MAX_FILE_BYTES >> 20} MB.")
        data = path.read_bytes()
    except OSError as exc:
        raise FanfareError(f"Cannot read {path} ({exc.strerror}).") from None
    try:
        doc = summary(read_credentials(data, _anchor(args)))
    except CredentialsError as exc:
        if args.json:
            print(json.dumps({"state": None, "trusted": False, "reason": exc.reason,
                              "message": str(exc)}, indent=2))  # fmt: skip
        else:
            print(f"{path.name}: {exc}")
        return 1
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"{path.name}: " + " ".join(sentences(doc)))
    return 0 if doc["trusted"] else 1
