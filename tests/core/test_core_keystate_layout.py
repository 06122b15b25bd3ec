"""The LatestTable item's layout: the internal state packed in one binary `state`, the earlier maps still read."""
from __future__ import annotations

import struct

import pytest
from core_builders import epoch_us
from keystate_builders import WINDOWS, Consumer, quote, stored

from barometer.config import Window
from barometer.core.keystate import (
    KeyState,
    close_tiebreak,
    from_item,
    pack_state,
    to_item,
    unpack_state,
)

T0 = epoch_us(2026, 3, 2, 14, 30)  # a Monday
DAY = 86400_000_000
KINESIS_SEQ = 49590338271490256608559692538361571095921575989136588898


def a_week_of_quotes() -> Consumer:
    consumer = Consumer()
    batch = [(quote(T0 + i * DAY // 4, 100.0 + i * 0.1 + 1e-13, "simulator:quote:AAPL:" + "x" * 40 + str(i)),
              KINESIS_SEQ + i) for i in range(28)]
    consumer.run(batch)
    return consumer


def previous_layout(item: dict, state: KeyState) -> dict:
    """The same item as to_item wrote it before `state`: sums and closes as maps of lists."""
    old = {k: v for k, v in item.items() if k != "state"}
    old["sums"] = {w.name: [w.total, w.comp, w.count] for w in state.windows}
    old["closes"] = {d: [c[0], c[1], close_tiebreak(c[2])] for d, c in state.closes.items()}
    return old


def test_the_internal_state_is_one_binary_attribute_beside_the_public_view():
    # Given a symbol after a week of quotes
    consumer = a_week_of_quotes()
    # When its item is built
    item = to_item(consumer.state, "2026-03-09T00:00:00Z")
    # Then sums and closes are packed in `state`; the public view, applied_seq, version and pk stay top-level
    assert isinstance(item["state"], bytes)
    assert not {"sums", "closes"} & set(item)
    assert (item["pk"], item["applied_seq"], item["version"]) == ("quote#AAPL", str(KINESIS_SEQ + 27), consumer.state.version + 1)
    assert set(item["rolling"]) == {w.name for w in WINDOWS}
    sums, closes = unpack_state(item["state"])
    assert sums == {w.name: (w.total, w.comp, w.count) for w in consumer.state.windows}
    assert closes == {d: [c[0], c[1], close_tiebreak(c[2])] for d, c in consumer.state.closes.items()}


def test_floats_and_counts_round_trip_exactly_through_the_wire():
    # Given sums and closes whose values no short decimal holds
    state = a_week_of_quotes().state
    awkward = (0.1 + 0.2, -1.2345678901234567e17, 5e-324, -0.0, 1.7976931348623157e308)
    for w, value in zip(state.windows, awkward):
        w.total, w.comp, w.count = value, -value / 3, 10**14 + 1
    day = max(state.closes)
    state.closes[day][1] = 987654321.12345678
    # When it is saved through DynamoDB's wire form and read back
    back = from_item(stored(to_item(state, "t")), "quote", "AAPL", WINDOWS)
    # Then every bit is the same
    assert [(w.total, w.comp, w.count) for w in back.windows] == [(w.total, w.comp, w.count) for w in state.windows]
    assert [struct.pack("<d", w.total) for w in back.windows] == [struct.pack("<d", w.total) for w in state.windows]
    assert back.closes == {d: [c[0], c[1], close_tiebreak(c[2])] for d, c in state.closes.items()}
    assert (back.applied_seq, back.events, back.version) == (state.applied_seq, state.events, state.version + 1)
    assert to_item(back, "t")["state"] == to_item(state, "t")["state"]


def test_equal_states_pack_to_equal_bytes_whatever_the_order_closes_arrived_in():
    state = a_week_of_quotes().state
    reordered = from_item(to_item(state, "t"), "quote", "AAPL", WINDOWS)
    reordered.closes = dict(reversed(list(reordered.closes.items())))
    assert pack_state(reordered) == pack_state(state)


def test_an_item_of_the_previous_layout_is_read_as_the_packed_one():
    # Given a table holding an item written before `state` (sums and closes as maps)
    consumer = a_week_of_quotes()
    item = to_item(consumer.state, "t")
    old = stored(previous_layout(item, consumer.state))
    assert "state" not in old
    # When it is read
    state = from_item(old, "quote", "AAPL", WINDOWS)
    # Then it is the same state, and saving it again writes the packed layout
    assert state.unseeded == []
    assert state.view() == consumer.state.view()
    assert (state.applied_seq, state.events) == (consumer.state.applied_seq, consumer.state.events)
    again = to_item(state, "t")
    assert again["state"] == item["state"] and not {"sums", "closes"} & set(again)


def test_a_window_the_packed_state_lacks_is_unseeded():
    consumer = a_week_of_quotes()
    item = to_item(consumer.state, "t")
    state = from_item(item, "quote", "AAPL", (*WINDOWS, Window("30d", 30 * 86400)))
    assert [w.name for w in state.unseeded] == ["30d"]
    assert "30d" not in to_item(state, "t")["rolling"] and "30d" not in unpack_state(to_item(state, "t")["state"])[0]


@pytest.mark.parametrize("packed", [b"", b"\x02\x00\x00", b"\x01\x00\x00\x00"])
def test_an_unknown_layout_or_a_truncated_state_is_refused(packed):
    with pytest.raises((ValueError, struct.error, IndexError)):
        unpack_state(packed)
