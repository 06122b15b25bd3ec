"""DynamoDB's item size accounting, for items in plain Python values (as barometer/ddb.py converts them).

The rules (Developer Guide, "Item sizes and formats"): attribute names and map keys count their UTF-8
bytes; strings their UTF-8 bytes; binary its raw bytes; null and booleans 1 byte; a list or map 3 bytes
plus 1 byte per element plus the elements; a number about 1 byte per two significant digits plus 1.
Numbers are counted as DynamoDB encodes them, in base-100 digit pairs aligned on the decimal point
(1.5 takes two pairs, 15 one), plus the exponent byte, plus one for a negative number's terminator:
never less than the documented estimate, so a size computed here is an upper bound.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number_size(value: float) -> int:
    text = repr(value) if isinstance(value, float) else str(value)
    negative = text.startswith("-")
    mantissa, _, exponent = text.lstrip("-").lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits.rstrip("0"):
        return 1  # zero
    # power of ten of the first and of the last significant digit
    first = len(whole.lstrip("0")) - 1 if whole.lstrip("0") else -(len(fraction) - len(fraction.lstrip("0")) + 1)
    first += int(exponent or 0)
    last = first - (len(digits.rstrip("0")) - 1)
    pairs = first // 2 - last // 2 + 1
    return pairs + 1 + (1 if negative else 0)


def value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (int, float)):
        return number_size(value)
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode("utf-8")) + 1 + value_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 3 + sum(1 + value_size(v) for v in value)
    raise TypeError(f"cannot size {type(value).__name__}")


def item_size(item: Mapping[str, Any]) -> int:
    """The item's size in bytes as DynamoDB counts it (top-level None values are not stored)."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items() if v is not None)
