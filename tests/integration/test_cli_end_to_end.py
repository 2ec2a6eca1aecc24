# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole path as a user drives it: `fanfare-platform serve` as its own process on loopback,
and the `fanfare` command line signing in, listing, rendering, publishing and reading back."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.credentials import strip_store
from app.server.stack.processes import StackError, wait_for_api

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Run a test on both: the embedded default, and the stack (each path through the platform's
#: rows and blobs once more there; the rest of the module runs on the embedded default).
on_both = pytest.mark.parametrize("platform_url", ["embedded", "stack"], indirect=True)


@pytest.fixture
def platform_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """``fanfare-platform serve`` over a fresh copy of the seeded demo platform: on the
    embedded default (SQLite and a blob folder), or on the stack (PostgreSQL and the S3 object
    store, both real servers on loopback, and a job worker)."""
    port = _free_port()
    log = tmp_path / "platform.log"
    where_to = getattr(request, "param", "embedded")
    if where_to == "embedded":
        data: Path = request.getfixturevalue("platform_dir")
        where = ["--data", str(data)]
    else:
        data, database, store = request.getfixturevalue("stack_platform")
        where = ["--data", str(data), "--database-url", database, "--blob-store", store]
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(BIN / "fanfare-platform"), "serve", *where, "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        # On PostgreSQL, uploads are verified by a job worker beside the API.
        worker = (
            subprocess.Popen(
                [str(BIN / "fanfare-platform"), "worker", *where],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            if where_to == "stack"
            else None
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, server, log, timeout_s=60)
    except StackError as exc:
        server.kill()
        pytest.fail(str(exc))
    yield url
    for process in (server, worker):
        if process is not None:
            process.terminate()
            process.wait(timeout=30)


def fanfare(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "fanfare"), *args], capture_output=True, text=True, timeout=120, env=os.environ
    )
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one sentence
    return result


@on_both
def test_sign_in_render_publish_and_read_back(platform_url: str, tmp_path: Path) -> None:
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    tracks = json.loads(fanfare("tracks", "--json").stdout)
    assert {t["id"] for t in tracks} == {"neon-harbour", "paper-moons", "copper-wire"}
    assert all(t["title"] and len(t["stems"]) >= 4 for t in tracks)

    recipe_path = tmp_path / "remix.json"
    fanfare("recipe", "init", "copper-wire", "-o", str(recipe_path))
    recipe = json.loads(recipe_path.read_text())
    recipe["title"] = "Copper, dub"
    recipe["stems"]["drums"]["gain_db"] = -4.0
    recipe["stems"]["guitar"]["mute"] = True
    recipe["stems"]["keys"]["mute"] = True
    recipe["stems"]["bass"]["pan"] = -0.3
    recipe_path.write_text(json.dumps(recipe))

    published = fanfare("render", "--recipe", str(recipe_path), "--publish").stdout
    assert "status published" in published
    derivative_id = published.split("derivative ")[1].split()[0]
    # Not a terminal: a line per step, begun when it starts and ended when it ends.
    lines = published.splitlines()
    assert [re.sub(r" \(\d+\.\d s\)$", "", line) for line in lines[:3]] == [
        "Rendering… done",
        "Uploading… done",
        "Verifying on the platform… done",
    ], published
    assert lines[3].startswith("Published derivative") and len(lines) == 4

    rows = json.loads(fanfare("derivatives", "--json").stdout)
    assert [(r["id"], r["track_id"], r["status"]) for r in rows] == [
        (derivative_id, "copper-wire", "published")
    ]
    assert rows[0]["title"] == "Copper, dub"
    assert rows[0]["disclosure"]["stems_used"] == ["drums", "bass", "lead"]
    devices = json.loads(fanfare("devices", "--json").stdout)
    assert [d["revoked"] for d in devices] == [False]
    # A dry render says what it would publish and saves nothing.
    dry = fanfare("render", "--recipe", str(recipe_path)).stdout
    assert "Nothing was saved" in dry


def verdict(path: Path) -> str:
    """``fanfare verify`` of a file whose credentials do not stand: exit status 1, the verdict
    on stdout."""
    result = subprocess.run(
        [str(BIN / "fanfare"), "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


@on_both
def test_the_garden_from_the_command_line(platform_url: str, tmp_path: Path) -> None:
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    made = {}
    for track in ("neon-harbour", "copper-wire"):  # walled, then open
        recipe_path = tmp_path / f"{track}.json"
        fanfare("recipe", "init", track, "-o", str(recipe_path))
        recipe = json.loads(recipe_path.read_text())
        recipe["title"] = f"{track} intro"
        recipe["arrangement"] = {"sections": [{"section": 0}]}
        recipe["stems"]["drums"]["gain_db"] = -4.0
        recipe["stems"]["keys"]["mute"] = True  # a remix, not the original's intro
        recipe_path.write_text(json.dumps(recipe))
        published = fanfare("render", "--recipe", str(recipe_path), "--publish").stdout
        made[track] = published.split("derivative ")[1].split()[0]

    fanfare("login", "--platform", platform_url, "--user", "fan2", "--password", "fanfare-demo")
    page = json.loads(fanfare("feed", "--json").stdout)
    walled = {i["id"]: i["walled"] for i in page["items"]}
    assert walled == {made["neon-harbour"]: True, made["copper-wire"]: False}
    only = json.loads(fanfare("feed", "--track", "copper-wire", "--json").stdout)["items"]
    assert [i["id"] for i in only] == [made["copper-wire"]]
    assert only[0]["disclosure"]["source"]["title"] == "Copper Wire"
    listed = fanfare("feed").stdout
    assert "copper-wire intro — by fan" in listed and "Stems heard:" in listed

    if os.environ.get("FANFARE_REQUIRE_DEVICE") == "1":  # scripts/test's null sink
        heard = fanfare("listen", made["neon-harbour"], "--seconds", "1.5").stdout
        assert "neon-harbour intro — by fan" in heard and re.search(r"Heard [12] s\.", heard)
    refused = fanfare("download", made["neon-harbour"], "-o", str(tmp_path / "w.flac"), ok=False)
    assert "walled" in refused.stderr and not (tmp_path / "w.flac").exists()
    saved = fanfare("download", made["copper-wire"], "-o", str(tmp_path / "open.flac")).stdout
    assert "with its record" in saved and (tmp_path / "open.flac").read_bytes()[:3] == b"ID3"
    # Its Content Credentials: the platform's over the fan's, read by anyone signed in.
    told = fanfare("verify", str(tmp_path / "open.flac")).stdout
    for words in (
        "valid and trusted",
        "Published by Fanfare",
        "re-rendering its recipe",
        "Made by fan ",
        "Copper Wire (version 1) by Marlow Reed",
        "No AI was used",
    ):
        assert words in told, told  # fmt: skip
    doc = json.loads(fanfare("verify", str(tmp_path / "open.flac"), "--json").stdout)
    assert doc["trusted"] and doc["manifests"] == 2
    assert doc["publisher"]["verification"]["derivative"] == made["copper-wire"]
    assert doc["made"]["ai"] == {"used": False, "models": [], "source_types": [
        "http://cv.iptc.org/newscodes/digitalsourcetype/humanEdits"]}  # fmt: skip
    data = (tmp_path / "open.flac").read_bytes()
    (tmp_path / "edited.flac").write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    edited = verdict(tmp_path / "edited.flac")
    assert "not valid" in edited and "changed after it was signed" in edited
    (tmp_path / "bare.flac").write_bytes(strip_store(data))
    assert "carries no Content Credentials" in verdict(tmp_path / "bare.flac")
    statement = json.loads(fanfare("earnings", "--json").stdout)
    assert (statement["total_micro"], statement["derivatives"]) == (0, [])
    assert "a play counts after 30 s" in fanfare("earnings").stdout


def test_refusals_are_one_clear_sentence(platform_url: str, tmp_path: Path) -> None:
    wrong = fanfare(
        "login", "--platform", platform_url, "--user", "fan", "--password", "nope1234", ok=False
    )
    assert "user name or password is wrong" in wrong.stderr
    # Signed in nowhere yet: the command runs on the embedded demo platform, in this process,
    # as the window does (no studio open, no port of one that has closed).
    demo = json.loads(fanfare("tracks", "--json").stdout)
    assert {t["id"] for t in demo} == {"neon-harbour", "paper-moons", "copper-wire"}
    not_signed_in = fanfare("tracks", "--platform", platform_url, ok=False)
    assert "not signed in" in not_signed_in.stderr
    assert "fanfare login --platform URL" in not_signed_in.stderr  # how, from here

    unreachable = fanfare(
        "login",
        "--platform",
        "http://127.0.0.1:9",
        "--user",
        "fan",
        "--password",
        "fanfare-demo",
        ok=False,
    )
    assert "cannot be reached" in unreachable.stderr

    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    assert "no track" in fanfare("recipe", "init", "no-such-song", ok=False).stderr

    recipe_path = tmp_path / "solo.json"
    fanfare("recipe", "init", "neon-harbour", "-o", str(recipe_path))
    recipe = json.loads(recipe_path.read_text())
    recipe["stems"]["lead"]["solo"] = True
    recipe_path.write_text(json.dumps(recipe))
    refused = fanfare("render", "--recipe", str(recipe_path), "--publish", ok=False)
    assert "lead stem may not be soloed" in refused.stderr

    recipe["stems"]["lead"]["solo"] = False
    recipe["version"] = 99
    recipe_path.write_text(json.dumps(recipe))
    assert "newer Fanfare" in fanfare("render", "--recipe", str(recipe_path), ok=False).stderr
    missing = fanfare("render", "--recipe", str(tmp_path / "nope.json"), ok=False)
    assert "Cannot read the recipe" in missing.stderr
    assert json.loads(fanfare("derivatives", "--json").stdout) == []


def test_models_are_listed_and_a_styled_recipe_publishes(platform_url: str, tmp_path: Path) -> None:
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    models = {m["id"]: m for m in json.loads(fanfare("models", "--json").stdout)}
    assert {"timbre.violin", "character.tape", "character.tube"} <= set(models)
    assert models["timbre.violin"]["family"] == "timbre"
    assert models["timbre.violin"]["version"] == 1
    assert sorted(models["timbre.violin"]["allowed_tracks"]) == ["neon-harbour", "paper-moons"]
    listing = fanfare("models", "--track", "copper-wire").stdout
    assert "timbre.violin@1" in listing and "no track you can license" in listing

    recipe_path = tmp_path / "violin.json"
    fanfare("recipe", "init", "paper-moons", "-o", str(recipe_path))
    recipe = json.loads(recipe_path.read_text())
    recipe["title"] = "Moons on strings"
    recipe["stems"]["lead"]["style"] = {"model": "timbre.violin", "version": 1, "knobs": {}}
    recipe_path.write_text(json.dumps(recipe))
    published = fanfare("render", "--recipe", str(recipe_path), "--publish").stdout
    assert "status published" in published
    rows = json.loads(fanfare("derivatives", "--json").stdout)
    assert rows[0]["disclosure"]["ai_models"] == ["timbre.violin@1"]
    assert rows[0]["disclosure"]["styled_stems"] == {"lead": "timbre.violin@1"}

    # A knob beyond its range is one clear sentence, and nothing is published.
    recipe["stems"]["lead"]["style"]["knobs"] = {"breath": 99.0}
    recipe_path.write_text(json.dumps(recipe))
    refused = fanfare("render", "--recipe", str(recipe_path), "--publish", ok=False)
    assert "must stay within" in refused.stderr
    assert len(json.loads(fanfare("derivatives", "--json").stdout)) == 1


def test_an_unreadable_profiles_file_is_a_sentence_and_is_left_alone(
    isolated_home: Path,
) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "Fanfare").write_text("my notes, not a folder")  # a file where the folder goes
    for args in (("tracks",), ("login", "--platform", "http://127.0.0.1:9", "--user", "fan",
                               "--password", "fanfare-demo")):  # fmt: skip
        refused = fanfare(*args, ok=False)
        assert "Cannot read your sign-in profiles" in refused.stderr
    assert (config / "Fanfare").read_text() == "my notes, not a folder"


def test_the_studio_window_starts_with_the_platform_flag_as_the_readme_writes_it(
    platform_url: str,
) -> None:
    # Qt once took `--platform URL` for its own display-plugin option and aborted (rc 134).
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    window = subprocess.Popen(
        [str(BIN / "fanfare"), "studio", "--platform", platform_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        time.sleep(6.0)
        assert window.poll() is None, window.communicate()[1][-2000:]
    finally:
        window.terminate()
        window.communicate(timeout=30)


def test_an_artist_lists_pauses_and_audits_their_tracks(platform_url: str) -> None:
    fanfare(
        "login", "--platform", platform_url, "--user", "nova-lane", "--password", "fanfare-demo"
    )
    mine = json.loads(fanfare("artist", "tracks", "--json").stdout)
    assert {(t["id"], t["state"]) for t in mine} == {
        ("neon-harbour", "live"),
        ("paper-moons", "live"),
    }
    paused = fanfare("artist", "state", "paper-moons", "paused").stdout
    assert paused.strip() == "paper-moons: paused: no new remixes."
    audit = json.loads(fanfare("artist", "audit", "paper-moons", "--json").stdout)
    assert [(e["actor"], e["field"], e["old"], e["new"]) for e in audit] == [
        ("nova-lane", "state", "draft", "live"),  # the demo's seed: uploaded, then made live
        ("nova-lane", "state", "live", "paused"),
    ]
    back = fanfare("artist", "state", "paper-moons", "draft", ok=False)
    assert "cannot go back to draft" in back.stderr
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    assert fanfare("artist", "tracks").stdout.strip() == "You have no tracks on this platform."


def test_an_artist_reads_and_saves_a_policy_from_the_command_line(
    platform_url: str, tmp_path: Path
) -> None:
    fanfare(
        "login", "--platform", platform_url, "--user", "nova-lane", "--password", "fanfare-demo"
    )
    shown = fanfare("artist", "policy", "neon-harbour").stdout
    assert shown.startswith("Policy version 1 of neon-harbour: Nova Lane allows remixes: lead")
    policy = json.loads(fanfare("artist", "policy", "neon-harbour", "--json").stdout)["policy"]
    too_many = tmp_path / "six.json"
    too_many.write_text(json.dumps(policy | {"min_audible_stems": 6}))
    refused = fanfare("artist", "policy", "neon-harbour", "--set", str(too_many), ok=False)
    assert "asks for 6 stems audible, and the track has 5" in refused.stderr
    three = tmp_path / "three.json"
    three.write_text(json.dumps(policy | {"min_audible_stems": 3}))
    saved = fanfare("artist", "policy", "neon-harbour", "--set", str(three)).stdout
    assert saved.startswith("Saved as version 2 of neon-harbour:")
    assert "published with at least 3 stems" in saved
    history = json.loads(fanfare("artist", "policy", "neon-harbour", "--history", "--json").stdout)
    assert [v["version"] for v in history] == [1, 2]
    missing = fanfare(
        "artist", "policy", "neon-harbour", "--set", str(tmp_path / "no.json"), ok=False
    )
    assert "cannot be read" in missing.stderr


@on_both
def test_an_artist_takes_a_fans_remix_down_and_the_fan_reads_why(
    platform_url: str, tmp_path: Path
) -> None:
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    recipe_path = tmp_path / "remix.json"
    fanfare("recipe", "init", "paper-moons", "-o", str(recipe_path))
    recipe = json.loads(recipe_path.read_text())
    recipe["title"] = "Moons, quieter"
    recipe["stems"]["drums"]["gain_db"] = -6.0
    recipe["stems"]["bass"]["mute"] = True
    recipe_path.write_text(json.dumps(recipe))
    published = fanfare("render", "--recipe", str(recipe_path), "--publish").stdout
    derivative_id = published.split("derivative ")[1].split()[0]

    fanfare(
        "login", "--platform", platform_url, "--user", "nova-lane", "--password", "fanfare-demo"
    )
    remixes = json.loads(fanfare("artist", "derivatives", "--json").stdout)
    assert [(r["id"], r["status"], r["by"]) for r in remixes] == [
        (derivative_id, "published", "fan")
    ]
    down = fanfare("artist", "takedown", derivative_id, "--reason", "Not this one, sorry.").stdout
    assert down.strip() == f"{derivative_id} (Moons, quieter by fan): taken down."

    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    mine = fanfare("derivatives").stdout
    assert "taken down" in mine and "— Not this one, sorry." in mine


def test_an_artist_previews_a_fans_recipe_under_a_draft_policy(
    platform_url: str, tmp_path: Path
) -> None:
    fanfare(
        "login", "--platform", platform_url, "--user", "nova-lane", "--password", "fanfare-demo"
    )
    recipe_path = tmp_path / "remix.json"
    fanfare("recipe", "init", "neon-harbour", "-o", str(recipe_path))
    recipe = json.loads(recipe_path.read_text())
    recipe["title"] = "Lead and drums"
    for kind in ("bass", "keys", "pad"):
        recipe["stems"][kind]["mute"] = True
    recipe_path.write_text(json.dumps(recipe))
    # Under the live policy (two stems audible), it would be published...
    now = fanfare("artist", "preview", "neon-harbour", "--recipe", str(recipe_path)).stdout
    assert now.strip() == "Under this policy a fan's 'Lead and drums' would be published."
    # ...under a draft asking for three, refused, with the fan's reason; nothing is saved.
    policy = json.loads(fanfare("artist", "policy", "neon-harbour", "--json").stdout)["policy"]
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(policy | {"min_audible_stems": 3}))
    report = json.loads(
        fanfare(
            "artist", "preview", "neon-harbour", "--recipe", str(recipe_path),
            "--policy", str(draft), "--json",
        ).stdout
    )  # fmt: skip
    assert report == {
        "published": False,
        "reasons": ["a published remix must keep at least 3 stems audible"],
    }
    assert (
        json.loads(fanfare("artist", "policy", "neon-harbour", "--json").stdout)["policy"] == policy
    )


@on_both
def test_an_artist_publishes_a_track_from_stem_files_and_opens_it_to_fans(
    platform_url: str, tmp_path: Path
) -> None:
    import numpy as np
    import soundfile as sf

    t = np.arange(12 * 48_000) / 48_000
    for kind, hz in (("piano", 261.6), ("bass", 65.4)):
        tone = (0.25 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        sf.write(tmp_path / f"{kind}.flac", np.stack([tone, tone], axis=1), 48_000)
    sections = tmp_path / "sections.json"
    sections.write_text(json.dumps([{"name": "a", "start_s": 0, "end_s": 6},
                                    {"name": "b", "start_s": 6, "end_s": 12}]))  # fmt: skip
    fanfare(
        "login", "--platform", platform_url, "--user", "nova-lane", "--password", "fanfare-demo"
    )
    out = fanfare(
        "artist", "publish", "--title", "Night Ferry", "--bpm", "100", "--key", "C major",
        "--stem", f"piano={tmp_path / 'piano.flac'}", "--stem", f"bass={tmp_path / 'bass.flac'}",
        "--sections", str(sections),
    ).stdout  # fmt: skip
    assert out.strip() == (
        "Uploaded 'Night Ferry' as night-ferry: draft: only you see it. "
        "'fanfare artist state night-ferry live' opens it to fans."
    )
    bad = fanfare("artist", "publish", "--title", "X", "--bpm", "90", "--stem", "piano", ok=False)
    assert "is not KIND=FILE" in bad.stderr
    fanfare("artist", "state", "night-ferry", "live")
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    tracks = {t["id"]: t for t in json.loads(fanfare("tracks", "--json").stdout)}
    assert tracks["night-ferry"]["stems"] == ["piano", "bass"]
    assert [s["name"] for s in tracks["night-ferry"]["sections"]] == ["a", "b"]


@on_both
def test_projects_from_the_command_line(platform_url: str, tmp_path: Path) -> None:
    fanfare("login", "--platform", platform_url, "--user", "fan", "--password", "fanfare-demo")
    recipe_path = tmp_path / "remix.json"
    fanfare("recipe", "init", "paper-moons", "-o", str(recipe_path))
    recipe = json.loads(recipe_path.read_text())
    recipe["title"] = "Moons at noon"
    recipe["stems"]["drums"]["gain_db"] = -5.0
    recipe_path.write_text(json.dumps(recipe))
    said = fanfare("project", "save", "--recipe", str(recipe_path), "-o", str(tmp_path / "noon"))
    assert "Saved “Moons at noon” (paper-moons)" in said.stdout
    listed = json.loads(fanfare("project", "list", "--json").stdout)
    assert [p["title"] for p in listed["saved"]] == ["Moons at noon"]
    assert listed["unsaved"] == [] and listed["drafts"] == []
    checked = json.loads(
        fanfare("project", "open", str(tmp_path / "noon.fanfare"), "--check", "--json").stdout
    )
    assert (checked["track"], checked["account"], checked["notes"]) == ("paper-moons", "fan", [])
    # The same project again with another recipe keeps its id.
    recipe["stems"]["bass"]["mute"] = True
    recipe_path.write_text(json.dumps(recipe))
    fanfare(
        "project", "save", "--recipe", str(recipe_path), "--project",
        str(tmp_path / "noon.fanfare"), "-o", str(tmp_path / "noon.fanfare"),
    )  # fmt: skip
    again = json.loads(fanfare("project", "open", str(tmp_path / "noon.fanfare"), "--check",
                               "--json").stdout)  # fmt: skip
    assert again["id"] == checked["id"]
    (tmp_path / "broken.fanfare").write_text('{"schema": "fanfare.project", "version": 1}')
    refused = fanfare("project", "open", str(tmp_path / "broken.fanfare"), "--check", ok=False)
    assert "broken.fanfare: This project has no valid id." in refused.stderr
