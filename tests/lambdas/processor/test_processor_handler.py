"""The processor's orchestration with in-memory ports (lambdas.processor.handler, lambdas.processor.pipeline)."""
from __future__ import annotations

import base64
import json
import threading

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from processor_fakes import (
    FIRST_SEQ,
    Crash,
    Fakes,
    LambdaContext,
    kinesis_event,
    load_event,
    quote,
    sequence_numbers,
)

from barometer.core.events import event_local_day, parse_event
from barometer.core.records import metrics_item
from barometer.settings import get_settings
from lambdas.processor.handler import default_ports, lambda_handler
from lambdas.processor.pipeline import MAX_STATE_ATTEMPTS

AAPL, MSFT, SEATTLE = "quote#AAPL", "quote#MSFT", "weather#Seattle"
DROP_KEY = ("market#AAPL", "2026-11-24#market_drop")
CONTEXT = LambdaContext()


def run(event: dict, fakes: Fakes, ports=None) -> dict:
    """One invocation, by default in the fakes' warm container."""
    return lambda_handler(event, CONTEXT, ports=ports or fakes.warm)


def failures(*seqs: str) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": s} for s in seqs]}


def without_time(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != "updated_at"}


# -- validation, quarantine, ordering -----------------------------------------------------------------
def test_valid_events_are_processed_and_invalid_ones_quarantined_with_their_reason():
    # Given a batch of a valid quote, a valid weather event, an invalid quote and a record that is not JSON
    fakes = Fakes()
    event = load_event("kinesis_mixed.json")
    seqs = sequence_numbers(event)
    # When the processor runs
    response = run(event, fakes)
    # Then nothing is reported: each valid event is in its lake table, in MetricsTable with its seq, and in its key state
    assert response == failures()
    assert {t: [r["event_id"] for r in rows] for t, rows in fakes.lake.rows.items()} == {
        "quotes": ["q-aapl-1"], "weather": ["w-sea-1"]}
    settings = get_settings()
    for n in (0, 1):
        parsed = parse_event(json.loads(base64.b64decode(event["Records"][n]["kinesis"]["data"])), settings)
        expected = metrics_item(parsed, event_local_day(parsed, settings), "2026-11-24T15:04:06.5Z", int(seqs[n]))
        assert fakes.metrics.items[(parsed.pk, parsed.sk)] == expected
        assert expected["seq"] == seqs[n]
    assert fakes.latest.items[AAPL]["value"] == 187.5 and fakes.latest.items[SEATTLE]["value"] == 8.5
    assert fakes.latest.items[AAPL]["applied_seq"] == seqs[0]
    # ... and both bad records are quarantined at their stream position, with the reason and the data as received
    assert [(r.sequence_number, r.reason) for r in fakes.quarantine.rejections] == [
        (seqs[2], "invalid event"), (seqs[3], "not valid JSON")]
    assert fakes.quarantine.rejections[1].record == "not json {"


def test_a_quarantine_failure_reports_that_record_only():
    fakes = Fakes()
    event = load_event("kinesis_mixed.json")
    seqs = sequence_numbers(event)
    fakes.quarantine.failing.add(seqs[3])
    assert run(event, fakes) == failures(seqs[3])
    assert [r.sequence_number for r in fakes.quarantine.rejections] == [seqs[2]]
    assert set(fakes.latest.items) == {AAPL, SEATTLE}


def test_the_lake_is_written_before_metrics_table_and_metrics_table_before_the_state():
    fakes = Fakes()
    run(load_event("kinesis_market_drop.json"), fakes)
    order = [name for name, _ in fakes.calls if name in ("lake", "metrics", "save")]
    assert order[:3] == ["lake", "lake", "metrics"] and set(order[3:]) == {"save"}
    assert sorted(fakes.calls_of("lake")[0] + fakes.calls_of("lake")[1]) == sorted(fakes.calls_of("metrics")[0])


def test_a_lake_failure_keeps_the_key_out_of_metrics_table_and_reports_exactly_its_records():
    # Given a lake that does not take AAPL's Tuesday drop
    fakes = Fakes()
    fakes.lake.failing.add("q-aapl-drop-1")
    event = load_event("kinesis_market_drop.json")
    seqs = sequence_numbers(event)
    # When the processor runs
    response = run(event, fakes)
    # Then every AAPL record is reported (records 0, 1, 3, 5), none reaches MetricsTable, its state is not saved
    assert response == failures(seqs[0], seqs[1], seqs[3], seqs[5])
    assert not any(pk == AAPL for pk, _ in fakes.metrics.items)
    assert AAPL not in fakes.latest.items and DROP_KEY not in fakes.alerts.items
    # ... and the other keys are done
    assert set(fakes.latest.items) == {MSFT, SEATTLE}
    # When Lambda delivers the batch again with the lake back
    fakes.lake.failing.clear()
    assert run(event, fakes) == failures()
    # Then AAPL is processed; MSFT and Seattle, already applied, are written nowhere again
    assert fakes.latest.items[AAPL]["events"] == 4
    assert fakes.metrics.writes.count("q-msft-mon-1") == 1 and fakes.metrics.writes.count("q-aapl-mon-1") == 1


def test_a_metrics_table_failure_reports_the_key_and_its_retry_applies_it_once():
    fakes = Fakes()
    fakes.metrics.failing.add("q-msft-tue-1")
    event = load_event("kinesis_market_drop.json")
    seqs = sequence_numbers(event)
    assert run(event, fakes) == failures(seqs[2], seqs[4])
    assert MSFT not in fakes.latest.items
    fakes.metrics.failing.clear()
    assert run(event, fakes) == failures()
    assert fakes.latest.items[MSFT]["events"] == 2 and fakes.latest.items[MSFT]["value"] == 409.0


def test_a_batch_whose_every_record_fails_fails_as_a_whole():
    fakes = Fakes()
    fakes.lake.failing.update({"q-aapl-1", "w-sea-1"})
    event = load_event("kinesis_mixed.json")
    fakes.quarantine.failing.update(sequence_numbers(event)[2:])
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        run(event, fakes)
    assert fakes.metrics.items == {} and fakes.latest.items == {}


# -- duplicates and redelivery ------------------------------------------------------------------------
def test_a_duplicate_within_a_batch_is_written_and_counted_once():
    # Given the same quote twice in one batch (the second under a new sequence number, with another price)
    fakes = Fakes()
    first = quote("AAPL", 187.5, "2026-11-24T15:00:00Z", "q-1")
    event = kinesis_event([first, {**first, "price": 999.0}, quote("AAPL", 188.0, "2026-11-24T15:00:05Z", "q-2")])
    seqs = sequence_numbers(event)
    # When the processor runs
    assert run(event, fakes) == failures()
    # Then the first copy alone is in the lake, in MetricsTable (with its own seq) and in the state
    assert fakes.calls_of("lake") == [["q-1", "q-2"]] and fakes.calls_of("metrics") == [["q-1", "q-2"]]
    assert fakes.metrics.items[(AAPL, "2026-11-24T15:00:00.000000Z#q-1")]["seq"] == seqs[0]
    state = fakes.latest.items[AAPL]
    assert (state["events"], state["rolling"]["5m"], state["applied_seq"]) == (2, (187.5 + 188.0) / 2, seqs[2])
    assert fakes.metrics.lookups == []  # decided in memory


def test_a_duplicate_in_a_later_batch_is_found_by_one_lookup_and_written_nowhere():
    # Given a key whose state has q-1 then q-2 applied
    fakes = Fakes()
    q1, q2 = quote("AAPL", 187.5, "2026-11-24T15:00:00Z", "q-1"), quote("AAPL", 188.0, "2026-11-24T15:00:05Z", "q-2")
    first = kinesis_event([q1, q2])
    run(first, fakes)
    # When q-1 comes again (an earlier timestamp than latest: it may or may not be new) with a new one
    later = kinesis_event([{**q1, "price": 1.0}, quote("AAPL", 189.0, "2026-11-24T15:00:10Z", "q-3")],
                          first_seq=FIRST_SEQ + 10)
    assert run(later, fakes) == failures()
    # Then one BatchGetItem asks MetricsTable for q-1's item, whose seq says it is a duplicate
    assert fakes.metrics.lookups == [[(AAPL, "2026-11-24T15:00:00.000000Z#q-1")]]
    assert fakes.metrics.items[(AAPL, "2026-11-24T15:00:00.000000Z#q-1")]["seq"] == sequence_numbers(first)[0]
    assert fakes.metrics.writes == ["q-1", "q-2", "q-3"]
    assert [r["event_id"] for r in fakes.lake.rows["quotes"]] == ["q-1", "q-2", "q-3"]
    state = fakes.latest.items[AAPL]
    assert state["events"] == 3 and state["rolling"]["5m"] == (187.5 + 188.0 + 189.0) / 3
    assert state["applied_seq"] == sequence_numbers(later)[1]


def test_a_late_event_is_looked_up_once_and_counted_where_its_timestamp_puts_it():
    fakes = Fakes()
    run(kinesis_event([quote("AAPL", 100.0, "2026-11-24T15:00:00Z", "a"),
                       quote("AAPL", 200.0, "2026-11-24T15:10:00Z", "b")]), fakes)
    late = kinesis_event([quote("AAPL", 300.0, "2026-11-24T15:09:00Z", "late")], first_seq=FIRST_SEQ + 5)
    assert run(late, fakes) == failures()
    state = fakes.latest.items[AAPL]
    assert len(fakes.metrics.lookups) == 1 and fakes.metrics.writes == ["a", "b", "late"]
    assert state["rolling"]["5m"] == 250.0 and state["rolling"]["1h"] == 200.0 and state["value"] == 200.0


@pytest.mark.parametrize("warm", [True, False])
def test_a_redelivered_batch_writes_nothing_twice(warm):
    # Given a batch processed once
    fakes = Fakes()
    event = load_event("kinesis_market_drop.json")
    run(event, fakes)
    saved = {pk: dict(item) for pk, item in fakes.latest.items.items()}
    calls = len(fakes.calls)
    # When Lambda delivers it again, to the same container or to a new one
    response = run(event, fakes, ports=None if warm else fakes.ports())
    # Then nothing is written: no lake row, no MetricsTable item, no state, no alert
    new_calls = [name for name, _ in fakes.calls[calls:]]
    assert response == failures()
    assert new_calls == ([] if warm else ["load"])
    assert fakes.latest.items == saved


# -- the optimistic lock ------------------------------------------------------------------------------
def test_an_optimistic_lock_conflict_reads_the_state_again_and_succeeds():
    # Given another writer that saves AAPL's state between our read and our write
    fakes = Fakes()
    fakes.latest.concurrent_writes[AAPL] = 1
    event = load_event("kinesis_market_drop.json")
    # When the processor runs
    response = run(event, fakes)
    # Then AAPL is read again, redone and written over the other writer's version; its records are written once
    assert response == failures()
    assert [AAPL in pks for pks in fakes.latest.loads] == [True, True]
    assert fakes.latest.loads[1] == [AAPL]
    aapl = fakes.latest.items[AAPL]
    assert (aapl["version"], aapl["events"], aapl["value"]) == (2, 4, 167.0)
    assert fakes.metrics.writes.count("q-aapl-drop-1") == 1 and len(fakes.lake.rows["quotes"]) == 6


def test_conflicts_past_the_attempts_report_exactly_that_keys_records():
    # Given AAPL's state changing under every one of our writes
    fakes = Fakes()
    fakes.latest.concurrent_writes[AAPL] = MAX_STATE_ATTEMPTS
    ports = fakes.warm
    event = load_event("kinesis_market_drop.json")
    seqs = sequence_numbers(event)
    # When the processor runs
    response = run(event, fakes)
    # Then the AAPL records are reported (Lambda delivers them again), the others are done, AAPL is not cached
    assert response == failures(seqs[0], seqs[1], seqs[3], seqs[5])
    assert sum(AAPL in pks for pks in fakes.latest.loads) == MAX_STATE_ATTEMPTS
    assert {s["pk"] for s in fakes.latest.saves} == {MSFT, SEATTLE}
    assert AAPL not in ports.keys and MSFT in ports.keys


def test_a_failed_save_reports_the_key_drops_its_warm_state_and_the_retry_reads_it():
    fakes = Fakes()
    ports = fakes.warm
    event = load_event("kinesis_market_drop.json")
    seqs = sequence_numbers(event)
    fakes.latest.failures[MSFT] = 1
    assert run(event, fakes) == failures(seqs[2], seqs[4])
    assert MSFT not in ports.keys and AAPL in ports.keys
    assert run(event, fakes) == failures()
    assert fakes.latest.loads[-1] == [MSFT] and fakes.latest.items[MSFT]["events"] == 2


# -- cold start and crashes ---------------------------------------------------------------------------
def test_a_cold_start_reads_every_key_once_in_one_call_and_a_warm_container_not_at_all():
    fakes = Fakes()
    run(load_event("kinesis_market_drop.json"), fakes)
    assert [sorted(pks) for pks in fakes.latest.loads] == [[AAPL, MSFT, SEATTLE]]
    later = kinesis_event([quote("AAPL", 170.0, "2026-11-24T15:05:00Z", "q-aapl-3"),
                           quote("MSFT", 408.0, "2026-11-24T15:05:00Z", "q-msft-3")], first_seq=FIRST_SEQ + 100)
    assert run(later, fakes) == failures()
    assert len(fakes.latest.loads) == 1
    assert fakes.latest.items[AAPL]["version"] == 2 and fakes.latest.items[AAPL]["events"] == 5


def test_the_departures_of_different_keys_are_read_concurrently():
    # Given two symbols with a quote each, then a new container (no departure cache) and, two minutes later,
    # a quote of each: every window of both keys reads its departures back from MetricsTable
    fakes = Fakes()
    first = kinesis_event([quote("AAPL", 170.0, "2026-11-24T15:00:00Z", "q-aapl-1"),
                           quote("MSFT", 408.0, "2026-11-24T15:00:00Z", "q-msft-1")])
    assert run(first, fakes) == failures()
    # ... through a MetricsTable whose Query waits for one of the other key (it gives up after 5 s)
    meeting = threading.Barrier(2, timeout=5)
    fetch = fakes.metrics.fetch

    def fetch_when_both_keys_ask(pk, *args, **kwargs):
        meeting.wait()
        return fetch(pk, *args, **kwargs)

    fakes.metrics.fetch = fetch_when_both_keys_ask
    later = kinesis_event([quote("AAPL", 171.0, "2026-11-24T15:02:00Z", "q-aapl-2"),
                           quote("MSFT", 409.0, "2026-11-24T15:02:00Z", "q-msft-2")], first_seq=FIRST_SEQ + 100)
    # When the new container processes them
    response = run(later, fakes, ports=fakes.restart())
    # Then both keys' Queries were in flight together (one key after the other would break the barrier) ...
    assert response == failures()
    assert {pk for pk, *_ in fakes.metrics.queries} == {AAPL, MSFT}
    # ... and each state holds both of its quotes in every window
    for pk, prices in ((AAPL, (170.0, 171.0)), (MSFT, (408.0, 409.0))):
        assert fakes.latest.items[pk]["value"] == prices[1] and fakes.latest.items[pk]["events"] == 2
        assert fakes.latest.items[pk]["rolling"]["5m"] == pytest.approx(sum(prices) / 2)


@pytest.mark.filterwarnings("ignore:No application metrics")  # the crashed invocation counted nothing
def test_a_crash_after_metrics_table_then_the_retry_leaves_the_exact_state_of_an_uninterrupted_run():
    # Given two batches (the second with a late event and a duplicate), processed straight through
    batches = [load_event("kinesis_market_drop.json"),
               kinesis_event([quote("AAPL", 166.0, "2026-11-24T15:02:00Z", "q-aapl-3"),
                              quote("AAPL", 180.0, "2026-11-24T14:59:00Z", "q-aapl-late"),
                              quote("AAPL", 168.0, "2026-11-24T15:00:00Z", "q-aapl-drop-1"),
                              quote("MSFT", 400.0, "2026-11-24T15:02:00Z", "q-msft-3")], first_seq=FIRST_SEQ + 50)]
    straight = Fakes()
    for event in batches:
        run(event, straight)
    # When another run's container dies in each batch as it saves AAPL's state (after the lake, MetricsTable and
    # the alerts; the other keys' saves may be done), and Lambda delivers the batch again to a new container
    crashed = Fakes()
    for event in batches:
        crashed.latest.crash_saving.add(AAPL)
        with pytest.raises(Crash):
            run(event, crashed)
        crashed.restart()
        assert run(event, crashed) == failures()
    # Then every saved state is the uninterrupted run's, floats and all; the lake and MetricsTable hold the same
    assert {pk: without_time(i) for pk, i in crashed.latest.items.items()} == {
        pk: without_time(i) for pk, i in straight.latest.items.items()}
    assert crashed.metrics.items.keys() == straight.metrics.items.keys()
    assert all(crashed.metrics.items[k]["seq"] == straight.metrics.items[k]["seq"] for k in straight.metrics.items)
    assert [a.alert_id for a in crashed.topics.published] == [a.alert_id for a in straight.topics.published]


# -- alerts -------------------------------------------------------------------------------------------
def test_a_drop_below_the_previous_close_raises_one_alert_stored_written_to_the_lake_and_published():
    fakes = Fakes()
    assert run(load_event("kinesis_market_drop.json"), fakes) == failures()
    # Then one market alert (the first drop's) and Seattle's heavy rain are published, stored and marked
    assert sorted((a.kind, a.key, a.rule, a.value) for a in fakes.topics.published) == [
        ("market", "AAPL", "market_drop", 168.0, ), ("weather", "Seattle", "heavy_rain", 32.5)]
    market = next(a for a in fakes.topics.published if a.kind == "market")
    assert (market.reference_price, market.event_id) == (190.0, "q-aapl-drop-1")
    assert fakes.alerts.items[DROP_KEY]["published"] is True
    assert sorted(r["alert_id"] for r in fakes.alerts_lake.rows) == sorted(a.alert_id for a in fakes.topics.published)
    # ... before the state of their key is saved
    names = [name for name, _ in fakes.calls]
    assert names.index("publish") < names.index("save")


def test_one_alert_per_key_rule_and_day_across_batches_and_containers():
    # Given AAPL's drops processed (the second drop of the batch tried nothing: the first decides)
    fakes = Fakes()
    run(load_event("kinesis_market_drop.json"), fakes)
    assert fakes.alerts.puts.count(DROP_KEY) == 1
    # When more drops the same day reach the same container, then a new one
    for n, container in enumerate((fakes.warm, fakes.warm, fakes.ports())):
        drop = kinesis_event([quote("AAPL", 160.0 - n, f"2026-11-24T16:0{n}:00Z", f"q-more-{n}")],
                             first_seq=FIRST_SEQ + 200 + n)
        assert lambda_handler(drop, CONTEXT, ports=container) == failures()
    # Then the alert went out once; the warm container knew it was published, the new one's conditional put lost
    assert [a.key for a in fakes.topics.published if a.kind == "market"] == ["AAPL"]
    assert fakes.alerts.puts.count(DROP_KEY) == 2  # the first batch's, then the new container's


def test_a_publish_failure_reports_the_key_and_the_retry_publishes_the_stored_alert():
    # Given SNS failing once (AAPL's alert is the batch's first)
    fakes = Fakes()
    fakes.topics.failures = 1
    event = load_event("kinesis_market_drop.json")
    seqs = sequence_numbers(event)
    # When the processor runs
    response = run(event, fakes)
    # Then AAPL's records are reported, its alert is stored but not published, its state is not saved
    assert response == failures(seqs[0], seqs[1], seqs[3], seqs[5])
    assert fakes.alerts.items[DROP_KEY]["published"] is False and AAPL not in fakes.latest.items
    assert [a.key for a in fakes.topics.published] == ["Seattle"]
    # When Lambda delivers the batch again
    assert run(event, fakes) == failures()
    # Then the conditional put loses, the stored alert is found unpublished and published once; the state is saved
    assert fakes.alerts.items[DROP_KEY]["published"] is True
    assert [a.key for a in fakes.topics.published] == ["Seattle", "AAPL"]
    assert fakes.latest.items[AAPL]["events"] == 4


def test_an_alert_store_failure_reports_the_key():
    fakes = Fakes()
    fakes.alerts.failures = 1
    event = load_event("kinesis_market_drop.json")
    seqs = sequence_numbers(event)
    assert run(event, fakes) == failures(seqs[0], seqs[1], seqs[3], seqs[5])
    assert run(event, fakes) == failures()
    assert sorted(a.key for a in fakes.topics.published) == ["AAPL", "Seattle"]


def test_the_default_ports_are_the_aws_adapters():
    from lambdas.processor.alerting import AlertsLake, AlertsTable, AlertTopics
    from lambdas.processor.sinks import LakeSink, QuarantineSink
    from lambdas.processor.tables import DynamoLatestTable, DynamoMetricsTable

    ports = default_ports()
    assert (type(ports.lake), type(ports.quarantine), type(ports.metrics_table), type(ports.latest),
            type(ports.alerts), type(ports.topics), type(ports.alerts_lake)) == (
        LakeSink, QuarantineSink, DynamoMetricsTable, DynamoLatestTable, AlertsTable, AlertTopics, AlertsLake)
    assert ports.metrics_table.meter is ports.latest.meter is ports.alerts.meter is ports.meter
    assert default_ports() is ports


def test_the_dynamodb_client_is_the_json_protocol_client_with_the_background_budget(monkeypatch):
    from barometer.aws.json_clients import DynamoDBJson
    from barometer.aws.json_protocol import DYNAMODB
    from barometer.aws.retry import BACKGROUND
    from lambdas.processor.tables import dynamodb

    # Given the environment points at an endpoint
    monkeypatch.setenv("BAROMETER_AWS_ENDPOINT", "http://127.0.0.1:9")
    # When the processor asks for its DynamoDB client, twice
    ddb = dynamodb()
    # Then it is the JSON-protocol client for DynamoDB there, with the consumers' retry budget, made once
    assert isinstance(ddb, DynamoDBJson) and ddb.service == DYNAMODB
    assert (ddb.endpoint_url, ddb.budget) == ("http://127.0.0.1:9", BACKGROUND)
    assert dynamodb() is ddb
    # ... and it is the one client of that endpoint
    assert dynamodb() is ddb
