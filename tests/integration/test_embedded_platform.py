# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded platform is no shared door: its own random password per installation, kept
0600, no admin unless asked for, and the window's platform on a socket only this user reaches.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from app.embedded import (
    CREDENTIALS_FILE,
    EmbeddedPlatform,
    EmbeddedPlatformError,
    load_credentials,
)
from app.server.demo import DEMO_PASSWORD
from app.studio.session import Studio

pytestmark = pytest.mark.integration


def _signs_in(platform: EmbeddedPlatform, user: str, password: str) -> bool:
    with httpx.Client(base_url=platform.url) as client:
        body = {"username": user, "password": password}
        return client.post("/api/v1/auth/login", json=body).status_code == 200


@pytest.fixture
def installed_before(platform_dir: Path) -> Path:
    """A platform folder as an earlier release left it: the demo accounts (admin included)
    on the one password everyone knew, and no credentials file."""
    (platform_dir / CREDENTIALS_FILE).unlink()
    return platform_dir


def test_each_installation_gets_its_own_password_and_no_admin(
    installed_before: Path, tmp_path: Path
) -> None:
    platform = EmbeddedPlatform(installed_before)
    platform.start()
    try:
        password = platform.demo_password
        assert password != DEMO_PASSWORD and len(password) >= 20
        mode = stat.S_IMODE((installed_before / CREDENTIALS_FILE).stat().st_mode)
        assert mode == 0o600
        for user in ("fan", "fan2", "nova-lane"):
            assert _signs_in(platform, user, password)
            assert not _signs_in(platform, user, DEMO_PASSWORD)
        # The admin account the earlier release made is locked: nobody holds its password.
        assert not _signs_in(platform, "admin", DEMO_PASSWORD)
        assert not _signs_in(platform, "admin", password)
    finally:
        platform.stop()
    # Another installation (a copy of the same earlier folder) gets another password.
    other_dir = tmp_path / "other"
    shutil.copytree(installed_before, other_dir)
    (other_dir / CREDENTIALS_FILE).unlink()
    other = EmbeddedPlatform(other_dir)
    other.seed_if_empty()
    assert other.demo_password != password
    # Started again, the installation keeps its password.
    assert EmbeddedPlatform(installed_before).demo_password == password


def test_an_admin_is_there_only_while_asked_for(installed_before: Path) -> None:
    with EmbeddedPlatform(installed_before, with_admin=True) as platform:
        assert _signs_in(platform, "admin", platform.demo_password)
    credentials = load_credentials(installed_before)
    assert credentials is not None and credentials.admin
    with EmbeddedPlatform(installed_before) as platform:  # not asked again: as last asked
        assert _signs_in(platform, "admin", platform.demo_password)
    with EmbeddedPlatform(installed_before, with_admin=False) as platform:
        assert not _signs_in(platform, "admin", platform.demo_password)
        assert _signs_in(platform, "fan", platform.demo_password)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets on this system")
def test_the_windows_platform_is_reachable_by_this_user_alone(
    installed_before: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A runtime folder anyone may pass through, so that only Fanfare's own folder in it holds.
    runtime = Path(tempfile.mkdtemp(prefix="fanfare-run-"))
    runtime.chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    platform = EmbeddedPlatform(installed_before)
    url = platform.start(private=True)
    try:
        assert url.startswith("http+unix://")
        # Nothing on TCP: the server's only socket is the Unix one, in a folder of ours alone.
        assert platform._server is not None
        families = {s.family for server in platform._server.servers for s in server.sockets}
        assert families == {socket.AF_UNIX}
        folder = runtime / "fanfare"
        info = folder.stat()
        assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700
        # The real studio signs in over it with the installation's password, and plays.
        studio = Studio(url)
        studio.login(platform.demo_user, platform.demo_password)
        track = studio.open_track("neon-harbour")
        assert track.licence.licence_id
        track.close()
        studio.close()
        # Another account on this computer cannot even reach the socket; the same account
        # reaches a socket in the open runtime folder (the folder is what holds).
        if os.getuid() == 0 and shutil.which("setpriv"):
            control = socket.socket(socket.AF_UNIX)
            control.bind(str(runtime / "open.sock"))
            (runtime / "open.sock").chmod(0o666)
            control.listen()
            try:
                assert _as_nobody(runtime / "open.sock") == "connected"
                assert _as_nobody(folder / "platform.sock") == "refused"
            finally:
                control.close()
        # A second studio cannot start a second platform on the same socket.
        with pytest.raises(EmbeddedPlatformError, match="already running"):
            EmbeddedPlatform(installed_before).start(private=True)
    finally:
        platform.stop()
    # A socket left behind by a studio that did not close is taken over.
    stale = socket.socket(socket.AF_UNIX)
    if not (folder / "platform.sock").exists():
        stale.bind(str(folder / "platform.sock"))
    stale.close()
    again = EmbeddedPlatform(installed_before)
    assert again.start(private=True) == url
    again.stop()
    shutil.rmtree(runtime)


def _as_nobody(path: Path) -> str:
    """Connect to the socket at ``path`` as the account ``nobody``: "connected" or "refused"."""
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        "try:\n s.connect(sys.argv[1]); print('connected')\n"
        "except PermissionError: print('refused')\n"
    )
    other = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         sys.executable, "-c", probe, str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    return other.stdout.strip()
