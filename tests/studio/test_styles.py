# SPDX-License-Identifier: GPL-3.0-or-later
"""Style models in the studio against the real platform on loopback: the models offered and
allowed, placing one on a stem, publishing with the disclosure and the platform's re-render,
and models that are refused (forbidden by the artist, altered, or hidden from the disclosure).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from app.core import recipe as recipe_format
from app.core.codec import decode_audio, encode_flac
from app.core.credentials import RemixFacts, remix_manifest, sign_flac
from app.core.errors import PolicyDenied, StyleModelError
from app.core.recipe import Recipe
from app.core.style_slot import StyleSlot
from app.engine.offline import render_derivative
from app.platform_client.errors import PlatformError
from app.studio.session import Studio
from tests.helpers.garden import published_flac

VIOLIN = StyleSlot.make("timbre.violin", 1)


def _character(studio: Studio) -> StyleSlot:
    found = [m for m in studio.styles.offered() if m["family"] == "character"]
    assert found, "the platform offers no character model"
    return StyleSlot.make(found[0]["id"], found[0]["version"])


def test_models_lists_what_the_platform_offers_and_what_each_licence_allows(
    studio: Studio,
) -> None:
    models = {m["ref"]: m for m in studio.model_tracks()}
    assert "timbre.violin@1" in models
    assert {"id", "family", "version", "knobs", "allowed_tracks"} <= set(models["timbre.violin@1"])
    # neon-harbour and paper-moons allow timbre and character models; copper-wire allows none.
    for model in models.values():
        assert set(model["allowed_tracks"]) == {"neon-harbour", "paper-moons"}, model["ref"]


def test_a_styled_stem_is_heard_rendered_and_published_with_its_disclosure(
    studio: Studio,
) -> None:
    track = studio.open_track("neon-harbour")
    dry = track.render()
    track.set_style("lead", VIOLIN)
    bass = _character(studio)
    track.set_style("bass", bass)
    assert track.recipe.stems["lead"].style == VIOLIN
    styled = track.render()
    assert styled.shape == dry.shape
    assert float(np.max(np.abs(styled - dry))) > 0.01  # the violin and the tape are heard
    assert np.array_equal(track.render(), styled)  # and a render is deterministic
    result = track.publish(title="Violin harbour")
    assert result["status"] == "published"
    disclosure = result["disclosure"]
    assert disclosure["ai_used"] is True
    assert sorted(disclosure["ai_models"]) == sorted(["timbre.violin@1", bass.ref])
    assert disclosure["styled_stems"] == {"lead": "timbre.violin@1", "bass": bass.ref}
    audio, _ = decode_audio(published_flac(studio, result["id"]))
    assert audio.shape[0] == track.info.frames
    track.close()


def test_a_knob_out_of_range_or_unknown_is_refused_and_changes_nothing(studio: Studio) -> None:
    track = studio.open_track("neon-harbour")
    knob = studio.styles.package("timbre.violin@1").manifest.knobs[0]
    before = track.recipe
    with pytest.raises(StyleModelError, match="must stay within"):
        track.set_style("lead", StyleSlot.make("timbre.violin", 1, {knob.id: knob.max + 1}))
    with pytest.raises(StyleModelError, match="no control named"):
        track.set_style("lead", StyleSlot.make("timbre.violin", 1, {"cowbell": 0.5}))
    assert track.recipe == before
    track.close()


def test_the_artist_decides_which_stems_and_families(studio: Studio) -> None:
    track = studio.open_track("copper-wire")  # its artist allows no style models
    with pytest.raises(PolicyDenied, match=r"does not allow the style model timbre\.violin"):
        track.set_style("lead", VIOLIN)
    assert track.recipe.stems["lead"].style is None
    assert all(not m["allowed"] for m in track.model_stems())
    track.close()


def test_an_altered_model_is_refused_and_a_damaged_cache_is_fetched_again(
    studio: Studio, platform_dir: Path
) -> None:
    package = studio.styles.package("timbre.violin@1")
    cached = studio.paths.model_cache_dir / "timbre.violin" / "1" / "model.onnx"
    cached.write_bytes(cached.read_bytes()[:-1] + b"\x00")
    studio.styles._packages.clear()  # a new run of the app reads the cache back
    again = studio.styles.package("timbre.violin@1")  # checked, found damaged, fetched anew
    assert again.files["model.onnx"] == package.files["model.onnx"]
    # A platform (or a man in the middle) serving other bytes than it signed: refused.
    blob = platform_dir / "blobs" / "models" / "timbre.violin" / "1" / "model.onnx"
    blob.write_bytes(blob.read_bytes()[:-1] + b"\x01")
    studio.styles._packages.clear()
    cached.unlink()
    with pytest.raises(StyleModelError, match="does not match its signed manifest"):
        studio.styles.package("timbre.violin@1")


def test_the_platform_refuses_a_remix_that_hides_its_style_model(studio: Studio) -> None:
    # What a modified client could try: a styled render disclosed as made without AI.
    track = studio.open_track("neon-harbour")
    track.set_style("lead", VIOLIN)
    recipe = track.recipe
    audio, _ = render_derivative(
        track._stems, track.info.sample_rate, recipe, track=track.info,
        styles=track.style_package,
    )  # fmt: skip
    flac = encode_flac(audio, track.info.sample_rate)

    def signed(recipe: Recipe, models: dict[str, str], ai_models: list[str]) -> bytes:
        facts = RemixFacts(
            title=recipe.title, fan="fan", software_version="0",
            track_id=track.info.id, track_version=track.info.version,
            track_title=track.info.title, artist=track.info.artist,
            track_digest=track.sealed_digest, models=models,
            remix={
                "recipe_sha256": recipe.digest(), "licence_id": track.licence.licence_id,
                "track": track.info.id, "track_version": track.info.version,
                "track_digest": track.sealed_digest, "device": studio.profile.device_id,
                "user": studio.profile.user_id, "created_at": int(time.time()),
                "ai": {"used": bool(ai_models), "models": ai_models},
            },
        )  # fmt: skip
        return sign_flac(
            flac, remix_manifest(facts), studio.device_keys().signing.sign,
            studio.profile.certificate_pem,
        )  # fmt: skip

    # Credentials that say "human edits" and name no model, over a styled render.
    with pytest.raises(PlatformError, match="does not name the style models"):
        studio.client.upload_derivative(
            audio=signed(recipe, {}, []), recipe=recipe.to_json().encode(), title="Sneaky"
        )
    # And a recipe naming a model the platform does not offer is refused before any render.
    doc = json.loads(recipe.to_json())
    doc["stems"]["lead"]["style"]["model"] = "timbre.theremin"
    theremin = recipe_format.loads(json.dumps(doc))
    with pytest.raises(PlatformError, match="not offered"):
        studio.client.upload_derivative(
            audio=signed(theremin, {"timbre.theremin@1": "Theremin"}, ["timbre.theremin@1"]),
            recipe=json.dumps(doc).encode(), title="Theremin",
        )  # fmt: skip
    track.close()
