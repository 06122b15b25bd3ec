"""The streaming responses built by the planned walk (barometer_local/emulator_wire.py) are moto's own.

Each result is framed twice, once by moto's generic serializer and once by the planned walk; status,
headers and the decoded body must be equal. Results the walk does not cover go back to moto untouched.
"""
from __future__ import annotations

import json
import string
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barometer_local import emulator_wire as wire

OPERATIONS = [("kinesis", "GetRecords"), ("kinesis", "PutRecords"), ("firehose", "PutRecordBatch"),
              ("dynamodb", "PutItem")]


def framed(result: dict, service: str, operation: str, planned: bool):
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model

    service_model = get_service_model(service)
    context = ActionContext(service_model, service_model.operation_model(operation),
                            get_serializer_class(service_model.service_name, "json"), SimpleNamespace())
    if planned:
        answer = wire._wire_result_class()(wire.to_wire(result, wire.plan_for(service, operation)))
    else:
        answer = ActionResult(result)
    status, headers, body = answer.execute_result(context)
    return status, headers, json.loads(body)


naive_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
aware_times = naive_times.map(lambda t: t.replace(tzinfo=UTC))
records = st.fixed_dictionaries({
    "Data": st.binary(max_size=64),
    "PartitionKey": st.text(min_size=1, max_size=20),
    "SequenceNumber": st.integers(min_value=0, max_value=10**56).map(str),
    "ApproximateArrivalTimestamp": naive_times | aware_times,
})
get_records_results = st.fixed_dictionaries(
    {"Records": st.lists(records, max_size=8), "MillisBehindLatest": st.integers(min_value=0, max_value=10**9)},
    optional={"NextShardIterator": st.none() | st.text(alphabet=string.ascii_letters + string.digits + "=/+")})
put_entries = st.one_of(
    st.fixed_dictionaries({"SequenceNumber": st.integers(min_value=0, max_value=10**56).map(str),
                           "ShardId": st.sampled_from(["shardId-000000000000", "shardId-000000000001"])}),
    st.fixed_dictionaries({"ErrorCode": st.just("ProvisionedThroughputExceededException"),
                           "ErrorMessage": st.text(max_size=30)}))
put_records_results = st.fixed_dictionaries({"FailedRecordCount": st.integers(min_value=0, max_value=500),
                                             "Records": st.lists(put_entries, max_size=8)})
batch_results = st.fixed_dictionaries({
    "FailedPutCount": st.integers(min_value=0, max_value=500), "Encrypted": st.booleans(),
    "RequestResponses": st.lists(st.one_of(
        st.fixed_dictionaries({"RecordId": st.text(alphabet=string.hexdigits, min_size=1, max_size=40)}),
        st.fixed_dictionaries({"ErrorCode": st.just("ServiceUnavailableException"),
                               "ErrorMessage": st.text(max_size=30)})), max_size=8)})


@settings(max_examples=150, deadline=None)
@given(result=get_records_results)
def test_get_records_is_framed_as_moto_frames_it(result):
    # Given a GetRecords result (bytes, timestamps with and without milliseconds, a closed shard's None)
    # When both serializers frame it, then the answers are equal
    assert framed(result, "kinesis", "GetRecords", True) == framed(result, "kinesis", "GetRecords", False)


@settings(max_examples=100, deadline=None)
@given(result=put_records_results)
def test_put_records_is_framed_as_moto_frames_it(result):
    assert framed(result, "kinesis", "PutRecords", True) == framed(result, "kinesis", "PutRecords", False)


@settings(max_examples=100, deadline=None)
@given(result=batch_results)
def test_put_record_batch_is_framed_as_moto_frames_it(result):
    assert framed(result, "firehose", "PutRecordBatch", True) == framed(result, "firehose", "PutRecordBatch", False)


# map keys and attribute names are at least one character, as DynamoDB requires
attribute_values = st.recursive(
    st.one_of(st.fixed_dictionaries({"S": st.text(max_size=20)}),
              st.fixed_dictionaries({"N": st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str)}),
              st.fixed_dictionaries({"B": st.text(max_size=12)}), st.fixed_dictionaries({"BOOL": st.booleans()}),
              st.just({"NULL": True}), st.fixed_dictionaries({"SS": st.lists(st.text(max_size=8), max_size=3)})),
    lambda inner: st.one_of(st.fixed_dictionaries({"M": st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)}),
                            st.fixed_dictionaries({"L": st.lists(inner, max_size=3)})),
    max_leaves=8)
put_item_results = st.fixed_dictionaries({}, optional={
    "ConsumedCapacity": st.fixed_dictionaries({"TableName": st.text(min_size=1, max_size=20),
                                               "CapacityUnits": st.floats(min_value=0, max_value=400)}),
    "Attributes": st.dictionaries(st.text(min_size=1, max_size=10), attribute_values, max_size=4)})


@settings(max_examples=150, deadline=None)
@given(result=put_item_results)
def test_put_item_is_framed_as_moto_frames_it(result):
    # the key-state save's answer: its consumed capacity, and with ReturnValues=ALL_OLD the old item
    assert framed(result, "dynamodb", "PutItem", True) == framed(result, "dynamodb", "PutItem", False)


def test_sub_millisecond_timestamps_are_truncated_as_moto_truncates_them():
    # Given an arrival 999 microseconds past a millisecond
    result = {"Records": [{"Data": b"x", "PartitionKey": "k", "SequenceNumber": "1",
                           "ApproximateArrivalTimestamp": datetime(2026, 11, 30, 12, 0, 0, 1999)}],
              "MillisBehindLatest": 0}
    # When framed, then it reads 1 ms, as moto writes it
    body = framed(result, "kinesis", "GetRecords", True)[2]
    assert body["Records"][0]["ApproximateArrivalTimestamp"] == framed(result, "kinesis", "GetRecords", False)[2][
        "Records"][0]["ApproximateArrivalTimestamp"]
    assert body["Records"][0]["ApproximateArrivalTimestamp"] % 1 == pytest.approx(0.001, abs=1e-6)


@pytest.mark.parametrize("result, reason", [
    ({"Records": [], "MillisBehindLatest": 0, "Shards": []}, "is not a member"),
    ({"Records": [{"Data": 5}], "MillisBehindLatest": 0}, "where a blob goes"),
    ({"Records": [], "MillisBehindLatest": "0"}, "where a long goes"),
    ({"Records": ({},), "MillisBehindLatest": 0}, "where a list goes"),
])
def test_values_the_walk_does_not_plan_for_are_refused(result, reason):
    # Given results moto's serializer would rename, convert or drop, then the walk refuses them
    with pytest.raises(wire.Unsupported, match=reason):
        wire.to_wire(result, wire.plan_for("kinesis", "GetRecords"))


def test_a_refused_result_is_answered_by_moto_s_serializer():
    # Given an operation whose result the walk refuses
    from moto.core.responses import ActionResult

    odd = ActionResult({"Records": [], "MillisBehindLatest": 0, "Shards": []})
    answer = wire.fast(lambda self: odd, "kinesis", "GetRecords")(SimpleNamespace())
    # Then moto's own result goes out unchanged
    assert answer is odd


def test_records_round_trip_through_the_emulator(emulator):
    # Given a stream on the emulator (which answers with the planned walk)
    kinesis = emulator.target().client("kinesis")
    name = f"wire-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    sent = [(bytes([i]) * i + "é".encode(), f"key-{i}-ü") for i in range(1, 40)]
    # When records are put and read back
    put = kinesis.put_records(StreamName=name, Records=[{"Data": d, "PartitionKey": k} for d, k in sent])
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator, Limit=100)
    # Then every record comes back whole, in order, with its sequence number and arrival time
    assert put["FailedRecordCount"] == 0 and len(put["Records"]) == len(sent)
    assert [(r["Data"], r["PartitionKey"]) for r in got["Records"]] == sent
    assert [r["SequenceNumber"] for r in got["Records"]] == [r["SequenceNumber"] for r in put["Records"]]
    assert all(isinstance(r["ApproximateArrivalTimestamp"], datetime) for r in got["Records"])
    assert got["NextShardIterator"] and got["MillisBehindLatest"] >= 0
