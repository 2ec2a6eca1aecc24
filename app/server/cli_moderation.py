# SPDX-License-Identifier: GPL-3.0-or-later
"""``fanfare-platform moderation list|hide|restore`` and ``fanfare-platform metrics``: the
operator's side of the spam gate and of listeners' reports, on a platform's ``--data DIR``.

    fanfare-platform moderation list [--all] [--json] --data DIR
    fanfare-platform moderation hide DERIVATIVE_ID --reason R --as ADMIN --data DIR
    fanfare-platform moderation restore DERIVATIVE_ID --as ADMIN --data DIR
    fanfare-platform metrics [--since UNIX_S] [--json] --data DIR
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from app.server.db import User
from app.server.moderation import ModerationError, moderate, queue
from app.server.schema import database
from app.server.spam import metrics

Config = Callable[[argparse.Namespace], Any]


def add_commands(sub: Any, data_arg: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    moderation = sub.add_parser("moderation", help="reported remixes: list, hide, restore")
    moderation_sub = moderation.add_subparsers(dest="action", required=True)
    listing = moderation_sub.add_parser("list", help="remixes with open reports, most first")
    listing.add_argument("--all", action="store_true", help="with resolved reports too")
    listing.add_argument("--json", action="store_true")
    data_arg(listing, True)
    for action, helps in (("hide", "hide a remix from listeners"), ("restore", "publish again")):
        command = moderation_sub.add_parser(action, help=helps)
        command.add_argument("derivative_id")
        command.add_argument("--reason", default="", help="what its maker reads (hide: needed)")
        command.add_argument("--as", dest="moderator", required=True, help="an admin account")
        data_arg(command, True)
    counts = sub.add_parser("metrics", help="uploads by outcome: published and each refusal")
    counts.add_argument("--since", type=int, default=0, help="Unix seconds")
    counts.add_argument("--json", action="store_true")
    data_arg(counts, True)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run ``moderation`` or ``metrics``; errors are ModerationError sentences."""
    with database(config(args).database_url) as sessions, sessions() as session:
        if args.command == "metrics":
            found = metrics(session, args.since)
            if args.json:
                print(json.dumps({"uploads": found}, indent=2))
            elif not found:
                print("No uploads yet.")
            for outcome, n in sorted(found.items(), key=lambda kv: -kv[1]):
                if not args.json:
                    print(f"{n:8d}  {outcome}")
            return 0
        if args.action == "list":
            reported = queue(session, include_resolved=args.all)
            if args.json:
                print(json.dumps([asdict(r) for r in reported], indent=2))
            elif not reported:
                print("No remix has open reports.")
            for r in [] if args.json else reported:
                print(f"{r.derivative_id}  {r.reports} report(s)  {r.status:12} "
                      f"'{r.title}' by {r.by} ({r.track}): {r.reasons[0]}")  # fmt: skip
            return 0
        moderator = session.scalar(select(User).where(User.name == args.moderator))
        if moderator is None or moderator.role != "admin":
            raise ModerationError(f"'{args.moderator}' is not an admin account of this platform.")
        row = moderate(session, moderator, args.derivative_id, args.action, args.reason)
        print(f"{row.id} is {row.status} now.")
        return 0
