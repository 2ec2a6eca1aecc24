# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing a track: stems are checked, resampled, encrypted and registered, all or nothing.

Calls ``app.server.ingest`` directly over a copy of the seeded demo platform, with small WAV,
FLAC and OGG files written into the test's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.bundle import decrypt_stem, read_header
from app.core.codec import decode_audio
from app.core.policy import Policy
from app.server.blobs import BlobStore, open_blobs
from app.server.config import ServerConfig
from app.server.db import Stem, Track, User, make_sessions
from app.server.ingest import IngestError, SourceStem, load_stems, publish_track, stems_of
from app.server.schema import connect
from app.server.vaultkeys import stem_key_purpose, unwrap
from tests.helpers.audio import rms_db, sine


@dataclass
class Platform:
    """A seeded platform's database session and blob folder, as ingest sees them."""

    session: Session
    blobs: BlobStore
    master_key: bytes

    def user(self, name: str) -> User:
        return self.session.scalars(select(User).where(User.name == name)).one()

    def publish(
        self, sources: list[SourceStem], artist: str = "nova-lane", **changes: Any
    ) -> Track:
        options: dict[str, Any] = {"title": "Test Song", "bpm": 120.0, "key": "C major"}
        options.update(changes)
        return publish_track(
            self.session,
            self.blobs,
            self.master_key,
            artist=self.user(artist),
            sources=sources,
            **options,
        )

    def state(self) -> tuple[int, int, frozenset[str]]:
        """Track rows, stem rows and blob files: what a refused publish must leave alone."""
        tracks = self.session.scalar(select(func.count()).select_from(Track))
        stems = self.session.scalar(select(func.count()).select_from(Stem))
        files = frozenset(str(p) for p in self.blobs.root.rglob("*") if p.is_file())
        return int(tracks or 0), int(stems or 0), files

    def decrypted(self, stem: Stem) -> tuple[np.ndarray, int]:
        """A stored stem opened the way the platform does: unwrap its key, decrypt, decode."""
        purpose = stem_key_purpose(stem.track_id, stem.version, stem.kind)
        key = unwrap(self.master_key, stem.wrapped_key, purpose)
        expect = (stem.track_id, stem.version, stem.kind)
        return decode_audio(decrypt_stem(key, self.blobs.get(stem.blob_name), expect=expect))


@pytest.fixture
def platform(platform_dir: Path) -> Iterator[Platform]:
    config = ServerConfig.load(platform_dir)
    engine = connect(config.database_url)
    with make_sessions(engine)() as session:
        yield Platform(session, open_blobs(config), config.master_key)
    engine.dispose()


def write_stem(
    folder: Path,
    file_name: str,
    *,
    seconds: float = 2.0,
    rate: int = 44_100,
    channels: int = 2,
    hz: float = 440.0,
    kind: str | None = None,
) -> SourceStem:
    """A sine stem written as ``file_name`` (the extension picks WAV, FLAC or OGG)."""
    audio = np.asarray(sine(hz, seconds, 0.5, rate))[:, :1]
    write_audio(folder / file_name, np.repeat(audio, channels, axis=1), rate)
    return SourceStem(kind or file_name.split(".")[0], folder / file_name)


def write_audio(path: Path, audio: np.ndarray, rate: int, subtype: str | None = None) -> Path:
    sf.write(path, audio, rate, subtype=subtype)
    return path


# --- what a successful publish stores ---------------------------------------------------------


def test_stems_at_44k1_become_48k_stereo_encrypted_blobs_that_decrypt_to_the_source(
    platform: Platform, tmp_path: Path
) -> None:
    sources = [
        write_stem(tmp_path, "drums.wav", channels=1, hz=220.0),
        write_stem(tmp_path, "bass.flac", hz=110.0),
        write_stem(tmp_path, "keys.ogg", hz=660.0),
    ]
    track = platform.publish(sources)

    assert (track.sample_rate, track.version) == (48_000, 1)
    assert abs(track.frames - 2.0 * 48_000) <= 2
    stems = stems_of(platform.session, track)
    assert [s.kind for s in stems] == ["drums", "bass", "keys"]
    for stem, hz in zip(stems, (220.0, 110.0, 660.0), strict=True):
        blob = platform.blobs.get(stem.blob_name)
        assert len(blob) == stem.blob_size
        header = read_header(blob)
        assert (header.track_id, header.track_version, header.stem) == (track.id, 1, stem.kind)
        audio, rate = platform.decrypted(stem)
        assert rate == 48_000
        assert audio.shape == (track.frames, 2)
        assert abs(rms_db(audio) - rms_db(sine(hz, 2.0, 0.5, 44_100))) < 0.1
    drums, _ = platform.decrypted(stems[0])
    np.testing.assert_array_equal(drums[:, 0], drums[:, 1])  # mono became stereo


def test_load_stems_pads_a_stem_a_few_frames_short_to_the_longest(tmp_path: Path) -> None:
    stems, frames = load_stems(
        [
            write_stem(tmp_path, "drums.wav", seconds=2.0, rate=48_000),
            write_stem(tmp_path, "bass.wav", seconds=1.98, rate=48_000),
        ]
    )
    assert frames == 96_000
    assert {k: a.shape for k, a in stems.items()} == {"drums": (96_000, 2), "bass": (96_000, 2)}
    assert not stems["bass"][-900:].any()


# --- refusals: a clear message and nothing half-written ---------------------------------------

Case = Callable[[Path], tuple[list[SourceStem], dict[str, Any]]]


def _rates(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav"), write_stem(folder, "bass.wav", rate=48_000)], {}


def _lengths(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav"), write_stem(folder, "bass.wav", seconds=1.9)], {}


def _text_file(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    (folder / "bass.txt").write_text("these are not the stems you are looking for\n")
    return [write_stem(folder, "drums.wav"), SourceStem("bass", folder / "bass.txt")], {}


def _missing(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav"), SourceStem("bass", folder / "nowhere.wav")], {}


def _duplicate(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav"), write_stem(folder, "take2.wav", kind="drums")], {}


def _not_artist(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav")], {"artist": "fan"}


def _too_short(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav", seconds=0.5)], {}


def _nan(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    audio = np.array(sine(440.0, 2.0, 0.5, 44_100))
    audio[1000, 0] = np.nan
    path = write_audio(folder / "bass.wav", audio, 44_100, subtype="FLOAT")
    return [write_stem(folder, "drums.wav"), SourceStem("bass", path)], {}


def _three_channels(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav"), write_stem(folder, "bass.wav", channels=3)], {}


def _bad_section(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    sections = [{"name": "coda", "start_s": 1.0, "end_s": 30.0}]
    return [write_stem(folder, "drums.wav"), write_stem(folder, "bass.wav")], {"sections": sections}


def _section_without_times(folder: Path) -> tuple[list[SourceStem], dict[str, Any]]:
    return [write_stem(folder, "drums.wav")], {"sections": [{"name": "intro"}]}


REFUSALS: dict[str, tuple[Case, str]] = {
    "mismatched-sample-rates": (_rates, r"different sample rates \(drums: 44100 Hz, bass: 48000"),
    "mismatched-lengths": (_lengths, r"different lengths \(drums: 2\.00 s, bass: 1\.90 s\)"),
    "not-audio": (_text_file, r"Stem 'bass': bass\.txt is not audio Fanfare can read"),
    "missing-file": (_missing, r"Stem 'bass': cannot read .*nowhere\.wav"),
    "duplicate-stem-kind": (_duplicate, r"Each stem name may appear only once"),
    "not-an-artist": (_not_artist, r"'fan' is not an artist account"),
    "too-short": (_too_short, r"these stems last 0\.5 s"),
    "nan-samples": (_nan, r"Stem 'bass' contains invalid samples"),
    "three-channels": (_three_channels, r"Stem 'bass' has 3 channels"),
    "section-outside-track": (_bad_section, r"Section 'coda' \(1\.\.30 s\) is outside the track"),
    "section-without-times": (_section_without_times, r"needs a name, start_s and end_s"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_publish_says_why_and_leaves_nothing_behind(
    platform: Platform, tmp_path: Path, case: tuple[Case, str]
) -> None:
    build, message = case
    sources, changes = build(tmp_path)
    before = platform.state()
    with pytest.raises(IngestError, match=message):
        platform.publish(sources, **changes)
    platform.session.rollback()
    assert platform.state() == before


# --- versions -----------------------------------------------------------------------------------


def test_same_artist_publishing_the_same_track_id_again_creates_version_2(
    platform: Platform, tmp_path: Path
) -> None:
    first = platform.publish([write_stem(tmp_path, "drums.wav")], track_id="night-drive")
    remaster = [write_stem(tmp_path, "drums.flac", hz=330.0), write_stem(tmp_path, "bass.flac")]
    second = platform.publish(remaster, track_id="night-drive", title="Night Drive (Remaster)")

    assert (first.id, second.id, second.version) == ("night-drive", "night-drive", 2)
    assert platform.session.get(Track, "night-drive").title == "Night Drive (Remaster)"
    current = stems_of(platform.session, second)
    assert [(s.kind, s.version) for s in current] == [("drums", 2), ("bass", 2)]
    assert read_header(platform.blobs.get(current[0].blob_name)).track_version == 2


def test_another_artist_cannot_publish_over_someone_elses_track_id(
    platform: Platform, tmp_path: Path
) -> None:
    before = platform.state()
    with pytest.raises(IngestError, match="'neon-harbour' belongs to another artist"):
        platform.publish(
            [write_stem(tmp_path, "drums.wav")], artist="marlow-reed", track_id="neon-harbour"
        )
    platform.session.rollback()
    assert platform.state() == before
    assert platform.session.get(Track, "neon-harbour").version == 1


def test_a_track_published_without_a_policy_protects_its_stems(
    platform: Platform, tmp_path: Path
) -> None:
    """No policy given: the stored one lets no stem be heard alone, asks for two heard, and
    allows no download (it let any stem be soloed and published alone before)."""
    track = platform.publish([write_stem(tmp_path, "drums.wav"), write_stem(tmp_path, "bass.wav")])
    policy = Policy.from_dict(track.policy)
    assert track.policy["min_audible_stems"] == 2 and track.policy["downloadable"] is False
    assert not policy.rule("drums").solo and not policy.rule("bass").solo


def test_a_new_version_keeps_the_artists_policy_and_publication(
    platform: Platform, tmp_path: Path
) -> None:
    strict = {"stems": {"drums": {"solo": False}}, "min_audible_stems": 2}
    platform.publish([write_stem(tmp_path, "drums.wav")], track_id="night-drive", policy=strict)
    track = platform.session.get(Track, "night-drive")
    track.published = False
    platform.session.commit()
    platform.publish([write_stem(tmp_path, "drums.flac")], track_id="night-drive")
    track = platform.session.get(Track, "night-drive")
    assert track.version == 2
    assert track.policy["stems"]["drums"]["solo"] is False
    assert track.policy["min_audible_stems"] == 2
    assert track.published is False


def test_a_title_that_collides_with_a_track_is_not_silently_a_new_version(
    platform: Platform, tmp_path: Path
) -> None:
    with pytest.raises(IngestError, match="pass --track-id neon-harbour"):
        platform.publish([write_stem(tmp_path, "drums.wav")], artist="nova-lane",
                         title="Neon Harbour")  # fmt: skip


def test_the_embedded_database_refuses_a_row_naming_a_track_that_is_not_there(
    tmp_path: Path,
) -> None:
    """SQLite checks foreign keys as PostgreSQL does: a stem without its track is refused,
    and nothing of it is kept."""
    engine = connect(f"sqlite:///{tmp_path / 'platform.db'}")
    sessions = make_sessions(engine)
    with sessions() as session:
        session.add(Stem(track_id="nowhere", version=1, kind="drums", position=0,
                         blob_name="stems/nowhere/1/drums.ffstem", blob_size=1,
                         wrapped_key=b"k"))  # fmt: skip
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            session.commit()
    with sessions() as session:
        assert session.scalars(select(Stem)).all() == []
