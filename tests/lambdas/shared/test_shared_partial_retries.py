"""Kinesis, Firehose and DynamoDB batch writes share one partial-failure retry (barometer.aws.retry).

Fakes stand in for the clients: these tests count calls and waits, which the emulator cannot throttle.
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from barometer import catalogue
from barometer.aws import PARTIAL_RETRY

THROTTLED = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, operation)


class FakeClient:
    """Records each call's request and answers with the next scripted response (or raises it)."""

    def __init__(self, operation: str, *responses):
        self.requests: list[dict] = []
        self.responses = list(responses)
        setattr(self, operation, self._call)

    def _call(self, **request):
        self.requests.append(request)
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response(request) if callable(response) else response


@pytest.fixture
def sleeps(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("barometer.aws.retry.time.sleep", waits.append)
    return waits


# -- Kinesis PutRecords -----------------------------------------------------------------------------------

@pytest.fixture
def kinesis(monkeypatch):
    from lambdas.shared import stream

    monkeypatch.setenv(catalogue.EVENTS_STREAM.env_var, "events")

    def install(*responses):
        fake = FakeClient("put_records", *responses)
        monkeypatch.setattr(stream, "client", lambda service: fake)
        return fake
    return install


def test_kinesis_sends_only_throttled_records_again(kinesis, sleeps):
    from lambdas.shared.stream import StreamRecord, put_records

    # Given a stream that throttles the second of three records once
    fake = kinesis({"FailedRecordCount": 1, "Records": [{"SequenceNumber": "1"}, THROTTLED, {"SequenceNumber": "3"}]},
                   {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "4"}]})
    # When three records are put
    failed = put_records([StreamRecord(b"a", "A"), StreamRecord(b"b", "B"), StreamRecord(b"c", "C")])
    # Then the second call carries the throttled record alone, after one short wait
    assert failed == {}
    assert [[r["Data"] for r in call["Records"]] for call in fake.requests] == [[b"a", b"b", b"c"], [b"b"]]
    assert sleeps == [PARTIAL_RETRY.delay_s(0)]


def test_kinesis_reports_records_still_throttled_after_the_last_attempt(kinesis, sleeps):
    from lambdas.shared.stream import StreamRecord, put_records

    fake = kinesis(*({"FailedRecordCount": 1, "Records": [THROTTLED]} for _ in range(PARTIAL_RETRY.attempts)))
    failed = put_records([StreamRecord(b"a", "A")])
    assert failed == {0: "ProvisionedThroughputExceededException: Rate exceeded"}
    assert len(fake.requests) == PARTIAL_RETRY.attempts and len(sleeps) == PARTIAL_RETRY.attempts - 1


def test_kinesis_whole_call_error_is_raised_without_another_call(kinesis, sleeps):
    from lambdas.shared.stream import StreamError, StreamRecord, put_records

    fake = kinesis(client_error("ResourceNotFoundException", "PutRecords"), {"Records": [{}]})
    with pytest.raises(StreamError, match="ResourceNotFoundException"):
        put_records([StreamRecord(b"a", "A")])
    assert len(fake.requests) == 1 and sleeps == []


# -- Firehose PutRecordBatch ------------------------------------------------------------------------------

@pytest.fixture
def firehose(monkeypatch):
    from lambdas.shared import lake

    spec = catalogue.delivery_for_table("quotes")
    monkeypatch.setenv(spec.env_var, spec.local_name)
    lake._delivery_stream.cache_clear()

    def install(*responses):
        fake = FakeClient("put_record_batch", *responses)
        monkeypatch.setattr(lake, "firehose", lambda: fake)
        return fake
    yield install
    lake._delivery_stream.cache_clear()


def test_firehose_keeps_accepted_records_and_sends_failed_ones_again(firehose, sleeps):
    from lambdas.shared.lake import put_lake_records

    fake = firehose({"FailedPutCount": 1, "RequestResponses": [{"RecordId": "1"}, {"ErrorCode": "ServiceUnavailable"}]},
                    {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "2"}]})
    assert put_lake_records("quotes", [{"n": 1}, {"n": 2}]) == {}
    assert [len(call["Records"]) for call in fake.requests] == [2, 1]
    assert fake.requests[1]["Records"][0]["Data"] == b'{"n":2}\n'


def test_firehose_whole_call_error_fails_the_pending_records_once(firehose, sleeps):
    from lambdas.shared.lake import put_lake_records

    fake = firehose({"FailedPutCount": 1, "RequestResponses": [{"ErrorCode": "ServiceUnavailable"}, {"RecordId": "2"}]},
                    client_error("ServiceUnavailableException", "PutRecordBatch"))
    failed = put_lake_records("quotes", [{"n": 1}, {"n": 2}])
    # The second record was accepted by the first call: only the first is reported, and no third call is made
    assert list(failed) == [0] and "ServiceUnavailableException" in str(failed[0])
    assert len(fake.requests) == 2


# -- DynamoDB BatchWriteItem ------------------------------------------------------------------------------

@pytest.fixture
def dynamodb(monkeypatch):
    from lambdas.processor import tables

    monkeypatch.setenv(catalogue.METRICS_TABLE.env_var, "metrics")

    def install(*responses):
        fake = FakeClient("batch_write_item", *responses)
        monkeypatch.setattr(tables, "dynamodb", lambda: fake)
        return fake
    return install


def write_metrics(items: list[dict]) -> dict:
    """The processor's MetricsTable write (its units are counted from the item sizes: no figure here)."""
    from lambdas.processor.capacity import CapacityMeter
    from lambdas.processor.tables import DynamoMetricsTable

    return DynamoMetricsTable(CapacityMeter(estimate=True)).write(items)


def item(n: int) -> dict:
    return {"pk": "quote#AAPL", "sk": f"2026-11-24T15:00:0{n}Z#e{n}", "value": float(n)}


def unprocessed(*numbers: int):
    """A response leaving these items unprocessed, as DynamoDB does (the requests echoed back)."""
    def respond(request):
        left = [r for r in request["RequestItems"]["metrics"]
                if int(r["PutRequest"]["Item"]["sk"]["S"][-1]) in numbers]
        return {"UnprocessedItems": {"metrics": left} if left else {}}
    return respond


def test_dynamodb_sends_unprocessed_items_again_by_key(dynamodb, sleeps):
    fake = dynamodb(unprocessed(1), unprocessed())
    assert write_metrics([item(0), item(1), item(2)]) == {}
    sent = [[r["PutRequest"]["Item"]["sk"]["S"] for r in call["RequestItems"]["metrics"]] for call in fake.requests]
    assert sent == [[item(0)["sk"], item(1)["sk"], item(2)["sk"]], [item(1)["sk"]]]


def test_dynamodb_throttling_is_left_to_botocore_and_not_retried_on_top(dynamodb, sleeps):
    # Given a table that stays throttled (botocore has retried the call already)
    fake = dynamodb(client_error("ProvisionedThroughputExceededException", "BatchWriteItem"), unprocessed())
    # When a batch is written, each copy of a duplicated event shares its key's outcome
    failed = write_metrics([item(0), item(1), item(0)])
    # Then one call was made, and every position is reported with the error code
    assert len(fake.requests) == 1 and sleeps == []
    assert sorted(failed) == [0, 1, 2]
    assert all("ProvisionedThroughputExceededException" in str(error) for error in failed.values())


def test_dynamodb_items_still_unprocessed_after_the_last_attempt_are_reported(dynamodb, sleeps):
    fake = dynamodb(*(unprocessed(1) for _ in range(PARTIAL_RETRY.attempts)))
    failed = write_metrics([item(0), item(1)])
    assert list(failed) == [1] and "unprocessed" in str(failed[1])
    assert len(fake.requests) == PARTIAL_RETRY.attempts
    assert all(wait <= PARTIAL_RETRY.max_delay_s for wait in sleeps)
