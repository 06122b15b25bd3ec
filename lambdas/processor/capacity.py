"""DynamoDB capacity units the processor consumes, counted per batch (metrics DynamoReadUnits/WriteUnits).

On AWS the adapters ask every call for ReturnConsumedCapacity=TOTAL and add what DynamoDB reports. The
emulator (moto) answers with constants (1 unit per BatchWriteItem whatever it holds, 0.5 per GetItem),
so there, and whenever a response carries no figure (a failed conditional write), the units are
computed from the items' sizes (barometer/core/itemsize.py) by DynamoDB's published rules:
- a write: 1 unit per started KB of the item (a failed conditional write still consumes them);
- a strongly consistent read: 1 unit per started 4 KB, per item for GetItem and BatchGetItem (a key
  without an item still costs 1), over the sum of the items returned for a Query (at least 1);
- the size is the whole item's, whatever a ProjectionExpression returns.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from barometer.core.itemsize import item_size

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


def write_units(item: Mapping[str, Any]) -> int:
    """Units of one PutItem of `item` (plain Python values)."""
    return max(1, -(-item_size(item) // WRITE_UNIT_BYTES))


def read_units(size: int) -> int:
    """Units of a strongly consistent read of `size` bytes (one item, or one Query page)."""
    return max(1, -(-size // READ_UNIT_BYTES))


def query_units(items: Iterable[Mapping[str, Any]]) -> int:
    return read_units(sum(item_size(i) for i in items))


def reported_units(response: Mapping[str, Any]) -> float | None:
    """The CapacityUnits of a response (one entry, or one per table for the batch calls); None if absent."""
    consumed = response.get("ConsumedCapacity")
    if consumed is None:
        return None
    entries = consumed if isinstance(consumed, list) else [consumed]
    if not entries:
        return None
    return float(sum(e.get("CapacityUnits", 0.0) for e in entries))


class CapacityMeter:
    """Units consumed since the last `take()`. Thread-safe: key states are saved from a thread pool.

    `estimate=True` (the emulator) always computes the units from item sizes; otherwise the reported
    figure is used when the response has one.
    """

    def __init__(self, estimate: bool = False):
        self.estimate = estimate
        self._lock = threading.Lock()
        self._read = 0.0
        self._write = 0.0

    def read(self, response: Mapping[str, Any] | None, estimate: Callable[[], float]) -> None:
        units = self._units(response, estimate)
        with self._lock:
            self._read += units

    def write(self, response: Mapping[str, Any] | None, estimate: Callable[[], float]) -> None:
        units = self._units(response, estimate)
        with self._lock:
            self._write += units

    def _units(self, response: Mapping[str, Any] | None, estimate: Callable[[], float]) -> float:
        units = None if self.estimate or response is None else reported_units(response)
        return float(estimate()) if units is None else units

    def take(self) -> tuple[float, float]:
        """(read units, write units) since the last take, and start again from zero."""
        with self._lock:
            counted = (self._read, self._write)
            self._read = self._write = 0.0
        return counted
