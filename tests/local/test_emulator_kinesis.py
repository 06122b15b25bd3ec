"""The emulator's fixes to moto (barometer_local/emulator_server.py): Kinesis positions by index answer as moto's
own walk, concurrent puts keep every record, conditional writes are atomic."""
from __future__ import annotations

import random

import pytest


@pytest.fixture(scope="module")
def shards():
    from moto.kinesis.models import Shard

    from barometer_local import emulator_server

    emulator_server._install_kinesis_positions()  # a no-op if this process installed it already
    patched = Shard.get_records, Shard.get_min_sequence_number, Shard.get_max_sequence_number
    original = emulator_server.MOTO_SHARD_METHODS
    assert original and original[0] is not patched[0]
    yield Shard, original, patched
    Shard.get_records, Shard.get_min_sequence_number, Shard.get_max_sequence_number = patched


def answers(shard, methods, after: int, limit):
    get_records, low, high = methods
    records, last, behind = get_records(shard, str(after), limit)
    return [r.sequence_number for r in records], last, behind, low(shard), high(shard)


@pytest.mark.parametrize("seed", range(5))
def test_reads_by_index_answer_as_moto_does(shards, seed):
    Shard, original, patched = shards
    rng = random.Random(seed)
    # given a shard with records put one after the other, its oldest ones trimmed
    shard = Shard(0, 0, 2**128)
    for i in range(rng.randint(0, 300)):
        shard.put_record(f"k{i}", "ZGF0YQ==", None)
    for sequence in list(shard.records)[:rng.randint(0, 50)]:
        del shard.records[sequence]
    # when read from many positions with many limits, then every answer is moto's own
    for _ in range(50):
        after, limit = rng.randint(-5, 360), rng.choice([None, 1, 7, 100, 10000])
        assert answers(shard, patched, after, limit) == answers(shard, original, after, limit)


def test_put_after_the_patch_keeps_sequence_numbers_consecutive(shards):
    Shard, _, _ = shards
    shard = Shard(0, 0, 2**128)
    numbers = [int(shard.put_record("k", "ZA==", None)) for _ in range(5)]
    assert numbers == [1, 2, 3, 4, 5]


def test_the_server_installs_it():
    from moto.kinesis.models import Shard

    from barometer_local import emulator_server

    emulator_server.install()
    assert getattr(Shard.get_records, "_barometer_by_index", False)


def test_concurrent_puts_each_keep_their_own_record():
    import subprocess
    import sys
    import textwrap

    # Given the emulator's Kinesis shard, 8 threads putting at once and switching as often as a busy server
    code = textwrap.dedent("""
        import sys, threading
        from barometer_local.emulator_server import install
        install()
        from moto.kinesis.models import Shard
        sys.setswitchinterval(1e-6)
        shard = Shard(0, 0, 2**128, "123456789012", "us-east-1")
        acknowledged, lock = [], threading.Lock()
        def put(t):
            mine = [shard.put_record(f"K{t}", "ZGF0YQ==", None) for _ in range(1500)]
            reads = shard.get_records("0", None)  # a read beside the puts walks the ordered dict safely
            with lock:
                acknowledged.extend(mine)
        threads = [threading.Thread(target=put, args=(t,)) for t in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(len(acknowledged), len(set(acknowledged)), len(shard.records))
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    # Then every acknowledged put has its own sequence number and its record in the shard (moto alone lost some)
    assert out.split() == ["12000", "12000", "12000"]


def test_concurrent_conditional_writes_of_one_item_are_atomic():
    import subprocess
    import sys
    import textwrap

    # Given 8 threads each doing read-version / put-if-version-unchanged on one item, switching very often
    code = textwrap.dedent("""
        import sys, threading
        from barometer_local.emulator_server import install
        install()
        from moto.dynamodb.exceptions import ConditionalCheckFailed
        from moto.dynamodb.models import DynamoDBBackend
        backend = DynamoDBBackend("us-east-1", "123456789012")
        backend.create_table("T", schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             attr=[{"AttributeName": "pk", "AttributeType": "S"}], throughput=None,
                             billing_mode="PAY_PER_REQUEST", indexes=None, global_indexes=None, streams=None,
                             sse_specification=None, tags=None, deletion_protection_enabled=False,
                             warm_throughput=None)
        backend.put_item("T", {"pk": {"S": "k"}, "v": {"N": "0"}})
        sys.setswitchinterval(1e-6)
        wins, lock = [], threading.Lock()
        def bump(t):
            mine = 0
            for _ in range(300):
                seen = backend.get_item("T", {"pk": {"S": "k"}}).attrs["v"].value
                try:
                    backend.put_item("T", {"pk": {"S": "k"}, "v": {"N": str(int(seen) + 1)}},
                                     condition_expression="v = :seen", expression_attribute_names={},
                                     expression_attribute_values={":seen": {"N": seen}})
                    mine += 1
                except ConditionalCheckFailed:
                    pass
            with lock:
                wins.append(mine)
        threads = [threading.Thread(target=bump, args=(t,)) for t in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(sum(wins), backend.get_item("T", {"pk": {"S": "k"}}).attrs["v"].value)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    # Then every write that passed its condition counted: as many successes as the final version
    successes, final = out.split()
    assert int(successes) == int(final) > 0
