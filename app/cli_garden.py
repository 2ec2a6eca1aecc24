# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden from the command line (part of ``fanfare``, see ``app.cli``)::

fanfare feed [--track ID] [--fan NAME] [--artist NAME] [--search WORDS] [--popular] [--json]
fanfare listen DERIVATIVE_ID [--seconds N] [--from S]
fanfare download DERIVATIVE_ID -o FILE
fanfare earnings [--json]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.disclosure import describe

Handler = Callable[[argparse.Namespace], int]


def add_commands(sub: Any) -> None:
    """Add the garden's commands to ``fanfare``'s subparsers (their handlers: ``HANDLERS``)."""
    feed = sub.add_parser("feed", help="published remixes, newest (or most played) first")
    feed.add_argument("--platform")
    feed.add_argument("--track", help="remixes of this track")
    feed.add_argument("--fan", help="remixes by this fan (account name)")
    feed.add_argument("--artist", help="remixes of this artist's tracks (account name)")
    feed.add_argument("--search", help="words in the remix's title, its track's or its maker's")
    feed.add_argument("--popular", action="store_true", help="most played first")
    feed.add_argument("--limit", type=int, default=50)
    feed.add_argument("--json", action="store_true", help="print the page as JSON")

    listen = sub.add_parser("listen", help="play a published remix through the sound device")
    listen.add_argument("derivative_id")
    listen.add_argument("--platform")
    listen.add_argument("--seconds", type=float, help="stop after this many seconds")
    listen.add_argument("--from", dest="start", type=float, default=0.0, help="start here (s)")

    download = sub.add_parser("download", help="save an open remix, as published, with its record")
    download.add_argument("derivative_id")
    download.add_argument("--platform")
    download.add_argument("-o", "--output", required=True, type=Path)

    earnings = sub.add_parser("earnings", help="what your remixes and tracks have earned")
    earnings.add_argument("--platform")
    earnings.add_argument("--json", action="store_true")


def _studio(args: argparse.Namespace) -> Any:
    from app.cli import _studio as open_studio  # the one way in: the signed-in profile

    return open_studio(args.platform)


def _feed(args: argparse.Namespace) -> int:
    page = _studio(args).garden.feed(
        sort="popular" if args.popular else "new", track=args.track, fan=args.fan,
        artist=args.artist, q=args.search, limit=max(1, min(50, args.limit)),
    )  # fmt: skip
    if args.json:
        _print_json(page)
        return 0
    if not page["items"]:
        print("No published remixes here yet.")
    for item in page["items"]:
        kind = "walled" if item["walled"] else "open"
        minutes, seconds = divmod(round(item["duration_s"]), 60)
        artist = item.get("artist_name", item["artist"])
        print(
            f"{item['id']}  {item['title']} — by {item['by']}, of “{item['track_title']}” by "
            f"{artist}  ({minutes}:{seconds:02d}, {item['plays']} plays, {kind})"
        )
        if "stems" in item.get("disclosure", {}):
            for line in describe(item["disclosure"]):
                print(f"    {line}")
    return 0


def _listen(args: argparse.Namespace) -> int:
    listening = _studio(args).listen(args.derivative_id)
    try:
        doc = listening.doc
        print(f"{doc['title']} — by {doc['by']}, of “{doc['track_title']}”")
        if "stems" in doc.get("disclosure", {}):
            for line in describe(doc["disclosure"]):
                print(f"    {line}")
        if args.start:
            listening.seek(args.start)
        listening.play()
        until = time.monotonic() + (args.seconds if args.seconds is not None else 1e9)
        while time.monotonic() < until:
            if not listening.playing and listening.position_s >= listening.duration_s - 0.1:
                break  # the end
            for notice in listening.take_notices():
                print(notice.text)
                if not listening.playing:
                    return 1
            time.sleep(0.1)
        heard = listening.listened_s
        counted = {None: "", True: "; the play counted", False: "; the play was not counted"}
        print(f"Heard {heard:.0f} s{counted[listening.counted]}.")
        return 0
    finally:
        listening.close()


def _download(args: argparse.Namespace) -> int:
    size = _studio(args).garden.download(args.derivative_id, args.output)
    print(f"Saved {args.output} ({size / 1e6:.1f} MB, FLAC as published, with its record).")
    return 0


def _earnings(args: argparse.Namespace) -> int:
    doc = _studio(args).garden.earnings()
    if args.json:
        _print_json(doc)
        return 0
    currency = doc.get("currency", "")

    def money(micro: int) -> str:
        return f"{micro / 1e6:.4f} {currency}"

    print(f"Earned in all: {money(doc['total_micro'])}")
    if not doc["derivatives"]:
        print("Nothing yet: a play counts after 30 s of listening.")
    for row in doc["derivatives"]:
        print(
            f"  {row['title']} (of “{row['track_title']}”, as {row['as']}): "
            f"{row['plays']} plays, {money(row['amount_micro'])}"
        )
    for row in doc["months"]:
        print(
            f"  {row['month']} as {row['as']}: {row['plays']} plays, {money(row['amount_micro'])}"
        )
    return 0


def _print_json(value: Any) -> None:
    import json

    print(json.dumps(value, indent=2))


HANDLERS: dict[str | None, Handler] = {
    "feed": _feed,
    "listen": _listen,
    "download": _download,
    "earnings": _earnings,
}
