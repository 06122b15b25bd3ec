"""Which numbers DynamoDB can store, and what a derived value becomes when it cannot be stored.

A DynamoDB number holds at most 38 significant digits, and a non-zero magnitude between 1e-130 and
just under 1e126; anything else fails the whole write ("Number underflow", "Number overflow"), and a
BatchWriteItem fails with all the items it carries. Input is refused outside this range at validation
(barometer/core/events.py); a value the platform derives (averages, percent changes) is made storable
by `storable_or_none` instead, so that no event, however extreme, can make a key's state unwritable.

Floats are stored by repr() (barometer/ddb.py): at most 17 significant digits, and repr(x) is at or
above the decimal 1e-130 exactly when x is at or above the float 1e-130 (repr is the shortest string
that reads back as x, and reading rounds monotonically), so comparing the float suffices.
"""
from __future__ import annotations

import math

MIN_MAGNITUDE = 1e-130  # the smallest non-zero magnitude DynamoDB stores
MAX_MAGNITUDE = 1e126  # the first magnitude it does not
MAX_DIGITS = 38


def storable(value: float) -> bool:
    """True when DynamoDB stores `value` as a number exactly as barometer/ddb.py writes it."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        if value == 0:
            return True
        magnitude = abs(value)
        return magnitude < 10**126 and len(str(magnitude).rstrip("0")) <= MAX_DIGITS
    if not math.isfinite(value):
        return False
    return value == 0.0 or MIN_MAGNITUDE <= abs(value) < MAX_MAGNITUDE


def storable_or_none(value: float | None) -> float | None:
    """A derived value as it may be stored: itself when storable, 0.0 when its magnitude is below
    1e-130 (it is zero at any precision the platform reports; -0.0 included), None (not stored) when
    it is not finite or too large to store."""
    if value is None:
        return None
    if MIN_MAGNITUDE <= abs(value) < MAX_MAGNITUDE:
        return value
    if abs(value) < MIN_MAGNITUDE:
        return 0.0
    return None  # +-inf, nan (every comparison above is False) and magnitudes >= 1e126
