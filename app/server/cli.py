# SPDX-License-Identifier: GPL-3.0-or-later
"""``fanfare-platform``: run and administer a Fanfare platform.

    fanfare-platform serve --data DIR [--host 127.0.0.1] [--port N] [--database-url URL]
    fanfare-platform migrate --data DIR [--database-url URL] [--status]
    fanfare-platform worker --data DIR --database-url URL [--blob-store URL] [--concurrency N]
    fanfare-platform users add NAME --role fan|artist|admin --password P [--data DIR]
    fanfare-platform publish --data DIR --artist NAME --title T --stem KIND=PATH ...
                             [--bpm N] [--key K] [--policy FILE]
    fanfare-platform seed-demo --data DIR
    fanfare-platform trace FILE --data DIR [--json]

Every command reads the data folder from ``$FANFARE_PLATFORM_DATA`` and the database from
``$FANFARE_DATABASE_URL`` when their options are not given (what ``platform-stack up`` prints).
Errors are one sentence on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import __version__
from app.core.errors import FanfareError
from app.core.files import read_json_file
from app.server import cli_moderation, schema
from app.server.accounts import AccountError, create_user
from app.server.blobs import open_blobs
from app.server.config import ConfigError, ServerConfig
from app.server.db import User, make_engine
from app.server.demo import seed_demo
from app.server.fingerprint_index import MIN_TRACE_S, FingerprintIndex, Trace, describe, trace
from app.server.fingerprints import read_audio_file
from app.server.ingest import SourceStem, publish_track
from app.server.moderation import ModerationError
from app.server.schema import SchemaError, database
from app.server.style_models import listing, register_model
from app.server.tracing import identify_listener
from app.server.vaultkeys import Signer, rotate_signing_key

DATA_ENV = "FANFARE_PLATFORM_DATA"
DATABASE_ENV = "FANFARE_DATABASE_URL"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanfare-platform", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_arg(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument(
            "--data",
            type=Path,
            required=required and DATA_ENV not in os.environ,
            default=os.environ.get(DATA_ENV),
            help=f"the platform's data folder (or ${DATA_ENV})",
        )
        p.add_argument(
            "--database-url",
            default=os.environ.get(DATABASE_ENV) or None,
            help=f"SQLAlchemy URL (or ${DATABASE_ENV}; default: SQLite in the data folder)",
        )

    serve = sub.add_parser("serve", help="run the platform's HTTP API")
    data_arg(serve, True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--seed-demo", action="store_true", help="seed an empty platform")
    serve.add_argument(
        "--blob-store",
        help="an S3 object store's URL for the blobs (or $FANFARE_BLOB_STORE; "
        "default: the data folder's blobs/)",
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="API worker processes (e.g. one per core)"
    )

    worker = sub.add_parser(
        "worker", help="run uploads' verification jobs (a platform on PostgreSQL)"
    )
    data_arg(worker, True)
    worker.add_argument("--blob-store", help="the object store's URL (or $FANFARE_BLOB_STORE)")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="jobs at once (a re-render uses every core: add processes on other machines)",
    )

    migrate = sub.add_parser("migrate", help="bring the database's schema to this release's")
    data_arg(migrate, True)
    migrate.add_argument(
        "--status",
        action="store_true",
        help="only say where the schema is (exit status 1: it needs migrating)",
    )

    users = sub.add_parser("users", help="manage accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", choices=["fan", "artist", "admin"], required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--tier", choices=["free", "superfan"], default="free")
    data_arg(add, True)

    publish = sub.add_parser("publish", help="ingest stems as a track")
    data_arg(publish, True)
    publish.add_argument("--artist", required=True, help="the artist's user name")
    publish.add_argument("--title", required=True)
    publish.add_argument("--stem", action="append", required=True, metavar="KIND=PATH")
    publish.add_argument("--bpm", type=float, default=120.0)
    publish.add_argument("--key", default="C major")
    publish.add_argument("--time-signature", default="4/4")
    publish.add_argument("--policy", type=Path, help="a policy JSON file")
    publish.add_argument("--sections", type=Path, help="a JSON file: [{name, start_s, end_s}]")
    publish.add_argument("--track-id", help="publish a new version of this track")

    keys = sub.add_parser("keys", help="manage the licence-signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="sign new licences with a new key")
    data_arg(rotate, True)

    models = sub.add_parser("models", help="manage the style models the platform offers")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_add = models_sub.add_parser("add", help="check, sign and offer a model package")
    models_add.add_argument("folder", type=Path, help="a folder with manifest.json and its files")
    data_arg(models_add, True)
    data_arg(models_sub.add_parser("list", help="the models offered"), True)
    seed = sub.add_parser("seed-demo", help="seed an empty platform with the demo catalogue")
    data_arg(seed, True)
    tracing = sub.add_parser(
        "trace",
        help="name the track or remix a recording comes from (exit status 1: none found)",
    )
    tracing.add_argument(
        "file", type=Path, help=f"WAV, FLAC, OGG or MP3, {MIN_TRACE_S:g} s or more"
    )
    tracing.add_argument("--json", action="store_true", help="print the finding as JSON")
    data_arg(tracing, True)
    cli_moderation.add_commands(sub, data_arg)
    return parser


def _config(args: argparse.Namespace) -> ServerConfig:
    store = getattr(args, "blob_store", None)
    extra = {"blob_store": store} if store else {}
    return ServerConfig.load(Path(args.data), args.database_url, **extra)


def _read_json(path: Path | None, what: str) -> object:
    return read_json_file(path, what) if path is not None else None


def _serve(args: argparse.Namespace) -> int:
    # Only `serve` needs the web stack (and, through upload checks, the engine): the other
    # commands start without importing it. Nothing here breaks an import cycle.
    import uvicorn

    from app.server import asgi
    from app.server.api import create_app

    config = _config(args)
    if args.seed_demo:
        _seed(config)
    create_app(config)  # creates the tables and keys once, before any worker starts
    print(f"Fanfare platform on http://{args.host}:{args.port} (data: {config.data_dir})")
    if args.workers > 1:
        os.environ[asgi.DATA_ENV] = str(config.data_dir)
        if args.database_url:
            os.environ[asgi.DATABASE_ENV] = args.database_url
        if config.blob_store:  # each worker's ServerConfig.load reads it
            os.environ["FANFARE_BLOB_STORE"] = config.blob_store
        uvicorn.run(
            "app.server.asgi:create",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            **config.proxy_settings(),
        )
        return 0
    app = create_app(config)
    asgi.freeze_start_up()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        **config.proxy_settings(),
    )
    return 0


#: How long a job worker waits before it tries its database again, in seconds.
WORKER_RETRY_S = 2.0


def _worker(args: argparse.Namespace) -> int:
    """Run jobs until stopped (SIGTERM, SIGINT). A database that is away (not started yet,
    restarting, failing over) is waited for, at start and whenever it goes, as a service
    manager would otherwise restart the worker."""
    import time

    import psycopg
    from procrastinate.exceptions import ConnectorException
    from sqlalchemy.exc import OperationalError

    from app.server.api import build_platform  # the worker needs the whole platform
    from app.server.job_queue import ProcrastinateQueue

    config = _config(args)
    while True:
        try:
            platform, engine = build_platform(config, runs_jobs=True)
        except OperationalError as exc:
            _away(exc, "at start")
            time.sleep(WORKER_RETRY_S)
            continue
        assert isinstance(platform.jobs, ProcrastinateQueue)
        where = engine.url.render_as_string()
        print(f"Fanfare job worker on {where} ({args.concurrency} at once)", flush=True)
        try:
            if platform.jobs.run_worker(concurrency=max(1, args.concurrency)):
                return 0  # stopped: the job under way finished first
            _away(None, "while working")
        except (ConnectorException, OperationalError, psycopg.OperationalError) as exc:
            _away(exc, "while working")
        finally:
            engine.dispose()
        time.sleep(WORKER_RETRY_S)


def _away(exc: Exception | None, when: str) -> None:
    said = str(exc or "").strip()
    first = f" ({said.splitlines()[0]})" if said else ""
    print(
        f"fanfare-platform worker: the database is not answering {when}{first}; "
        f"trying again in {WORKER_RETRY_S:g} s.",
        file=sys.stderr,
        flush=True,
    )


def _migrate(args: argparse.Namespace) -> int:
    config = _config(args)
    engine = make_engine(config.database_url)
    try:
        if args.status:
            at, newest = schema.current(engine), schema.head()
            print(f"The schema is at revision {at or 'none'}; this release's is {newest}.")
            return 0 if at == newest else 1
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"The schema is at revision {after} already.")
    else:
        print(f"Migrated the schema from revision {before or 'none'} to {after}.")
    return 0


def _seed(config: ServerConfig) -> bool:
    with database(config.database_url) as sessions, sessions() as session:
        Signer.load_or_create(session, config.master_key)
        return seed_demo(session, open_blobs(config), config.master_key)


def _users_add(args: argparse.Namespace) -> int:
    config = _config(args)
    with database(config.database_url) as sessions, sessions() as session:
        user = create_user(
            session, args.name, args.role, args.password, args.display_name, args.tier
        )
    print(f"Added {user.role} '{user.name}'.")
    return 0


def _publish(args: argparse.Namespace) -> int:
    config = _config(args)
    sources = []
    for spec in args.stem:
        kind, sep, path = spec.partition("=")
        if not sep or not kind or not path:
            raise FanfareError(f"'{spec}' is not KIND=PATH (for example drums=drums.wav).")
        sources.append(SourceStem(kind.strip(), Path(path)))
    policy = _read_json(args.policy, "policy")
    sections = _read_json(args.sections, "sections")
    if policy is not None and not isinstance(policy, dict):
        raise FanfareError("The policy file must hold a JSON object.")
    if sections is not None and not isinstance(sections, list):
        raise FanfareError("The sections file must hold a JSON array.")
    with database(config.database_url) as sessions, sessions() as session:
        artist = session.scalar(select(User).where(User.name == args.artist))
        if artist is None:
            raise FanfareError(f"There is no user '{args.artist}'.")
        track = publish_track(
            session,
            open_blobs(config),
            config.master_key,
            artist=artist,
            title=args.title,
            sources=sources,
            bpm=args.bpm,
            key=args.key,
            time_signature=args.time_signature,
            sections=sections,
            policy=policy,
            track_id=args.track_id,
        )
        print(
            f"Published '{track.title}' as {track.id} v{track.version} "
            f"({len(sources)} stems, {track.frames / track.sample_rate:.1f} s)."
        )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    config = _config(args)
    with database(config.database_url) as sessions, sessions() as session:
        kid = rotate_signing_key(session, config.master_key)
    print(f"New licences are signed with {kid}; restart the API workers to use it.")
    return 0


def _models(args: argparse.Namespace) -> int:
    config = _config(args)
    with database(config.database_url) as sessions, sessions() as session:
        if args.models_command == "add":
            signer = Signer.load_or_create(session, config.master_key)
            row = register_model(session, open_blobs(config), signer, args.folder)
            print(f"Offering {row.ref} ({row.family}); its manifest is signed with {signer.kid}.")
            return 0
        for model in listing(session):
            print(f"{model['ref']:28} {model['family']:10} {model['display_name']}")
    return 0


def _trace(args: argparse.Namespace) -> int:
    config = _config(args)
    audio, rate = read_audio_file(args.file)
    with database(config.database_url) as sessions:
        found = trace(FingerprintIndex(sessions), audio, rate)
        if found is None:
            doc: dict[str, object] = {
                "found": False,
                "sentence": f"{args.file.name} matches no track or remix on this platform.",
            }
        else:
            with sessions() as session:
                doc = {"found": True, **describe(session, found)}
                doc["watermark"] = _watermark(session, config, audio, rate, found)
            doc["sentence"] = f"{doc['sentence']} {_listeners_sentence(doc['watermark'])}".strip()
    print(json.dumps(doc, indent=2) if args.json else doc["sentence"])
    return 0 if found is not None else 1


def _watermark(
    session: Session, config: ServerConfig, audio: np.ndarray, rate: float, found: Trace
) -> dict[str, Any] | None:
    """What the watermark of a traced remix's recording says: the listeners whose streams it
    was recorded from (``tracing.WatermarkTrace``); None for a track's own recording or a remix
    published before watermarks."""
    derivative_id = found.hit.entry.derivative_id
    if derivative_id is None:
        return None
    reading = identify_listener(
        session, open_blobs(config), config.master_key, derivative_id, audio, int(rate)
    )
    return None if reading is None else reading.to_dict()


def _listeners_sentence(watermark: Any) -> str:
    if not watermark:
        return ""
    named = watermark["listeners"]
    if not named:
        return (
            f"Its watermark ({watermark['bits']} bits read) names no listener of this remix "
            "with confidence."
        )
    if len(named) == 1:
        return f"It was recorded from the stream of {named[0]['sentence']}"
    return "It mixes the streams of " + " and of ".join(n["sentence"] for n in named)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "migrate":
            return _migrate(args)
        if args.command == "worker":
            return _worker(args)
        if args.command == "users":
            return _users_add(args)
        if args.command == "publish":
            return _publish(args)
        if args.command == "keys":
            return _rotate(args)
        if args.command == "models":
            return _models(args)
        if args.command == "trace":
            return _trace(args)
        if args.command in ("moderation", "metrics"):
            return cli_moderation.run(args, _config)
        seeded = _seed(_config(args))
        print("Seeded the demo catalogue." if seeded else "The platform already has accounts.")
        return 0
    except (FanfareError, AccountError, ConfigError, ModerationError, SchemaError) as exc:
        print(f"fanfare-platform: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
