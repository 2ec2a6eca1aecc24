# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the studio keeps its state, and the per-platform profile (who, which device, which keys).

Profiles hold no secret: the bearer token and device keys live in the secret store.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

from app import APP_NAME
from app.core.files import atomic_write
from app.studio.errors import ProfileError


@dataclass(frozen=True)
class StudioPaths:
    """The studio's folders (platformdirs: XDG on Linux)."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @classmethod
    def default(cls) -> StudioPaths:
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )

    @property
    def profiles_file(self) -> Path:
        return self.config_dir / "profiles.json"

    @property
    def preferences_file(self) -> Path:
        return self.config_dir / "preferences.json"

    @property
    def midi_mapping_file(self) -> Path:
        return self.config_dir / "midi-mapping.json"

    @property
    def takes_dir(self) -> Path:
        """The fan's own recorded takes (their audio, not licensed audio)."""
        return self.data_dir / "takes"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / "device-secrets.json"

    @property
    def blob_cache_dir(self) -> Path:
        return self.cache_dir / "stems"

    @property
    def model_cache_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def licence_cache_dir(self) -> Path:
        return self.data_dir / "licences"

    @property
    def embedded_platform_dir(self) -> Path:
        return self.data_dir / "embedded-platform"


@dataclass
class Profile:
    """This app's standing with one platform."""

    url: str
    user_id: str = ""
    user_name: str = ""
    role: str = ""
    token_expires_at: int = 0
    device_id: str = ""
    pinned_keys: dict[str, str] = field(default_factory=dict)
    #: This device's X.509 certificate and the platform's device CA (PEM): for provenance.
    certificate_pem: str = ""
    ca_pem: str = ""
    #: When the revocation list was last synced (Unix seconds): bounds offline use.
    last_revocation_sync: int = 0


class ProfileBook:
    """All profiles plus which platform the command line uses by default."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current = ""
        self.profiles: dict[str, Profile] = {}
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return  # not signed in anywhere yet
        except UnicodeDecodeError:
            return  # damaged: not signed in anywhere
        except OSError as exc:
            # Unreadable is not empty: reading it as empty would overwrite it at the next save.
            raise ProfileError(
                f"Cannot read your sign-in profiles at {path} ({exc.strerror}). "
                "Fix that file or folder, or move it aside, and start again."
            ) from None
        try:
            doc = json.loads(text)
            self.current = str(doc.get("current", ""))
            for url, data in dict(doc.get("profiles", {})).items():
                self.profiles[url] = Profile(**{**data, "url": url})
        except (ValueError, TypeError, AttributeError):
            pass  # a damaged file means "not signed in anywhere"

    def get(self, url: str) -> Profile:
        return self.profiles.setdefault(url, Profile(url=url))

    def save(self) -> None:
        doc = {
            "current": self.current,
            "profiles": {u: asdict(p) for u, p in self.profiles.items()},
        }
        try:
            atomic_write(self.path, json.dumps(doc, indent=2).encode())
        except OSError as exc:
            raise ProfileError(
                f"Cannot save your sign-in profiles to {self.path} ({exc.strerror})."
            ) from None
