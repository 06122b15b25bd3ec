"""The LatestTable item stays within 2 KB in DynamoDB's accounting (typically within 1 KB)."""
from __future__ import annotations

from core_builders import epoch_us, utc_from_us
from keystate_builders import WINDOWS, Consumer, quote

from barometer.config import Window
from barometer.core.events import Event
from barometer.core.itemsize import item_size, number_size, value_size
from barometer.core.keystate import CLOSES_KEPT, MAX_WINDOW_NAME_CHARS, MAX_WINDOWS, KeyState, to_item
from barometer.core.windows import DepartureCache

T0 = epoch_us(2026, 3, 2, 14, 30)  # a Monday
KINESIS_SEQ = 49590338271490256608559692538361571095921575989136588898  # 56 digits, as Kinesis gives them
SIZES: dict[str, int] = {}  # what the runs measured, for the report (printed with -s)


def week(interval_s: int) -> dict:
    """A symbol's LatestTable item after a week of simulator-like quotes every `interval_s` seconds."""
    consumer = Consumer(windows=WINDOWS)
    n = 7 * 86400 // interval_s
    batch, seq = [], KINESIS_SEQ
    for i in range(n):
        stamp = T0 + i * interval_s * 1_000_000
        seq += 1
        event = quote(stamp, round(180.0 + (i % 977) * 0.37, 2), f"simulator:quote:AAPL:{stamp // 1_000_000}",
                      source="simulator")
        batch.append((event, seq))
        if len(batch) == 500:
            consumer.run(batch)
            batch = []
    consumer.run(batch)
    return consumer.saved


def test_a_week_at_one_event_per_second_and_per_minute_stays_within_one_kilobyte():
    for interval in (1, 60):
        item = week(interval)
        SIZES[f"week at 1/{interval}s"] = item_size(item)
        assert item["rolling_counts"]["7d"] == 7 * 86400 // interval
        assert item_size(item) <= 1024, (interval, item_size(item))
    print(SIZES)


def test_the_worst_case_item_stays_within_two_kilobytes():
    # Given the longest of everything the contract and the proposed window cap allow: a city of 64 four-byte
    # characters, 128-character event ids, a 64-character source, the five weather fields and every price
    # with 17 significant digits, the longest window names, counts and a 129-digit sequence number
    windows = [Window(f"{i + 1}d".rjust(MAX_WINDOW_NAME_CHARS, "0"), (i + 1) * 86400) for i in range(MAX_WINDOWS)]
    items = {}
    for kind, key in (("quote", "BRK.B-XXXX"), ("weather", "\U0001F327" * 64)):
        state = KeyState(kind, key, windows)
        cache = DepartureCache(None, state.pk)
        for day in range(CLOSES_KEPT + 2):
            us = T0 + day * 86400_000_000 + 123457
            value = -0.12345678901234567 - day if kind == "weather" else 987654321.12345678 - day
            fields = ({"price": value, "volume": 10**15 - 1, "currency": "USD"} if kind == "quote" else
                      {"temp_c": -99.123456789012345, "humidity_pct": 99.123456789012345,
                       "wind_mps": 149.12345678901234, "precip_mm": 1999.1234567890123,
                       "pressure_hpa": 1099.1234567890123})
            event = Event(kind, key, utc_from_us(us), "Z" * 118 + str(day).rjust(10, "9"), value, fields, "s" * 64)
            state.apply(event, f"2026-03-{day + 2:02d}", 10**128 + day, cache)
        for w in state.windows:  # a key alive for decades at thousands of events per second
            w.total, w.comp, w.count = -1.2345678901234567e17, -1.2345678901234567e-9, 10**14 + 1
        state.events = 10**15
        state.version = 10**12
        item = to_item(state, "2026-03-14T23:59:59.999999Z")
        item["change_pct"] = -99.123457 if kind == "quote" else None  # 8 significant digits at most once rounded
        items[kind] = item
        SIZES[f"worst {kind}"] = item_size(item)
    # Then both fit one 2 KB item
    print(SIZES)
    assert max(SIZES[f"worst {kind}"] for kind in items) <= 2048, SIZES


def test_item_size_follows_dynamodbs_rules():
    assert item_size({"pk": "quote#AAPL"}) == 2 + 10
    assert item_size({"é": "é"}) == 4  # UTF-8 bytes, names included
    assert item_size({"a": None, "b": True}) == 2  # a None attribute is not stored
    assert value_size([]) == 3 and value_size({}) == 3
    assert value_size(["ab", 1]) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"k": "v"}) == 3 + 1 + 1 + 1
    # numbers: base-100 pairs aligned on the decimal point, plus the exponent byte (never below the docs' rule)
    assert [number_size(v) for v in (0, 7, 15, 100, 1.5, 0.001, 123456.789, -3)] == [1, 2, 2, 2, 3, 2, 6, 3]
    for v in (1741262400000000, 0.1 + 0.2, 987654321.12345678, 1e-9):
        digits = len(repr(v).split("e")[0].replace(".", "").replace("-", "").strip("0"))
        assert number_size(v) >= (digits + 1) // 2 + 1
