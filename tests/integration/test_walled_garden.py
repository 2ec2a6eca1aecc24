# SPDX-License-Identifier: GPL-3.0-or-later
"""Nothing on disk, even when the studio is killed mid-way: run the real `fanfare` command under a
fresh HOME and TMPDIR, kill it at several moments of a render and of listening to the published
remix, then scan every file it created for any 4 KiB window of a decoded stem (float32 or int16
PCM), a decrypted FLAC stream, the render, or the published remix's FLAC or PCM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.core import recipe as recipe_format
from app.core.codec import decode_audio
from app.studio.session import Studio
from tests.helpers.garden import published_flac
from tests.helpers.plaintext import audio_windows, track_windows, windows

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
TRACK = "neon-harbour"


def _secrets(embedded_url: str, recipe_path: Path) -> set[bytes]:
    """Everything that must never reach the disk, reconstructed in this process's memory."""
    studio = Studio(embedded_url)
    try:
        track = studio.open_track(TRACK)
        found = track_windows(studio, track)
        found |= audio_windows(track.render(recipe_format.loads(recipe_path.read_bytes())))
        track.close()
        return found
    finally:
        studio.close()


def _remix_windows(embedded_url: str, derivative_id: str) -> set[bytes]:
    """The published remix as a listener's studio holds it in memory: the decrypted FLAC
    stream and the decoded PCM (opened here with the fan's own listen licence)."""
    studio = Studio(embedded_url)
    try:
        flac = published_flac(studio, derivative_id)
    finally:
        studio.close()
    return windows(flac) | audio_windows(decode_audio(flac)[0])


def test_a_killed_render_leaves_no_audio_on_disk(
    embedded, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = isolated_home / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    env = dict(os.environ)

    def fanfare(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "fanfare"), *args], capture_output=True, text=True, timeout=120, env=env
        )

    assert (
        fanfare(
            "login", "--platform", embedded.url, "--user", "fan", "--password", "fanfare-demo"
        ).returncode
        == 0
    )
    recipe_path = isolated_home / "remix.json"
    assert fanfare("recipe", "init", TRACK, "-o", str(recipe_path)).returncode == 0
    recipe = json.loads(recipe_path.read_text())
    recipe["stems"]["drums"]["gain_db"] = -5.0
    recipe["stems"]["keys"]["mute"] = True  # a remix, not the original (the spam gate)
    recipe_path.write_text(json.dumps(recipe))

    # Kill the render at several moments: while licensing, decrypting, rendering, encoding or
    # uploading; then one run that completes.
    for delay in (0.6, 1.0, 1.4, 1.8, 2.4, 3.2):
        process = subprocess.Popen(
            [str(BIN / "fanfare"), "render", "--recipe", str(recipe_path), "--publish"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    # A killed run may have got its upload in: the one that completes is a remix of its own.
    recipe["stems"]["pad"]["mute"] = True
    recipe_path.write_text(json.dumps(recipe))
    done = fanfare("render", "--recipe", str(recipe_path), "--publish")
    assert done.returncode == 0, done.stderr
    derivative_id = done.stdout.split("derivative ")[1].split()[0]

    # Listening to the published remix: played to the end of a few seconds, and killed mid-way.
    listened = fanfare("listen", derivative_id, "--seconds", "1")
    assert listened.returncode == 0 or "device" in listened.stderr, listened.stderr
    for delay in (0.5, 1.5):
        process = subprocess.Popen(
            [str(BIN / "fanfare"), "listen", derivative_id],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    secrets = _secrets(embedded.url, recipe_path)
    secrets |= _remix_windows(embedded.url, derivative_id)
    assert len(secrets) > 500
    files = [p for p in isolated_home.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.suffix == ".ffstem" for p in files)  # the encrypted cache is there
    for path in files:
        data = path.read_bytes()
        assert not any(w in data for w in secrets), f"plaintext audio found in {path}"
