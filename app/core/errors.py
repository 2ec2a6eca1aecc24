# SPDX-License-Identifier: GPL-3.0-or-later
"""The typed errors of Fanfare's formats and rules.

Every error carries a message written for the user: the command line prints ``str(error)`` and the
window shows it in a dialog, so messages are whole sentences without jargon where possible.
"""

from __future__ import annotations


class FanfareError(Exception):
    """Base of every error Fanfare reports to a user."""


# --- encrypted stem bundles -------------------------------------------------------------------


class BundleError(FanfareError):
    """An encrypted stem could not be opened."""


class BundleHeaderError(BundleError):
    """The header is not a Fanfare stem header (wrong magic, version, size or fields)."""


class BundleMismatchError(BundleError):
    """The header names another track, version or stem than the one asked for."""


class BundleKeyError(BundleError):
    """The content key does not belong to this stem (the key commitment does not match)."""


class BundleTamperedError(BundleError):
    """A chunk failed authentication: flipped bits, reordered, dropped or duplicated chunks.

    Attributes:
        chunk_index: index of the first chunk that failed.
    """

    def __init__(self, message: str, chunk_index: int) -> None:
        super().__init__(message)
        self.chunk_index = chunk_index


class BundleTruncatedError(BundleError):
    """The payload ended before its final chunk (the download was cut short or truncated)."""


class BundleTrailingDataError(BundleError):
    """Bytes follow the final chunk."""


# --- licences -----------------------------------------------------------------------------------


class LicenceError(FanfareError):
    """A licence could not be used."""


class LicenceFormatError(LicenceError):
    """The licence is not well-formed JSON of the expected shape."""


class LicenceSignatureError(LicenceError):
    """The licence's signature does not verify against any pinned platform key."""


class LicenceExpiredError(LicenceError):
    """The licence is outside its validity window."""


class LicenceDeviceError(LicenceError):
    """The licence was issued to another device or account."""


class LicenceRightsError(LicenceError):
    """The licence does not grant the right asked for (play, remix, publish)."""


# --- policy, recipe, audio -----------------------------------------------------------------------


class PolicyError(FanfareError):
    """A policy document is malformed."""


class PolicyDenied(FanfareError):
    """A recipe asks for something the artist's policy does not allow.

    Attributes:
        reasons: one readable sentence per violated rule.
    """

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("The artist's policy does not allow this remix: " + "; ".join(reasons))
        self.reasons = list(reasons)


class RecipeError(FanfareError):
    """A recipe is malformed or does not fit its track."""


class RecipeVersionError(RecipeError):
    """A recipe was written by a newer Fanfare (its schema version is unknown here)."""


class AudioFormatError(FanfareError):
    """Bytes that should be audio could not be decoded, or audio is not of the expected shape."""


# --- style models --------------------------------------------------------------------------------


class StyleModelError(FanfareError):
    """A style model is malformed, altered, unsigned, fails its self-test, or cannot run."""


class StyleModelVersionError(StyleModelError):
    """A style model was packaged for a newer Fanfare (its manifest schema is unknown here)."""
