# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio's own typed errors (each message is a sentence for the user)."""

from __future__ import annotations

from app.core.errors import FanfareError, LicenceDeviceError, LicenceRightsError


class DeviceRevokedError(LicenceDeviceError):
    """This device was revoked on the platform; the user must sign in and enrol again."""


class LicenceRevokedError(LicenceRightsError):
    """The platform revoked this licence."""


class NotSignedInError(FanfareError):
    """No account is signed in on this platform."""


class PlatformKeyChangedError(FanfareError):
    """The platform signs with a key this app never pinned for it (possible impersonation)."""


class ProfileError(FanfareError):
    """The sign-in profiles file cannot be read or written (a folder in its way, permissions)."""


class PreferencesError(FanfareError):
    """A preference took effect but could not be saved for the next start."""


class PreviewNotPublishedError(FanfareError):
    """A remix made in an artist's preview of a draft policy cannot be published."""


class ListeningEndedError(FanfareError):
    """The platform no longer lets this remix be heard (taken down, its track withdrawn)."""


class RecordingError(FanfareError):
    """A take could not be recorded or kept (no input device, the input failed, the track is
    not at its own tempo and order); the message says which."""


class TakeMissingError(FanfareError):
    """A recorded part's take is not on this computer (a project opened on another machine)."""
