"""Key state v2 (issue 9): exact windows from running sums and departures read back, idempotent records."""
from __future__ import annotations

import pytest
from core_builders import epoch_us
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from keystate_builders import WINDOWS, Consumer, FakeMetrics, Reference, close_enough, day_of, quote

from barometer.config import Window
from barometer.core.keystate import (
    KeyState,
    Verdict,
    classify_batch,
    close_tiebreak,
    from_item,
    resolve_lookup,
    to_item,
    unpack_state,
)
from barometer.core.windows import WindowSum, departure_sk_bounds

T0 = epoch_us(2026, 3, 6, 12, 0)  # a Friday; New York switches to daylight saving time on the 8th
SECOND, MINUTE, HOUR, DAY = 1_000_000, 60_000_000, 3_600_000_000, 86_400_000_000

# -- strategies ----------------------------------------------------------------------------------
steps = st.one_of(
    st.integers(0, 90 * SECOND),                           # sub-second to a minute and a half on
    st.integers(0, 10).map(lambda m: m * MINUTE),          # whole minutes: window edges land on events
    st.integers(-2 * HOUR, 0),                             # late: inside or past the smaller windows
    st.integers(-9 * DAY, -DAY),                           # very late: past the larger windows
    st.integers(HOUR, 9 * DAY),                            # gaps longer than windows
)
prices = st.one_of(st.integers(1, 40_000).map(lambda k: k / 4),
                   st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False))


@st.composite
def streams(draw) -> list[list[tuple]]:
    """Batches of (event, seq) for one symbol: out of order, ties at one microsecond, duplicates with the same
    and with a different value under a new seq, and redelivered batches (already applied seqs)."""
    count = draw(st.integers(1, 45))
    events, records, seq, t = [], [], 100, T0
    for _ in range(count):
        kind = draw(st.integers(0, 9))
        if events and kind == 0:  # a duplicate under a new stream position, maybe with another value
            old = draw(st.sampled_from(events))
            value = old.value if draw(st.booleans()) else draw(prices)
            event = quote(old.epoch_us, value, old.event_id)
        elif events and kind == 1:  # another event at the same microsecond
            old = draw(st.sampled_from(events))
            event = quote(old.epoch_us, draw(prices), draw(st.sampled_from(["a", "m", "z", "zz", "b1"])))
        else:
            t = max(T0, t + draw(steps))
            event = quote(t, draw(prices), draw(st.sampled_from(["a", "m", "z", "x" * 20])))
            events.append(event)
        seq += draw(st.integers(1, 3))
        records.append((event, seq))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(records)), max_size=6))) | {len(records)})
    batches, begin = [], 0
    for end in cuts:
        batches.append(records[begin:end])
        if draw(st.integers(0, 4)) == 0:  # the same batch delivered again
            batches.append(records[begin:end])
        begin = end
    return batches


# -- properties ----------------------------------------------------------------------------------
def check_state(state: KeyState, reference: Reference, windows=WINDOWS) -> None:
    view = state.view()
    for window in windows:
        inside = reference.window(window)
        assert view["rolling_counts"][window.name] == len(inside), window.name
        assert close_enough(view["rolling"][window.name], inside), (window.name, view["rolling"], inside)
    assert view["events"] == len(reference.events)
    latest = reference.latest()
    assert (view["value"], view["event_id"], view["local_day"]) == (latest.value, latest.event_id, day_of(latest))
    previous = reference.previous_close(day_of(latest))
    assert (view.get("previous_close_day"), view.get("previous_close")) == (previous or (None, None))


@hsettings(max_examples=120, deadline=None)
@given(batches=streams(), limit=st.integers(1, 50))
def test_every_applied_event_leaves_exact_windows_counts_and_closes(batches, limit):
    # Given a symbol's records in batches, the fake MetricsTable written before each batch is applied
    consumer, reference = Consumer(limit=limit), Reference()

    def on_applied(event, seq, applied):
        # Then after every applied event the state equals brute force over the distinct applied events
        assert reference.deliver(event, seq), "applied an event brute force calls a duplicate"
        check_state(consumer.state, reference)
        assert (applied.previous_close_day, applied.previous_close) == (
            reference.previous_close(applied.local_day) or (None, None))

    for batch in batches:
        # When each batch is classified, looked up, written and applied
        consumer.run(batch, on_applied=on_applied)
        for event, seq in batch:  # records the consumer did not apply are the ones brute force skips
            assert not reference.deliver(event, seq)
    check_state(consumer.state, reference)


# Two windows of one length: KeyState.apply then takes its general path (one pass per window), not the
# one-pass `DepartureCache.step` that distinct lengths use.
SAME_LENGTH_WINDOWS = (Window("5m", 300), Window("300s", 300), Window("1h", 3600))


@hsettings(max_examples=60, deadline=None)
@given(batches=streams(), limit=st.integers(1, 50))
def test_windows_of_the_same_length_stay_exact_too(batches, limit):
    consumer, reference = Consumer(limit=limit, windows=SAME_LENGTH_WINDOWS), Reference()

    def on_applied(event, seq, applied):
        assert reference.deliver(event, seq)
        check_state(consumer.state, reference, SAME_LENGTH_WINDOWS)

    for batch in batches:
        consumer.run(batch, on_applied=on_applied)
    check_state(consumer.state, reference, SAME_LENGTH_WINDOWS)


@hsettings(max_examples=80, deadline=None)
@given(batches=streams(), limit=st.integers(1, 50), data=st.data())
def test_a_crash_mid_batch_then_a_replay_from_the_saved_item_equals_an_uninterrupted_run(batches, limit, data):
    # Given the same records run twice, once straight through
    straight, crashed = Consumer(limit=limit), Consumer(limit=limit)
    for batch in batches:
        straight.run(batch)
    # When the other run crashes part way through some batches (items written, part applied, nothing saved)
    # and replays each of them with the same seqs from the last saved item
    for batch in batches:
        if data.draw(st.booleans()):
            crashed.run(batch, crash_after=data.draw(st.integers(0, len(batch))))
        crashed.run(batch)
    # Then the saved items are identical, floats and all
    assert crashed.saved == straight.saved


@hsettings(max_examples=60, deadline=None)
@given(batches=streams(), limit=st.integers(1, 50))
def test_a_state_reloaded_between_every_batch_goes_on_exactly(batches, limit):
    warm, cold = Consumer(limit=limit), Consumer(limit=limit)
    for batch in batches:
        warm.run(batch)
        cold.run(batch)
        cold.crash()  # a cold start for every batch: state from the item, empty caches
        assert to_item(cold.state, "x") == to_item(warm.state, "x")


# -- classification ------------------------------------------------------------------------------
def test_records_are_classified_against_the_state_before_the_batch():
    # Given a state whose latest event is 'b' at T0 + 1 minute, applied at seq 10
    consumer = Consumer()
    consumer.run([(quote(T0, 1.0, "a"), 5), (quote(T0 + MINUTE, 2.0, "b"), 10)])
    state = consumer.state
    late, same_instant_after, same_instant_before = quote(T0 + 1, 3.0, "c"), quote(T0 + MINUTE, 4.0, "c"), quote(
        T0 + MINUTE, 4.0, "a")
    batch = [(quote(T0, 1.0, "a"), 5),                      # a redelivered position
             (quote(T0 + MINUTE, 9.0, "b"), 11),            # latest again: a duplicate whatever its value
             (quote(T0 + 2 * MINUTE, 5.0, "d"), 12),        # after latest
             (same_instant_after, 13),                      # latest's instant, larger id: never applied
             (same_instant_before, 14),                     # latest's instant, smaller id: may have been
             (late, 15),                                    # earlier than latest: may have been
             (quote(T0 + 2 * MINUTE, 5.0, "d"), 16)]        # a second copy within the batch
    # When the batch is classified
    verdicts = classify_batch(state, batch)
    # Then
    assert verdicts == [Verdict.ALREADY_APPLIED, Verdict.DUPLICATE, Verdict.NEW, Verdict.NEW, Verdict.NEEDS_LOOKUP,
                        Verdict.NEEDS_LOOKUP, Verdict.DUPLICATE]


def test_a_lookup_decides_by_the_stored_seq():
    assert resolve_lookup(20, None) is Verdict.NEW          # never written
    assert resolve_lookup(20, 20) is Verdict.NEW            # written by this record before a crash
    assert resolve_lookup(20, 7) is Verdict.DUPLICATE       # written by an earlier record
    assert resolve_lookup(20, 31) is Verdict.NEW            # cannot happen: duplicates are never written


def test_applying_a_position_already_applied_is_refused():
    consumer = Consumer()
    consumer.run([(quote(T0, 1.0, "a"), 5)])
    with pytest.raises(ValueError):
        consumer.state.apply(quote(T0 + 1, 2.0, "b"), "2026-03-06", 5, consumer.cache)


def test_a_duplicate_skipped_moves_the_applied_position_only():
    consumer = Consumer()
    consumer.run([(quote(T0, 1.0, "a"), 5), (quote(T0, 7.0, "a"), 9)])
    assert (consumer.state.applied_seq, consumer.state.events, consumer.state.view()["value"]) == (9, 1, 1.0)


# -- departures ----------------------------------------------------------------------------------
def test_unapplied_items_of_the_current_batch_never_depart():
    # Given a 5-minute window holding events at T0 and T0 + 3s, cold (state re-read from its item)
    windows = (WINDOWS[0],)
    consumer = Consumer(windows=windows, limit=1)
    consumer.run([(quote(T0, 1.0, "a"), 1), (quote(T0 + 3 * SECOND, 2.0, "b"), 2)])
    consumer.crash()
    # When a batch moves the edge to T0 + 2s, then brings a late record at T0 + 1s: its item is written
    # (and read back by the departure Query) before it is applied
    consumer.run([(quote(T0 + 5 * MINUTE + 2 * SECOND, 10.0, "d"), 3), (quote(T0 + SECOND, 3.0, "c"), 4)])
    # Then only 'a' left the window: the late item was not subtracted (it was never added, being past the edge)
    view = consumer.state.view()
    assert view["rolling_counts"] == {"5m": 2} and view["rolling"] == {"5m": 6.0}
    assert consumer.cache.items >= 2  # the Query did bring the unapplied item


def test_departure_reads_stay_near_one_per_limit_departing_events():
    # Given a day at one event every 7 seconds, in batches of 500
    limit = 40
    consumer = Consumer(limit=limit, windows=WINDOWS[:3])
    departed = dict.fromkeys(w.seconds * SECOND for w in WINDOWS[:3])
    n = 86400 // 7
    batch = []
    for i in range(n):
        batch.append((quote(T0 + i * 7 * SECOND, 100.0 + i % 13, f"e{i}"), i + 1))
        if len(batch) == 500:
            consumer.run(batch)
            batch = []
    consumer.run(batch)
    # Then each window read about once per `limit` events that left it (+1 per window for the cold start)
    reads = consumer.cache.fetches_by_window
    latest = T0 + (n - 1) * 7 * SECOND
    for window_us in departed:
        leaving = sum(1 for i in range(n) if T0 + i * 7 * SECOND <= latest - window_us)
        assert reads.get(window_us, 0) <= leaving / limit + 1, (window_us, reads, leaving)
    # and the 5-minute window (43 events) was followed in full: not read at all
    assert 300 * SECOND not in reads


def test_a_cold_start_reads_once_per_window_then_follows_from_cache():
    consumer = Consumer(limit=40)
    batch = [(quote(T0 + i * MINUTE, float(i), f"e{i}"), i + 1) for i in range(30)]
    consumer.run(batch)
    consumer.crash()
    consumer.run([(quote(T0 + 30 * MINUTE, 30.0, "e30"), 31)])
    assert consumer.cache.fetches == len(WINDOWS)  # one Query per window, each window's range short
    consumer.run([(quote(T0 + (31 + i) * MINUTE, 1.0, f"f{i}"), 32 + i) for i in range(20)])
    assert consumer.cache.fetches == len(WINDOWS)


def test_the_sort_key_bounds_select_what_the_fetch_contract_says():
    # Given MetricsTable sort keys around one instant (ids of every allowed character class)
    ids = ["-", ".", "0", "9", ":", "A", "Z", "_", "a", "z", "zz"]
    keys = sorted((T0 + d, i) for d in (-1, 0, 1) for i in ids)
    from barometer.core.timeutil import format_fixed, from_epoch_us
    sk = {k: f"{format_fixed(from_epoch_us(k[0]))}#{k[1]}" for k in keys}
    assert sorted(keys, key=sk.get) == keys  # string order is (epoch_us, event_id) order
    for after_id in (None, "0", "a"):
        lower, upper = departure_sk_bounds(T0, T0 + 1, after_id)
        selected = [k for k in keys if lower < sk[k] <= upper]
        after = (T0, after_id) if after_id is not None else (T0, "\uffff")
        assert selected == [k for k in keys if k > after and k[0] <= T0 + 1]


def test_a_window_missing_from_the_item_is_read_in_full_at_the_next_apply():
    # Given a state saved with 5m and 1h windows
    metrics = FakeMetrics()
    old = Consumer(windows=WINDOWS[:2], metrics=metrics)
    old.run([(quote(T0 + i * 10 * MINUTE, float(i), f"e{i}"), i + 1) for i in range(20)])
    # When the configuration adds 24h and 7d, and the next event is applied
    new = Consumer(windows=WINDOWS, metrics=metrics)
    new.state = from_item(old.saved, "quote", "AAPL", WINDOWS)
    new.saved = old.saved
    assert set(new.state.view()["rolling"]) == {"5m", "1h"}  # unknown until read
    new.run([(quote(T0 + 200 * MINUTE, 20.0, "e20"), 21)])
    # Then every window is exact
    reference = Reference()
    for i in range(21):
        reference.deliver(quote(T0 + i * 10 * MINUTE, float(i), f"e{i}"), i + 1)
    check_state(new.state, reference)


def test_a_window_emptied_resets_its_running_sum():
    w = WindowSum("5m", 300 * SECOND)
    w.add(0.1)
    w.add(0.2)
    w.remove(0.1)
    w.remove(0.2)
    assert (w.total, w.comp, w.count, w.average()) == (0.0, 0.0, 0, None)


def test_compensation_keeps_a_long_running_sum_exact():
    # Given a window that gains a large value and then many small ones, and loses the large one
    w = WindowSum("1h", HOUR)
    w.add(1e16)
    for _ in range(1000):
        w.add(0.1)
    w.remove(1e16)
    # Then the small ones' sum is what fsum gives, not what plain float addition would
    assert w.average() == pytest.approx(0.1, rel=1e-12)


# -- closes --------------------------------------------------------------------------------------
def test_close_tiebreak_orders_like_the_id_up_to_its_length_and_is_short():
    assert close_tiebreak("abc") == "abc" and close_tiebreak("x" * 14) == "x" * 14
    long_a, long_b = "simulator:quote:AAPL:1741262400", "finnhub:quote:AAPL:1741262400"
    assert len(close_tiebreak(long_a)) == 14 and close_tiebreak(close_tiebreak(long_a)) == close_tiebreak(long_a)
    assert (close_tiebreak(long_a) > close_tiebreak(long_b)) == (long_a > long_b)


def test_the_previous_close_is_the_last_price_of_the_previous_new_york_day():
    consumer = Consumer()
    applied = consumer.run([(quote(epoch_us(2026, 3, 9, 19, 55), 100.0, "a"), 1),
                            (quote(epoch_us(2026, 3, 10, 3, 59, 59, 999999), 102.0, "b"), 2),
                            (quote(epoch_us(2026, 3, 10, 4, 30), 95.0, "c"), 3)])
    assert [(a.local_day, a.previous_close) for a in applied] == [
        ("2026-03-09", None), ("2026-03-09", None), ("2026-03-10", 102.0)]
    assert applied[-1].change_pct == round((95.0 - 102.0) / 102.0 * 100.0, 6)
    view = consumer.state.view()
    assert (view["previous_close_day"], view["previous_close"], view["change_pct"]) == (
        "2026-03-09", 102.0, applied[-1].change_pct)


def test_weather_keeps_no_closes():
    from core_builders import utc_from_us

    from barometer.core.events import Event
    consumer = Consumer(kind="weather", key="Seattle")
    event = Event("weather", "Seattle", utc_from_us(T0), "w1", 3.0, {"temp_c": 3.0}, "sim")
    applied = consumer.run([(event, 1)])
    assert applied[0].previous_close is None and unpack_state(consumer.saved["state"])[1] == {}
    assert consumer.saved["source"] == "sim" and consumer.saved["rolling"]["24h"] == 3.0


def test_an_empty_item_is_a_new_state():
    state = from_item(None, "weather", "Seattle", WINDOWS)
    assert (state.latest, state.applied_seq, state.events, state.version) == (None, -1, 0, 0)
    assert state.view() == {"kind": "weather", "key": "Seattle", "events": 0}
    assert to_item(state, "t")["applied_seq"] == "-1"


def test_big_kinesis_sequence_numbers_round_trip_as_strings():
    seq = 49590338271490256608559692538361571095921575989136588898
    consumer = Consumer()
    consumer.run([(quote(T0, 1.0, "a"), seq)])
    assert consumer.saved["applied_seq"] == str(seq)
    assert from_item(consumer.saved, "quote", "AAPL", WINDOWS).applied_seq == seq


def test_a_reset_departure_cache_reads_again():
    consumer = Consumer()
    consumer.run([(quote(T0 + i * SECOND, 1.0, f"e{i}"), i + 1) for i in range(10)])
    consumer.cache.reset()
    consumer.run([(quote(T0 + 10 * MINUTE, 5.0, "z"), 20)])
    # the 5-minute window emptied without a read; the others read once, as at a cold start
    assert consumer.state.view()["rolling_counts"] == {"5m": 1, "1h": 11, "24h": 11, "7d": 11}
    assert consumer.cache.fetches == 3
