# SPDX-License-Identifier: GPL-3.0-or-later
"""``fanfare project``: remix projects from the command line.

    fanfare project list [--json]                 saved and unsaved projects on this machine,
                                                  and the account's drafts on the platform
    fanfare project save --recipe FILE -o FILE [--project FILE]
                                                  a project holding a recipe
    fanfare project open FILE [--check [--json]] [--platform URL]
                                                  the studio window on it, or (--check) what
                                                  opening it would say (the track changed
                                                  since?), printed

A project holds a recipe and the window's place, never audio (``app.core.project``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from app.core import recipe as recipe_format
from app.core.errors import FanfareError
from app.core.project import Project, new_project_id, retarget
from app.studio.profile import ProfileBook, StudioPaths
from app.studio.projects import ProjectStore


def add_commands(sub: Any) -> None:
    """Add ``project`` to ``fanfare``'s subparsers (its handler: ``HANDLERS``)."""
    project = sub.add_parser("project", help="remix projects: list, save, open")
    commands = project.add_subparsers(dest="project_command", required=True)
    listing = commands.add_parser(
        "list", help="saved and unsaved projects on this machine, and drafts on the platform"
    )
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--platform", help="platform URL (default: the one signed in to)")
    save = commands.add_parser("save", help="write a project holding a recipe")
    save.add_argument("--recipe", required=True, type=Path, help="the recipe (JSON)")
    save.add_argument("-o", "--output", required=True, type=Path, help="the .fanfare file")
    save.add_argument(
        "--project", type=Path, help="a project to update: its id, place and loop are kept"
    )
    opening = commands.add_parser("open", help="open a project in the studio window")
    opening.add_argument("file", type=Path)
    opening.add_argument(
        "--check", action="store_true", help="print what opening it would say, and stop"
    )
    opening.add_argument("--platform", help="platform URL (default: the embedded one)")
    opening.add_argument("--json", action="store_true", help="with --check: print JSON")


def _store() -> ProjectStore:
    return ProjectStore(StudioPaths.default())


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "never"


def _list(args: argparse.Namespace) -> int:
    store = _store()
    saved = store.recent()
    unsaved = store.unsaved()
    from app.cli import _studio

    try:
        drafts = _studio(args.platform).drafts()
        unreachable = ""
    except FanfareError as exc:
        drafts, unreachable = [], str(exc)
    if args.json:
        print(
            json.dumps(
                {
                    "saved": [
                        {
                            "path": str(r.path), "id": r.project_id, "title": r.title,
                            "track_title": r.track_title, "saved_at": r.saved_at,
                        }
                        for r in saved
                    ],
                    "unsaved": [
                        {
                            "id": u.project.id, "title": u.project.title,
                            "track_title": u.project.track_title,
                            "last_saved_to": str(u.path) if u.path else None,
                            "autosave": str(u.autosave),
                        }
                        for u in unsaved
                    ],
                    "drafts": drafts,
                },
                indent=2,
            )
        )  # fmt: skip
        return 0
    if not saved and not unsaved and not drafts:
        print("No remix projects yet: File ▸ Save in the studio makes one.")
    for r in saved:
        print(f"{_when(r.saved_at)}  {r.title} — {r.track_title}  ({r.path})")
    for u in unsaved:
        where = f", last saved to {u.path}" if u.path else ", never saved"
        print(
            f"unsaved           {u.project.title} — {u.project.track_title}{where}; the studio "
            "offers to restore it when it starts"
        )
    for d in drafts:
        made = ", ".join(f"{r['title']} ({r['status']})" for r in d["remixes"]) or "nothing yet"
        print(f"{_when(d['updated_at'])}  {d['title']} — {d['track_title']}  (on the platform; "
              f"published: {made})")  # fmt: skip
    if unreachable:
        print(f"Drafts on the platform not listed: {unreachable}")
    return 0


def _save(args: argparse.Namespace) -> int:
    try:
        recipe = recipe_format.loads(args.recipe.read_bytes())
    except OSError as exc:
        raise FanfareError(f"Cannot read the recipe {args.recipe} ({exc.strerror}).") from None
    store = _store()
    if args.project is not None:
        base = store.open(args.project)
        if base.recipe.track_id != recipe.track_id:
            raise FanfareError(
                f"{args.project.name} is a remix of '{base.recipe.track_id}', and this recipe "
                f"of '{recipe.track_id}'."
            )
        project = base.with_changes(recipe=recipe)
    else:
        account = ProfileBook(StudioPaths.default().profiles_file)
        current = account.get(account.current) if account.current else None
        project = Project(
            id=new_project_id(), recipe=recipe, account=current.user_name if current else ""
        )
    saved = store.save(project, args.output)
    print(f"Saved “{saved.title}” ({saved.recipe.track_id}) to {args.output}.")
    return 0


def _open(args: argparse.Namespace) -> int:
    store = _store()
    project = store.open(args.file)
    if not args.check:
        from app.cli import _window

        return int(_window(argparse.Namespace(platform=args.platform, project=args.file)))
    notes: list[str] = []
    from app.cli import _studio

    try:
        info = _studio(args.platform).track(project.recipe.track_id)
    except FanfareError as exc:
        notes.append(f"Not checked against the platform: {exc}")
    else:
        recipe, notes = retarget(project.recipe, info)
        recipe.check_fits(info)
    doc = {
        "id": project.id,
        "title": project.title,
        "track": project.recipe.track_id,
        "track_version": project.recipe.track_version,
        "account": project.account,
        "saved_at": project.saved_at,
        "notes": notes,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(
            f"“{project.title}”, a remix of {project.recipe.track_id} (version "
            f"{project.recipe.track_version}) by {project.account or 'an unnamed account'}, "
            f"saved {_when(project.saved_at)}."
        )
        for line in notes:
            print(f"Note: {line}")
    return 0


def run(args: argparse.Namespace) -> int:
    handlers = {"list": _list, "save": _save, "open": _open}
    return handlers[args.project_command](args)
