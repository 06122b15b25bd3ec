"""MetricsTable and LatestTable on DynamoDB (the handler's ports MetricsTable and LatestTable).

Every call asks for ReturnConsumedCapacity=TOTAL and reports its units to the CapacityMeter
(lambdas/processor/capacity.py says when they are computed from item sizes instead).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import (
    PARTIAL_RETRY,
    BatchCallError,
    resource_name,
    retry_partial,
)
from barometer.aws.json_clients import dynamodb_json
from barometer.core.itemsize import item_size
from barometer.core.timeutil import parse_rfc3339, to_epoch_us
from barometer.core.windows import Entry, departure_sk_bounds
from barometer.ddb import from_item, to_attr, to_item
from lambdas.processor.capacity import CapacityMeter, query_units, read_units, write_units
from lambdas.processor.errors import SinkError, StateConflictError, StoreError, UnstorableError
from lambdas.processor.pool import run_all

BATCH_WRITE_MAX = 25  # items per BatchWriteItem call (DynamoDB's limit)
BATCH_GET_MAX = 100  # keys per BatchGetItem call (DynamoDB's limit)
Key = tuple[str, str]  # (pk, sk)


def dynamodb() -> Any:
    """The processor's DynamoDB client: JSON-protocol calls under botocore's method names.

    botocore's own work was ~1 ms of CPU a call, and the hot path makes one PutItem per key per batch
    (docs/architecture.md, "JSON-protocol calls"). This client sends what botocore sends, answers and
    fails as botocore does (ClientError with the same codes), and retries as botocore's standard mode
    within Barometer's call budget (barometer/aws/json_protocol.py)."""
    return dynamodb_json()


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "") or "ClientError"


def _message(exc: ClientError) -> str:
    """DynamoDB's own words on why it refused an item (they name no value of it), bounded."""
    return (exc.response.get("Error", {}).get("Message", "") or _code(exc))[:300]


class DynamoMetricsTable:
    """One item per event (BatchWriteItem), the stored `seq` of some (BatchGetItem), and the departures
    of the rolling windows (Query): barometer.core.windows.DepartureSource."""

    def __init__(self, meter: CapacityMeter):
        self.meter = meter

    @staticmethod
    def _table() -> str:
        return resource_name(catalogue.METRICS_TABLE.env_var)

    # -- writes ----------------------------------------------------------------------------------
    def write(self, items: Sequence[dict[str, Any]]) -> dict[int, SinkError]:
        """BatchWriteItem in chunks of 25 sent concurrently, unprocessed items sent again; failures by position.

        BatchWriteItem refuses a request holding a key twice: each key is written once (its last
        copy) and its outcome applies to every copy."""
        positions: dict[Key, list[int]] = {}
        for i, item in enumerate(items):
            positions.setdefault((item["pk"], item["sk"]), []).append(i)
        unique = [items[p[-1]] for p in positions.values()]
        table, ddb = self._table(), dynamodb()
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in unique]
        by_key = {(item["pk"], item["sk"]): i for i, item in enumerate(unique)}

        def send(pending: list[int]) -> dict[int, str]:
            response = ddb.batch_write_item(RequestItems={table: [requests[i] for i in pending]},
                                            ReturnConsumedCapacity="TOTAL")
            unprocessed = {by_key[(u["PutRequest"]["Item"]["pk"]["S"], u["PutRequest"]["Item"]["sk"]["S"])]
                           for u in response.get("UnprocessedItems", {}).get(table, [])}
            self.meter.write(response, lambda: sum(write_units(unique[i]) for i in pending if i not in unprocessed))
            return {i: "unprocessed" for i in unprocessed}

        def single(i: int) -> SinkError | None:
            try:
                response = ddb.put_item(TableName=table, Item=requests[i]["PutRequest"]["Item"],
                                        ReturnConsumedCapacity="TOTAL")
            except ClientError as exc:
                if _code(exc) == "ValidationException":
                    return UnstorableError(f"{table} cannot store this event's item: {_message(exc)}")
                return SinkError(f"PutItem on {table} failed: {_code(exc)}")
            self.meter.write(response, lambda: write_units(unique[i]))
            return None

        def chunk(start: int) -> dict[int, SinkError]:
            try:
                left = retry_partial(range(start, min(start + BATCH_WRITE_MAX, len(unique))), send)
            except BatchCallError as exc:
                if exc.code != "ValidationException":
                    return {i: SinkError(f"BatchWriteItem on {table} failed: {exc.code}") for i in exc.pending}
                # DynamoDB refuses the whole call for one bad item: write the chunk's items one by one, so that
                # only the culprit fails (and is quarantined) while its siblings are stored. Rewriting an item
                # an earlier call did store is harmless: each is the same item, written by its key.
                found = {i: single(i) for i in exc.pending}
                return {i: error for i, error in found.items() if error is not None}
            return {i: SinkError(f"BatchWriteItem on {table}: item still unprocessed after "
                                 f"{PARTIAL_RETRY.attempts} tries") for i in left}

        failed_unique: dict[int, SinkError] = {}
        for failures in run_all(chunk, range(0, len(unique), BATCH_WRITE_MAX)):
            failed_unique.update(failures)
        keys = list(positions)
        return {i: error for u, error in failed_unique.items() for i in positions[keys[u]]}

    # -- reads -----------------------------------------------------------------------------------
    def stored_seqs(self, keys: Sequence[Key]) -> dict[Key, int]:
        """The `seq` of the items that exist among `keys` (0 for an item written before seq existed).
        One strongly consistent BatchGetItem per 100 keys; StoreError when one fails."""
        table, ddb = self._table(), dynamodb()
        unique = list(dict.fromkeys(keys))
        requests = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique]
        found: dict[Key, int] = {}

        def get(pending: list[int]) -> dict[int, str]:
            response = ddb.batch_get_item(RequestItems={table: {
                "Keys": [requests[p] for p in pending], "ConsistentRead": True,
                "ProjectionExpression": "#pk, #sk, #seq",
                "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk", "#seq": "seq"}}},
                ReturnConsumedCapacity="TOTAL")
            for item in response.get("Responses", {}).get(table, []):
                seq = item.get("seq")
                found[(item["pk"]["S"], item["sk"]["S"])] = int(seq["S"]) if seq else 0
            unprocessed = {(k["pk"]["S"], k["sk"]["S"])
                           for k in response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])}
            # One unit a key: a MetricsTable item is well under 4 KB (and only the projection comes back).
            self.meter.read(response, lambda: len(pending) - len(unprocessed))
            return {p: "UnprocessedKeys" for p in pending if unique[p] in unprocessed}

        _get_in_chunks(table, len(unique), get)
        return found

    def fetch(self, pk: str, after_us: int, upto_us: int, limit: int, after_id: str | None = None
              ) -> Sequence[Entry]:
        """DepartureSource.fetch: a strongly consistent Query, `sk BETWEEN lo AND hi` started after `lo`.

        The whole items come back (no projection): DynamoDB charges by the whole item's size anyway,
        and the emulator's units are computed from them."""
        lower, upper = departure_sk_bounds(after_us, upto_us, after_id)
        if lower > upper:
            return []
        table = self._table()
        kwargs: dict[str, Any] = {
            "TableName": table, "ConsistentRead": True, "Limit": limit, "ReturnConsumedCapacity": "TOTAL",
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": lower}, ":hi": {"S": upper}},
            "ExclusiveStartKey": {"pk": {"S": pk}, "sk": {"S": lower}},
        }
        entries: list[Entry] = []
        ddb = dynamodb()
        try:
            while True:
                response = ddb.query(**kwargs)
                items = response.get("Items", [])
                self.meter.read(response, lambda items=items: query_units(from_item(i) for i in items))
                entries.extend(_entry(i) for i in items)
                last = response.get("LastEvaluatedKey")
                if last is None or len(entries) >= limit:
                    return entries
                # a page cut short (1 MB): go on, so that fewer than `limit` means the range is done
                kwargs["ExclusiveStartKey"], kwargs["Limit"] = last, limit - len(entries)
        except ClientError as exc:
            raise StoreError(f"Query {pk} on {table}: {_code(exc)}") from exc


def _entry(item: dict[str, Any]) -> Entry:
    seq = item.get("seq")
    return (to_epoch_us(parse_rfc3339(item["ts"]["S"])), item["event_id"]["S"], float(item["value"]["N"]),
            int(seq["S"]) if seq else 0)


class DynamoLatestTable:
    """Each key's state (barometer.core.keystate's item), written whole under an optimistic lock on `version`."""

    def __init__(self, meter: CapacityMeter):
        self.meter = meter

    @staticmethod
    def _table() -> str:
        return resource_name(catalogue.LATEST_TABLE.env_var)

    def load(self, pks: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The items of the keys that have one: strongly consistent BatchGetItem, 100 keys a call,
        unprocessed keys asked again; StoreError when a call fails or keys stay unprocessed."""
        table, ddb = self._table(), dynamodb()
        unique = list(dict.fromkeys(pks))
        found: dict[str, dict[str, Any]] = {}

        def get(pending: list[int]) -> dict[int, str]:
            response = ddb.batch_get_item(RequestItems={table: {
                "Keys": [{"pk": {"S": unique[p]}} for p in pending], "ConsistentRead": True}},
                ReturnConsumedCapacity="TOTAL")
            items = [from_item(i) for i in response.get("Responses", {}).get(table, [])]
            for item in items:
                found[item["pk"]] = item
            unprocessed = {k["pk"]["S"] for k in response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])}
            answered = len(pending) - len(unprocessed)
            # a key without an item still costs a unit
            self.meter.read(response, lambda: sum(read_units(item_size(i)) for i in items) + answered - len(items))
            return {p: "UnprocessedKeys" for p in pending if unique[p] in unprocessed}

        _get_in_chunks(table, len(unique), get)
        return found

    def save(self, item: dict[str, Any], expected_version: int) -> None:
        """PutItem of the whole state if nobody wrote it since `expected_version` was read (0: never
        written); StateConflictError otherwise."""
        table = self._table()
        kwargs: dict[str, Any] = {"TableName": table, "Item": to_item(item), "ReturnConsumedCapacity": "TOTAL"}
        if expected_version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "#version = :version"
            kwargs["ExpressionAttributeNames"] = {"#version": "version"}
            kwargs["ExpressionAttributeValues"] = {":version": to_attr(expected_version)}
        try:
            response = dynamodb().put_item(**kwargs)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                self.meter.write(None, lambda: write_units(item))  # a failed condition still consumes
                raise StateConflictError(item["pk"]) from exc
            detail = f" ({_message(exc)})" if _code(exc) == "ValidationException" else ""
            raise StoreError(f"PutItem {item['pk']} on {table}: {_code(exc)}{detail}") from exc
        self.meter.write(response, lambda: write_units(item))


def _get_in_chunks(table: str, count: int, get: Callable[[list[int]], dict[int, str]]) -> None:
    """BatchGetItem of `count` keys, 100 a call; `get` reads the positions it is given and returns those
    left unprocessed, which are sent again under the one retry policy."""
    for start in range(0, count, BATCH_GET_MAX):
        try:
            left = retry_partial(range(start, min(start + BATCH_GET_MAX, count)), get)
        except BatchCallError as exc:
            raise StoreError(f"BatchGetItem on {table} failed: {exc.code}") from exc.cause
        if left:
            raise StoreError(f"BatchGetItem on {table}: {len(left)} key(s) still unprocessed after "
                             f"{PARTIAL_RETRY.attempts} tries")
