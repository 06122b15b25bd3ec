"""The planned request walk (barometer_local/emulator_parse.py) gives moto's own parameters.

Each body is read twice, by moto's JSON parser and by the planned walk; the parameters must be equal,
key order included (moto stores an item's attributes in the order it parsed them), or both must fail
alike (then the emulator hands the body to moto's parser).
"""
from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barometer_local import emulator_parse


def moto_parse(service: str, operation: str, body: bytes):
    from moto.core.parse import JSONParser
    from moto.core.utils import get_service_model

    operation_model = get_service_model(service).operation_model(operation)
    return JSONParser(operation_model, map_type=dict).parse({"method": "POST", "values": {}, "headers": {},
                                                             "body": body, "url_path": "/", "url_params": {}})


def ordered(value):
    """A form whose equality also compares the order of every mapping's keys."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return (type(value).__name__, value)


def both(service: str, operation: str, body: bytes):
    """moto's outcome, and the emulator's: the planned walk, or moto's parser where the walk fails."""
    planned = emulator_parse.planned_parser(service, operation)
    assert planned is not None, f"{service}:{operation} is read by moto's parser: nothing would be compared"

    def emulator_reads(b: bytes):
        try:
            return planned(b)
        except Exception:  # noqa: BLE001 - as the installed parse_parameters does
            return moto_parse(service, operation, b)

    outcomes = []
    for read in (lambda b: moto_parse(service, operation, b), emulator_reads):
        try:
            outcomes.append(("ok", ordered(read(body))))
        except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
            outcomes.append(("error", type(exc).__name__))
    return outcomes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=8)),
    st.builds(lambda n: {"N": str(n)}, st.integers() | st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(lambda b: {"B": b64(b)}, st.binary(max_size=8)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda ss: {"SS": ss}, st.lists(st.text(max_size=4), min_size=1, max_size=3)),
    st.builds(lambda bs: {"BS": [b64(b) for b in bs]}, st.lists(st.binary(max_size=4), min_size=1, max_size=3)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3))), max_leaves=10)
items = st.dictionaries(st.text(min_size=1, max_size=6), values, min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(item=items, condition=st.booleans())
def test_put_item_reads_as_moto_reads_it(item, condition):
    # Given a PutItem of nested maps, lists, sets, binary, booleans and nulls
    request = {"TableName": "t", "Item": item, "ReturnConsumedCapacity": "TOTAL"}
    if condition:
        request.update(ConditionExpression="#v = :v", ExpressionAttributeNames={"#v": "version"},
                       ExpressionAttributeValues={":v": {"N": "3"}})
    # When both parsers read it, then the parameters are equal, order included
    stock, planned = both("dynamodb", "PutItem", json.dumps(request).encode())
    assert stock[0] == "ok" and planned == stock


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(items, min_size=1, max_size=5))
def test_batch_write_item_reads_as_moto_reads_it(batch):
    request = {"RequestItems": {"t": [{"PutRequest": {"Item": i}} for i in batch]}}
    stock, planned = both("dynamodb", "BatchWriteItem", json.dumps(request).encode())
    assert stock[0] == "ok" and planned == stock


@settings(max_examples=100, deadline=None)
@given(records=st.lists(st.tuples(st.binary(max_size=30), st.text(min_size=1, max_size=10)), max_size=6))
def test_stream_puts_read_as_moto_reads_them(records):
    kinesis = {"StreamName": "s", "Records": [{"Data": b64(d), "PartitionKey": k} for d, k in records]}
    firehose = {"DeliveryStreamName": "f", "Records": [{"Data": b64(d)} for d, _ in records]}
    for service, operation, request in (("kinesis", "PutRecords", kinesis), ("firehose", "PutRecordBatch", firehose)):
        stock, planned = both(service, operation, json.dumps(request).encode())
        assert stock[0] == "ok" and planned == stock


@pytest.mark.parametrize("service, operation, body", [
    ("dynamodb", "Query", {"TableName": "t", "KeyConditionExpression": "pk = :p", "Limit": 40,
                           "ExpressionAttributeValues": {":p": {"S": "quote#AAPL"}}, "ScanIndexForward": False,
                           "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "b"}}, "ConsistentRead": True}),
    ("dynamodb", "BatchGetItem", {"RequestItems": {"t": {"Keys": [{"pk": {"S": "a"}}], "ConsistentRead": True,
                                                         "ProjectionExpression": "pk, #e",
                                                         "ExpressionAttributeNames": {"#e": "events"}}}}),
    ("dynamodb", "UpdateItem", {"TableName": "t", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET #a = :a",
                                "ExpressionAttributeNames": {"#a": "a"},
                                "ExpressionAttributeValues": {":a": {"N": "1.5"}}, "ReturnValues": "ALL_NEW"}),
    ("kinesis", "GetRecords", {"ShardIterator": "abc", "Limit": 500}),
    ("kinesis", "GetShardIterator", {"StreamName": "s", "ShardId": "shardId-000000000000",
                                     "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1764500000.123}),
    ("sqs", "ReceiveMessage", {"QueueUrl": "http://q", "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0,
                               "MessageAttributeNames": ["All"]}),
    ("cloudwatch", "PutMetricData", {"Namespace": "Barometer", "MetricData": [
        {"MetricName": "Events", "Value": 3, "Unit": "Count", "Timestamp": 1764500000,
         "Dimensions": [{"Name": "Function", "Value": "processor"}]}]}),
    # bodies moto's parser reads oddly or refuses: the planned walk must agree, or fail as it fails
    ("dynamodb", "PutItem", "not json"),
    ("dynamodb", "PutItem", []),
    ("dynamodb", "PutItem", {"TableName": "t", "Item": {"a": ["S", "x"]}}),
    ("dynamodb", "PutItem", {"TableName": "t", "Item": {"a": {"S": "x", "Unknown": 1}}}),
    ("dynamodb", "PutItem", {"TableName": "t", "Item": {"a": {"Z": "x"}}, "Extra": True}),
    ("dynamodb", "PutItem", {"TableName": "t", "Item": {"a": {"S": None}}}),
    ("dynamodb", "PutItem", {"TableName": "t", "Item": None}),
    ("dynamodb", "Query", {"TableName": "t", "Limit": "forty"}),
    ("kinesis", "PutRecords", {"StreamName": "s", "Records": [{"Data": "***", "PartitionKey": "k"}]}),
    ("kinesis", "PutRecords", {"StreamName": "s", "Records": "abc"}),
    ("kinesis", "PutRecords", {"StreamName": "s", "Records": [7]}),
])
def test_requests_read_alike_or_fail_alike(service, operation, body):
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    stock, planned = both(service, operation, raw)
    assert planned == stock


def test_items_come_back_whole_through_the_emulator(emulator):
    # Given a table on the emulator (which reads requests with the planned walk)
    ddb = emulator.target().client("dynamodb")
    ddb.create_table(TableName="parse-check", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    item = {"pk": {"S": "k"}, "n": {"N": "1.25"}, "b": {"B": b"\x00\xff"}, "m": {"M": {"z": {"S": "1"},
            "a": {"L": [{"N": "2"}, {"NULL": True}]}}}, "ss": {"SS": ["x", "y"]}, "t": {"BOOL": False}}
    # When it is written with a condition and read back
    ddb.put_item(TableName="parse-check", Item=item, ConditionExpression="attribute_not_exists(pk)")
    got = ddb.get_item(TableName="parse-check", Key={"pk": {"S": "k"}}, ConsistentRead=True)["Item"]
    # Then every value and the attribute order are as written
    assert got == item and list(got) == list(item) and list(got["m"]["M"]) == ["z", "a"]
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="parse-check", Item=item, ConditionExpression="attribute_not_exists(pk)")
