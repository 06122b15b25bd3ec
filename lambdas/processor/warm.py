"""What a warm container keeps between batches: each key's state with its departure cache, and the alerts
known to be published.

A shard's keys come back batch after batch, so their states are not read again; the LatestTable write
is conditional on the state's version, which catches a state someone else changed meanwhile (then it
is dropped and read again). Both caches are bounded (least recently used goes first).
"""
from __future__ import annotations

from collections import OrderedDict

from barometer.core.keystate import KeyState
from barometer.core.windows import DepartureCache

# A DepartureCache holds up to ~2 x 40 entries per window: 2,000 keys of 3 windows stay near 100 MB.
MAX_CACHED_KEYS = 2000
MAX_PUBLISHED_ALERTS = 10_000


class KeyCache:
    def __init__(self, limit: int = MAX_CACHED_KEYS):
        self._entries: OrderedDict[str, tuple[KeyState, DepartureCache]] = OrderedDict()
        self._limit = limit

    def __contains__(self, pk: str) -> bool:
        return pk in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, pk: str) -> tuple[KeyState, DepartureCache] | None:
        """Out of the cache while it is worked on: a state changed but never saved must not stay."""
        return self._entries.pop(pk, None)

    def remember(self, state: KeyState, departures: DepartureCache) -> None:
        self._entries[state.pk] = (state, departures)
        self._entries.move_to_end(state.pk)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)


class PublishedAlerts:
    """(pk, sk) of AlertsTable items known to be published: a later breach of the same key, rule and day
    (every event of a sustained drop) then costs no conditional put and no read."""

    def __init__(self, limit: int = MAX_PUBLISHED_ALERTS):
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._limit = limit

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._keys

    def add(self, key: tuple[str, str]) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)
