# SPDX-License-Identifier: GPL-3.0-or-later
"""``fanfare``: the studio window, and a headless command line for users and automation.

    fanfare                                   the studio on the embedded demo platform
    fanfare studio --platform URL             the studio on a remote platform
    fanfare studio --with-admin               ... with an admin on the embedded platform
    fanfare login --platform URL --user U --password P
    fanfare tracks [--json]
    fanfare recipe init TRACK_ID [-o FILE]
    fanfare render --recipe FILE [--publish] [--title T]
    fanfare derivatives [--json] [--all]
    fanfare devices [--json] | fanfare devices revoke DEVICE_ID
    fanfare models [--track TRACK_ID] [--json]
    fanfare artist tracks [--json] | fanfare artist state TRACK_ID draft|live|paused|withdrawn
    fanfare artist policy TRACK_ID [--set FILE] [--history] [--json]
    fanfare artist publish --title T --stem KIND=FILE ... --bpm N [--key K] [--sections FILE]
        [--policy FILE]
    fanfare artist preview TRACK_ID --recipe FILE [--policy FILE] [--json]
    fanfare artist derivatives [--track ID] [--json]
    fanfare artist review DERIVATIVE_ID approve|refuse [--reason R]
    fanfare artist takedown DERIVATIVE_ID --reason R
    fanfare artist audit TRACK_ID [--json]
    fanfare feed [--track ID] [--json] | fanfare listen DERIVATIVE_ID [--seconds N]
    fanfare download DERIVATIVE_ID -o FILE | fanfare earnings [--json]   (app.cli_garden)
    fanfare verify FILE [--json] [--ca PEM | --platform URL]               (app.cli_verify)
    fanfare project list | save --recipe FILE -o FILE | open FILE [--check] (app.cli_project)

These command names and their JSON fields are relied on outside the code: keep them stable.
Errors are one sentence on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__, cli_garden, cli_project, cli_verify
from app.cli_steps import StepPrinter
from app.core import recipe as recipe_format
from app.core.errors import FanfareError
from app.core.files import read_json_file
from app.core.recipe import Recipe
from app.engine.realtime import guard_cpu_time
from app.studio.artist import STATES as TRACK_STATES
from app.studio.errors import NotSignedInError
from app.studio.profile import ProfileBook, StudioPaths
from app.vault.hardening import harden_process

SIGN_IN_HINT = "Run 'fanfare login --platform URL --user NAME --password PASSWORD'."

if TYPE_CHECKING:
    from app.embedded import EmbeddedPlatform
    from app.studio.session import Studio


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanfare", description="Fanfare, the fan remix studio.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")

    studio = sub.add_parser("studio", help="open the studio window")
    studio.add_argument("--platform", help="platform URL (default: the embedded demo platform)")
    studio.add_argument(
        "--with-admin",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="give the embedded platform an admin account (with the installation's password), "
        "or take it away (--no-with-admin); it has none unless asked for",
    )
    studio.add_argument("--project", type=Path, help="open this remix project (.fanfare)")

    login = sub.add_parser("login", help="sign in and enrol this device")
    login.add_argument("--platform", required=True)
    login.add_argument("--user", required=True)
    login.add_argument("--password", required=True)

    logout = sub.add_parser("logout", help="sign out of a platform")
    logout.add_argument("--platform")

    tracks = sub.add_parser("tracks", help="list the catalogue")
    tracks.add_argument("--platform")
    tracks.add_argument("--json", action="store_true", help="print a JSON array")

    recipe = sub.add_parser("recipe", help="work with recipes")
    recipe_sub = recipe.add_subparsers(dest="recipe_command", required=True)
    init = recipe_sub.add_parser("init", help="write a default recipe for a track")
    init.add_argument("track_id")
    init.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    init.add_argument("--platform")

    render = sub.add_parser("render", help="render a recipe in memory (and publish it)")
    render.add_argument("--recipe", type=Path, required=True)
    render.add_argument("--publish", action="store_true", help="upload it to the platform")
    render.add_argument("--title", help="the derivative's title (default: the recipe's)")
    render.add_argument("--platform")

    devices = sub.add_parser("devices", help="list this account's devices, or revoke one")
    devices.add_argument("--platform")
    devices.add_argument("--json", action="store_true")
    devices_sub = devices.add_subparsers(dest="devices_command")
    revoke = devices_sub.add_parser("revoke", help="revoke a device and its licences")
    revoke.add_argument("device_id")

    models = sub.add_parser(
        "models", help="list the style models offered, and which your licences allow"
    )
    models.add_argument("--platform")
    models.add_argument("--track", help="only this track's licence (default: every track)")
    models.add_argument("--json", action="store_true", help="print a JSON array")

    artist = sub.add_parser("artist", help="an artist's tracks: where each stands, and its history")
    artist.add_argument("--platform")
    artist_sub = artist.add_subparsers(dest="artist_command", required=True)
    own = artist_sub.add_parser("tracks", help="my tracks, whatever their state")
    own.add_argument("--json", action="store_true", help="print a JSON array")
    state = artist_sub.add_parser("state", help="move a track to draft, live, paused or withdrawn")
    state.add_argument("track_id")
    state.add_argument("state", choices=TRACK_STATES)
    policy = artist_sub.add_parser(
        "policy", help="show a track's policy, or save a new version of it from a JSON file"
    )
    policy.add_argument("track_id")
    policy.add_argument("--set", type=Path, metavar="FILE", help="the policy to save (JSON)")
    policy.add_argument("--history", action="store_true", help="every version, oldest first")
    policy.add_argument("--json", action="store_true", help="print JSON")
    publish = artist_sub.add_parser(
        "publish", help="upload a track from stem files (resumable), as a draft"
    )
    publish.add_argument("--title", required=True)
    publish.add_argument(
        "--stem", action="append", required=True, metavar="KIND=FILE",
        help="one stem: its kind (drums, bass, vocals...) and its WAV, FLAC, OGG or AIFF file",
    )  # fmt: skip
    publish.add_argument("--bpm", type=float, required=True)
    publish.add_argument("--key", default="unknown", help='e.g. "A minor"')
    publish.add_argument("--time-signature", default="4/4")
    publish.add_argument("--sections", type=Path, help="JSON: [{name, start_s, end_s}, ...]")
    publish.add_argument("--policy", type=Path, help="JSON policy (default: the protective one)")
    preview = artist_sub.add_parser(
        "preview", help="what a fan would be refused for a recipe, under a draft policy"
    )
    preview.add_argument("track_id")
    preview.add_argument("--recipe", type=Path, required=True, help="a fan's recipe (JSON)")
    preview.add_argument("--policy", type=Path, help="the draft (default: the policy now)")
    preview.add_argument("--json", action="store_true", help="print JSON")
    remixes = artist_sub.add_parser("derivatives", help="the remixes fans made of my tracks")
    remixes.add_argument("--track", help="only this track's")
    remixes.add_argument("--json", action="store_true", help="print a JSON array")
    review = artist_sub.add_parser("review", help="approve or refuse a remix waiting for review")
    review.add_argument("derivative_id")
    review.add_argument("decision", choices=("approve", "refuse"))
    review.add_argument("--reason", default="", help="why (the fan sees it; needed to refuse)")
    takedown = artist_sub.add_parser("takedown", help="take a remix down, saying why")
    takedown.add_argument("derivative_id")
    takedown.add_argument("--reason", required=True, help="why (the fan sees it)")
    history = artist_sub.add_parser("audit", help="every change to a track, oldest first")
    history.add_argument("track_id")
    history.add_argument("--json", action="store_true", help="print a JSON array")

    derivatives = sub.add_parser("derivatives", help="list my published derivatives")
    derivatives.add_argument("--platform")
    derivatives.add_argument("--json", action="store_true")
    derivatives.add_argument("--all", action="store_true", help="everyone's published ones")
    cli_garden.add_commands(sub)
    cli_project.add_commands(sub)
    cli_verify.add_command(sub)
    return parser


def _open_studio(url: str, paths: StudioPaths | None = None) -> Studio:
    # The engine and its libraries load here, not at start: the window shows before them.
    from app.studio.session import Studio

    return Studio(url, paths=paths)


def _studio(url: str | None) -> Studio:
    """The studio on ``url``, else on the platform this user last signed in to; on the
    embedded demo platform when that is the one (or there is none yet): the window's own if
    it is open, else started in this process for the command (``_EMBEDDED``)."""
    paths = StudioPaths.default()
    url = url or ProfileBook(paths.profiles_file).current
    if url and url != _embedded_url(paths):
        return _open_studio(url, paths)
    return _embedded_studio(paths)


#: The embedded platforms this command started (stopped when it ends).
_EMBEDDED: list[EmbeddedPlatform] = []


def _embedded_url(paths: StudioPaths) -> str:
    from app.embedded_socket import private_socket_path, socket_url

    return socket_url(private_socket_path(paths.embedded_platform_dir))


def _embedded_studio(paths: StudioPaths) -> Studio:
    """The studio on the embedded platform, signed in as the demo fan unless signed in
    already: the open window's platform when it answers, else one started here."""
    from app.embedded import EmbeddedPlatform, EmbeddedPlatformError

    embedded = EmbeddedPlatform(paths.embedded_platform_dir)
    try:
        url = embedded.start(private=True)
        _EMBEDDED.append(embedded)
    except EmbeddedPlatformError:  # the window is open: its platform answers on the socket
        url = _embedded_url(paths)
    studio = _open_studio(url, paths)
    if not studio.signed_in:
        studio.login(embedded.demo_user, embedded.demo_password)
    return studio


def _models(args: argparse.Namespace) -> int:
    models = _studio(args.platform).model_tracks(args.track)
    if args.json:
        _print_json(models)
        return 0
    if not models:
        print("This platform offers no style models.")
    for m in models:
        allowed = ", ".join(m["allowed_tracks"]) or "no track you can license"
        print(f"{m['ref']:24} {m['family']:10} {m['display_name']:14} allowed on: {allowed}")
    return 0


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _login(args: argparse.Namespace) -> int:
    studio = _open_studio(args.platform)
    profile = studio.login(args.user, args.password)
    for notice in studio.notices:
        print(notice, file=sys.stderr)
    print(
        f"Signed in to {studio.platform_name} as {profile.user_name} ({profile.role}); "
        f"this device is {profile.device_id}."
    )
    return 0


def _tracks(args: argparse.Namespace) -> int:
    tracks = _studio(args.platform).tracks()
    if args.json:
        _print_json([t.to_dict() | {"stems": list(t.stem_kinds)} for t in tracks])
        return 0
    for t in tracks:
        print(
            f"{t.id:24} {t.title} — {t.artist}  ({t.duration_s:.0f} s, {t.bpm:g} BPM, "
            f"{t.key}; stems: {', '.join(t.stem_kinds)})"
        )
    return 0


def _artist(args: argparse.Namespace) -> int:
    studio = _studio(args.platform)
    if args.artist_command == "state":
        track, revoked = studio.set_track_state(args.track_id, args.state)
        note = f"; {revoked} fan licence(s) revoked" if revoked else ""
        print(f"{track.info.id}: {track.state_words}{note}.")
        return 0
    if args.artist_command == "policy":
        return _artist_policy(studio, args)
    if args.artist_command == "preview":
        return _artist_preview(studio, args)
    if args.artist_command == "publish":
        return _artist_publish(studio, args)
    if args.artist_command in ("review", "takedown"):
        decision = args.decision if args.artist_command == "review" else "take down"
        row = studio.decide(args.derivative_id, decision, args.reason)
        print(f"{row['id']} ({row['title']} by {row['by']}): {row['status']}.")
        return 0
    if args.artist_command == "derivatives":
        ids = [args.track] if args.track else [t.info.id for t in studio.own_tracks()]
        rows = [row for track_id in ids for row in studio.track_derivatives(track_id)]
        return _print_derivatives(rows, args.json, "No remixes of your tracks yet.")
    if args.artist_command == "audit":
        entries = studio.track_audit(args.track_id)
        if args.json:
            _print_json(entries)
            return 0
        for entry in entries:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["at"]))
            old, new = json.dumps(entry["old"]), json.dumps(entry["new"])
            print(f"{when}  {entry['actor']:12} {entry['field']}: {old} -> {new}")
        return 0
    tracks = studio.own_tracks()
    if args.json:
        _print_json(
            [
                t.info.to_dict() | {"state": t.state, "required_tier": t.required_tier}
                for t in tracks
            ]
        )
        return 0
    if not tracks:
        print("You have no tracks on this platform.")
    for t in tracks:
        print(f"{t.info.id:24} {t.info.title}  ({t.state_words})")
    return 0


def _artist_publish(studio: Studio, args: argparse.Namespace) -> int:
    from app.studio.uploading import NewTrack

    stems: dict[str, Path] = {}
    for given in args.stem:
        kind, sep, file = given.partition("=")
        if not sep or not kind or not file:
            raise FanfareError(f"'{given}' is not KIND=FILE (e.g. drums=drums.wav).")
        stems[kind.strip()] = Path(file)
    new = NewTrack(
        title=args.title,
        stems=stems,
        bpm=args.bpm,
        key=args.key,
        time_signature=args.time_signature,
        sections=read_json_file(args.sections, "sections") if args.sections else [],
        policy=read_json_file(args.policy, "policy") if args.policy else None,
    )
    shown = [""]

    def progress(text: str, fraction: float) -> None:
        if text != shown[0]:
            shown[0] = text
            print(f"{text}…", file=sys.stderr)

    track = studio.upload_track(new, progress)
    for note in track.notes:
        print(f"Note: {note}", file=sys.stderr)
    print(
        f"Uploaded '{track.info.title}' as {track.info.id}: {track.state_words}. "
        f"'fanfare artist state {track.info.id} live' opens it to fans."
    )
    return 0


def _recipe_file(path: Path) -> Recipe:
    """The recipe in ``path``; FanfareError with a sentence when it cannot be read or parsed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FanfareError(f"Cannot read the recipe {path} ({exc.strerror}).") from None
    return recipe_format.loads(data)


def _artist_preview(studio: Studio, args: argparse.Namespace) -> int:
    recipe = _recipe_file(args.recipe)
    if recipe.track_id != args.track_id:
        raise FanfareError(f"The recipe is for '{recipe.track_id}', not '{args.track_id}'.")
    if args.policy is not None:
        draft = read_json_file(args.policy, "policy")
    else:
        draft = studio.own_track(args.track_id).info.policy
    track = studio.open_track(args.track_id, preview_policy=draft)
    try:
        reasons = track.refusals(recipe)
    finally:
        track.close()
    if args.json:
        _print_json({"published": not reasons, "reasons": reasons})
        return 0
    if reasons:
        print(
            f"Under this policy a fan's '{recipe.title}' would be refused: "
            + "; ".join(reasons)
            + "."
        )
    else:
        print(f"Under this policy a fan's '{recipe.title}' would be published.")
    return 0


def _artist_policy(studio: Studio, args: argparse.Namespace) -> int:
    from app.core.policy import Policy, describe_policy

    if args.history:
        versions = studio.policy_history(args.track_id)
        if args.json:
            _print_json(versions)
            return 0
        info = studio.own_track(args.track_id).info
        for v in versions:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v["created_at"]))
            summary = describe_policy(Policy.from_dict(v["policy"]), info.artist, info.stem_kinds)
            print(f"v{v['version']}  {when}  {v['by']}: {summary}")
        return 0
    if args.set is not None:
        track = studio.save_policy(args.track_id, read_json_file(args.set, "policy"))
    else:
        track = studio.own_track(args.track_id)
    if args.json:
        _print_json({"policy_version": track.policy_version, "policy": track.info.policy})
        return 0
    saved = "Saved as" if args.set is not None else "Policy"
    policy = Policy.from_dict(track.info.policy)
    summary = describe_policy(policy, track.info.artist, track.info.stem_kinds)
    print(f"{saved} version {track.policy_version} of {track.info.id}: {summary}")
    return 0


def _recipe_init(args: argparse.Namespace) -> int:
    info = _studio(args.platform).track(args.track_id)
    text = Recipe.default_for(info).to_json()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FanfareError(f"Cannot write {args.output} ({exc.strerror}).") from None
    print(f"Wrote a default recipe for '{info.title}' to {args.output}.")
    return 0


def _render(args: argparse.Namespace) -> int:
    recipe = _recipe_file(args.recipe)
    studio = _studio(args.platform)
    track = studio.open_track(recipe.track_id)
    try:
        track.apply(recipe)
        if args.publish:
            expected = track.publish_estimate()
            if expected.long:
                print(expected.sentence(), flush=True)
            steps = StepPrinter(sys.stdout)
            try:
                result = track.publish(title=args.title, progress=steps)
            except BaseException:
                steps.fail()
                raise
            print(
                f"Published derivative {result['id']} of '{track.info.title}': "
                f"status {result['status']}."
            )
            return 0
        audio = track.render()
        import numpy as np

        peak = float(np.abs(audio).max()) if audio.size else 0.0
        peak_db = 20 * np.log10(peak) if peak > 0 else float("-inf")
        print(
            f"Rendered '{recipe.title}' in memory: "
            f"{audio.shape[0] / track.info.sample_rate:.1f} s, "
            f"peak {peak_db:.1f} dBFS. Nothing was saved; add --publish to upload it."
        )
        return 0
    finally:
        track.close()


def _derivatives(args: argparse.Namespace) -> int:
    rows = _studio(args.platform).derivatives(mine=not args.all)
    return _print_derivatives(rows, args.json, "No derivatives yet.")


def _print_derivatives(rows: list[dict[str, Any]], as_json: bool, none: str) -> int:
    """Derivatives as a JSON array, or a line each (``none`` when there are none)."""
    if as_json:
        _print_json(rows)
        return 0
    if not rows:
        print(none)
    for row in rows:
        print(_derivative_line(row))
    return 0


def _derivative_line(row: dict[str, Any]) -> str:
    """One derivative in a line: id, status, title, track, maker, and why if it was stopped."""
    why = f" — {row['reason']}" if row.get("reason") else ""
    return (
        f"{row['id']}  {row['status']:15} {row['title']}  (of {row['track_title']}, "
        f"by {row['by']}){why}"
    )


def _devices(args: argparse.Namespace) -> int:
    studio = _studio(args.platform)
    if args.devices_command == "revoke":
        result = studio.revoke_device(args.device_id)
        print(f"Revoked {result['device_id']} and {result['licences_revoked']} licence(s).")
        return 0
    rows = studio.devices()
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        this = "  (this device)" if row["device_id"] == studio.profile.device_id else ""
        state = "revoked" if row["revoked"] else "active"
        keys = f"keys {row.get('security_level', 'file')}"
        print(f"{row['device_id']}  {state:8} {keys:12} {row['name']}{this}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    studio = _studio(args.platform)
    studio.logout()
    print(f"Signed out of {studio.platform_name}.")
    return 0


def _window(args: argparse.Namespace) -> int:
    # Qt and the platform server load only for the window.
    from app.ui.application import Connection, run_studio

    url = getattr(args, "platform", None)
    project = getattr(args, "project", None)
    if url:
        return run_studio(lambda: Connection(url), project=project)
    started: list[EmbeddedPlatform] = []

    def start() -> Connection:  # on the connecting worker, after the window has shown
        from app.embedded import EmbeddedPlatform

        embedded = EmbeddedPlatform(
            StudioPaths.default().embedded_platform_dir,
            with_admin=getattr(args, "with_admin", None),
        )
        started.append(embedded)
        # On a socket only this user can reach, signed in with this installation's password.
        url = embedded.start(private=True)
        return Connection(
            url, embedded.demo_user, embedded.demo_password, shared_accounts=embedded.accounts
        )

    try:
        return run_studio(start, project=project)
    finally:
        for embedded in started:
            embedded.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Decoded stems will live in this process: keep them out of core dumps and debuggers.
    harden_process()
    # A real-time audio thread that runs too long is demoted, not killed with the studio
    # (installed here: tracks open on workers, and only the main thread may set a handler).
    guard_cpu_time()
    handlers: dict[str | None, Any] = {
        None: _window,
        "studio": _window,
        "login": _login,
        "logout": _logout,
        "tracks": _tracks,
        "recipe": _recipe_init,
        "render": _render,
        "derivatives": _derivatives,
        "devices": _devices,
        "artist": _artist,
        "models": _models,
        **cli_garden.HANDLERS,
        "project": cli_project.run,
        "verify": cli_verify.run,
    }
    try:
        return handlers[args.command](args)
    except NotSignedInError as exc:  # the studio's sentence, and how to sign in from here
        print(f"fanfare: {exc} {SIGN_IN_HINT}", file=sys.stderr)
        return 1
    except FanfareError as exc:
        print(f"fanfare: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: a sentence, not a traceback
        print(f"fanfare: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        while _EMBEDDED:
            _EMBEDDED.pop().stop()


if __name__ == "__main__":
    sys.exit(main())
