# SPDX-License-Identifier: GPL-3.0-or-later
"""Recording your own part: a take through a real capture path (PulseAudio's null sink, its
monitor as the input) placed on the beat by its count-in, used as a stem, published with its
take and re-rendered by the platform, disclosed as fan-recorded; and what may not be."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from app.core import project as project_format
from app.core.codec import decode_audio
from app.core.disclosure import describe
from app.core.style_slot import StyleSlot
from app.core.track import TrackInfo
from app.server.verify import VerificationError, placed_parts
from app.studio.errors import RecordingError
from app.studio.recording import Take, TakeRecording
from app.studio.session import Studio
from tests.helpers.garden import published_flac
from tests.helpers.plaintext import WINDOW, track_windows, windows

RATE = 48_000
ONE_MS = RATE // 1000


def _record(track, seconds: float, *, at_s: float) -> object:
    """A take of ``seconds`` of the track from ``at_s``, recorded from the null sink's monitor
    (what the studio plays comes back in, as a microphone beside the speakers hears it)."""
    track.seek(at_s)
    count_in_s = track.recorder.record_take(channels=2)
    time.sleep(count_in_s + seconds)
    return track.recorder.stop_take()


def _lag(take: np.ndarray, mix: np.ndarray) -> int:
    """Frames by which ``take`` is late against ``mix`` (both (n, 2), over the same span)."""
    a, b = take.mean(axis=1), mix.mean(axis=1)
    corr = signal.correlate(a, b, mode="full", method="fft")
    return int(np.argmax(corr)) - (len(b) - 1)


def test_a_take_that_hears_its_count_in_lands_on_the_beat(studio: Studio) -> None:
    track = studio.open_track("neon-harbour")
    try:
        take = _record(track, 2.5, at_s=20.0)
        assert take.aligned_by == "count-in" and take.at_frame == 20 * RATE
        assert take.clock_error_ms is not None
        assert not track.playing and not track.recorder.recording
        audio = studio.takes.audio(take.digest)
        assert audio.shape == (take.frames, 2) and take.frames > 2 * RATE
        # What came back in is the mix as played, where it was played: within a millisecond.
        mix = track.render()[take.at_frame : take.at_frame + take.frames]
        body = slice(RATE // 4, take.frames - RATE // 4)
        lag = _lag(audio[body], mix[body])
        assert abs(lag) <= ONE_MS, f"the take is {lag} frames off the beat"
        # And at its level (unity through the null sink, give or take its 16-bit resampling).
        level = 10 * np.log10(np.mean(audio[body] ** 2) / np.mean(mix[body] ** 2))
        assert abs(level) < 1.0
        # A second take over the same place is as good, and numbered.
        again = _record(track, 1.5, at_s=20.0)
        assert again.number == 2 and again.aligned_by == "count-in"
        assert studio.takes.clock_error is not None
    finally:
        track.close()


def test_a_take_that_missed_its_count_in_is_placed_by_the_clocks(studio: Studio) -> None:
    info: TrackInfo = studio.track("neon-harbour")
    recording = TakeRecording(info, 4800, channels=1, clock_error=96)
    capture = recording.capture  # filled as a microphone on headphones would: no clicks
    capture.buffer[: RATE * 4] = 0.01 * np.random.default_rng(3).standard_normal((RATE * 4, 1))
    capture.frames, capture.first_time = RATE * 4, 100.0
    audio, alignment = recording.finish(count_in_time=100.25)
    # The count-in sounded 0.25 s after the input started (12,000 frames) plus the last
    # measured error (96): the track came in after the count-in.
    assert alignment.aligned_by == "measured"
    assert alignment.entry == 12_000 + 96 + recording.clicks.shape[0]
    assert audio.shape[0] == RATE * 4 - alignment.entry


def test_an_artist_who_allows_no_covers_gets_none(studio: Studio) -> None:
    track = studio.open_track("paper-moons")
    try:
        with pytest.raises(RecordingError, match="does not allow recording your own parts"):
            track.recorder.record_take()
        assert not track.recorder.recording
    finally:
        track.close()


def test_a_cover_is_published_with_its_take_verified_and_disclosed(
    studio: Studio, home_holds_all: Path
) -> None:
    isolated_home = home_holds_all
    track = studio.open_track("neon-harbour")
    try:
        take = _record(track, 3.0, at_s=30.0)
        name = track.recorder.use_take(take, role="vocal", replaces="lead")
        assert name == "my-vocal" and track.recipe.stems["lead"].mute
        assert list(track.mixer.names)[-1] == "my-vocal"  # a strip of its own
        # A lane of its own on the timeline, sounding where it was sung and nowhere else.
        view = track.lanes(0.0, track.duration_s, 400)
        lane = next(lane for lane in view.lanes if lane.kind == name)
        sung = lane.peaks > 0.05
        assert sung.any() and lane.known.all()
        first = int(np.argmax(sung)) * track.duration_s / 400
        assert 29.5 < first <= 30.5
        track.set_stem(name, gain_db=-3.0)
        track.recorder.trim_part(name, 0.5, 2.5)  # two seconds of it, where they were in the music
        part = track.recipe.parts[name]
        assert (part.offset, part.frames, part.at_frame) == (
            RATE // 2,
            2 * RATE,
            30 * RATE + RATE // 2,
        )
        track.set_stem("pad", gain_db=-4.0)
        # Saved and opened again: the part comes back, its take found by its digest.
        path = isolated_home / "cover.fanfare"
        studio.projects.save(track.project("fan"), path)
        assert project_format.loads(path.read_bytes()).recipe == track.recipe

        result = track.publish(title="My cover")
        assert result["status"] == "published"
        disclosure = result["disclosure"]
        assert disclosure["own_parts"] == [
            {"stem": "my-vocal", "role": "vocal", "replaces": "lead"}
        ]
        assert "With a fan-recorded vocal (my-vocal), in place of the lead stem." in describe(
            disclosure
        )
        # What listeners hear is the remix the platform re-rendered with the take in it.
        published, _ = decode_audio(published_flac(studio, result["id"]))
        assert published.shape[0] == track.info.frames
        sung = slice(part.at_frame + RATE // 4, part.end_frame - RATE // 4)
        assert np.sqrt(np.mean(published[sung] ** 2)) > 0.01

        # Without its take the platform refuses the remix, with the reason.
        with pytest.raises(VerificationError, match="came without its take"):
            placed_parts(track.recipe, track.info, [])
        placed = placed_parts(track.recipe, track.info, [studio.takes.data(take.digest)])
        assert np.array_equal(placed[name][:], track.sources(track.recipe)[name][:])

        # Nothing licensed reached the disk: the take is the fan's, nothing else is audio.
        secrets = track_windows(studio, track, stride=WINDOW * 64)
        secrets |= windows(track.render().tobytes(), stride=WINDOW * 64)
    finally:
        track.close()
    files = [p for p in isolated_home.rglob("*") if p.is_file() and not p.is_symlink()]
    assert studio.takes.path(take.digest) in files
    for path in files:
        data = path.read_bytes()
        assert not [w for w in secrets if w in data], f"licensed audio found in {path}"


def test_a_sung_part_played_by_a_violin_model_is_published_as_ai_in_vocals(
    studio: Studio,
) -> None:
    """Sing the melody, hear it as a violin: a style model on the fan's own part."""
    track = studio.open_track("neon-harbour")
    try:
        # The fan's take: a sung line (a gliding tone with vibrato, 3 s), kept as takes are.
        seconds = np.arange(3 * RATE) / RATE
        pitch = (
            220.0
            * 2 ** ((seconds // 0.75) * 2 / 12)
            * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * seconds))
        )
        sung = (0.3 * np.sin(2 * np.pi * np.cumsum(pitch) / RATE)).astype(np.float32)[:, None]
        digest = studio.takes.keep(sung, RATE)
        take = Take(digest, len(sung), 1, RATE, 40 * RATE, "count-in", 0.0, -10.5, False)
        name = track.recorder.use_take(take, replaces="lead")
        track.set_style(name, StyleSlot("timbre.violin", 1))
        assert track.recipe.stems[name].style is not None
        result = track.publish(title="Violin cover")
        areas = result["disclosure"]["ai"]["areas"]
        assert areas["vocals"]["stems"] == [name] and areas["vocals"]["models"] == [
            "timbre.violin@1"
        ]
        assert not areas["instrumentation"]["ai"]
    finally:
        track.close()
