"""The state of one symbol or city (the LatestTable item) as the hot path keeps it (issue 9).

A consumer handles a batch of one key's records in stream order: `classify_batch` says what each
record is against the state before the batch (records found NEEDS_LOOKUP are settled by
`resolve_lookup` with the MetricsTable item's stored `seq`), the NEW records' MetricsTable items are
written, then each NEW record is `apply`-ed and the state saved once with `to_item` (conditional on
`version`). `apply` keeps every configured window exact through the `DepartureCache`
(barometer/core/windows.py) and the closes of the last CLOSES_KEPT local days for the previous close.

A day's close is its last price by (epoch_us, close_tiebreak(event_id)): ten full ids (128 characters
each) do not fit a 2 KB item. The tie-break is the id itself up to 14 characters, else its first 8
characters and a 24-bit hash of the whole: it orders two ids as the ids do unless both are longer and
share their first 8 characters, and it only ever decides between prices of one day at one microsecond.
"""
from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from barometer.config import Window
from barometer.core.events import Event
from barometer.core.numbers import storable_or_none
from barometer.core.timeutil import format_public, parse_rfc3339
from barometer.core.windows import DepartureCache, WindowSum
from barometer.lake import item_pk

CLOSES_KEPT = 10  # local days of closing prices kept (enough to bridge long market holidays)
# The LatestTable item stays <= 2 KB (DynamoDB's accounting, barometer/core/itemsize.py) for any event
# and key the contract allows as long as the configuration has at most this many rolling windows with
# names of at most this many characters; barometer/config.py is to refuse more.
MAX_WINDOWS = 8
MAX_WINDOW_NAME_CHARS = 8
TIEBREAK_CHARS = 14


class Verdict(Enum):
    ALREADY_APPLIED = "already_applied"  # a redelivered record: change nothing
    NEW = "new"
    DUPLICATE = "duplicate"  # the same (ts, event_id) was applied: not written, not applied
    NEEDS_LOOKUP = "needs_lookup"  # not later than latest: MetricsTable's item (pk, sk) decides


def resolve_lookup(seq: int, stored_seq: int | None) -> Verdict:
    """A NEEDS_LOOKUP record, given the `seq` of MetricsTable's item (pk, sk) read before the batch's
    writes (None: no item). Equal seq: this very record wrote it in an attempt that crashed before its
    state was saved. A larger stored seq cannot happen (duplicates are never written): taken as NEW."""
    if stored_seq is not None and stored_seq < seq:
        return Verdict.DUPLICATE
    return Verdict.NEW


def close_tiebreak(event_id: str) -> str:
    if len(event_id) <= TIEBREAK_CHARS:
        return event_id
    return event_id[:TIEBREAK_CHARS - 6] + hashlib.blake2b(event_id.encode(), digest_size=3).hexdigest()


class Applied:
    """An event as applied, with the reference values its rules need (rules.evaluate)."""

    __slots__ = ("event", "local_day", "previous_close", "previous_close_day")

    def __init__(self, event: Event, local_day: str, previous_close: float | None, previous_close_day: str | None):
        self.event, self.local_day = event, local_day
        self.previous_close, self.previous_close_day = previous_close, previous_close_day

    @property
    def change_pct(self) -> float | None:
        if self.previous_close is None:
            return None
        return change_pct(self.event.value, self.previous_close)

    def __repr__(self) -> str:
        return f"Applied({self.event!r}, {self.local_day}, previous {self.previous_close} of {self.previous_close_day})"


class KeyState:
    __slots__ = (
        "_one_pass",
        "_previous",
        "applied_seq",
        "closes",
        "events",
        "key",
        "kind",
        "latest",
        "latest_day",
        "pk",
        "unseeded",
        "version",
        "windows",
    )

    def __init__(self, kind: str, key: str, windows: Sequence[Window]):
        self.kind, self.key, self.pk = kind, key, item_pk(kind, key)
        self.windows = [WindowSum(w.name, w.seconds * 1_000_000) for w in windows]
        self.latest: Event | None = None
        self.latest_day: str | None = None
        self.closes: dict[str, list] = {}  # local day -> [epoch_us, price, event_id or its tie-break]
        self.applied_seq = -1
        self.events = 0
        self.version = 0
        self.unseeded: list[WindowSum] = []  # windows the stored item lacked: read in full at the next apply
        self._previous: tuple | None = None  # (day, previous day, its close) of the last lookup
        # DepartureCache.step needs distinct window lengths ("60m" and "1h" are two names of one length)
        self._one_pass = len({w.us for w in self.windows}) == len(self.windows)

    # -- what a record is ------------------------------------------------------------------------
    def classify(self, event: Event, seq: int) -> Verdict:
        """Against this state alone; a batch goes through `classify_batch` (duplicates within it)."""
        if seq <= self.applied_seq:
            return Verdict.ALREADY_APPLIED
        latest = self.latest
        if latest is None or event.epoch_us > latest.epoch_us:
            return Verdict.NEW
        if event.epoch_us == latest.epoch_us:
            if event.event_id == latest.event_id:
                return Verdict.DUPLICATE
            if event.event_id > latest.event_id:  # after latest by (ts, event_id): never applied
                return Verdict.NEW
        return Verdict.NEEDS_LOOKUP

    def skip(self, seq: int) -> None:
        """A DUPLICATE record: its position counts as applied (it wrote nothing, so no item has its seq)."""
        self.applied_seq = max(self.applied_seq, seq)

    # -- applying --------------------------------------------------------------------------------
    def apply(self, event: Event, local_day: str, seq: int, departures: DepartureCache) -> Applied:
        """Fold in a NEW record (its MetricsTable item already written, carrying `seq`)."""
        if seq <= self.applied_seq:
            raise ValueError(f"seq {seq} is not after the applied {self.applied_seq}: classify first")
        if self.unseeded:
            if self.latest is not None:
                for w in self.unseeded:
                    departures.seed(w, self.latest.epoch_us, self.applied_seq)
            self.unseeded = []
        us, value, windows, latest = event.epoch_us, event.value, self.windows, self.latest
        if latest is None:
            departures.start(windows, us)
            for w in windows:
                w.add(value)
            self.latest, self.latest_day = event, local_day
        elif us > latest.epoch_us and self._one_pass:
            departures.step(windows, latest.epoch_us, (us, event.event_id, value, seq), self.applied_seq)
            self.latest, self.latest_day = event, local_day
            self.applied_seq = seq
            self.events += 1
            if self.kind != "quote":
                return Applied(event, local_day, None, None)
            return self._applied_quote(event, local_day)
        elif us > latest.epoch_us or (us == latest.epoch_us and event.event_id > latest.event_id):
            if us > latest.epoch_us:
                departures.advance(windows, latest.epoch_us, us, self.applied_seq)
            for w in windows:
                w.add(value)
            self.latest, self.latest_day = event, local_day
        else:
            latest_us = latest.epoch_us
            for w in windows:
                if us > latest_us - w.us:
                    w.add(value)
        departures.insert(windows, (us, event.event_id, value, seq))
        self.applied_seq = seq
        self.events += 1
        if self.kind != "quote":
            return Applied(event, local_day, None, None)
        return self._applied_quote(event, local_day)

    def _applied_quote(self, event: Event, local_day: str) -> Applied:
        us, value = event.epoch_us, event.value
        cached, close = self._previous, self.closes.get(local_day)
        if cached is not None and cached[0] == local_day and close is not None and us > close[0]:
            # the usual case, inlined: a later price of the day whose previous close is known
            close[0], close[1], close[2] = us, value, event.event_id
            previous = cached[1]
        else:
            self._close(us, value, event.event_id, local_day)
            previous = self.previous_close(local_day)
        if previous is None:
            return Applied(event, local_day, None, None)
        return Applied(event, local_day, previous[1], previous[0])

    def _close(self, us: int, price: float, event_id: str, day: str) -> None:
        # In memory a close keeps the full id (or the tie-break read from the item: close_tiebreak of
        # either is the same); the tie-break is only computed for a tie and for the item.
        closes = self.closes
        close = closes.get(day)
        if close is None:
            closes[day] = [us, price, event_id]
            if len(closes) > CLOSES_KEPT:
                del closes[min(closes)]
            self._previous = None
        elif us > close[0] or (us == close[0] and close_tiebreak(event_id) >= close_tiebreak(close[2])):
            close[0], close[1], close[2] = us, price, event_id
            cached = self._previous
            if cached is not None and day < cached[0]:
                self._previous = None

    def previous_close(self, day: str) -> tuple[str, float] | None:
        """(day, close) of the most recent kept day before `day`."""
        cached = self._previous
        if cached is not None and cached[0] == day:
            return cached[1]
        earlier = max((d for d in self.closes if d < day), default=None)
        found = None if earlier is None else (earlier, self.closes[earlier][1])
        self._previous = (day, found)
        return found

    # -- what the read API serves ----------------------------------------------------------------
    def view(self) -> dict[str, Any]:
        latest = self.latest
        if latest is None:
            return {"kind": self.kind, "key": self.key, "events": self.events}
        unseeded = self.unseeded
        rolling, counts = {}, {}
        for w in self.windows:
            if unseeded and w in unseeded:
                continue  # not known until the next apply reads it
            rolling[w.name] = storable_or_none(w.average())
            counts[w.name] = w.count
        out: dict[str, Any] = {
            "kind": self.kind, "key": self.key, "value": latest.value, "ts": format_public(latest.ts),
            "event_id": latest.event_id, "local_day": self.latest_day, "fields": latest.fields,
            "rolling": rolling, "rolling_counts": counts, "events": self.events,
        }
        if latest.source is not None:
            out["source"] = latest.source
        if self.kind == "quote" and self.latest_day is not None:
            previous = self.previous_close(self.latest_day)
            if previous is not None:
                out["previous_close_day"], out["previous_close"] = previous
                change = change_pct(latest.value, previous[1])
                if change is not None:
                    out["change_pct"] = change
        return out


def change_pct(value: float, previous_close: float) -> float | None:
    """Percent change from the previous close, rounded to 6 places; None when DynamoDB could not store it
    (a close of 1e-129 then a price of 1e9 is a change of 1e140 %): a derived value never makes a key's
    state unwritable (docs/contracts.md, "Numbers")."""
    return storable_or_none(round((value - previous_close) / previous_close * 100.0, 6))


def classify_batch(state: KeyState, records: Iterable[tuple[Event, int]]) -> list[Verdict]:
    """Verdicts of one key's records (in stream order) against the state before the batch: a record
    whose (ts, event_id) an earlier record of the batch already carries is a DUPLICATE, since the
    MetricsTable lookups happen before the batch writes anything."""
    # KeyState.classify inlined (the state does not change within the batch). The (ts, event_id) of
    # earlier records are only gathered once a record is not later than all of them: until then none
    # can repeat one.
    already, new, duplicate, lookup = (Verdict.ALREADY_APPLIED, Verdict.NEW, Verdict.DUPLICATE,
                                       Verdict.NEEDS_LOOKUP)
    applied_seq, latest = state.applied_seq, state.latest
    latest_us, latest_id = (latest.epoch_us, latest.event_id) if latest is not None else (None, None)
    seen: set[tuple[int, str]] | None = None
    earlier: list[Event] = []
    top_us = None
    verdicts = []
    for event, seq in records:
        if seq <= applied_seq:
            verdicts.append(already)
            continue
        us, event_id = event.epoch_us, event.event_id
        if latest_us is None or us > latest_us:
            verdict = new
        elif us == latest_us and event_id == latest_id:
            verdict = duplicate
        elif us == latest_us and event_id > latest_id:
            verdict = new
        else:
            verdict = lookup
        if seen is None:
            if top_us is None or us > top_us:
                top_us = us
                earlier.append(event)
                verdicts.append(verdict)
                continue
            seen = {(e.epoch_us, e.event_id) for e in earlier}
        ident = (us, event_id)
        if ident in seen:
            verdict = duplicate
        else:
            seen.add(ident)
        verdicts.append(verdict)
    return verdicts


# -- the LatestTable item -----------------------------------------------------------------------------
def to_item(state: KeyState, updated_at: str) -> dict[str, Any]:
    """The LatestTable item in plain Python values (the adapter converts them; floats go by repr, exact).
    `applied_seq` is a string: Kinesis sequence numbers have more digits than a DynamoDB number holds.
    The running sums and closes go packed in one binary `state` (see `pack_state`)."""
    item = {"pk": state.pk, **state.view(), "updated_at": updated_at, "applied_seq": str(state.applied_seq),
            "version": state.version + 1}
    if state.latest is not None:
        item["state"] = pack_state(state)
    return item


# The internal state is one binary attribute rather than maps of lists: botocore, moto and DynamoDB pay
# per nested value, and 8-byte IEEE doubles are exact and smaller than DynamoDB numbers (the 2 KB budget).
# Layout 1, little-endian: u8 layout; u8 window count, then per window u8 name length, UTF-8 name,
# f64 total, f64 compensation, i64 count; u8 close count, then per close (oldest day first) u8 day length,
# day, i64 epoch_us, f64 price, u8 tie-break length, UTF-8 tie-break.
STATE_LAYOUT = 1
_SUM = struct.Struct("<ddq")
_CLOSE = struct.Struct("<qd")


def pack_state(state: KeyState) -> bytes:
    unseeded = state.unseeded
    sums = [w for w in state.windows if w not in unseeded]
    out = bytearray((STATE_LAYOUT, len(sums)))
    for w in sums:
        name = w.name.encode()
        out.append(len(name))
        out += name
        out += _SUM.pack(w.total, w.comp, w.count)
    closes = state.closes if state.kind == "quote" else {}
    out.append(len(closes))
    for day in sorted(closes):  # sorted: equal states pack to equal bytes whatever the order of arrival
        us, price, event_id = closes[day]
        raw_day, tiebreak = day.encode(), close_tiebreak(event_id).encode()
        out.append(len(raw_day))
        out += raw_day
        out += _CLOSE.pack(us, price)
        out.append(len(tiebreak))
        out += tiebreak
    return bytes(out)


def unpack_state(packed: bytes) -> tuple[dict[str, tuple[float, float, int]], dict[str, list]]:
    """(window name -> (total, compensation, count), day -> [epoch_us, price, tie-break]) of `pack_state`."""
    if not packed or packed[0] != STATE_LAYOUT:
        raise ValueError(f"unknown LatestTable state layout {packed[:1]!r}")
    at, sums, closes = 2, {}, {}
    for _ in range(packed[1]):
        end = at + 1 + packed[at]
        name = packed[at + 1:end].decode()
        sums[name] = _SUM.unpack_from(packed, end)
        at = end + _SUM.size
    count, at = packed[at], at + 1
    for _ in range(count):
        end = at + 1 + packed[at]
        day = packed[at + 1:end].decode()
        us, price = _CLOSE.unpack_from(packed, end)
        at = end + _CLOSE.size
        end = at + 1 + packed[at]
        closes[day] = [us, price, packed[at + 1:end].decode()]
        at = end
    if at != len(packed):
        raise ValueError(f"LatestTable state has {len(packed) - at} trailing bytes")
    return sums, closes


def from_item(item: dict[str, Any] | None, kind: str, key: str, windows: Sequence[Window]) -> KeyState:
    """Rebuild the state (numbers already plain int/float). A configured window the item lacks is read in
    full at the next apply; so is every window of an item of the first layout (minute `buckets`, seq
    positions of the MetricsTable stream rather than of Kinesis: its applied_seq is not carried over).
    Items written before the packed `state` keep their sums and closes in the `sums` and `closes` maps."""
    state = KeyState(kind, key, windows)
    if not item:
        return state
    packed = item.get("state")
    if packed is not None:
        # boto3's resource layer hands binary as boto3.dynamodb.types.Binary, the client as bytes
        sums, closes = unpack_state(bytes(getattr(packed, "value", packed)))
    else:
        sums = item.get("sums") or {}
        closes = {d: [int(c[0]), float(c[1]), close_tiebreak(str(c[2]))] for d, c in (item.get("closes") or {}).items()}
    if item.get("ts") is not None:
        state.latest = Event(kind, key, parse_rfc3339(item["ts"]), item["event_id"], float(item["value"]),
                             dict(item.get("fields") or {}), item.get("source"))
        state.latest_day = item.get("local_day")
        for w in state.windows:
            stored = sums.get(w.name)
            if stored is None:
                state.unseeded.append(w)
            else:
                w.total, w.comp, w.count = float(stored[0]), float(stored[1]), int(stored[2])
    state.closes = closes
    state.applied_seq = 0 if "buckets" in item else int(item.get("applied_seq", -1))
    state.events = int(item.get("events", 0))
    state.version = int(item.get("version", 0))
    return state
