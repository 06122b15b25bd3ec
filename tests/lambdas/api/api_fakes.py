"""In-memory stand-ins for the API's ports (events stream, tables, pipeline health, rollups).

The store pages the way DynamoDB does: at most `Limit` items; when the limit is reached,
`LastEvaluatedKey` = the key attributes of the last item returned (even if nothing follows), which the
next call passes back as its `ExclusiveStartKey`.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from barometer_local.server import proxy_event
from lambdas.api.errors import ReadError
from lambdas.api.handler import Ports, lambda_handler
from lambdas.shared.stream import StreamError, StreamRecord


class FakeStream:
    def __init__(self) -> None:
        self.records: list[StreamRecord] = []
        self.refused: dict[int, str] = {}  # position in the call -> error the stream answers for it
        self.unavailable = False

    def put(self, records: Sequence[StreamRecord]) -> dict[int, str]:
        if self.unavailable:
            raise StreamError("PutRecords on test-events failed: ResourceNotFoundException")
        self.records += [r for i, r in enumerate(records) if i not in self.refused]
        return {i: error for i, error in self.refused.items() if i < len(records)}


def _ddb_key(item: dict, names: tuple[str, ...]) -> dict:
    return {name: {"S": item[name]} for name in names}


def _after(items: list[dict], start: dict | None, names: tuple[str, ...]) -> list[dict]:
    if not start:
        return items
    keys = [_ddb_key(i, names) for i in items]
    return items[keys.index(start) + 1:]


def _page(items: list[dict], limit: int | None, names: tuple[str, ...]) -> tuple[list[dict], dict | None]:
    if limit is None or len(items) < limit:
        return items, None
    page = items[:limit]
    return page, _ddb_key(page[-1], names)


class FakeStore:
    """LatestTable (+ GSI by_kind_keys), MetricsTable and AlertsTable (+ GSI by_kind_ts) as lists of items."""

    def __init__(self) -> None:
        self.latest_items: dict[tuple[str, str], dict] = {}
        self.metrics: dict[str, list[dict]] = {}
        self.alerts: list[dict] = []
        self.failing = False
        self.calls: list[str] = []

    def _read(self, what: str) -> None:
        self.calls.append(what)
        if self.failing:
            raise ReadError(f"{what}: ProvisionedThroughputExceededException")

    # -- seeding -----------------------------------------------------------------------------
    def add_latest(self, kind: str, key: str, **fields: Any) -> dict:
        item = {"pk": f"{kind}#{key}", "kind": kind, "key": key, "buckets": {"1m": []}, "version": 3, **fields}
        self.latest_items[(kind, key)] = item
        return item

    def add_metric(self, kind: str, key: str, ts: str, value: float, event_id: str) -> None:
        pk = f"{kind}#{key}"
        item = {"pk": pk, "sk": f"{ts}#{event_id}", "ts": ts, "value": value, "event_id": event_id,
                "price": value, "local_day": ts[:10]}
        self.metrics.setdefault(pk, []).append(item)
        self.metrics[pk].sort(key=lambda i: i["sk"])

    def add_alert(self, kind: str, key: str, ts_key: str, alert_id: str) -> None:
        self.alerts.append({"pk": f"{kind}#{key}", "sk": f"{ts_key[:10]}#{alert_id}", "kind": kind, "key": key,
                            "ts_key": ts_key, "alert_id": alert_id, "message_id": "m", "slack_lease": "x"})

    # -- the ReadStore port ------------------------------------------------------------------
    def latest(self, kind: str, key: str) -> dict[str, Any] | None:
        self._read("latest")
        return self.latest_items.get((kind, key))

    def latest_page(self, kind: str, prefix: str | None, limit: int, start: dict | None):
        self._read("latest_page")
        names = ("pk", "kind", "key")
        items = sorted((i for (k, key), i in self.latest_items.items()
                        if k == kind and (not prefix or key.startswith(prefix))), key=lambda i: i["key"])
        return _page(_after(items, start, names), limit, names)

    def metrics_range(self, pk: str, lower_sk: str, upper_sk: str, limit: int | None = None,
                      start: dict | None = None, projection: bool = False):
        self._read("metrics_range")
        names = ("pk", "sk")
        items = [i for i in self.metrics.get(pk, []) if lower_sk <= i["sk"] <= upper_sk]
        page, last = _page(_after(items, start, names), limit, names)
        if projection:
            page = [{"sk": i["sk"], "value": i["value"]} for i in page]
        return page, last

    def alerts_by_kind(self, kind: str, lower: str, upper: str, limit: int, start: dict | None,
                       newest_first: bool):
        self._read("alerts_by_kind")
        names = ("kind", "ts_key", "pk", "sk")
        items = sorted((a for a in self.alerts if a["kind"] == kind and lower <= a["ts_key"] <= upper),
                       key=lambda a: a["ts_key"], reverse=newest_first)
        return _page(_after(items, start, names), limit, names)

    def alerts_of_key(self, kind: str, key: str) -> Iterator[dict]:
        self._read("alerts_of_key")
        yield from (a for a in self.alerts if a["pk"] == f"{kind}#{key}")


class FakeHealth:
    def __init__(self) -> None:
        self.asked_at: list[datetime] = []

    def report(self, now: datetime) -> dict[str, Any]:
        self.asked_at.append(now)
        return {"as_of": now.isoformat(), "events_in_total": 7}


class FakeRollups:
    def __init__(self, rows: list[dict] | None = None) -> None:
        self.rows_held = rows or []
        self.asked: list[tuple[str, date, date]] = []

    def rows(self, name: str, first: date, last: date) -> list[dict[str, Any]]:
        self.asked.append((name, first, last))
        return [r for r in self.rows_held if first.isoformat() <= r["day"] <= last.isoformat()]


class Fakes:
    def __init__(self) -> None:
        self.stream, self.store, self.health, self.rollups = FakeStream(), FakeStore(), FakeHealth(), FakeRollups()
        self.ports = Ports(stream=self.stream, store=self.store, health=self.health, rollups=self.rollups)

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> tuple[int, dict]:
        text = body if body is None or isinstance(body, str) else json.dumps(body)
        response = lambda_handler(proxy_event(method, path, query or {}, {}, text, {"scope": "test"}), None,
                                  ports=self.ports)
        return response["statusCode"], json.loads(response["body"])
