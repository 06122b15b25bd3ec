"""Exact rolling windows of one key: running sums, and the departures read back from MetricsTable.

A window W covers the key's applied events with timestamps in (latest - W, latest]. Its `WindowSum`
(a Neumaier-compensated sum and a count) gains every applied event inside the window, and loses the
applied events whose timestamps the lower edge passes when latest moves on. No per-minute state is
kept: the departing events are read back from MetricsTable itself through a `DepartureSource`, in
chunks of `limit` items, and cached per key and window by a `DepartureCache`, so a warm consumer
reads about once per `limit` departing events whatever the event rate or the window's length.

Only items with `seq` <= the state's `applied_seq` count as departing: MetricsTable also holds the
current batch's items (written before they are applied) and those of a crashed attempt.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Protocol

from barometer.core.timeutil import from_epoch_us
from barometer.lake import metrics_sk, sk_after_instant

# (epoch_us, event_id, value, seq): one MetricsTable item as the departures need it
Entry = tuple[int, str, float, int]
_PAST_ANY_ID = "\uffff"  # sorts after every event id (ASCII): (us, _PAST_ANY_ID) is "all of us"


class DepartureError(RuntimeError):
    """The departure source broke its contract (a full chunk that does not move forward)."""


class WindowSum:
    """The running sum and count of one configured window (the part of the key state that is stored)."""

    __slots__ = ("comp", "count", "name", "total", "us")

    def __init__(self, name: str, us: int, total: float = 0.0, comp: float = 0.0, count: int = 0):
        self.name, self.us, self.total, self.comp, self.count = name, us, total, comp, count

    def add(self, value: float) -> None:
        total = self.total
        t = total + value
        if abs(total) >= abs(value):
            self.comp += (total - t) + value
        else:
            self.comp += (value - t) + total
        self.total = t
        self.count += 1

    def remove(self, value: float) -> None:
        self.count -= 1
        if self.count == 0:  # empty: drop whatever rounding the running sum gathered
            self.total = self.comp = 0.0
            return
        total = self.total
        t = total - value
        if abs(total) >= abs(value):
            self.comp += (total - t) - value
        else:
            self.comp += (-value - t) + total
        self.total = t

    def clear(self) -> None:
        self.total = self.comp = 0.0
        self.count = 0

    def average(self) -> float | None:
        return (self.total + self.comp) / self.count if self.count else None


class DepartureSource(Protocol):
    """MetricsTable read back for departures (a consistent Query on pk, ascending by sort key).

    Returns the items with `after < (epoch_us, event_id)` and `epoch_us <= upto_us`, ascending by
    (epoch_us, event_id), at most `limit` of them; `after` is (after_us, after_id), or every item at
    `after_us` when `after_id` is None. Fewer than `limit` items means the range holds no more (page
    internally if a page stops early). `departure_sk_bounds` gives the sort-key bounds; with DynamoDB:
    `sk BETWEEN :lo AND :hi` with `ExclusiveStartKey={pk, sk: lo}`. An item without `seq` (written before
    seq existed) should come back with seq 0: applied long ago.
    """

    def fetch(self, pk: str, after_us: int, upto_us: int, limit: int, after_id: str | None = None
              ) -> Sequence[Entry]: ...


def departure_sk_bounds(after_us: int, upto_us: int, after_id: str | None = None) -> tuple[str, str]:
    """(exclusive lower, inclusive upper) MetricsTable sort keys (`{format_fixed(ts)}#{event_id}`) of a
    fetch: '$' sorts right after '#', so `ts$` is above every sort key at that instant."""
    after = from_epoch_us(after_us)
    lower = sk_after_instant(after) if after_id is None else metrics_sk(after, after_id)
    return lower, sk_after_instant(from_epoch_us(upto_us))


class _Run:
    """The cached MetricsTable items of one window from its lower edge on: `entries[head:]`, every item
    with edge < epoch_us and (epoch_us, event_id) <= hi; `tail`: every item after the edge (hi unbounded)."""

    __slots__ = ("edge", "entries", "head", "hi_id", "hi_us", "tail")

    def __init__(self, edge: int, tail: bool):
        self.edge = edge
        self.entries: list[Entry] = []
        self.head = 0
        self.hi_us, self.hi_id = edge, None  # hi_id None: all of hi_us
        self.tail = tail

    def covers(self, us: int, event_id: str) -> bool:
        if self.tail:
            return True
        return us < self.hi_us or (us == self.hi_us and (self.hi_id is None or event_id <= self.hi_id))


class DepartureCache:
    """Per key: the departing events of each window, read in chunks of `limit` and kept while warm.

    A window whose events all fit in `capacity` entries is followed in full (every applied event is
    inserted, nothing is read again); a longer one keeps the next chunk past its edge. `fetches` and
    `items` count the reads (per window in `fetches_by_window`, keyed by the window's microseconds).
    Belongs with one KeyState instance: `reset()` when the state is re-read (a version conflict).
    """

    def __init__(self, source: DepartureSource, pk: str, limit: int = 40, capacity: int | None = None,
                 seed_limit: int = 1000):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.source, self.pk, self.limit = source, pk, limit
        self.capacity = max(capacity if capacity is not None else 2 * limit, limit)
        self.seed_limit = seed_limit
        self.fetches = 0
        self.items = 0
        self.fetches_by_window: dict[int, int] = {}
        self._runs: dict[int, _Run] = {}

    def reset(self) -> None:
        self._runs.clear()

    def start(self, windows: Sequence[WindowSum], latest_us: int) -> None:
        """A key's first event: nothing is applied yet, so every later one will be inserted."""
        for w in windows:
            self._runs[w.us] = _Run(latest_us - w.us, tail=True)

    def advance(self, windows: Sequence[WindowSum], old_latest: int, new_latest: int, applied_seq: int) -> None:
        """Subtract from each window the applied events with old_latest - W < ts <= new_latest - W."""
        runs = self._runs
        for w in windows:
            new_edge = new_latest - w.us
            run = runs.get(w.us)
            # The usual case: what leaves is cached (_depart reads when it is not).
            if run is not None and run.edge == old_latest - w.us and _leave_cached(run, w, new_edge, applied_seq):
                continue
            if new_edge >= old_latest:
                # Every applied event is at or before old_latest: the whole window leaves, unread.
                w.clear()
                runs[w.us] = _Run(new_edge, tail=True)
                continue
            old_edge = old_latest - w.us
            if run is None or run.edge != old_edge:  # cold start, or a cache of another state: read again
                run = runs[w.us] = _Run(old_edge, tail=False)
            self._depart(run, w, new_edge, new_latest, applied_seq)

    def step(self, windows: Sequence[WindowSum], old_latest: int, entry: Entry, applied_seq: int) -> None:
        """A NEW event after latest (old_latest < entry's epoch_us), in one pass over the windows: per window
        what `advance` subtracts, then the event's value added (WindowSum.add), then `insert`. The windows'
        lengths must be distinct (each has its own cached run), as the hot path's usual case is."""
        us, event_id, value = entry[0], entry[1], entry[2]
        runs = self._runs
        for w in windows:
            wus = w.us
            run = runs.get(wus)
            if run is None or run.edge != old_latest - wus:
                self.advance((w,), old_latest, us, applied_seq)
                w.add(value)
                self.insert((w,), entry)
                continue
            # advance, its usual case (as there)
            new_edge = us - wus
            if not _leave_cached(run, w, new_edge, applied_seq):
                if new_edge >= old_latest:
                    w.clear()
                    run = runs[wus] = _Run(new_edge, tail=True)
                else:
                    self._depart(run, w, new_edge, us, applied_seq)
            w.add(value)
            # insert, its usual cases: after a followed run's last entry, or past a chunk's end
            if us <= run.edge:
                continue
            if not run.tail:
                if us > run.hi_us or (us == run.hi_us and run.hi_id is not None and event_id > run.hi_id):
                    continue
            else:
                entries = run.entries
                if len(entries) <= run.head or entries[-1][0] < us:
                    entries.append(entry)
                    if len(entries) - run.head > self.capacity:
                        del entries[run.head + self.limit:]
                        run.tail = False
                        run.hi_us, run.hi_id = entries[-1][0], entries[-1][1]
                    continue
            self.insert((w,), entry)

    def _depart(self, run: _Run, w: WindowSum, new_edge: int, upto_us: int, applied_seq: int) -> None:
        while not _leave_cached(run, w, new_edge, applied_seq):
            if run.covers(new_edge, _PAST_ANY_ID):  # all cached entries left, and nothing more is stored
                if run.head > 64:
                    run.entries.clear()
                    run.head = 0
                run.edge = new_edge
                return
            run.entries.clear()
            run.head = 0
            self._read(run, w.us, upto_us)

    def _read(self, run: _Run, window_us: int, upto_us: int) -> None:
        """The next chunk after run.hi into run.entries (which the caller has emptied)."""
        hi_us, hi_id = run.hi_us, run.hi_id
        chunk = self.source.fetch(self.pk, hi_us, upto_us, self.limit, hi_id)
        self.fetches += 1
        self.items += len(chunk)
        self.fetches_by_window[window_us] = self.fetches_by_window.get(window_us, 0) + 1
        for entry in chunk:
            us, event_id = entry[0], entry[1]
            if us > hi_us or (us == hi_us and hi_id is not None and event_id > hi_id):  # strictly after hi
                run.entries.append((us, event_id, float(entry[2]), int(entry[3])))
        if len(chunk) < self.limit:
            # Every item after hi is known, up to latest; later ones are not applied yet and will be
            # inserted when they are.
            run.tail = True
        elif not run.entries:
            raise DepartureError("a full departure chunk brought nothing after its start: the source ignores `after`")
        else:
            run.hi_us, run.hi_id = run.entries[-1][0], run.entries[-1][1]

    def insert(self, windows: Sequence[WindowSum], entry: Entry) -> None:
        """An event just applied: known to every window whose cached range it falls in."""
        us, event_id = entry[0], entry[1]
        runs = self._runs
        for w in windows:
            run = runs.get(w.us)
            if run is None or us <= run.edge:
                continue
            if not run.tail and (us > run.hi_us or (us == run.hi_us and run.hi_id is not None
                                                    and event_id > run.hi_id)):
                continue
            entries = run.entries
            last = entries[-1] if len(entries) > run.head else None
            if last is None or last[0] < us or (last[0] == us and last[1] < event_id):
                entries.append(entry)
            else:
                at = bisect_left(entries, (us, event_id), run.head)
                if at < len(entries) and entries[at][0] == us and entries[at][1] == event_id:
                    entries[at] = entry  # the same item read back already
                else:
                    entries.insert(at, entry)
            if run.tail and len(entries) - run.head > self.capacity:
                # Too long to follow in full: keep the next chunk past the edge, read the rest later.
                del entries[run.head + self.limit:]
                run.tail = False
                run.hi_us, run.hi_id = entries[-1][0], entries[-1][1]

    def seed(self, w: WindowSum, latest_us: int, applied_seq: int) -> None:
        """Fill a window the stored state lacks (a newly configured one) by reading its whole range."""
        w.clear()
        after_us, after_id = latest_us - w.us, None
        while True:
            chunk = self.source.fetch(self.pk, after_us, latest_us, self.seed_limit, after_id)
            self.fetches += 1
            self.items += len(chunk)
            self.fetches_by_window[w.us] = self.fetches_by_window.get(w.us, 0) + 1
            for us, event_id, value, seq in chunk:
                after = us > after_us or (us == after_us and after_id is not None and event_id > after_id)
                if after and seq <= applied_seq:
                    w.add(float(value))
            if len(chunk) < self.seed_limit:
                break
            after_us, after_id = chunk[-1][0], chunk[-1][1]
        self._runs.pop(w.us, None)


def _leave_cached(run: _Run, w: WindowSum, new_edge: int, applied_seq: int) -> bool:
    """Subtract from `w` the run's cached entries its edge moves past (only applied ones ever counted).
    True when entries remain beyond the new edge (the run now starts there); False when the cache ran out
    before reaching it (the caller reads on, or finds the whole window gone)."""
    entries, i = run.entries, run.head
    n = len(entries)
    while i < n:
        entry = entries[i]
        if entry[0] > new_edge:
            break
        if entry[3] <= applied_seq:
            w.remove(entry[2])
        i += 1
    if i < n:
        if i > 64 and 2 * i > n:  # drop what has left once it is most of the list
            del entries[:i]
            i = 0
        run.head, run.edge = i, new_edge
        return True
    run.head = i
    return False
