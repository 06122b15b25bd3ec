"""The API handler's orchestration and recovery over in-memory ports (lambdas.api.handler.Ports)."""
from __future__ import annotations

import json
from datetime import date

import pytest
from api_fakes import FakeRollups, Fakes, FakeStore

from barometer_local.server import proxy_event
from lambdas.api import handler
from lambdas.api.http import HttpError

TS = "2026-11-24T15:04:05Z"


def quote(symbol: str, price: float, ts: str = TS) -> dict:
    return {"kind": "quote", "symbol": symbol, "price": price, "ts": ts}


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


# -- POST /v1/events ---------------------------------------------------------------------------
def test_valid_events_beside_invalid_ones_are_put_and_the_invalid_ones_named(fakes):
    # Given a batch where the second and fourth events are invalid
    events = [quote("AAPL", 10.0), quote("AAPL", -1), quote("MSFT", 20.0), None]
    # When it is posted
    status, body = fakes.call("POST", "/v1/events", {"events": events})
    # Then the valid ones are on the stream exactly as sent, keyed by symbol, and the others named by index
    assert status == 200 and body["accepted"] == 2
    assert [(f["index"], [e["field"] for e in f["errors"]]) for f in body["failed"]] == [(1, ["price"]),
                                                                                         (3, ["event"])]
    assert [(json.loads(r.data), r.partition_key) for r in fakes.stream.records] == [
        (events[0], "AAPL"), (events[2], "MSFT")]


def test_records_the_stream_refuses_are_failed_as_retryable_under_their_request_index(fakes):
    # Given a stream that refuses the second record of the call (the request's third event: the second is invalid)
    fakes.stream.refused = {1: "ProvisionedThroughputExceededException: Rate exceeded"}
    events = [quote("AAPL", 10.0), quote("AAPL", -1), quote("MSFT", 20.0), quote("AMZN", 30.0)]
    # When the batch is posted
    status, body = fakes.call("POST", "/v1/events", {"events": events})
    # Then the refused one is reported retryable at index 2, the invalid one at 1, and two are accepted
    assert status == 200 and body["accepted"] == 2
    assert [f["index"] for f in body["failed"]] == [1, 2]
    assert body["failed"][1] == {"index": 2, "retryable": True, "error": "not accepted by the stream, retry "
                                 "(ProvisionedThroughputExceededException: Rate exceeded)"}
    assert [json.loads(r.data)["symbol"] for r in fakes.stream.records] == ["AAPL", "AMZN"]


def test_a_stream_refusing_every_record_is_503_with_the_retryable_list(fakes):
    fakes.stream.refused = {0: "InternalFailure", 1: "InternalFailure"}
    status, body = fakes.call("POST", "/v1/events", {"events": [quote("AAPL", 1.0), quote("MSFT", 2.0)]})
    assert status == 503 and body["error"] == "the events stream did not take the events; retry later"
    assert body["accepted"] == 0 and [f["retryable"] for f in body["failed"]] == [True, True]


def test_an_unavailable_stream_is_503_and_nothing_is_reported_accepted(fakes):
    # Given a stream that refuses the whole call
    fakes.stream.unavailable = True
    # When valid events are posted
    status, body = fakes.call("POST", "/v1/events", {"events": [quote("AAPL", 1.0)]})
    # Then the client is told to retry, without the adapter's details
    assert (status, body) == (503, {"error": "the events stream is unavailable; retry later"})


def test_a_batch_of_only_invalid_events_never_touches_the_stream(fakes):
    fakes.stream.unavailable = True  # would answer 503 if it were called
    status, body = fakes.call("POST", "/v1/events", {"events": [quote("AAPL", -1)]})
    assert status == 400 and body["error"] == "no valid events in the request"


# -- reads: failures ---------------------------------------------------------------------------
@pytest.mark.parametrize("path, query", [
    ("/v1/latest/quote", {}), ("/v1/latest/quote/AAPL", {}), ("/v1/series/quote/AAPL", {}),
    ("/v1/alerts", {}), ("/v1/alerts", {"kind": "market", "key": "AAPL"}),
])
def test_a_read_store_failure_is_503_with_the_generic_message(fakes, path, query):
    # Given tables that cannot be read
    fakes.store.failing = True
    # When a read endpoint is called
    status, body = fakes.call("GET", path, query=query)
    # Then the answer is 503 and names no table nor error code
    assert (status, body) == (503, {"error": "a data store is unavailable; retry later"})
    assert fakes.store.calls


def test_an_unknown_symbol_is_404_naming_it(fakes):
    status, body = fakes.call("GET", "/v1/series/quote/NOPE")
    assert (status, body) == (404, {"error": "unknown symbol: NOPE"})


# -- reads: shapes and paging ------------------------------------------------------------------
def test_latest_items_leave_out_the_aggregators_internal_fields(fakes):
    fakes.store.add_latest("quote", "AAPL", value=10.0, events=3)
    status, body = fakes.call("GET", "/v1/latest/quote/AAPL")
    assert (status, body) == (200, {"kind": "quote", "key": "AAPL", "value": 10.0, "events": 3})


def test_latest_pages_follow_the_token_until_there_is_none(fakes):
    # Given five symbols and pages of two
    for symbol in ("A1", "A2", "A3", "B1", "B2"):
        fakes.store.add_latest("quote", symbol, value=1.0)
    keys, token, pages = [], None, 0
    # When the pages are followed
    while True:
        status, body = fakes.call("GET", "/v1/latest/quote", query={"limit": "2", **({"next": token} if token else {})})
        assert status == 200
        keys += [i["key"] for i in body["items"]]
        assert all("buckets" not in i and "pk" not in i for i in body["items"])
        pages += 1
        token = body["next"]
        if token is None:
            break
    # Then every symbol came once, in three pages
    assert keys == ["A1", "A2", "A3", "B1", "B2"] and pages == 3


def test_a_page_token_of_another_endpoint_is_400(fakes):
    fakes.store.add_latest("quote", "AAPL", value=1.0)
    for i in range(3):
        fakes.store.add_metric("quote", "AAPL", f"2026-11-24T15:0{i}:00.000000Z", 1.0 + i, f"e{i}")
    _, series = fakes.call("GET", "/v1/series/quote/AAPL", query={"limit": "1"})
    status, body = fakes.call("GET", "/v1/latest/quote", query={"next": series["next"]})
    assert (status, body) == (400, {"error": "next: not a page token returned by this API"})


def test_series_pages_carry_rolling_averages_over_what_came_before(fakes):
    # Given three prices a minute apart
    fakes.store.add_latest("quote", "AAPL", value=30.0)
    for i, price in enumerate((10.0, 20.0, 30.0)):
        fakes.store.add_metric("quote", "AAPL", f"2026-11-24T15:0{i}:00.000000Z", price, f"e{i}")
    # When the series is read two events per page
    status, first = fakes.call("GET", "/v1/series/quote/AAPL", query={"limit": "2"})
    _, second = fakes.call("GET", "/v1/series/quote/AAPL", query={"limit": "2", "next": first["next"]})
    # Then the second page's event averages the ones on the first page too, and the pages end
    assert status == 200 and [e["value"] for e in first["events"]] == [10.0, 20.0]
    assert [e["event_id"] for e in second["events"]] == ["e2"] and second["next"] is None
    assert second["events"][0]["rolling"]["5m"] == pytest.approx(20.0)
    assert first["events"][1]["rolling"]["1h"] == pytest.approx(15.0)
    assert second["events"][0]["ts"] == "2026-11-24T15:02:00Z"


def test_alerts_across_kinds_are_newest_first_and_pages_neither_skip_nor_repeat(fakes):
    # Given alerts of both kinds at interleaved times
    for i in range(5):
        fakes.store.add_alert("market", "AAPL", f"2026-11-24T15:0{2 * i}:00.000000Z", f"m{i}")
        fakes.store.add_alert("weather", "London", f"2026-11-24T15:0{2 * i + 1}:00.000000Z", f"w{i}")
    seen, token = [], None
    # When every page of three is read
    while True:
        status, body = fakes.call("GET", "/v1/alerts", query={"limit": "3", **({"next": token} if token else {})})
        assert status == 200
        seen += [a["alert_id"] for a in body["alerts"]]
        token = body["next"]
        if token is None:
            break
    # Then all ten came once, newest first, without the table's keys or leases
    assert seen == ["w4", "m4", "w3", "m3", "w2", "m2", "w1", "m1", "w0", "m0"]
    _, body = fakes.call("GET", "/v1/alerts", query={"limit": "1"})
    assert set(body["alerts"][0]) == {"kind", "key", "alert_id", "delivered"}


def test_alerts_of_one_key_page_by_offset(fakes):
    fakes.store.add_latest("quote", "AAPL", value=1.0)
    for i in range(3):
        fakes.store.add_alert("market", "AAPL", f"2026-11-24T15:0{i}:00.000000Z", f"m{i}")
    _, first = fakes.call("GET", "/v1/alerts", query={"kind": "market", "key": "AAPL", "limit": "2"})
    _, second = fakes.call("GET", "/v1/alerts", query={"kind": "market", "key": "AAPL", "limit": "2",
                                                        "next": first["next"]})
    assert [a["alert_id"] for a in first["alerts"] + second["alerts"]] == ["m2", "m1", "m0"]
    assert second["next"] is None


# -- health and rollups --------------------------------------------------------------------------
def test_health_is_the_health_ports_report(fakes):
    status, body = fakes.call("GET", "/v1/health")
    assert status == 200 and body["events_in_total"] == 7 and len(fakes.health.asked_at) == 1


def test_rollups_come_from_the_rollup_source_filtered_by_key_and_sorted(fakes):
    # Given a source holding two symbols over three days
    fakes.rollups.rows_held = [{"symbol": s, "day": d, "close": 1.0} for d in ("2026-11-22", "2026-11-21", "2026-11-20")
                               for s in ("MSFT", "AAPL")]
    # When one symbol's rollup for two days is asked for
    status, body = fakes.call("GET", "/v1/rollups/daily_ohlc", query={"key": "MSFT", "from": "2026-11-21",
                                                                      "to": "2026-11-22T23:00:00Z"})
    # Then the source was asked for exactly those days, and only that symbol's rows come back in day order
    assert fakes.rollups.asked == [("daily_ohlc", date(2026, 11, 21), date(2026, 11, 22))]
    assert status == 200 and [(r["symbol"], r["day"]) for r in body["rows"]] == [("MSFT", "2026-11-21"),
                                                                                   ("MSFT", "2026-11-22")]


def test_an_unknown_rollup_is_404_and_the_source_is_not_asked(fakes):
    status, body = fakes.call("GET", "/v1/rollups/daily_nothing")
    assert status == 404 and body["error"].startswith("unknown rollup: daily_nothing")
    assert fakes.rollups.asked == []


def test_a_rollup_source_that_is_unavailable_answers_its_status(fakes):
    class Down(FakeRollups):
        def rows(self, name, first, last):
            raise HttpError(503, "the lake could not be queried: bucket missing")

    from dataclasses import replace

    fakes.ports = replace(fakes.ports, rollups=Down())
    status, body = fakes.call("GET", "/v1/rollups/daily_weather")
    assert (status, body) == (503, {"error": "the lake could not be queried: bucket missing"})


# -- choosing the ports --------------------------------------------------------------------------
def test_configured_ports_serve_calls_given_none_and_use_rollup_source_swaps_only_the_rollups(fakes):
    other = FakeRollups([{"city": "London", "day": "2026-11-21", "temp_avg_c": 9.0}])
    event = proxy_event("GET", "/v1/rollups/daily_weather", {"from": "2026-11-21", "to": "2026-11-21"}, {}, None, {})
    try:
        # Given the handler configured with fakes, then its rollup source swapped (as the local runtime does)
        handler.configure(fakes.ports)
        handler.use_rollup_source(other)
        # When it is invoked without ports
        rollup = json.loads(handler.lambda_handler(event, None)["body"])
        latest = handler.lambda_handler(proxy_event("GET", "/v1/latest/quote", {}, {}, None, {}), None)
        # Then the swapped source answered, and the configured store served the other read
        assert rollup == {"rows": [{"city": "London", "day": "2026-11-21", "temp_avg_c": 9.0}]}
        assert latest["statusCode"] == 200 and fakes.store.calls == ["latest_page"]
        # And None goes back to the default source (Dagster's extracts), the rest as configured
        handler.use_rollup_source(None)
        assert handler.configured_ports().rollups is handler.default_ports().rollups
        assert handler.configured_ports().store is fakes.store
    finally:
        handler.configure(None)


def test_the_default_ports_are_built_once_without_touching_aws():
    ports = handler.default_ports()
    assert ports is handler.default_ports()
    assert {type(p).__name__ for p in (ports.stream, ports.store, ports.health, ports.rollups)} == {
        "KinesisEvents", "DynamoReadStore", "CloudWatchHealth", "ExtractRollups"}


def test_the_fake_store_pages_like_dynamodb():
    # The paging tests above are only as good as this stand-in.
    store = FakeStore()
    for key in ("a", "b", "c"):
        store.add_latest("quote", key)
    page, last = store.latest_page("quote", None, 2, None)
    assert [i["key"] for i in page] == ["a", "b"] and last == {"pk": {"S": "quote#b"}, "kind": {"S": "quote"},
                                                               "key": {"S": "b"}}
    page, last = store.latest_page("quote", None, 2, last)
    assert [i["key"] for i in page] == ["c"] and last is None
    page, last = store.latest_page("quote", None, 1, {"pk": {"S": "quote#b"}, "kind": {"S": "quote"},
                                                      "key": {"S": "b"}})
    assert [i["key"] for i in page] == ["c"] and last == {"pk": {"S": "quote#c"}, "kind": {"S": "quote"},
                                                          "key": {"S": "c"}}
