"""One shard read once for its local consumers (barometer_local/sources.py ShardFeed): each consumer gets every
record after its own position, in order, once, while the emulator is asked for each record once."""
from __future__ import annotations

import threading
import time

from barometer_local.sources import KinesisShardReader, ShardFeed


class CountingReader(KinesisShardReader):
    """The shard's records from a list, from just after `after`; counts the records it hands out."""

    def __init__(self, count: int, after: str | None = None):
        self.shard_id, self.stream_name, self.stream_arn = "shardId-000000000000", "s", "arn"
        self.after = after
        self._records = [{"kinesis": {"sequenceNumber": f"{n:05d}", "partitionKey": "k", "data": "",
                                      "approximateArrivalTimestamp": 0.0}} for n in range(1, count + 1)]
        self._next = int(after) if after else 0
        self.handed_out = 0

    def read(self, limit: int) -> list[dict]:
        taken = self._records[self._next:self._next + limit]
        self._next += len(taken)
        self.handed_out += len(taken)
        return taken


def drain(reader, limit: int) -> list[str]:
    seen = []
    while records := reader.read(limit):
        seen += [reader.sequence_of(r) for r in records]
    return seen


def test_each_consumer_gets_every_record_after_its_own_position_and_the_shard_is_read_once():
    # Given a shard of 2,000 records, one consumer at 1,200 and one at 700
    positions = ["01200", "00700"]
    shard = CountingReader(2000, ShardFeed.start_after(positions))
    feed = ShardFeed(shard)
    ahead, behind = feed.consumer(positions[0]), feed.consumer(positions[1])
    # When both read to the end, in turns of different sizes
    seen_ahead, seen_behind = [], []
    while True:
        a, b = ahead.read(100), behind.read(333)
        seen_ahead += [ahead.sequence_of(r) for r in a]
        seen_behind += [behind.sequence_of(r) for r in b]
        if not a and not b:
            break
    # Then each got exactly the records after its position, in order
    assert seen_ahead == [f"{n:05d}" for n in range(1201, 2001)]
    assert seen_behind == [f"{n:05d}" for n in range(701, 2001)]
    # And the shard was read once, from the smaller position, and nothing is kept once both passed it
    assert shard.handed_out == 1300
    assert feed._records == [] and ahead.after == behind.after == "02000"


def test_a_consumer_without_a_position_starts_the_feed_at_the_start():
    assert ShardFeed.start_after([None, "00042"]) is None
    assert ShardFeed.start_after(["00100", "00042"]) == "00042"
    feed = ShardFeed(CountingReader(50))
    assert drain(feed.consumer(None), 7) == [f"{n:05d}" for n in range(1, 51)]


def test_a_consumer_far_ahead_waits_for_the_other_within_the_window():
    # Given a feed that keeps at most 100 records the slower consumer has not passed
    feed = ShardFeed(CountingReader(1000), window=100)
    fast, slow = feed.consumer(None), feed.consumer(None)
    # When the fast one reads as far as it can
    got = drain(fast, 60)
    # Then it stops at the window (the shard is not read further for it alone)
    assert len(got) < 1000 and len(feed._records) <= 100 + 500
    # And once the slow one catches up, both get everything, once each
    everything = [f"{n:05d}" for n in range(1, 1001)]
    assert drain(slow, 1000) == everything
    assert got + drain(fast, 60) == everything


def test_consumers_on_threads_each_get_every_record_once():
    feed = ShardFeed(CountingReader(20_000), window=2_000)
    readers = [feed.consumer(None), feed.consumer(None)]
    results: list[list[str]] = [[], []]

    def run(i: int) -> None:
        last_record_at = time.monotonic()
        while time.monotonic() - last_record_at < 2.0:  # a consumer ahead waits for the other meanwhile
            records = readers[i].read(250 if i else 5000)
            results[i] += [readers[i].sequence_of(r) for r in records]
            if records:
                last_record_at = time.monotonic()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    expected = [f"{n:05d}" for n in range(1, 20_001)]
    assert results[0] == expected and results[1] == expected
