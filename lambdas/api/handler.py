"""HTTP API: POST /v1/events and the read endpoints (API Gateway REST proxy integration).

Authentication happens before this handler: the Cognito authorizer on AWS, the local server's JWT
check locally. Bad input answers 4xx naming the field; valid events beside bad ones still go through.
The events stream, the tables, the pipeline's health and the rollups are ports (`Ports`); the real
adapters are built on first use (`default_ports()`), and the local runtime swaps the rollup source
(`use_rollup_source`).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from barometer.core.errors import ValidationError
from barometer.core.events import decode_json, parse_event
from barometer.core.rolling import rolling_series
from barometer.core.timeutil import (
    TimestampError,
    format_fixed,
    format_public,
    parse_rfc3339,
    to_epoch_us,
)
from barometer.core.vocabulary import ALERT_KINDS, EVENT_KIND_OF_ALERT, KEY_FIELD, KIND_FIELDS
from barometer.lake import SK_FIRST, SK_LAST, item_pk, sk_after_instant
from barometer.settings import get_settings
from lambdas.api import paging
from lambdas.api.errors import ReadError
from lambdas.api.http import HttpError, Request, Router
from lambdas.api.rollups import RollupSource, read_rollup
from lambdas.api.rounding import round_rolling, round_rollup_row
from lambdas.shared.stream import StreamError, StreamRecord


class EventStream(Protocol):
    def put(self, records: Sequence[StreamRecord]) -> dict[int, str]:
        """{index: error} of the records not accepted; StreamError when the stream takes none."""


class ReadStore(Protocol):
    """The operational tables; items as plain dicts; ReadError when a table cannot be read."""

    def latest(self, kind: str, key: str) -> dict[str, Any] | None: ...
    def latest_page(self, kind: str, prefix: str | None, limit: int, start: dict | None
                    ) -> tuple[list[dict], dict | None]: ...
    def metrics_range(self, pk: str, lower_sk: str, upper_sk: str, limit: int | None = None,
                      start: dict | None = None, projection: bool = False) -> tuple[list[dict], dict | None]: ...
    def alerts_by_kind(self, kind: str, lower: str, upper: str, limit: int, start: dict | None,
                       newest_first: bool) -> tuple[list[dict], dict | None]: ...
    def alerts_of_key(self, kind: str, key: str) -> Iterator[dict]: ...


class PipelineHealth(Protocol):
    def report(self, now: datetime) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Ports:
    stream: EventStream
    store: ReadStore
    health: PipelineHealth
    rollups: RollupSource


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    get_settings()  # checked at cold start: a bad configuration fails loudly before the first request
    from lambdas.api.health import CloudWatchHealth
    from lambdas.api.kinesis import KinesisEvents
    from lambdas.api.queries import DynamoReadStore
    from lambdas.api.rollups import ExtractRollups

    return Ports(stream=KinesisEvents(), store=DynamoReadStore(), health=CloudWatchHealth(),
                 rollups=ExtractRollups())


_configured: Ports | None = None


def configure(ports: Ports | None) -> None:
    """The ports `lambda_handler` uses when it is given none (None: back to `default_ports()`)."""
    global _configured
    _configured = ports


def configured_ports() -> Ports:
    return _configured or default_ports()


def use_rollup_source(source: RollupSource | None) -> None:
    """Rollups from `source` (None: back to Dagster's extracts), the other ports as they are. The local
    runtime calls this with a DuckDB source over the emulator's lake (barometer_local/rollups.py)."""
    configure(replace(configured_ports(), rollups=source or default_ports().rollups))


logger = Logger(service="api")
metrics = Metrics(namespace="Barometer", service="api")
router = Router()
# Safe to run on several threads of one process (the local runtime's invoker reads this): requests share no
# state but the metric set, which _METRICS_LOCK guards (Powertools' flush walks it while another adds).
CONCURRENT_INVOCATIONS = True
_METRICS_LOCK = threading.Lock()

MAX_EVENTS_PER_REQUEST = 500
MAX_BODY_BYTES = 5 * 1024 * 1024
_KINDS = {"quote": "quote", "quotes": "quote", "stock": "quote", "stocks": "quote", "weather": "weather"}
# The key state's own attributes (barometer/core/keystate.py to_item), and those of earlier layouts.
INTERNAL_LATEST_FIELDS = ("state", "applied_seq", "version", "pk", "sums", "closes", "buckets", "recent")


# -- ingest ----------------------------------------------------------------------------------
@router.route("POST", "/v1/events")
def post_events(request: Request, ports: Ports) -> Any:
    events = _events_of(request.body)
    now = datetime.now(UTC)
    settings = get_settings()
    failed: list[dict[str, Any]] = []
    valid: list[tuple[int, Any]] = []
    records: list[StreamRecord] = []
    for index, obj in enumerate(events):
        try:
            event = parse_event(obj, settings, now=now)
        except ValidationError as exc:
            failed.append({"index": index, "error": str(exc), "errors": [e.as_dict() for e in exc.errors]})
            continue
        valid.append((index, event))
        # The record is the event as the client sent it (the raw zone keeps it exactly so).
        records.append(StreamRecord(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(), event.key))
    stream_failures: dict[int, str] = {}
    if records:
        try:
            stream_failures = ports.stream.put(records)
        except StreamError as exc:
            logger.error("stream unavailable", extra={"error": str(exc)})
            raise HttpError(503, "the events stream is unavailable; retry later") from exc
    for position, error in stream_failures.items():
        failed.append({"index": valid[position][0], "error": f"not accepted by the stream, retry ({error})",
                       "retryable": True})
    failed.sort(key=lambda f: f["index"])
    accepted = len(valid) - len(stream_failures)
    with _METRICS_LOCK:
        metrics.add_metric("EventsAccepted", MetricUnit.Count, accepted)
        metrics.add_metric("EventsRejected", MetricUnit.Count, len(failed) - len(stream_failures))
    body = {"accepted": accepted, "failed": failed}
    if accepted == 0 and failed:
        if all(f.get("retryable") for f in failed):
            return 503, {"error": "the events stream did not take the events; retry later", **body}
        return 400, {"error": "no valid events in the request", **body}
    return body


def _events_of(body: str | None) -> list[Any]:
    if body is None or not body.strip():
        raise HttpError(400, 'body: a JSON object {"events": [...]} is required')
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(413, f"body: larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    try:
        payload = decode_json(body)
    except ValueError as exc:
        raise HttpError(400, f"body: not valid JSON ({exc})") from None
    except RecursionError:
        raise HttpError(400, "body: JSON nested too deeply") from None
    if not isinstance(payload, dict):
        raise HttpError(400, 'body: must be a JSON object {"events": [...]}')
    unknown = sorted(str(k)[:40] for k in payload if k != "events")
    if unknown:
        raise HttpError(400, f"body: unknown field(s) {', '.join(unknown)}; expected only \"events\"")
    events = payload.get("events")
    if not isinstance(events, list):
        raise HttpError(400, "events: must be an array of events")
    if not events:
        raise HttpError(400, "events: must hold at least one event")
    if len(events) > MAX_EVENTS_PER_REQUEST:
        raise HttpError(400, f"events: at most {MAX_EVENTS_PER_REQUEST} events per request (got {len(events)})")
    return events


# -- parameters ------------------------------------------------------------------------------
def _kind(value: str) -> str:
    kind = _KINDS.get(value)
    if kind is None:
        raise HttpError(400, f"kind: must be quote or weather (got {value[:20]!r})")
    return kind


def _time_param(request: Request, name: str) -> datetime | None:
    value = request.param(name)
    if value is None or value == "":
        return None
    try:
        return parse_rfc3339(value)
    except TimestampError as exc:
        raise HttpError(400, f"{name}: {exc}") from None


def _range(request: Request) -> tuple[datetime | None, datetime | None]:
    start, end = _time_param(request, "from"), _time_param(request, "to")
    if start and end and start > end:
        raise HttpError(400, "from: must not be after to")
    return start, end


def _require_latest(store: ReadStore, kind: str, key: str) -> dict[str, Any]:
    item = store.latest(kind, key)
    if item is None:
        raise HttpError(404, f"unknown {KEY_FIELD[kind]}: {key[:40]}")
    return item


# -- reads -----------------------------------------------------------------------------------
@router.route("GET", "/v1/config")
def get_config(request: Request, ports: Ports) -> Any:
    settings = get_settings()
    return {
        "symbols": [{"symbol": s.symbol, "timezone": s.timezone, "name": s.name} for s in settings.symbols.values()],
        "cities": [{"name": c.name, "lat": c.lat, "lon": c.lon, "timezone": c.timezone}
                   for c in settings.cities.values()],
        "windows": [w.name for w in settings.windows], "market_drop_pct": settings.market_drop_pct,
        "weather_rules": [{"name": r.name, "metric": r.metric, "op": r.op, "threshold": r.threshold}
                          for r in settings.weather_rules],
    }


@router.route("GET", "/v1/latest/{kind}")
def list_latest(request: Request, ports: Ports) -> Any:
    kind = _kind(request.params["kind"])
    start = paging.decode(request.param("next"), lambda s: paging.is_ddb_key(s, ("pk", "kind", "key")))
    items, last = ports.store.latest_page(kind, request.param("q") or None, paging.limit(request.param("limit")),
                                          start)
    return {"items": [_public_latest(i) for i in items], "next": paging.encode(last)}


@router.route("GET", "/v1/latest/{kind}/{key}")
def get_latest(request: Request, ports: Ports) -> Any:
    kind = _kind(request.params["kind"])
    return _public_latest(_require_latest(ports.store, kind, request.params["key"]))


def _public_latest(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INTERNAL_LATEST_FIELDS}


@router.route("GET", "/v1/series/{kind}/{key}")
def get_series(request: Request, ports: Ports) -> Any:
    kind, key = _kind(request.params["kind"]), request.params["key"]
    _require_latest(ports.store, kind, key)
    start, end = _range(request)
    limit = paging.limit(request.param("limit"))
    pk = item_pk(kind, key)
    lower = format_fixed(start) if start else SK_FIRST
    upper = sk_after_instant(end) if end else SK_LAST
    token = paging.decode(request.param("next"),
                          lambda s: isinstance(s, dict) and set(s) == {"sk"} and isinstance(s["sk"], str))
    items, last = ports.store.metrics_range(pk, lower, upper, limit=limit,
                                            start={"pk": {"S": pk}, "sk": {"S": token["sk"]}} if token else None)
    if not items:
        return {"events": [], "next": None}
    return {"events": _with_rolling(ports.store, kind, pk, items), "next": paging.encode({"sk": last["sk"]["S"]}) if last else None}


def _with_rolling(store: ReadStore, kind: str, pk: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exact rolling averages as of each event: the window (t - W, t] over everything stored now."""
    settings = get_settings()
    first_ts, last_ts = parse_rfc3339(items[0]["ts"]), parse_rfc3339(items[-1]["ts"])
    lookback_from = sk_after_instant(first_ts - timedelta(seconds=settings.max_window_s))
    before, _ = store.metrics_range(pk, lookback_from, items[0]["sk"], projection=True)
    before = [b for b in before if b["sk"] < items[0]["sk"]]
    # Events at the same instant as the page's last one belong to its windows even if on the next page.
    same_instant, _ = store.metrics_range(pk, items[-1]["sk"], sk_after_instant(last_ts), projection=True)
    after = [a for a in same_instant if a["sk"] > items[-1]["sk"]]
    points = before + items + after
    times = [to_epoch_us(parse_rfc3339(p["sk"].split("#", 1)[0])) for p in points]
    rolling = rolling_series(times, [float(p["value"]) for p in points], settings.windows, start=len(before))
    out = []
    for item, averages in zip(items, rolling):
        event = {"ts": format_public(parse_rfc3339(item["ts"])), "value": item["value"], "event_id": item["event_id"],
                 "rolling": round_rolling(averages), "local_day": item.get("local_day"),
                 "fields": {k: item[k] for k in KIND_FIELDS[kind] if k in item}}
        if item.get("source"):
            event["source"] = item["source"]
        out.append(event)
    return out


@router.route("GET", "/v1/alerts")
def list_alerts(request: Request, ports: Ports) -> Any:
    kind, key = request.param("kind"), request.param("key")
    if kind is not None and kind not in ALERT_KINDS:
        raise HttpError(400, f"kind: must be {' or '.join(ALERT_KINDS)} (got {kind[:20]!r})")
    start, end = _range(request)
    limit = paging.limit(request.param("limit"))
    lower = format_fixed(start) if start else SK_FIRST
    upper = sk_after_instant(end) if end else SK_LAST
    if key:
        if kind is None:
            raise HttpError(400, "kind: is required when key is given")
        _require_latest(ports.store, EVENT_KIND_OF_ALERT[kind], key)
        matching = sorted((a for a in ports.store.alerts_of_key(kind, key) if lower <= a["ts_key"] <= upper),
                          key=lambda a: a["ts_key"], reverse=True)
        offset = (paging.decode(request.param("next"), lambda s: isinstance(s, dict) and set(s) == {"offset"}
                                and type(s["offset"]) is int and s["offset"] >= 0) or {}).get("offset", 0)
        page = matching[offset:offset + limit]
        more = offset + limit < len(matching)
        return {"alerts": [_public_alert(a) for a in page],
                "next": paging.encode({"offset": offset + limit}) if more else None}
    return _alerts_across_kinds(ports.store, [kind] if kind else list(ALERT_KINDS), lower, upper, limit,
                                paging.decode(request.param("next"), _is_alert_cursor) or {})


def _is_alert_cursor(state: Any) -> bool:
    if not isinstance(state, dict) or not set(state) <= set(ALERT_KINDS):
        return False
    return all(isinstance(c, dict) and set(c) == {"start", "done"} and isinstance(c["done"], bool)
               and (c["start"] is None or paging.is_ddb_key(c["start"], ("kind", "ts_key", "pk", "sk")))
               for c in state.values())


def _alerts_across_kinds(store: ReadStore, kinds: list[str], lower: str, upper: str, limit: int, state: dict
                         ) -> dict[str, Any]:
    """Newest first across kinds: each kind's cursor moves only past what this page returned."""
    fetched: dict[str, tuple[list[dict], dict | None]] = {}
    for kind in kinds:
        cursor = state.get(kind, {})
        if cursor.get("done"):
            continue
        fetched[kind] = store.alerts_by_kind(kind, lower, upper, limit, cursor.get("start"), newest_first=True)
    merged = sorted(((a["ts_key"], kind, a) for kind, (items, _) in fetched.items() for a in items),
                    key=lambda t: t[0], reverse=True)[:limit]
    next_state: dict[str, Any] = {k: v for k, v in state.items() if v.get("done")}
    for kind, (items, last) in fetched.items():
        taken = [a for _, k, a in merged if k == kind]
        if len(taken) == len(items):
            next_state[kind] = {"start": last, "done": last is None}
        elif taken:
            a = taken[-1]
            next_state[kind] = {"start": {"kind": {"S": a["kind"]}, "ts_key": {"S": a["ts_key"]},
                                          "pk": {"S": a["pk"]}, "sk": {"S": a["sk"]}}, "done": False}
        else:
            next_state[kind] = state.get(kind, {"start": None, "done": False})
    more = any(not next_state.get(k, {}).get("done") for k in kinds)
    return {"alerts": [_public_alert(a) for _, _, a in merged], "next": paging.encode(next_state) if more else None}


def _public_alert(item: dict[str, Any]) -> dict[str, Any]:
    alert = {k: v for k, v in item.items()
             if k not in ("pk", "sk", "ts_key", "message_id") and not k.endswith(("_lease", "_lease_until"))}
    alert.setdefault("delivered", {})
    return alert


@router.route("GET", "/v1/health")
def get_health(request: Request, ports: Ports) -> Any:
    return ports.health.report(datetime.now(UTC))


@router.route("GET", "/v1/rollups/{name}")
def get_rollup(request: Request, ports: Ports) -> Any:
    start, end = request.param("from"), request.param("to")
    name = request.params["name"]
    rows = read_rollup(ports.rollups, name, request.param("key"), start, end)
    return {"rows": [round_rollup_row(name, row) for row in rows]}


@router.route("GET", "/healthz")
def healthz(request: Request, ports: Ports) -> Any:
    return {"status": "ok"}


def lambda_handler(event: dict[str, Any], context: Any, ports: Ports | None = None) -> dict[str, Any]:
    ports = ports or configured_ports()
    try:
        return router.resolve(event, ports)
    except ReadError as exc:
        logger.error("read failed", extra={"error": str(exc)})
        return {"statusCode": 503, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "a data store is unavailable; retry later"})}
    finally:
        with _METRICS_LOCK:
            if metrics.metric_set:  # reads add none; flushing nothing would only warn
                metrics.flush_metrics()
