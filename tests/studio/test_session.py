# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio against the real platform on loopback: sign in, open, remix, publish, and the
walled garden (no decoded audio or decrypted stream in any file the session wrote)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.automation import make_move
from app.core.codec import decode_audio
from app.core.errors import BundleTamperedError, PolicyDenied
from app.engine.loudness import measure
from app.platform_client.errors import PlatformError
from app.studio.errors import NotSignedInError, PlatformKeyChangedError
from app.studio.session import Studio
from tests.helpers.garden import published_flac
from tests.helpers.plaintext import WINDOW, track_windows, windows


def test_sign_in_enrols_the_device_and_pins_the_platform_key(studio: Studio) -> None:
    assert studio.signed_in
    assert studio.profile.device_id.startswith("dev_")
    assert studio.profile.pinned_keys
    again = Studio(studio.url)  # a new run of the app finds the saved session
    assert again.signed_in and again.profile.device_id == studio.profile.device_id


def test_not_signed_in_is_a_clear_error(embedded) -> None:
    with pytest.raises(NotSignedInError, match="You are not signed in to http:"):
        Studio(embedded.url).tracks()


def test_a_platform_with_another_key_is_refused(studio: Studio) -> None:
    studio.profile.pinned_keys.clear()
    studio.profile.pinned_keys["ed25519:0000000000000000"] = "A" * 43
    with pytest.raises(PlatformKeyChangedError):
        studio.login("fan", "fanfare-demo")


def test_open_remix_within_the_policy_and_publish(studio: Studio) -> None:
    track = studio.open_track("neon-harbour")
    assert track.info.stem_kinds == ("drums", "bass", "keys", "lead", "pad")
    before = track.recipe
    with pytest.raises(PolicyDenied, match="lead stem may not be soloed"):
        track.set_stem("lead", solo=True)
    assert track.recipe == before  # a refused edit changes nothing
    track.set_stem("drums", gain_db=-4.0)
    track.set_stem("pad", mute=True)
    track.set_stem("keys", mute=True)  # enough of a remix for the spam gate
    steps: list[tuple[str, float]] = []
    result = track.publish(title="Night drive", progress=lambda *step: steps.append(step))
    assert result["status"] == "published"
    assert result["title"] == "Night drive"
    assert result["disclosure"]["stems_used"] == ["drums", "bass", "lead"]
    listed = studio.derivatives()
    assert [d["id"] for d in listed] == [result["id"]]
    # What listeners get is loudness-normalised: -14 LUFS, true peak at most -1 dBTP.
    audio, rate = decode_audio(published_flac(studio, result["id"]))
    loudness = measure(audio, rate)
    assert loudness.integrated_lufs == pytest.approx(-14.0, abs=0.5)
    # This listener's watermark keeps the remix under its own true peak, between samples too;
    # 24-bit encoding adds at most a hair.
    assert loudness.true_peak_dbtp <= -1.0 + 0.01

    _assert_steps_done(steps)

    # The platform refuses the same remix twice: the step it refused at is the last reported,
    # short of done, and the refusal is the platform's sentence.
    steps.clear()
    with pytest.raises(PlatformError, match="sent this exact remix before"):
        track.publish(title="Night drive", progress=lambda *step: steps.append(step))
    assert _step_order(steps) == ["Rendering", "Uploading", "Verifying"]
    assert steps[-1][0] == "Verifying" and steps[-1][1] < 1.0
    track.close()


def _assert_steps_done(steps: list[tuple[str, float]]) -> None:
    """Each step in order, each from 0 to 1 and never back."""
    assert _step_order(steps) == ["Rendering", "Uploading", "Verifying"]
    for name in ("Rendering", "Uploading", "Verifying"):
        fractions = [f for step, f in steps if step == name]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0, (name, fractions)
        assert fractions == sorted(fractions), (name, fractions)


def _step_order(steps: list[tuple[str, float]]) -> list[str]:
    """The steps reported, each once, in the order they were first reported (and each step's
    reports are together: a step once left is never reported again)."""
    order = [name for i, (name, _) in enumerate(steps) if i == 0 or steps[i - 1][0] != name]
    assert len(order) == len(set(order)), order
    return order


def test_a_retimed_transposed_automated_remix_is_verified_and_published(studio: Studio) -> None:
    """The platform re-renders tempo, key and recorded moves from the recipe and gets the
    same audio the studio uploaded."""
    track = studio.open_track("neon-harbour")
    track.set_tempo(ratio=1.2, key_shift=-2)
    moved = track.recipe.with_moves((make_move(48_128, "drums", {"gain_db": -9.0}),))
    track.apply(moved)
    steps: list[tuple[str, float]] = []
    result = track.publish(title="Faster, lower", progress=lambda *step: steps.append(step))
    assert result["status"] == "published"
    # Its re-render takes the platform several seconds: verifying's fractions are the
    # platform's, read while the upload waits for its answer.
    _assert_steps_done(steps)
    verifying = {f for step, f in steps if step == "Verifying" and 0 < f < 1}
    assert len(verifying) >= 3, steps
    audio, _ = decode_audio(published_flac(studio, result["id"]))
    assert len(audio) == round(track.info.frames / 1.2)
    with pytest.raises(PolicyDenied, match="tempo may only change"):
        track.set_tempo(ratio=1.5)
    assert track.recipe.tempo_ratio == 1.2  # refused: nothing changed
    track.close()


def test_no_decoded_audio_or_decrypted_stream_reaches_the_disk(
    studio: Studio, home_holds_all: Path
) -> None:
    isolated_home = home_holds_all  # every file the session writes is under it
    track = studio.open_track("paper-moons")
    track.set_stem("keys", gain_db=-2.0)
    track.set_stem("bass", mute=True)  # a remix, not the original (the spam gate)
    track.publish(title="Moonlit")
    # Reconstruct what must never be on disk: every stem's decrypted FLAC and decoded PCM.
    secrets = track_windows(studio, track, stride=WINDOW * 64)
    secrets |= windows(track.render().tobytes(), stride=WINDOW * 64)
    track.close()
    assert len(secrets) > 100
    files = [p for p in isolated_home.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(files) >= 3  # profiles, secrets and the encrypted cache at least
    for path in files:
        data = path.read_bytes()
        leaked = [w for w in secrets if w in data]
        assert not leaked, f"plaintext audio found in {path}"


def test_a_damaged_cached_stem_is_fetched_again(studio: Studio) -> None:
    studio.open_track("paper-moons").close()
    cached = studio.cache.path("paper-moons", 1, "bass")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0x40
    cached.write_bytes(bytes(data))
    track = studio.open_track("paper-moons")  # heals the cache instead of failing
    assert track.info.id == "paper-moons"
    track.close()
    assert cached.read_bytes() != bytes(data)


def test_a_tampered_download_is_refused_and_nothing_is_kept(
    studio: Studio, platform_dir: Path
) -> None:
    blob = platform_dir / "blobs" / "stems" / "neon-harbour" / "1" / "keys.ffstem"
    data = bytearray(blob.read_bytes())
    data[-100] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(BundleTamperedError, match="altered or damaged"):
        studio.open_track("neon-harbour")
    assert not any(studio.cache.path("neon-harbour", 1, k).exists() for k in ("keys", "drums"))


def test_every_edit_can_be_undone_and_a_fader_drag_is_one_step(studio: Studio) -> None:
    track = studio.open_track("neon-harbour")
    start = track.recipe
    for gain in (-1.0, -2.0, -3.0, -4.5):  # one drag of the drums fader
        track.set_stem("drums", gain_db=gain)
    track.set_stem("pad", mute=True)
    assert track.undo()
    assert not track.recipe.stems["pad"].mute
    assert track.recipe.stems["drums"].gain_db == -4.5
    assert track.undo()
    assert track.recipe == start
    assert track.mixer.recipe == start  # heard, not only shown
    assert not track.undo()
    assert track.redo() and track.recipe.stems["drums"].gain_db == -4.5
    with pytest.raises(PolicyDenied):
        track.set_stem("lead", solo=True)
    assert track.can_redo  # a refused edit does not clear the redo history
    track.close()


def test_a_pinned_key_id_offered_with_other_bytes_is_refused(studio: Studio) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.core.encoding import b64u

    kid = next(iter(studio.profile.pinned_keys))
    impostor = b64u(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    studio.profile.pinned_keys[kid] = impostor  # as if the real platform had served this
    with pytest.raises(PlatformKeyChangedError):
        studio.login("fan", "fanfare-demo")
    assert studio.profile.pinned_keys[kid] == impostor  # nothing was changed


def test_an_unendorsed_extra_key_is_not_trusted(studio: Studio, monkeypatch) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.core.encoding import b64u
    from app.core.keys import key_id

    extra = Ed25519PrivateKey.generate().public_key()
    real = studio.client.platform_keys

    def with_extra() -> tuple[dict[str, str], list[dict[str, str]]]:
        keys, endorsements = real()
        return keys | {key_id(extra): b64u(extra.public_bytes_raw())}, endorsements

    monkeypatch.setattr(studio.client, "platform_keys", with_extra)
    studio.login("fan", "fanfare-demo")
    assert key_id(extra) not in studio.profile.pinned_keys


def test_a_rotated_key_is_trusted_through_its_endorsement(platform_dir: Path) -> None:
    from app.embedded import EmbeddedPlatform
    from app.server.db import make_sessions
    from app.server.schema import connect
    from app.server.vaultkeys import rotate_signing_key

    platform = EmbeddedPlatform(platform_dir)
    url = platform.start()
    port = int(url.rsplit(":", 1)[1])
    studio = Studio(url)
    studio.login("fan", "fanfare-demo")
    old = set(studio.profile.pinned_keys)
    platform.stop()
    with make_sessions(connect(platform.config.database_url))() as session:
        new_kid = rotate_signing_key(session, platform.config.master_key)
    platform = EmbeddedPlatform(platform_dir)
    platform.start(port)
    try:
        studio.login("fan", "fanfare-demo")
        assert set(studio.profile.pinned_keys) == old | {new_kid}
        track = studio.open_track("paper-moons")  # its licence is signed by the new key
        assert track.licence.kid == new_kid
        track.close()
    finally:
        studio.close()
        platform.stop()


def test_publishing_a_stem_silenced_by_effects_is_refused_before_upload(studio: Studio) -> None:
    from app.core.effects import Filter, StemFx

    track = studio.open_track("neon-harbour")
    for kind in ("bass", "keys", "pad"):
        track.set_stem(kind, mute=True)
    track.set_stem("drums", fx=StemFx(filter=Filter(highpass_hz=2000.0, lowpass_hz=500.0)))
    with pytest.raises(PolicyDenied, match="lead stem may not be heard on its own"):
        track.publish(title="Just the lead, really")
    assert studio.derivatives() == []
    track.close()


def test_publishing_a_remix_that_leaves_the_lead_alone_in_one_channel_is_refused_before_upload(
    studio: Studio,
) -> None:
    track = studio.open_track("neon-harbour")
    for kind in ("drums", "bass", "keys", "pad"):
        track.set_stem(kind, pan=1.0)
    track.set_stem("lead", pan=-1.0)
    with pytest.raises(PolicyDenied, match="lead stem would be heard almost alone") as refused:
        track.publish(title="Left for the lead")
    assert "in the left channel" in str(refused.value)
    assert studio.derivatives() == []
    # With the rest spread across both channels again, the wide lead is published.
    for kind in ("drums", "bass", "keys", "pad"):
        track.set_stem(kind, pan=0.3, gain_db=-6.0)
    track.set_stem("lead", pan=-0.6, gain_db=6.0)  # the lead forward: a remix for the gate
    assert track.publish(title="Wide, not alone")["title"] == "Wide, not alone"
    track.close()


def test_the_studio_signs_in_during_a_guessing_attack_on_its_account(
    studio: Studio, embedded: Any
) -> None:
    # Someone on this machine guesses the fan's password until the platform holds the
    # account (and this address) for anyone who cannot show a known device.
    with httpx.Client(base_url=embedded.url) as guesser:
        answers = [
            guesser.post(
                "/api/v1/auth/login", json={"username": "fan", "password": f"guess-{n}"}
            ).status_code
            for n in range(11)
        ]
        assert answers == [401] * 10 + [429]
        right = {"username": "fan", "password": embedded.demo_password}
        assert guesser.post("/api/v1/auth/login", json=right).status_code == 429
    # The fan's studio, on the device the account enrolled, signs in all the same.
    profile = studio.login("fan", embedded.demo_password)
    assert profile.user_name == "fan"
    track = studio.open_track("neon-harbour")
    assert track.licence.licence_id
    track.close()


def test_a_second_account_on_this_computer_enrols_as_its_own_device(
    studio: Studio, embedded: Any
) -> None:
    fan_device = studio.profile.device_id
    studio.logout()
    # The artist on the same computer: keys of its own, so no "enrolled on another account".
    artist = studio.login("nova-lane", embedded.demo_password)
    assert artist.user_name == "nova-lane" and artist.role == "artist"
    assert studio.profile.device_id not in ("", fan_device)
    track = studio.open_track("neon-harbour")  # the artist's own track, under its own licence
    assert track.licence.user == studio.profile.user_id
    track.close()
    # Back as the fan: the fan's keys again, so the same device.
    studio.logout()
    assert studio.login("fan", embedded.demo_password).device_id == fan_device


def test_the_artist_previews_a_draft_exactly_as_a_fan_will_meet_it(embedded: Any) -> None:
    from app.core.policy import Policy
    from app.studio.errors import PreviewNotPublishedError

    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)
    live = artist.own_track("neon-harbour").info.policy
    draft = live | {
        "tempo_ratio_range": [0.9, 1.1],
        "key_shift_range": [-1, 1],
        "min_audible_stems": 3,
        "stems": {"lead": {"solo": True}, "drums": {"solo": False, "mute": False}},
    }
    preview = artist.open_track("neon-harbour", preview_policy=draft)
    assert preview.preview and Policy.from_dict(preview.licence.policy) == Policy.from_dict(draft)
    base = preview.recipe
    tries = [
        base.with_tempo(ratio=1.2),
        base.with_tempo(key_shift=2),
        base.with_stem("drums", mute=True),
        base.with_stem("bass", mute=True).with_stem("keys", mute=True).with_stem("pad", mute=True),
        base.with_stem("lead", solo=True),
        base.with_stem("drums", gain_db=-3.0),
    ]

    def reasons(track: Any) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """What the window greys out, and what publishing refuses, for each try."""
        return [(track.check(r).reasons, track.check(r, publishing=True).reasons) for r in tries]

    seen = reasons(preview)
    assert all(editing for editing, _ in seen[:3])  # refused while remixing, with reasons
    assert not seen[3][0] and seen[3][1]  # one stem left: played, but not published
    assert not seen[4][0] and seen[4][1]  # the lead alone: allowed by the draft, not published
    assert seen[5] == ((), ())  # allowed under the draft
    with pytest.raises(PreviewNotPublishedError, match="preview of your draft"):
        preview.publish(title="Not from a preview")
    preview.close()
    # Saved, the draft is what a fan meets: the same refusals, word for word.
    artist.save_policy("neon-harbour", draft)
    fan = Studio(embedded.url)
    fan.login("fan", embedded.demo_password)
    fans = fan.open_track("neon-harbour")
    assert not fans.preview
    assert reasons(fans) == seen
    fans.close()
    fan.close()
    artist.close()


def test_an_artist_uploads_a_track_and_a_closed_app_resumes_where_it_stopped(
    embedded: Any, tmp_path: Path
) -> None:
    import json as json_module

    import numpy as np
    import soundfile as sf

    from app.studio.uploading import NewTrack

    t = np.arange(40 * 44_100) / 44_100
    files = {}
    for kind, hz in (("keys", 220.0), ("bass", 55.0)):
        tone = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        files[kind] = tmp_path / f"{kind}.wav"
        sf.write(files[kind], np.stack([tone, tone], axis=1), 44_100, subtype="PCM_24")
    new = NewTrack(title="Slow Tide", stems=files, bpm=84.0, key="F major")
    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)

    class Closed(Exception):
        """The app closed mid-upload."""

    def close_after_first_piece(text: str, fraction: float) -> None:
        if text.startswith("Uploading"):
            raise Closed

    with pytest.raises(Closed):
        artist.upload_track(new, close_after_first_piece)
    pending = list((artist.paths.data_dir / "uploads").glob("*.json"))
    assert len(pending) == 1
    upload_id = json_module.loads(pending[0].read_text())["upload_id"]
    held = artist.client.upload_status(upload_id)["received"]
    assert held["keys"] > 0 and held["bass"] == 0
    # Opened again, the same upload goes on from there and arrives as a draft.
    track = artist.upload_track(new)
    assert track.state == "draft" and track.info.title == "Slow Tide"
    assert track.info.stem_kinds == ("keys", "bass")
    assert not list((artist.paths.data_dir / "uploads").glob("*.json"))
    assert artist.client.upload_status(upload_id)["track_id"] == track.info.id
    artist.close()


def test_auditions_play_each_transformation_a_draft_allows_and_nothing_it_forbids(
    embedded: Any,
) -> None:
    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)
    live = artist.own_track("neon-harbour").info.policy
    draft = live | {"tempo_ratio_range": [0.9, 1.1], "key_shift_range": [0, 2]}
    track = artist.open_track("neon-harbour", preview_policy=draft)
    found = {a.title: a.recipe for a in track.auditions()}
    assert {"Tempo at 90%", "Tempo at 110%", "Key +2 semitones"} <= set(found)
    assert "Key +0 semitones" not in found  # no change is no audition
    assert "The lead up front (+6 dB)" in found
    assert "Rearranged: intro twice, then the outro" in found
    styled = [t for t in found if " on the " in t]
    assert styled, "the demo policy allows style models: some audition places one"
    for title, recipe in found.items():
        track.apply(recipe)  # every audition is a remix the policy lets a fan make
        assert track.recipe == recipe, title
    track.close()
    # A draft that allows less offers less.
    strict = live | {"tempo_ratio_range": [1.0, 1.0], "key_shift_range": [0, 0],
                     "style_families": []}  # fmt: skip
    narrow = artist.open_track("neon-harbour", preview_policy=strict)
    titles = [a.title for a in narrow.auditions()]
    assert not [t for t in titles if t.startswith(("Tempo", "Key")) or " on the " in t]
    narrow.close()
    artist.close()


def test_the_artist_listens_to_a_fans_remix_in_memory_through_the_output_path(
    studio: Studio, embedded: Any
) -> None:
    from app.platform_client.errors import NotFoundError
    from tests.helpers.playback import start

    track = studio.open_track("paper-moons")
    track.set_stem("drums", gain_db=-5.0)
    track.set_stem("bass", mute=True)  # a remix, not the original (the spam gate)
    track.set_stem("keys", gain_db=-9.0)
    made = track.publish(title="Moons, lighter")
    track.close()
    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)
    listening = artist.listen(made["id"])
    assert listening.info.title == "Moons, lighter" and listening.info.artist == "fan"
    assert listening.duration_s == pytest.approx(made["duration_s"], abs=0.01)
    listening.set_volume(-6.0)
    start(listening.player)  # skips without a sound device, unless one is required
    deadline = time.monotonic() + 10
    while listening.position_s < 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listening.position_s >= 0.5 and listening.playing
    listening.seek(30.0)
    listening.close()
    with pytest.raises(NotFoundError):
        artist.listen("drv_not_there")
    artist.close()
