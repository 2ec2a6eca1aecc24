# SPDX-License-Identifier: GPL-3.0-or-later
"""The audio buffer preference: kept across starts, applied to open tracks, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.studio.errors import PreferencesError
from app.studio.preferences import BUFFERINGS, Preferences, buffering_named
from app.studio.profile import StudioPaths
from app.studio.session import Studio

SAFE = buffering_named("safe")


def test_the_chosen_buffer_is_kept_for_the_next_start(embedded, studio: Studio) -> None:
    assert studio.buffering.name == "low"  # what a first start plays with
    studio.set_buffering(SAFE)
    again = Studio(embedded.url)
    try:
        assert again.buffering == SAFE
    finally:
        again.close()


def test_an_open_track_plays_with_the_new_buffer_and_a_new_one_starts_with_it(
    studio: Studio,
) -> None:
    first = studio.open_track("neon-harbour")
    try:
        assert first.player.buffering.name == "low"
        studio.set_buffering(SAFE)
        assert first.player.buffering == SAFE
        # Expected latency: the ring (4096 frames at 48 kHz) and the device's 48 ms.
        assert first.latency_s == pytest.approx(4096 / 48_000 + 0.04, abs=0.01)
    finally:
        first.close()
    second = studio.open_track("neon-harbour")
    try:
        assert second.player.buffering == SAFE
    finally:
        second.close()


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[1, 2]", b'{"audio_buffer": "enormous"}', b'{"audio_buffer": 7}'],
)
def test_a_damaged_or_foreign_file_reads_as_the_default(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "preferences.json"
    path.write_bytes(content)
    assert Preferences.load(path).buffering.name == "low"


def test_every_buffer_the_window_offers_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "preferences.json"
    for buffering in BUFFERINGS:
        Preferences(path, audio_buffer=buffering.name).save()
        assert Preferences.load(path).buffering == buffering


def test_an_unsaveable_preference_is_a_clear_error_and_the_buffer_still_applies(
    embedded,
) -> None:
    # Something else stands where the preferences go: no one, root included, can replace it.
    (StudioPaths.default().preferences_file / "in-the-way").mkdir(parents=True)
    studio = Studio(embedded.url)
    try:
        assert studio.buffering.name == "low"  # unreadable: the defaults
        with pytest.raises(PreferencesError, match="could not be saved"):
            studio.set_buffering(SAFE)
        assert studio.buffering == SAFE  # in effect for this run
    finally:
        studio.close()
