"""The poller handler: summary, failures, metrics; and one run through the real emulator."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from poller_fakes import TEST_CONFIG, scheduler_event

from barometer.catalogue import CATALOGUE, EVENTS_STREAM
from lambdas.poller.handler import build_providers, handle, lambda_handler, metrics
from lambdas.poller.ports import ProviderError


@pytest.fixture(autouse=True)
def _fresh_metrics():
    """handle() outside lambda_handler adds metrics that nothing flushes: start every test clean."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


class FlakyMarket:
    name = "flaky"

    def quote(self, symbol, now):
        if symbol.symbol == "MSFT":
            raise ProviderError("finnhub rate limit reached for MSFT")
        return {"kind": "quote", "symbol": symbol.symbol, "price": 2.0, "ts": "2026-11-24T15:04:00Z",
                "event_id": f"flaky:quote:{symbol.symbol}:1"}


class Puts:
    """A fake stream that rejects the events whose ids it is told to."""

    def __init__(self, reject=()):
        self.reject = set(reject)
        self.batches = []

    def __call__(self, events):
        self.batches.append(list(events))
        return {i: "ProvisionedThroughputExceededException: slow down"
                for i, e in enumerate(events) if e["event_id"] in self.reject}


def fake_providers(request, config, settings):
    _, weather = build_providers(request, config, settings)
    return FlakyMarket(), weather


def emf_metrics(stdout: str) -> dict[str, float]:
    values = {}
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[definition["Name"]]
                values[definition["Name"]] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return values


def test_a_failing_symbol_is_listed_while_the_rest_are_put(settings):
    # Given a market provider that fails for MSFT, and a stream that takes everything
    puts = Puts()
    # When the handler polls
    summary = handle(scheduler_event("scheduled_local"), put=puts, settings=settings, providers=fake_providers)
    # Then AAPL, SAP and the three cities are put, and MSFT is reported
    assert summary == {"polled": 5, "put": 5, "failed": [
        {"kind": "quote", "key": "MSFT", "provider": "flaky", "error": "finnhub rate limit reached for MSFT"}]}
    assert [e.get("symbol") or e["city"] for e in puts.batches[0]] == ["AAPL", "SAP", "Seattle", "New York",
                                                                       "Sydney"]


def test_records_the_stream_refuses_are_reported_with_their_event_id(settings):
    puts = Puts(reject={"flaky:quote:SAP:1"})
    summary = handle({"cities": []}, put=puts, settings=settings, providers=fake_providers)
    assert summary["polled"] == 2 and summary["put"] == 1
    assert summary["failed"][1] == {"kind": "quote", "key": "SAP", "event_id": "flaky:quote:SAP:1",
                                    "error": "stream: ProvisionedThroughputExceededException: slow down"}


def test_a_bad_request_returns_its_reason_and_puts_nothing(settings):
    puts = Puts()
    summary = handle(scheduler_event("bad_override"), put=puts, settings=settings)
    assert summary["polled"] == 0 and summary["put"] == 0 and puts.batches == []
    assert summary["failed"][0]["error"].startswith("providers.market: expected one of simulator, finnhub")


def test_a_stream_that_refuses_the_whole_call_makes_the_poll_fail_for_a_retry(settings):
    from lambdas.shared.stream import StreamError

    def broken_stream(events):
        raise StreamError("PutRecords on barometer-events failed: ResourceNotFoundException")

    with pytest.raises(StreamError):
        handle({"cities": []}, put=broken_stream, settings=settings)
    assert metrics.metric_set["StreamFailures"]["Value"] == [3.0]


def test_the_simulator_events_of_a_minute_are_the_same_on_every_poll(settings):
    first, second = Puts(), Puts()
    handle({"time": "2026-11-24T15:04:05Z"}, put=first, settings=settings)
    handle({"time": "2026-11-24T15:04:59Z"}, put=second, settings=settings)
    assert first.batches == second.batches and len(first.batches[0]) == 6


@pytest.fixture
def poller_env(emulator_env, monkeypatch, tmp_path):
    """The emulator, the catalogue's environment, a test configuration and the events stream."""
    from barometer import aws
    from barometer.settings import get_settings

    for key, value in CATALOGUE.local_environment().items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "barometer.yaml"
    config.write_text(yaml.safe_dump({**TEST_CONFIG, "poller": {"seed": 11, "drop_chance": 0.0}}))
    monkeypatch.setenv("BAROMETER_CONFIG", str(config))
    monkeypatch.delenv("BAROMETER_CONFIG_JSON", raising=False)
    get_settings.cache_clear()
    kinesis = aws.client("kinesis")
    try:
        kinesis.create_stream(StreamName=EVENTS_STREAM.local_name, ShardCount=EVENTS_STREAM.local_shards)
    except kinesis.exceptions.ResourceInUseException:
        pass  # the session's emulator is shared; another test made it first
    kinesis.get_waiter("stream_exists").wait(StreamName=EVENTS_STREAM.local_name,
                                             WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    yield kinesis
    get_settings.cache_clear()


def _latest_iterators(kinesis) -> list[str]:
    shards = kinesis.list_shards(StreamName=EVENTS_STREAM.local_name)["Shards"]
    return [kinesis.get_shard_iterator(StreamName=EVENTS_STREAM.local_name, ShardId=s["ShardId"],
                                       ShardIteratorType="LATEST")["ShardIterator"] for s in shards]


def _read(kinesis, iterators: list[str]) -> list[dict]:
    records = []
    for iterator in iterators:
        records += kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return records


@pytest.mark.emulator
def test_a_scheduled_poll_lands_on_the_kinesis_stream(poller_env, capsys):
    kinesis = poller_env
    # Given the events stream in the emulator, read from its current end
    iterators = _latest_iterators(kinesis)
    # When the handler runs for a scheduled minute with the simulator
    summary = lambda_handler({"source": "barometer.local-scheduler", "time": "2031-03-14T09:26:53Z"}, None)
    # Then every configured symbol and city was polled and put
    assert summary == {"polled": 6, "put": 6, "failed": []}
    records = _read(kinesis, iterators)
    events = {r["PartitionKey"]: json.loads(r["Data"]) for r in records}
    assert set(events) == {"AAPL", "MSFT", "SAP", "Seattle", "New York", "Sydney"}
    # And each record is compact JSON in the contract's shape, keyed by symbol or city
    stamp = int(datetime(2031, 3, 14, 9, 26, tzinfo=UTC).timestamp())
    assert events["AAPL"]["event_id"] == f"simulator:quote:AAPL:{stamp}"
    assert events["AAPL"]["ts"] == "2031-03-14T09:26:00Z" and events["AAPL"]["price"] > 0
    assert events["Sydney"]["kind"] == "weather" and events["Sydney"]["city"] == "Sydney"
    assert all(b", " not in r["Data"] and b": " not in r["Data"] for r in records)
    # And the counts went out as CloudWatch EMF metrics
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["EventsPolled"] == 6 and metrics["EventsPut"] == 6 and metrics["ProviderFailures"] == 0


@pytest.mark.emulator
def test_an_on_demand_poll_puts_only_what_it_asked_for(poller_env):
    kinesis = poller_env
    iterators = _latest_iterators(kinesis)
    summary = lambda_handler(scheduler_event("on_demand_override"), None)
    assert summary == {"polled": 3, "put": 3, "failed": []}
    assert sorted(r["PartitionKey"] for r in _read(kinesis, iterators)) == ["AAPL", "Seattle", "TSLA"]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # handle() is faked here
def test_the_poll_budget_follows_the_lambda_contexts_remaining_time(monkeypatch):
    import lambdas.poller.handler as handler_module

    seen = {}
    monkeypatch.setattr(handler_module, "handle",
                        lambda event, budget_s: seen.setdefault("budget", budget_s) and {"polled": 0})

    class Context:
        def get_remaining_time_in_millis(self):
            return 49_000

    lambda_handler({}, Context())
    assert seen["budget"] == 39.0
    seen.clear()
    lambda_handler({}, None)
    assert seen["budget"] == handler_module.DEFAULT_POLL_BUDGET_S
