# SPDX-License-Identifier: GPL-3.0-or-later
"""Fuzzing the upload form (``POST /api/v1/derivatives``) as the signed-in fan.

Hypothesis fills the two file parts (audio, recipe) with random bytes, random JSON, audio
behind an ID3 tag of garbage (where Content Credentials live), a signed file with bytes flipped,
or a recipe-shaped document with garbage inside; leaves parts or the title out; sends parts as
plain fields; adds fields nobody asked for; and, deepest, signs Content Credentials with garbage
in their remix assertion with the fan's real device key and certificate under a real licence,
so verification gets past the signature. Whatever it sends, the platform must answer a 4xx
``{"detail": str}`` within a few seconds, and nothing may be stored: no derivative row, no file
under ``blobs/derivatives``.

The hand-written cases at the end are inputs that once reached a 500 (deep nesting, numbers
beyond the float range).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.core.codec import encode_flac
from app.core.licence import Licence
from app.core.recipe import MasterMix, Recipe, StemMix
from app.core.track import TrackInfo
from app.server.db import Derivative
from tests.helpers.audio import SAMPLE_RATE, sine
from tests.helpers.platform import API, TRACK, Fan, TestClient, copy_platform, open_client

PARTS = ("audio", "recipe")
SECONDS_PER_REQUEST = 5.0


@dataclass(repr=False)
class Uploader:
    """The signed-in fan on a platform of its own, with a licence for neon-harbour."""

    client: TestClient
    fan: Fan
    licence: Licence
    info: TrackInfo
    data_dir: Path
    #: A short real FLAC with genuine credentials for a neutral recipe (the wrong length).
    signed_short: bytes = b""

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return f"Uploader(fan={self.fan.user_id}, licence={self.licence.licence_id})"

    def stored(self) -> tuple[int, list[Path]]:
        """Derivative rows and derivative files on the platform."""
        with self.client.app.state.platform.sessions() as session:
            rows = session.scalar(select(func.count()).select_from(Derivative))
        return rows, sorted((self.data_dir / "blobs" / "derivatives").glob("**/*"))


@pytest.fixture(scope="module")
def uploader(
    seeded_platform_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Uploader]:
    data_dir = copy_platform(seeded_platform_template, tmp_path_factory.mktemp("fuzz") / "p")
    with open_client(data_dir) as client:
        fan = Fan.sign_in(client, "fan")
        info = TrackInfo.from_dict(fan.get(f"/tracks/{TRACK}").json())
        licence = fan.licence()
        signed = fan.signed(Recipe.default_for(info), SHORT_FLAC, licence)
        yield Uploader(client, fan, licence, info, data_dir, signed)


def send(
    uploader: Uploader,
    files: dict[str, bytes],
    fields: dict[str, str],
) -> httpx.Response:
    """Post the form as the fan: ``files`` as file parts, ``fields`` as plain fields."""
    multipart = {
        name: (f"{name}.bin", data, "application/octet-stream") for name, data in files.items()
    }
    return uploader.client.post(
        f"{API}/derivatives",
        headers=uploader.fan.headers,
        files=multipart or {"unrelated": ("x.bin", b"", "application/octet-stream")},
        data=fields,
    )


def assert_refused_and_nothing_stored(uploader: Uploader, response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    assert uploader.stored() == (0, [])


# --- strategies ---------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities too: Python's json writes and reads them
    st.text(max_size=20),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# What a device can sign: RFC 8785 takes no NaN, no infinities, no integers beyond 2**53.
SIGNABLE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**53) + 1, 2**53 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
STEM_KINDS = ("drums", "bass", "keys", "lead", "pad")
SHORT_FLAC = encode_flac(sine(440.0, seconds=0.1), SAMPLE_RATE)  # real audio, the wrong length


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, else ``bad``: garbage deep inside needs a sound outside."""
    return st.one_of(good, good, good, bad)


def recipe_like() -> st.SearchStrategy[bytes]:
    """A document that is nearly a recipe for neon-harbour, with garbage where it counts."""
    number = st.one_of(st.floats(), st.integers(-(2**64), 2**64), JSONISH)
    stem = st.fixed_dictionaries(
        {},
        optional={"gain_db": number, "pan": number, "mute": JSONISH, "solo": JSONISH},
    )
    stems = st.dictionaries(
        st.sampled_from(STEM_KINDS) | st.text(max_size=8), mostly(stem, JSONISH)
    )
    track = st.fixed_dictionaries(
        {
            "id": mostly(st.sampled_from([TRACK, "paper-moons", "no-such-song"]), JSONISH),
            "version": mostly(st.just(1), JSONISH),
        }
    )
    return st.fixed_dictionaries(
        {
            "schema": mostly(st.just("fanfare.recipe"), st.text(max_size=20)),
            "version": mostly(st.just(1), st.sampled_from([0, 2]) | JSONISH),
            "track": mostly(track, JSONISH),
            "stems": mostly(stems, JSONISH),
        },
        optional={"title": JSONISH, "master": st.dictionaries(st.text(max_size=20), number)},
    ).map(dumps)


def credentials_like(uploader: Uploader) -> st.SearchStrategy[bytes]:
    """Audio where Content Credentials would be: an ID3 tag of garbage in front of a FLAC, or
    a genuinely signed file with a few bytes flipped."""
    signed = uploader.signed_short
    id3_garbage = st.builds(
        lambda size, body: b"ID3\x04\x00\x00" + bytes(size) + body + SHORT_FLAC,
        st.lists(st.integers(0, 127), min_size=4, max_size=4).map(bytes),
        st.binary(max_size=512),
    )
    flipped = st.lists(st.integers(0, len(signed) - 1), min_size=1, max_size=3).map(
        lambda at: bytes(b ^ 0x55 if i in at else b for i, b in enumerate(signed))
    )
    return st.one_of(id3_garbage, flipped, st.just(signed[: len(signed) // 2]))


def payloads(uploader: Uploader, part: str) -> st.SearchStrategy[bytes]:
    """Random bytes or JSON for any part; mostly a near-miss of the right shape for the part."""
    shaped = {
        "audio": st.binary(max_size=4096) | credentials_like(uploader),
        "recipe": recipe_like(),
    }[part]
    return st.one_of(
        shaped,
        shaped,
        shaped,
        st.binary(max_size=4096),
        JSONISH.map(dumps),
        recipe_like(),
    )


@st.composite
def forms(draw: st.DrawFn, uploader: Uploader) -> tuple[dict[str, bytes], dict[str, str]]:
    """Any upload form: each part a file, a plain field or missing; any title; extra fields."""
    files: dict[str, bytes] = {}
    fields: dict[str, str] = {}
    for name in PARTS:
        how = draw(st.sampled_from(["file"] * 10 + ["field", "missing"]))
        data = draw(payloads(uploader, name))
        if how == "file":
            files[name] = data
        elif how == "field":
            fields[name] = data.decode("utf-8", "replace")
    title = draw(st.one_of(*[st.text(min_size=1, max_size=250)] * 4, st.none(), st.just("")))
    if title is not None:
        fields["title"] = title
    extra_names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
    extras = draw(st.dictionaries(extra_names, st.text(max_size=30), max_size=3))
    fields.update({k: v for k, v in extras.items() if k not in (*PARTS, "title")})
    return files, fields


@st.composite
def signed_forms(draw: st.DrawFn, uploader: Uploader) -> tuple[dict[str, bytes], dict[str, str]]:
    """Credentials signed by the fan's device under its real licence into real audio, with
    garbage in what the signature cannot make right: the audio's length, the mix, the AI
    disclosure, the track digest, now and then the track it names."""
    rarely = st.sampled_from([False] * 9 + [True])
    out_of_range = st.sampled_from([-61.0, 12.5])
    stems = {
        kind: StemMix(
            gain_db=draw(out_of_range if draw(rarely) else st.floats(-60.0, 12.0)),
            pan=draw(st.floats(-1.0, 1.0)),
            mute=draw(rarely),
            solo=draw(rarely),
        )
        for kind in uploader.info.stem_kinds
    }
    recipe = Recipe(
        track_id=TRACK,
        track_version=2 if draw(rarely) else 1,
        title=draw(st.text(min_size=1, max_size=30)),
        stems=stems,
        master=MasterMix(gain_db=draw(st.floats(-24.0, 12.0)), limiter_ceiling_db=-1.0),
    )
    garbage = {
        name: SIGNABLE
        for name in ("ai", "track_digest", "created_at", "watermark_session", "recipe_sha256")
    }
    changes = draw(st.fixed_dictionaries({}, optional=garbage))
    if draw(rarely):
        changes |= draw(st.fixed_dictionaries({"track": SIGNABLE, "track_version": SIGNABLE}))
    signed = uploader.fan.signed(recipe, SHORT_FLAC, uploader.licence, **changes)
    files = {"audio": signed, "recipe": recipe.to_json().encode()}
    return files, {"title": draw(st.text(min_size=1, max_size=50))}


FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(uploader: Uploader, form: tuple[dict[str, bytes], dict[str, str]]) -> str:
    """Send the form; returns the refusal (status and the start of its reason)."""
    files, fields = form
    started = time.monotonic()
    response = send(uploader, files, fields)
    assert time.monotonic() - started < SECONDS_PER_REQUEST
    assert_refused_and_nothing_stored(uploader, response)
    return f"{response.status_code} {response.json()['detail'][:40]}"


@FUZZ
@given(data=st.data())
def test_any_upload_form_is_a_readable_4xx_and_stores_nothing(
    uploader: Uploader, data: st.DataObject
) -> None:
    event(check(uploader, data.draw(forms(uploader))))  # --hypothesis-show-statistics


@FUZZ
@given(data=st.data())
def test_signed_credentials_with_garbage_inside_are_a_readable_4xx_and_store_nothing(
    uploader: Uploader, data: st.DataObject
) -> None:
    event(check(uploader, data.draw(signed_forms(uploader))))


def test_the_form_fuzz_reaches_verification(uploader: Uploader) -> None:
    """The fuzzed forms get past the form parser and the credentials: a recipe-shaped part
    reaches the recipe check."""
    almost = {"schema": "fanfare.recipe", "version": 1, "track": {"id": TRACK, "version": 1}}
    files = {"audio": uploader.signed_short, "recipe": dumps(almost | {"stems": {}})}
    response = send(uploader, files, {"title": "t"})
    assert_refused_and_nothing_stored(uploader, response)
    assert response.json()["detail"] == "This recipe names no stems."


# --- inputs that once reached a 500 ------------------------------------------------------------


def neutral_recipe(uploader: Uploader) -> bytes:
    return Recipe.default_for(uploader.info).to_json().encode()


def test_a_deeply_nested_recipe_is_422(uploader: Uploader) -> None:
    files = {"audio": uploader.signed_short, "recipe": b"[" * 100_000}
    check(uploader, (files, {"title": "t"}))


def test_an_id3_tag_claiming_more_than_the_file_is_422(uploader: Uploader) -> None:
    files = {"audio": b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + SHORT_FLAC, "recipe": b"{}"}
    check(uploader, (files, {"title": "t"}))


def test_a_recipe_with_a_number_beyond_float_range_is_422(uploader: Uploader) -> None:
    doc = json.loads(neutral_recipe(uploader))
    doc["stems"]["drums"]["gain_db"] = 10**400
    files = {"audio": uploader.signed_short, "recipe": dumps(doc)}
    check(uploader, (files, {"title": "t"}))
