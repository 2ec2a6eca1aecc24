# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: an isolated home for every test, signals, and seeded platforms."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

SAMPLE_RATE = 48_000
# Qt without a screen: set before any test imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets fresh config/data/cache folders and the announced file secret store, so
    nothing touches the real user's files or keyring."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@lru_cache(maxsize=32)
def _sine(hz: float, seconds: float, amplitude: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    out = np.stack([mono, mono], axis=1)
    out.flags.writeable = False
    return out


def sine(hz: float, seconds: float = 1.0, amplitude: float = 0.5, sample_rate: int = SAMPLE_RATE):
    """A cached stereo sine, float32 (frames, 2); copy before writing."""
    return _sine(hz, seconds, amplitude, sample_rate)


def play_blocks(mixer: object, start: int, end: int, out: np.ndarray) -> None:
    """Render ``[start, end)`` of ``mixer`` into ``out`` as the player does: blocks on the
    grid (the first may be short), in order."""
    block = mixer.block_frames  # type: ignore[attr-defined]
    pos = start
    while pos < end:
        count = min(block - pos % block, end - pos)
        mixer.render(pos, out[pos : pos + count])  # type: ignore[attr-defined]
        pos += count


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(audio, dtype=np.float64))) + 1e-12))


@pytest.fixture(scope="session")
def seeded_platform_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A platform data folder seeded once with the demo catalogue (copied per user)."""
    from app.server.blobs import BlobStore
    from app.server.config import ServerConfig
    from app.server.db import make_engine, make_sessions
    from app.server.demo import seed_demo
    from app.server.vaultkeys import Signer

    folder = tmp_path_factory.mktemp("platform-template")
    config = ServerConfig.load(folder)
    engine = make_engine(config.database_url)
    with make_sessions(engine)() as session:
        Signer.load_or_create(session, config.master_key)
        assert seed_demo(session, BlobStore(config.blob_dir), config.master_key)
    engine.dispose()
    return folder


@pytest.fixture
def platform_dir(seeded_platform_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded demo platform's data for one test."""
    target = tmp_path / "platform"
    shutil.copytree(seeded_platform_template, target)
    return target


@pytest.fixture
def embedded(platform_dir: Path) -> Iterator[object]:
    """The real platform server on loopback (uvicorn in a thread) over a seeded copy."""
    from app.embedded import EmbeddedPlatform

    platform = EmbeddedPlatform(platform_dir)
    platform.start()
    yield platform
    platform.stop()


def device_required() -> bool:
    """scripts/test sets this after starting PulseAudio: then a missing device is a failure."""
    return os.environ.get("FANFARE_REQUIRE_DEVICE") == "1"


def wait_for(condition: Callable[[], bool], timeout_s: float = 8.0) -> bool:
    """Whether ``condition`` comes true within ``timeout_s`` (polled every 20 ms): what the
    device tests and the prefetch tests wait with (a null sink can take seconds to start)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
