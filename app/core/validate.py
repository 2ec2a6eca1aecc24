# SPDX-License-Identifier: GPL-3.0-or-later
"""Strict type checks for documents from outside (recipes, policies, effect settings).

JSON gives ``True`` where a number was meant, ``1e400`` that overflows, or integers beyond what
RFC 8785 can sign; each check raises TypeError or ValueError with a short reason, which the
format's parser turns into its own typed error.
"""

from __future__ import annotations

import math
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # larger integers cannot be signed as canonical JSON


def number(value: object) -> float:
    """A finite, signable number as float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r:.40}")
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        raise ValueError("numbers must be finite and at most 2**53")
    try:
        result = float(value)
    except OverflowError:
        raise ValueError("numbers must be finite and at most 2**53") from None
    if not math.isfinite(result):
        raise ValueError("numbers must be finite")
    return result


def integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r:.40}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"{value:.3g} is too large")
    return value


def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r:.40}")
    return value


def string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r:.40}")
    return value


def mapping(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def listing(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value
