"""The latest state of one key (LatestTable): order-independence, idempotency, previous close."""
from __future__ import annotations

import base64
import json

import pytest
from core_builders import epoch_us, make_settings, positive_exact_values, rfc3339, utc_from_us
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from barometer.core.events import Event, event_local_day, parse_event
from barometer.core.state import KeyState, state_from_item, state_to_item
from barometer.core.timeutil import format_public
from barometer.ddb import from_item, to_item

SETTINGS = make_settings()
WINDOWS = SETTINGS.windows
MAX_WINDOW_S = SETTINGS.max_window_s
# Four New York days around the 2026 switch to daylight saving time (Sunday 8 March, 07:00 UTC).
START_US = epoch_us(2026, 3, 6, 12, 0)
SPAN_US = 4 * 86400 * 1_000_000


def quote(symbol: str, ts: str, price: float, event_id: str | None = None) -> Event:
    obj = {"kind": "quote", "symbol": symbol, "ts": ts, "price": price}
    if event_id:
        obj["event_id"] = event_id
    return parse_event(obj, SETTINGS)


def apply_all(events: list[Event], kind: str = "quote", key: str = "AAPL") -> KeyState:
    state = KeyState(kind, key)
    for seq, event in enumerate(events):
        state.apply(event, event_local_day(event, SETTINGS), seq=seq)
    return state


def fetch_from(events: list[Event]):
    return lambda lo, hi: [e.value for e in events if lo < e.epoch_us <= hi]


def snapshot(state: KeyState, events: list[Event]) -> dict:
    return state.snapshot(WINDOWS, MAX_WINDOW_S, fetch_from(events))


def brute_force_snapshot(events: list[Event]) -> dict:
    """The latest state computed from scratch, independently of KeyState."""
    latest = max(events, key=lambda e: (e.epoch_us, e.event_id))
    out = {"value": latest.value, "ts": format_public(latest.ts), "event_id": latest.event_id, "events": len(events),
           "local_day": event_local_day(latest, SETTINGS), "rolling": {}, "rolling_counts": {}}
    for w in WINDOWS:
        inside = [e.value for e in events if latest.epoch_us - w.seconds * 1_000_000 < e.epoch_us <= latest.epoch_us]
        out["rolling"][w.name] = sum(inside) / len(inside)
        out["rolling_counts"][w.name] = len(inside)
    days: dict[str, Event] = {}
    for e in events:
        day = event_local_day(e, SETTINGS)
        if day not in days or (e.epoch_us, e.event_id) > (days[day].epoch_us, days[day].event_id):
            days[day] = e
    earlier = [d for d in days if d < out["local_day"]]
    if earlier:
        close = days[max(earlier)].value
        out.update(previous_close=close, previous_close_day=max(earlier),
                   change_pct=round((latest.value - close) / close * 100.0, 6))
    return out


PUBLIC_KEYS = ("value", "ts", "event_id", "events", "local_day", "rolling", "rolling_counts", "previous_close",
               "previous_close_day", "change_pct")


def public(snap: dict) -> dict:
    return {k: snap[k] for k in PUBLIC_KEYS if k in snap}


def storage_round_trip(state: KeyState, snap: dict) -> KeyState:
    """What the aggregator does between batches: write the item to DynamoDB and read it back."""
    item = state_to_item(state, snap, [], "2026-03-10T00:00:00Z")
    # through DynamoDB's JSON wire form, where binary attributes travel as base64 text
    stored = from_item(json.loads(json.dumps(to_item(item), default=lambda b: base64.b64encode(b).decode())))
    return state_from_item(stored, state.kind, state.key)


# -- strategies ----------------------------------------------------------------------------------
instants_us = st.one_of(
    st.integers(0, SPAN_US // 60_000_000).map(lambda m: m * 60_000_000),
    st.integers(0, SPAN_US),
).map(lambda offset: START_US + offset)


@st.composite
def quote_histories(draw) -> list[Event]:
    raw = draw(st.lists(st.tuples(instants_us, positive_exact_values), min_size=1, max_size=25))
    # Ties at one instant with different prices are allowed; identical content is one event.
    unique = {}
    for ts_us, price in raw:
        event = quote("AAPL", rfc3339(utc_from_us(ts_us)), price)
        unique[event.event_id] = event
    return list(unique.values())


@st.composite
def deliveries(draw, events: list[Event]) -> list[tuple[int, Event]]:
    """The events in any order, each with its stream position, plus redeliveries of earlier positions."""
    order = draw(st.permutations(events))
    stream: list[tuple[int, Event]] = []
    for seq, event in enumerate(order):
        stream.append((seq, event))
        if draw(st.integers(0, 3)) == 0:
            stream.append(draw(st.sampled_from(stream)))  # a retried batch: already applied positions
    return stream


# -- properties ----------------------------------------------------------------------------------
@hsettings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_order_with_redeliveries_gives_the_state_of_the_sorted_events(data):
    # Given a symbol's events delivered in any order, with retried (already applied) positions mixed in
    events = data.draw(quote_histories())
    stream = data.draw(deliveries(events))
    batch_ends = sorted(set(data.draw(st.lists(st.integers(1, len(stream)), max_size=4))) | {len(stream)})
    # When they are applied batch by batch, the state stored and re-read between batches
    state, begin = KeyState("quote", "AAPL"), 0
    for end in batch_ends:
        for seq, event in stream[begin:end]:
            state.apply(event, event_local_day(event, SETTINGS), seq=seq)
        state = storage_round_trip(state, snapshot(state, events))
        begin = end
    # Then the snapshot is the one of the sorted unique events, and the one computed from scratch
    ordered = sorted(events, key=lambda e: (e.epoch_us, e.event_id))
    reference = public(snapshot(apply_all(ordered), events))
    assert public(snapshot(state, events)) == reference
    assert reference == brute_force_snapshot(events)


@hsettings(max_examples=100, deadline=None)
@given(events=quote_histories())
def test_redelivering_applied_positions_changes_nothing(events):
    # Given a state with every event applied
    state = apply_all(events)
    before = public(snapshot(state, events))
    # When every position is delivered again
    for seq, event in enumerate(events):
        assert state.apply(event, event_local_day(event, SETTINGS), seq=seq) is None
    # Then nothing changed, not even the count
    assert public(snapshot(state, events)) == before
    assert state.applied_seq == len(events) - 1


@hsettings(max_examples=100, deadline=None)
@given(events=quote_histories(), more=quote_histories())
def test_state_round_trips_through_its_item(events, more):
    # Given a state, When it is stored as a LatestTable item and rebuilt
    state = apply_all(events)
    snap = snapshot(state, events)
    restored = storage_round_trip(state, snap)
    # Then the rebuilt state has the same snapshot and version + 1, and goes on exactly like the original
    assert public(snapshot(restored, events)) == public(snap)
    assert restored.version == state.version + 1 and restored.applied_seq == state.applied_seq
    everything = events + [e for e in more if e.event_id not in {x.event_id for x in events}]
    for seq, event in enumerate(more, start=len(events)):
        day = event_local_day(event, SETTINGS)
        assert state.apply(event, day, seq=seq) == restored.apply(event, day, seq=seq)
    assert public(snapshot(restored, everything)) == public(snapshot(state, everything))


def test_an_empty_item_is_a_new_state():
    state = state_from_item(None, "weather", "Seattle")
    assert (state.latest, state.applied_seq, state.events, state.version) == (None, -1, 0, 0)
    assert state.snapshot(WINDOWS, MAX_WINDOW_S, None) == {"kind": "weather", "key": "Seattle", "events": 0}


# -- previous close ------------------------------------------------------------------------------
def test_the_previous_close_is_the_last_price_of_the_previous_new_york_day_across_midnight_utc():
    # Given AAPL prices on Monday 9 March 2026 in New York (EDT, UTC-4), the last at 23:30 = 03:30 UTC Tuesday
    events = [quote("AAPL", "2026-03-09T19:55:00Z", 100.0), quote("AAPL", "2026-03-10T03:30:00Z", 101.0),
              quote("AAPL", "2026-03-10T03:59:59.999999Z", 102.0),
              # and one at 00:30 New York time on Tuesday (04:30 UTC)
              quote("AAPL", "2026-03-10T04:30:00Z", 95.0)]
    # When they are applied (in any order)
    for order in (events, events[::-1]):
        snap = snapshot(apply_all(order), events)
        # Then Tuesday's previous close is Monday's last New York price, though Monday 23:59 is Tuesday in UTC
        assert (snap["local_day"], snap["previous_close_day"], snap["previous_close"]) == (
            "2026-03-10", "2026-03-09", 102.0)
        assert snap["change_pct"] == pytest.approx((95.0 - 102.0) / 102.0 * 100.0)


def test_the_previous_close_follows_daylight_saving_time():
    # Given Friday 6 March (EST, UTC-5): 04:30 UTC Saturday is still Friday 23:30 in New York
    friday_late = quote("AAPL", "2026-03-07T04:30:00Z", 50.0)
    friday_earlier = quote("AAPL", "2026-03-06T21:00:00Z", 60.0)
    # and Monday 9 March (EDT, UTC-4): 04:30 UTC is already Monday 00:30
    monday = quote("AAPL", "2026-03-09T04:30:00Z", 44.0)
    snap = snapshot(apply_all([monday, friday_late, friday_earlier]), [])
    # Then Monday's previous close is Friday's last price (the weekend has none)
    assert (snap["local_day"], snap["previous_close_day"], snap["previous_close"]) == ("2026-03-09", "2026-03-06", 50.0)


def test_each_event_is_applied_with_the_close_of_its_own_previous_day():
    state = KeyState("quote", "SAP")
    first = quote("SAP", "2026-07-01T21:59:00Z", 120.0)     # 23:59 in Berlin, 1 July
    second = quote("SAP", "2026-07-01T22:01:00Z", 108.0)    # 00:01 in Berlin, 2 July
    assert state.apply(first, event_local_day(first, SETTINGS), seq=1).previous_close is None
    applied = state.apply(second, event_local_day(second, SETTINGS), seq=2)
    assert (applied.local_day, applied.previous_close, applied.previous_close_day) == ("2026-07-02", 120.0, "2026-07-01")
    assert applied.change_pct == pytest.approx(-10.0)


def test_a_late_price_for_an_earlier_day_moves_that_day_close_only_if_it_is_later():
    early = quote("AAPL", "2026-03-09T15:00:00Z", 10.0)
    close = quote("AAPL", "2026-03-09T20:00:00Z", 20.0)
    today = quote("AAPL", "2026-03-10T15:00:00Z", 30.0)
    state = apply_all([close, today, early])  # the earlier price arrives last
    assert snapshot(state, [])["previous_close"] == 20.0
    assert state.latest.event_id == today.event_id


def test_weather_has_no_previous_close(settings):
    event = parse_event({"kind": "weather", "city": "Seattle", "ts": "2026-03-09T12:00:00Z", "temp_c": 3.0}, settings)
    other = parse_event({"kind": "weather", "city": "Seattle", "ts": "2026-03-10T11:59:59Z", "temp_c": 5.0}, settings)
    state = KeyState("weather", "Seattle")
    for seq, e in enumerate([event, other]):
        assert state.apply(e, event_local_day(e, settings), seq=seq).previous_close is None
    snap = state.snapshot(WINDOWS, MAX_WINDOW_S, None)
    assert "previous_close" not in snap and snap["value"] == 5.0 and snap["rolling"]["24h"] == 4.0
