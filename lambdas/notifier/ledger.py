"""Delivery ledger in AlertsTable: each alert is posted to a channel at most once, and its outcome kept.

Before posting, an invocation records the attempt: a conditional update sets the lease
`<channel>_lease` (token) and `<channel>_lease_until`, and fails if the pair has a lease already, or an
outcome: `delivered.<channel>` (the time it was delivered) or `undelivered.<channel>` (`{state, reason,
at}`: state "unknown outcome" or "undeliverable"). After posting, the outcome is written and the lease
dropped; only a post that certainly did not reach the channel (an HTTP error answer, a failed connect)
gives the lease back (`release`), so that a retry posts again.

A lease that outlives LEASE_S without an outcome belongs to an attempt that crashed or could not record
what happened: it is NOT taken over (the post may have gone out) but settled as "unknown outcome", and
reported. So no alert is posted twice to a channel; the price is that an alert whose attempt crashed
between recording and posting is reported as unknown rather than sent (docs/contracts.md, "Notifications").

The item is written by the rules engine before it publishes; when it is missing the lease update
creates it from the alert message (every attribute `if_not_exists`, nothing clobbered).
"""
from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from barometer.aws import client, resource_name
from barometer.catalogue import ALERTS_TABLE
from barometer.core.timeutil import TimestampError, parse_rfc3339
from barometer.lake import alert_sk, alert_ts_key, item_pk
from lambdas.notifier.errors import NotifierError

LEASE_S = 60  # longer than one post (5 s timeout) and than the function's 30 s timeout
# AlertsTable attributes (docs/contracts.md) copied onto an item that the rules engine did not write.
_ALERT_FIELDS = ("alert_id", "kind", "key", "rule", "ts", "value", "local_day", "event_id", "reference_price",
                 "change_pct", "threshold", "metric", "op")


UNKNOWN_OUTCOME = "unknown outcome"  # posted, or maybe: no answer (or a crash) came in between
UNDELIVERABLE = "undeliverable"  # the channel cannot take it (e.g. its webhook is not configured)


class Claim(Enum):
    ACQUIRED = "acquired"  # this invocation posts
    DELIVERED = "delivered"  # already delivered: skip
    SETTLED = "settled"  # an outcome other than delivered is recorded already: skip (never re-posted)
    BUSY = "busy"  # another invocation holds a live lease: retry later
    ABANDONED = "abandoned"  # a lease outlived LEASE_S without an outcome: settle it as unknown, do not post


@dataclass(frozen=True)
class Lease:
    claim: Claim
    token: str = ""


def alert_key(alert: dict) -> dict:
    return {ALERTS_TABLE.pk: {"S": item_pk(alert["kind"], alert["key"])},
            ALERTS_TABLE.sk: {"S": alert_sk(alert["local_day"], alert["rule"])}}


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _attr(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return {"N": str(number)}
    return {"S": str(value)}


def _ts_key(alert: dict) -> str | None:
    """The by-time index key the rules engine writes (fixed-width ts, so it sorts with the others)."""
    if not all(isinstance(alert.get(f), str) for f in ("ts", "key", "rule")):
        return None
    try:
        return alert_ts_key(parse_rfc3339(alert["ts"]), alert["key"], alert["rule"])
    except TimestampError:
        return None


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


class DeliveryLedger:
    def __init__(self, channel: str = "slack", table: str | None = None, clock=time.time):
        self.channel = channel
        self._table = table
        self._clock = clock

    @property
    def table(self) -> str:
        return self._table or resource_name(ALERTS_TABLE.env_var)

    def _update(self, **kwargs) -> bool:
        """UpdateItem; False when its condition failed."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client("dynamodb").update_item(TableName=self.table, **kwargs)
            return True
        except ClientError as exc:
            if exc.response["Error"].get("Code") == "ConditionalCheckFailedException":
                return False
            raise NotifierError(f"AlertsTable {self.table}: {exc.response['Error'].get('Code')}") from exc
        except BotoCoreError as exc:
            raise NotifierError(f"AlertsTable {self.table}: {type(exc).__name__}") from exc

    def acquire(self, alert: dict) -> Lease:
        now = self._clock()
        token = uuid.uuid4().hex
        names = {"#delivered": "delivered", "#undelivered": "undelivered", "#channel": self.channel,
                 "#lease": f"{self.channel}_lease", "#until": f"{self.channel}_lease_until"}
        values = {":empty": {"M": {}}, ":token": {"S": token}, ":until": {"N": str(int(now + LEASE_S))}}
        sets = ["#delivered = if_not_exists(#delivered, :empty)",
                "#undelivered = if_not_exists(#undelivered, :empty)", "#lease = :token", "#until = :until"]
        for i, field in enumerate(f for f in _ALERT_FIELDS if alert.get(f) is not None and _finite(alert[f])):
            names[f"#f{i}"] = field
            values[f":f{i}"] = _attr(alert[field])
            sets.append(f"#f{i} = if_not_exists(#f{i}, :f{i})")
        ts_key = _ts_key(alert)
        if ts_key is not None:
            names["#ts_key"] = "ts_key"
            values[":ts_key"] = {"S": ts_key}
            sets.append("#ts_key = if_not_exists(#ts_key, :ts_key)")
        acquired = self._update(
            Key=alert_key(alert),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=("attribute_not_exists(#delivered.#channel) AND "
                                 "attribute_not_exists(#undelivered.#channel) AND attribute_not_exists(#lease)"),
            ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        )
        if acquired:
            return Lease(Claim.ACQUIRED, token)
        item = self._delivery_item(alert)
        if item.get("delivered", {}).get("M", {}).get(self.channel, {}).get("S"):
            return Lease(Claim.DELIVERED)
        if self.channel in item.get("undelivered", {}).get("M", {}):
            return Lease(Claim.SETTLED)
        lease = item.get(f"{self.channel}_lease", {}).get("S")
        until = item.get(f"{self.channel}_lease_until", {}).get("N")
        if lease and until is not None and float(until) < now:
            return Lease(Claim.ABANDONED, lease)
        return Lease(Claim.BUSY)

    def _delivery_item(self, alert: dict) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        names = {"#delivered": "delivered", "#undelivered": "undelivered", "#lease": f"{self.channel}_lease",
                 "#until": f"{self.channel}_lease_until"}
        try:
            return client("dynamodb").get_item(
                TableName=self.table, Key=alert_key(alert), ConsistentRead=True,
                ProjectionExpression=", ".join(names), ExpressionAttributeNames=names,
            ).get("Item", {})
        except (ClientError, BotoCoreError) as exc:
            raise NotifierError(f"AlertsTable {self.table}: cannot read delivery ({exc})") from exc

    def delivered_at(self, alert: dict) -> str | None:
        return self._delivery_item(alert).get("delivered", {}).get("M", {}).get(self.channel, {}).get("S")

    def undelivered(self, alert: dict) -> dict | None:
        """`{state, reason, at}` when an outcome other than delivered is recorded for the channel."""
        entry = self._delivery_item(alert).get("undelivered", {}).get("M", {}).get(self.channel)
        return None if entry is None else {k: v.get("S") for k, v in entry.get("M", {}).items()}

    def record_undelivered(self, alert: dict, lease: Lease, state: str, reason: str) -> bool:
        """Settle the attempt holding `lease` as `state` (UNKNOWN_OUTCOME or UNDELIVERABLE) with its reason,
        and drop the lease, in one update; False when that lease is no longer the item's (settled by another)."""
        names = {"#undelivered": "undelivered", "#channel": self.channel, "#lease": f"{self.channel}_lease",
                 "#until": f"{self.channel}_lease_until"}
        entry = {"M": {"state": {"S": state}, "reason": {"S": reason[:500]}, "at": {"S": rfc3339_now()}}}
        token = {"S": lease.token}
        if self._update(
            Key=alert_key(alert),
            UpdateExpression="SET #undelivered.#channel = :entry REMOVE #lease, #until",
            ConditionExpression="#lease = :token AND attribute_exists(#undelivered)",
            ExpressionAttributeNames=names, ExpressionAttributeValues={":entry": entry, ":token": token},
        ):
            return True
        # an item without the map (leased before it existed): write the whole map
        return self._update(
            Key=alert_key(alert),
            UpdateExpression="SET #undelivered = :map REMOVE #lease, #until",
            ConditionExpression="#lease = :token AND attribute_not_exists(#undelivered)",
            ExpressionAttributeNames={k: v for k, v in names.items() if k != "#channel"},
            ExpressionAttributeValues={":map": {"M": {self.channel: entry}}, ":token": token},
        )

    def record_delivered(self, alert: dict, lease: Lease) -> None:
        """Set `delivered.<channel>` (the first time wins) and drop the lease, in one update."""
        from botocore.exceptions import ClientError

        names = {"#delivered": "delivered", "#channel": self.channel, "#lease": f"{self.channel}_lease",
                 "#until": f"{self.channel}_lease_until"}
        at = {"S": rfc3339_now()}
        try:
            self._update(
                Key=alert_key(alert),
                UpdateExpression="SET #delivered.#channel = if_not_exists(#delivered.#channel, :at) REMOVE #lease, #until",
                ExpressionAttributeNames=names, ExpressionAttributeValues={":at": at},
            )
        except NotifierError as exc:
            # `delivered` vanished since the lease was taken (item replaced): write the whole map.
            cause = exc.__cause__
            if not (isinstance(cause, ClientError) and cause.response["Error"].get("Code") == "ValidationException"):
                raise
            self._update(
                Key=alert_key(alert),
                UpdateExpression="SET #delivered = :map REMOVE #lease, #until",
                ConditionExpression="attribute_not_exists(#delivered)",
                ExpressionAttributeNames={k: v for k, v in names.items() if k != "#channel"},
                ExpressionAttributeValues={":map": {"M": {self.channel: at}}},
            )

    def release(self, alert: dict, lease: Lease) -> None:
        """Give the lease back after a failed post, so that the retry need not wait for it to expire."""
        self._update(
            Key=alert_key(alert),
            UpdateExpression="REMOVE #lease, #until",
            ConditionExpression="#lease = :token",
            ExpressionAttributeNames={"#lease": f"{self.channel}_lease", "#until": f"{self.channel}_lease_until"},
            ExpressionAttributeValues={":token": {"S": lease.token}},
        )
