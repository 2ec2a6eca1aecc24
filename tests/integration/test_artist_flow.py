# SPDX-License-Identifier: GPL-3.0-or-later
"""An artist's whole way with a track, on the real platform on loopback with the real studio:
upload (interrupted, then resumed), a policy edited, previewed as a fan would meet it, made
live; a fan remixes and publishes; the artist hears it, approves it, later takes it down; the
fan reads why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from app.core.errors import PolicyDenied
from app.core.recipe import Recipe
from app.studio.session import Studio
from app.studio.uploading import NewTrack

pytestmark = pytest.mark.integration
RATE = 44_100


def _stems(folder: Path) -> dict[str, Path]:
    """Four stems of 40 s: a chord pad, a bass line, a melody and a click, each a file."""
    t = np.arange(40 * RATE) / RATE
    voices = {
        "pad": 0.15 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277.2 * t)),
        "bass": 0.3 * np.sin(2 * np.pi * 55 * t),
        "melody": 0.2 * np.sin(2 * np.pi * (440 + 40 * np.sign(np.sin(2 * np.pi * 0.5 * t))) * t),
        "click": 0.4 * (np.sin(2 * np.pi * 2000 * t) * (np.mod(t, 0.5) < 0.02)),
    }
    files = {}
    for kind, mono in voices.items():
        stereo = np.stack([mono, mono * 0.9], axis=1).astype(np.float32)
        files[kind] = folder / f"{kind}.wav"
        sf.write(files[kind], stereo, RATE, subtype="PCM_24")
    return files


def test_an_artists_track_from_files_to_a_fans_remix_looked_after(
    embedded: Any, tmp_path: Path
) -> None:
    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)
    new = NewTrack(
        title="Harbour Bells",
        stems=_stems(tmp_path),
        bpm=120.0,
        key="A minor",
        sections=[
            {"name": "a", "start_s": 0, "end_s": 20},
            {"name": "b", "start_s": 20, "end_s": 40},
        ],
    )

    class Closed(Exception):
        pass

    def close_midway(text: str, fraction: float) -> None:
        if text.startswith("Uploading the melody"):
            raise Closed

    with pytest.raises(Closed):
        artist.upload_track(new, close_midway)
    track = artist.upload_track(new)  # the app again: it goes on from where it stopped
    assert (track.info.id, track.state) == ("harbour-bells", "draft")

    policy = dict(track.info.policy) | {
        "stems": {"melody": {"solo": False}, "pad": {"solo": True}, "bass": {"solo": True},
                  "click": {"solo": True}},
        "min_audible_stems": 3,
        "review": "artist",
    }  # fmt: skip
    preview = artist.open_track("harbour-bells", preview_policy=policy)
    lone = preview.recipe
    for kind in ("pad", "bass", "click"):
        lone = lone.with_stem(kind, mute=True)
    refusal = preview.check(lone).reasons
    assert refusal == ("the melody stem may not be heard on its own",)
    preview.close()
    artist.save_policy("harbour-bells", policy)
    artist.set_track_state("harbour-bells", "live")

    fan = Studio(embedded.url)
    fan.login("fan", embedded.demo_password)
    remix = fan.open_track("harbour-bells")
    assert remix.check(lone).reasons == refusal  # the preview's words, to a fan
    with pytest.raises(PolicyDenied, match="melody stem may not be heard on its own"):
        remix.apply(lone)  # refused, and nothing changes
    assert remix.recipe == Recipe.default_for(remix.info)
    # The pad up, the melody and the click down: a remix, not the original (the spam gate).
    remix.apply(
        remix.recipe.with_stem("click", gain_db=-8.0)
        .with_stem("pad", gain_db=6.0)
        .with_stem("melody", gain_db=-6.0)
    )
    made = remix.publish(title="Bells, softer")
    remix.close()
    assert made["status"] == "awaiting review"
    assert [d["id"] for d in fan.derivatives(mine=False)] == []  # nobody hears it yet

    waiting = artist.track_derivatives("harbour-bells")
    assert [(d["id"], d["status"]) for d in waiting] == [(made["id"], "awaiting review")]
    listening = artist.listen(made["id"])
    assert listening.duration_s == pytest.approx(40.0, abs=0.01)
    listening.close()
    assert artist.decide(made["id"], "approve")["status"] == "published"
    assert [d["id"] for d in fan.derivatives(mine=False)] == [made["id"]]
    artist.decide(made["id"], "take down", "The click was never meant to be that quiet.")
    mine = {d["id"]: (d["status"], d["reason"]) for d in fan.derivatives()}
    assert mine[made["id"]] == ("taken down", "The click was never meant to be that quiet.")
    history = [(e["field"], e["new"]) for e in artist.track_audit("harbour-bells")]
    assert ("state", "live") in history and (f"derivative {made['id']}", "taken down") in history
    fan.close()
    artist.close()
