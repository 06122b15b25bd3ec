"""The hot JSON-protocol operations answered without Flask (barometer_local/emulator_dispatch.py): the same
status, headers and body as moto's own Flask path, over HTTP, for successes and errors alike."""
from __future__ import annotations

import base64
import http.client
import json
import threading

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from barometer_local import emulator_server
from barometer_local.emulator_dispatch import DIRECT_TARGETS, direct

VARYING = {"date", "x-amzn-requestid", "x-amz-crc32", "server"}  # per answer, or a checksum of a body that names its table


@pytest.fixture(scope="module")
def servers():
    """Two servers over the same in-process moto backends: moto's dispatcher, and the direct one around it."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    emulator_server.install()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    dispatcher.debug = True
    running = []
    for app in (dispatcher, direct(dispatcher)):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
    yield [s.server_port for s in running]
    for server in running:
        server.shutdown()


def call(port: int, target: str, body: dict, service: str, origin: str | None = None) -> tuple[int, dict, str]:
    data = json.dumps(body).encode()
    version = "1.0" if target.startswith("DynamoDB") else "1.1"
    request = AWSRequest("POST", f"http://127.0.0.1:{port}/", data=data,
                         headers={"X-Amz-Target": target, "Content-Type": f"application/x-amz-json-{version}",
                                  **({"Origin": origin} if origin else {})})
    SigV4Auth(Credentials("testing", "testing"), service, "us-east-1").add_auth(request)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/", body=data, headers=dict(request.headers.items()))
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders() if k.lower() not in VARYING}, \
        response.read().decode()
    connection.close()
    return answer


def both(servers, target: str, make_body, service: str, **kwargs) -> tuple[tuple, tuple]:
    """The same request to each server, on its own resource (named with "sidea" or "sideb")."""
    flask_port, direct_port = servers
    first = call(flask_port, target, make_body("sidea"), service, **kwargs)
    second = call(direct_port, target, make_body("sideb"), service, **kwargs)
    return first, (second[0], second[1], second[2].replace("sideb", "sidea"))


def test_dynamodb_hot_operations_answer_as_moto_does(servers):
    for side, port in zip(("sidea", "sideb"), servers):
        call(port, "DynamoDB_20120810.CreateTable", {
            "TableName": f"t-{side}", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}]}, "dynamodb")
    item = {"pk": {"S": "quote#A"}, "sk": {"S": "1"}, "version": {"N": "1"}, "state": {"B": "AAE="}}
    requests = [
        ("PutItem", lambda s: {"TableName": f"t-{s}", "Item": item, "ReturnConsumedCapacity": "TOTAL",
                               "ConditionExpression": "attribute_not_exists(pk)"}),
        ("PutItem", lambda s: {"TableName": f"t-{s}", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}),
        ("PutItem", lambda s: {"TableName": f"t-{s}", "Item": {**item, "version": {"N": "2"}},
                               "ConditionExpression": "#v = :v", "ExpressionAttributeNames": {"#v": "version"},
                               "ExpressionAttributeValues": {":v": {"N": "1"}}, "ReturnValues": "ALL_OLD"}),
        ("PutItem", lambda s: {"TableName": f"missing-{s}", "Item": item}),
        ("PutItem", lambda s: {"TableName": f"t-{s}", "Item": {"pk": {"S": "no sort key"}}}),
        ("BatchWriteItem", lambda s: {"RequestItems": {f"t-{s}": [
            {"PutRequest": {"Item": {"pk": {"S": "quote#B"}, "sk": {"S": str(n)}, "n": {"N": str(n)}}}}
            for n in range(25)]}, "ReturnConsumedCapacity": "TOTAL"}),
        ("GetItem", lambda s: {"TableName": f"t-{s}", "Key": {"pk": {"S": "quote#A"}, "sk": {"S": "1"}},
                               "ConsistentRead": True}),
        ("BatchGetItem", lambda s: {"RequestItems": {f"t-{s}": {"Keys": [
            {"pk": {"S": "quote#B"}, "sk": {"S": str(n)}} for n in range(5)]}}}),
        ("Query", lambda s: {"TableName": f"t-{s}", "KeyConditionExpression": "pk = :pk",
                             "ExpressionAttributeValues": {":pk": {"S": "quote#B"}}, "Limit": 7,
                             "ScanIndexForward": False}),
    ]
    from flask import request_started

    flask_requests = []

    def started(sender, **extra):
        flask_requests.append(sender)

    request_started.connect(started)
    try:
        for operation, make_body in requests:
            target = f"DynamoDB_20120810.{operation}"
            assert target in DIRECT_TARGETS
            flask_answer, direct_answer = both(servers, target, make_body, "dynamodb")
            assert direct_answer == flask_answer, operation
    finally:
        request_started.disconnect(started)
    # And only moto's own path went through Flask: one request of each pair
    assert len(flask_requests) == len(requests)


def test_stream_operations_and_everything_else_answer_as_moto_does(servers):
    for side, port in zip(("sidea", "sideb"), servers):
        call(port, "Kinesis_20131202.CreateStream", {"StreamName": f"s-{side}", "ShardCount": 1}, "kinesis")
    records = [{"Data": base64.b64encode(f"event {n}".encode()).decode(), "PartitionKey": f"k{n}"} for n in range(20)]
    cases = [
        ("Kinesis_20131202.PutRecords", lambda s: {"StreamName": f"s-{s}", "Records": records}, "kinesis", {}),
        ("Kinesis_20131202.PutRecords", lambda s: {"StreamName": f"missing-{s}", "Records": records}, "kinesis", {}),
        ("Kinesis_20131202.GetRecords", lambda s: {"ShardIterator": "not-an-iterator"}, "kinesis", {}),
        ("Firehose_20150804.PutRecordBatch", lambda s: {"DeliveryStreamName": f"missing-{s}",
                                                        "Records": [{"Data": "eA=="}]}, "firehose", {}),
        # not answered directly: another operation, and a browser's request with an Origin
        ("Kinesis_20131202.ListShards", lambda s: {"StreamName": f"s-{s}"}, "kinesis", {}),
        ("Kinesis_20131202.PutRecords", lambda s: {"StreamName": f"s-{s}", "Records": records[:2]}, "kinesis",
         {"origin": "http://localhost:8000"}),
    ]
    for target, make_body, service, kwargs in cases:
        flask_answer, direct_answer = both(servers, target, make_body, service, **kwargs)
        # Sequence numbers and shard iterators differ between the two streams; what they are and the rest agree
        assert direct_answer[:2] == flask_answer[:2], target
        assert _shape(direct_answer[2]) == _shape(flask_answer[2]), target


def _shape(body: str):
    """A JSON body with its generated values (sequence numbers, iterators) reduced to their type."""
    try:
        value = json.loads(body)
    except ValueError:
        return body

    def walk(v, key=""):
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, key) for x in v]
        if key in ("SequenceNumber", "NextShardIterator", "ShardId") and isinstance(v, str):
            return type(v).__name__
        return v

    return walk(value)
