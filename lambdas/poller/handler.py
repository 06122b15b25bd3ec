"""Poller Lambda: invoked every minute (EventBridge Scheduler on AWS; the local scheduler or a
Dagster schedule locally) to poll the configured providers and put their events on the stream.

Event (every key optional): {"time": "<RFC 3339>", "providers": {"market": .., "weather": ..},
"symbols": [..], "cities": [..]}. Returns {"polled": n, "put": n, "failed": [...]}.
A provider failing for one symbol or city is logged, counted and listed; the rest still flow.
A stream that refuses the whole PutRecords call raises, so the scheduler retries the poll: event
ids are deterministic, so what was put before the failure is only duplicated, never doubled.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.poller.events import partition_key
from lambdas.poller.poll import SERVICE, PollRequestError, parse_request, poll

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Barometer", service="poller")
# Leave time for PutRecords after the providers answered (the function's timeout is 50 s).
PUT_RESERVE_MS = 10_000
DEFAULT_POLL_BUDGET_S = 40.0

PutEvents = Callable[[Sequence[dict[str, Any]]], dict[int, str]]


def put_on_stream(events: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Puts events on the events stream; {index: error} of the ones not accepted."""
    from lambdas.poller.events import encode
    from lambdas.shared.stream import StreamRecord, put_records

    return put_records([StreamRecord(encode(e), partition_key(e)) for e in events])


def build_providers(request, config, settings):
    from lambdas.poller.providers import build_market, build_weather

    market = build_market(request.market, config, settings) if request.symbols else None
    weather = build_weather(request.weather, config, settings) if request.cities else None
    return market, weather


def handle(event: Any, *, put: PutEvents = put_on_stream, settings=None, providers=build_providers,
           now: datetime | None = None, budget_s: float = DEFAULT_POLL_BUDGET_S) -> dict[str, Any]:
    """The poll behind the handler, with its collaborators injectable for tests."""
    from barometer.settings import get_settings

    settings = settings or get_settings()
    config = settings.poller
    try:
        request = parse_request(event, settings, config, now or datetime.now(UTC))
    except PollRequestError as exc:
        logger.error("bad poll request", extra={"error": str(exc)})
        metrics.add_metric(name="BadPollRequests", unit=MetricUnit.Count, value=1)
        return {"polled": 0, "put": 0, "failed": [{"error": str(exc)}]}

    started = time.monotonic()
    market, weather = providers(request, config, settings)
    outcome = poll(request, market, weather, timeout_s=budget_s)
    for failure in outcome.failures:
        logger.warning("provider failed", extra=failure)
    metrics.add_metric(name="EventsPolled", unit=MetricUnit.Count, value=len(outcome.events))
    metrics.add_metric(name="ProviderFailures", unit=MetricUnit.Count, value=len(outcome.failures))

    try:
        rejected = put(outcome.events) if outcome.events else {}
    except Exception:
        # The whole PutRecords failed: let the scheduler retry the poll (ids are deterministic).
        logger.exception("stream put failed", extra={"events": len(outcome.events)})
        metrics.add_metric(name="StreamFailures", unit=MetricUnit.Count, value=len(outcome.events))
        raise
    stream_failures = [
        {"kind": event["kind"], "key": partition_key(event), "event_id": event["event_id"],
         "error": f"stream: {error}"}
        for event, error in ((outcome.events[i], error) for i, error in sorted(rejected.items()))
    ]
    for failure in stream_failures:
        logger.error("stream rejected an event", extra=failure)
    put_count = len(outcome.events) - len(rejected)
    metrics.add_metric(name="EventsPut", unit=MetricUnit.Count, value=put_count)
    metrics.add_metric(name="StreamFailures", unit=MetricUnit.Count, value=len(stream_failures))
    summary = {"polled": len(outcome.events), "put": put_count, "failed": outcome.failures + stream_failures}
    logger.info("poll done", extra={"time": request.time.isoformat(), "market": request.market,
                                    "weather": request.weather, "polled": summary["polled"],
                                    "put": put_count, "failures": len(summary["failed"]),
                                    "elapsed_ms": round((time.monotonic() - started) * 1000)})
    return summary


@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict[str, Any]:
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    budget_s = DEFAULT_POLL_BUDGET_S
    if callable(remaining_ms):
        budget_s = max(1.0, (remaining_ms() - PUT_RESERVE_MS) / 1000)
    return handle(event, budget_s=budget_s)
