"""The aggregator's orchestration with an in-memory LatestTable (lambdas.aggregator.handler)."""
from __future__ import annotations

import pytest
from aggregator_fakes import FakeLatestStates, fake_ports, load_event, sequence_numbers
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lambdas.aggregator.handler import MAX_CONFLICT_RETRIES, default_ports, lambda_handler
from lambdas.aggregator.store import LatestTable, MetricsHistory

AAPL, MSFT = "quote#AAPL", "quote#MSFT"


def recent_ids(item: dict) -> list[str]:
    return [r["event_id"] for r in item["recent"]]


def test_records_are_grouped_by_key_and_applied_in_stream_order():
    # Given a batch of AAPL, MSFT, AAPL inserts
    ports, latest = fake_ports()
    event = load_event("metrics_inserts.json")
    # When the aggregator runs
    response = lambda_handler(event, None, ports=ports)
    # Then each key's state is read and written once, with its events in stream order
    assert response == {"batchItemFailures": []}
    assert sorted(latest.loads) == [AAPL, MSFT]
    assert [(s["pk"], recent_ids(s)) for s in latest.saves] == [
        (AAPL, ["q-aapl-1", "q-aapl-2"]), (MSFT, ["q-msft-1"])]
    aapl = latest.items[AAPL]
    assert (aapl["value"], aapl["event_id"], aapl["events"], aapl["version"]) == (188.0, "q-aapl-2", 2, 1)
    assert aapl["applied_seq"] == str(int(sequence_numbers(event)[2]))


def test_a_key_listed_out_of_order_is_applied_by_sequence_number():
    ports, latest = fake_ports()
    event = load_event("metrics_inserts.json")
    event["Records"].reverse()
    lambda_handler(event, None, ports=ports)
    assert recent_ids(latest.items[AAPL]) == ["q-aapl-1", "q-aapl-2"]


def test_an_optimistic_lock_conflict_re_reads_the_state_and_succeeds():
    # Given another writer that updates AAPL's state between our read and our write
    ports, latest = fake_ports()
    latest.concurrent_writes[AAPL] = 1
    # When the aggregator runs
    response = lambda_handler(load_event("metrics_inserts.json"), None, ports=ports)
    # Then AAPL is read again and written over the other writer's version
    assert response == {"batchItemFailures": []}
    assert latest.loads.count(AAPL) == 2
    assert latest.items[AAPL]["version"] == 2 and recent_ids(latest.items[AAPL]) == ["q-aapl-1", "q-aapl-2"]


def test_conflicts_past_the_retries_report_every_record_of_that_key_only():
    # Given AAPL's state changing under every one of our writes
    ports, latest = fake_ports()
    latest.concurrent_writes[AAPL] = MAX_CONFLICT_RETRIES + 1
    event = load_event("metrics_inserts.json")
    seqs = sequence_numbers(event)
    # When the aggregator runs
    response = lambda_handler(event, None, ports=ports)
    # Then both AAPL records are reported (Lambda retries from the first), and MSFT is written
    assert latest.loads.count(AAPL) == MAX_CONFLICT_RETRIES + 1
    assert response == {"batchItemFailures": [{"itemIdentifier": seqs[0]}, {"itemIdentifier": seqs[2]}]}
    assert [s["pk"] for s in latest.saves] == [MSFT]
    assert AAPL not in ports.states


def test_a_failed_write_drops_the_warm_state_and_the_retry_re_reads_it():
    # Given a warm container that applied the batch once (its states are cached)
    ports, latest = fake_ports()
    event = load_event("metrics_inserts.json")
    lambda_handler(event, None, ports=ports)
    assert AAPL in ports.states and len(latest.loads) == 2
    # When the next batch fails to be written for AAPL
    later = load_event("metrics_inserts.json")
    for n, record in enumerate(later["Records"]):
        record["dynamodb"]["SequenceNumber"] = f"2222{n:020d}"
        record["dynamodb"]["NewImage"]["event_id"]["S"] += "-later"
    latest.failures[AAPL] = 1
    response = lambda_handler(later, None, ports=ports)
    # Then AAPL's records are reported and its cached state (holding changes never written) is dropped
    assert len(latest.loads) == 2  # both keys came from the warm cache
    assert response == {"batchItemFailures": [{"itemIdentifier": f"2222{0:020d}"},
                                              {"itemIdentifier": f"2222{2:020d}"}]}
    assert AAPL not in ports.states and MSFT in ports.states
    # And the retry reads AAPL from the table again, so its events are applied and written once
    assert lambda_handler(later, None, ports=ports) == {"batchItemFailures": []}
    assert latest.loads[2:] == [AAPL]
    aapl = latest.items[AAPL]
    assert (aapl["version"], aapl["events"], aapl["applied_seq"]) == (2, 4, f"2222{2:020d}")
    assert recent_ids(aapl) == ["q-aapl-1-later", "q-aapl-2-later"]


def test_a_retried_batch_is_a_no_op_warm_or_cold():
    # Given a batch already applied and written
    ports, latest = fake_ports()
    event = load_event("metrics_inserts.json")
    lambda_handler(event, None, ports=ports)
    written = dict(latest.items)
    # When the same batch is delivered again, to the same container and to a cold one
    warm = lambda_handler(event, None, ports=ports)
    cold_ports, _ = fake_ports(latest)
    cold = lambda_handler(event, None, ports=cold_ports)
    # Then nothing is written again: the states remember the last stream position they applied
    assert warm == cold == {"batchItemFailures": []}
    assert len(latest.saves) == 2 and latest.items == written
    assert latest.loads.count(AAPL) == 2  # the cold container had to read it; the warm one did not


def test_modify_and_remove_records_are_not_aggregated():
    ports, latest = fake_ports()
    assert lambda_handler(load_event("metrics_modify_remove.json"), None, ports=ports) == {"batchItemFailures": []}
    assert latest.loads == [] and latest.saves == []


def test_a_store_failure_on_every_key_fails_the_whole_batch():
    latest = FakeLatestStates()
    latest.failures = {AAPL: 1, MSFT: 1}
    ports, _ = fake_ports(latest)
    with pytest.raises(BatchProcessingError, match="All records failed processing. 3 individual errors"):
        lambda_handler(load_event("metrics_inserts.json"), None, ports=ports)


def test_the_default_ports_are_the_dynamodb_tables_with_one_warm_cache():
    ports = default_ports()
    assert (type(ports.latest), type(ports.history)) == (LatestTable, MetricsHistory)
    assert default_ports().states is ports.states
