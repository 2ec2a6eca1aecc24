# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden's formats: listen licences (sealed to one device, for one remix, for minutes),
play reports (a device's signature over what it heard), and how a remix was made as listeners
read it; the parsers under hypothesis raise only their typed errors."""

from __future__ import annotations

import contextlib
import math
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from app.core.disclosure import describe, disclose
from app.core.errors import LicenceDeviceError, LicenceError, LicenceExpiredError
from app.core.keys import DeviceKeys, key_id
from app.core.licence import sign_envelope
from app.core.listen_licence import (
    FORMAT,
    ListenLicence,
    sign_listen_licence,
    verify_listen_licence,
)
from app.core.play_report import (
    PlayReport,
    PlayReportError,
    counts_after_s,
    read_play_report,
    sign_play_report,
    verify_play_report,
)
from app.core.recipe import Recipe
from app.core.style_slot import StyleSlot
from app.core.track import Section, StemInfo, TrackInfo
from tests.core.test_fuzz import FUZZ, json_values

PLATFORM = Ed25519PrivateKey.generate()
TRUSTED = {key_id(PLATFORM.public_key()): PLATFORM.public_key()}
LISTENER = DeviceKeys.generate()
KEY = bytes(range(32))


def _licence(**changes: object) -> bytes:
    now = int(time.time())
    body = ListenLicence("lsn_1", "usr_1", "dev_1", "drv_1", now, now - 300, now + 600, b"")
    for name, value in changes.items():
        body = ListenLicence(**{**body.__dict__, name: value})
    return sign_listen_licence(body, PLATFORM, content_key=KEY, device_kem=LISTENER.kem_public())


def _open(data: bytes, **who: str) -> ListenLicence:
    where = {"user": "usr_1", "device": "dev_1", "derivative": "drv_1"} | who
    return verify_listen_licence(data, TRUSTED, now=time.time(), **where)


def test_a_listen_licence_opens_the_remix_key_on_its_device_only() -> None:
    licence = _open(_licence())
    assert licence.content_key(LISTENER) == KEY
    with pytest.raises(LicenceDeviceError, match="sealed to another device"):
        licence.content_key(DeviceKeys.generate())
    with pytest.raises(LicenceDeviceError, match="another device"):
        _open(_licence(), device="dev_2")
    with pytest.raises(LicenceDeviceError, match="another account"):
        _open(_licence(), user="usr_2")
    with pytest.raises(LicenceError, match="another remix"):
        _open(_licence(), derivative="drv_2")
    with pytest.raises(LicenceExpiredError, match="run out"):
        _open(_licence(expires_at=int(time.time()) - 1))


def test_a_stem_licences_key_cannot_pass_for_a_listen_licences() -> None:
    # The same body signed as another format is refused before any key is opened.
    with pytest.raises(LicenceError, match="not a Fanfare listen licence"):
        _open(_licence().replace(b"fanfare.listen-licence", b"fanfare.licence"))


FIELDS = ("licence_id", "user", "device", "derivative", "issued_at", "not_before",
          "expires_at", "sealed_key")  # fmt: skip


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=9))
def test_any_signed_body_as_a_listen_licence(body: dict[str, object]) -> None:
    # Signed by the trusted key, so the body's parser itself is what is tried.
    try:
        data = sign_envelope(FORMAT, body, PLATFORM)
    except ValueError:  # a body RFC 8785 cannot write (a float beyond 2**53): nothing to try
        return
    with contextlib.suppress(LicenceError):
        _open(data)


@FUZZ
@given(json_values)
def test_any_json_as_a_play_report(value: object) -> None:
    with contextlib.suppress(PlayReportError):
        read_play_report(value)
    with contextlib.suppress(PlayReportError):
        read_play_report({"report": value, "sig": "AAAA"})


def test_a_play_report_verifies_against_its_device_only() -> None:
    report = PlayReport("drv_1", "lsn_1", "usr_1", "dev_1", 31.04, 1_733_380_000)
    signed = sign_play_report(report, LISTENER.signing)
    parsed, sig = read_play_report(signed)
    verify_play_report(parsed, sig, LISTENER.signing.public_key())
    with pytest.raises(PlayReportError):
        verify_play_report(parsed, sig, DeviceKeys.generate().signing.public_key())
    longer = PlayReport(**{**parsed.__dict__, "listened_s": 300.0})
    with pytest.raises(PlayReportError):
        verify_play_report(longer, sig, LISTENER.signing.public_key())
    for bad in (float("nan"), -1.0, True):
        doc = {"report": signed["report"] | {"listened_s": bad}, "sig": signed["sig"]}
        with pytest.raises(PlayReportError, match="malformed"):
            read_play_report(doc)


def test_a_play_counts_after_30_s_or_the_whole_of_a_shorter_remix() -> None:
    assert counts_after_s(240.0) == 30.0
    assert counts_after_s(8.0) == pytest.approx(7.5)


TRACK = TrackInfo(
    id="t", version=2, title="Tide", artist="Ana", bpm=100.0, key="C", time_signature="4/4",
    sample_rate=48_000, frames=48_000 * 60, stems=tuple(StemInfo(k) for k in
    ("vocal", "drums", "bass", "pad")),
    sections=(Section("a", 0.0, 30.0), Section("b", 30.0, 60.0)),
)  # fmt: skip


def test_how_it_was_made_lists_quiet_stems_and_the_ai_share_by_energy() -> None:
    recipe = (
        Recipe.default_for(TRACK)
        .with_stem("vocal", style=StyleSlot("timbre.violin", 1, mix=1.0))
        .with_stem("pad", gain_db=-30.0)
        .with_stem("bass", mute=True)
        .with_tempo(ratio=1.1, key_shift=-2)
    )
    levels = {"vocal": 0.0, "drums": 0.0, "bass": -math.inf, "pad": -30.0}
    doc = disclose(recipe, TRACK, "Ana", levels)
    heard = {s["stem"]: (s["heard"], s["level_db"]) for s in doc["stems"]}
    assert heard == {
        "vocal": ("clearly", 0.0), "drums": ("clearly", 0.0), "bass": ("not heard", None),
        "pad": ("quietly", -30.0),
    }  # fmt: skip
    # Two stems as loud, one styled: half the energy, plus the pad's thousandth.
    assert doc["ai"]["share"] == pytest.approx(1 / (2 + 10**-3), abs=1e-3)
    assert doc["ai"]["areas"]["vocals"] == {"ai": True, "models": ["timbre.violin@1"],
                                            "stems": ["vocal"]}  # fmt: skip
    assert not doc["ai"]["areas"]["instrumentation"]["ai"]
    assert doc["bpm"] == 110.0 and doc["key_shift"] == -2
    lines = describe(doc)
    assert lines[0] == "A remix of “Tide” by Ana."
    assert lines[1] == "Stems heard: vocal, drums; quietly: pad (-30 dB); not heard: bass."
    assert "tempo ×1.10 (110 BPM)" in lines[2] and "key -2 semitones" in lines[2]
    assert lines[-1] == "AI: vocals (vocal: timbre.violin@1); 50 % of the mix."
