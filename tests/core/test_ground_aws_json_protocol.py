"""JSON-protocol calls without botocore's per-call machinery (barometer/aws/json_protocol.py): signed, retried
and failing as botocore's client does. Scripted HTTP servers stand in for the service (no AWS needed)."""
from __future__ import annotations

import json
import socket
import threading
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from barometer.aws import json_protocol
from barometer.aws.json_clients import DynamoDBJson, FirehoseJson
from barometer.aws.json_protocol import DYNAMODB, FIREHOSE, KINESIS, JsonProtocolClient, SigV4Signer
from barometer.aws.retry import CallBudget

NOW = datetime(2026, 11, 30, 23, 59, 58, tzinfo=UTC)


# -- signing ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "session-token/with+odd=chars"])
@pytest.mark.parametrize(("service", "operation"), [(DYNAMODB, "PutItem"), (KINESIS, "GetRecords")])
def test_a_request_is_signed_as_botocores_sigv4auth_signs_it(monkeypatch, token, service, operation):
    # Given a request body and credentials, and botocore's signer at the same instant
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = json.dumps({"TableName": "t", "Item": {"pk": {"S": "quote#AAPL"}}}).encode()
    ours = SigV4Signer("eu-west-1", service).headers("example.test:8443", operation, body, credentials, NOW)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: NOW.replace(tzinfo=None))
    request = AWSRequest("POST", "https://example.test:8443/", data=body, headers={
        "Content-Type": service.content_type, "X-Amz-Target": f"{service.target_prefix}.{operation}"})
    SigV4Auth(credentials, service.signing_name, "eu-west-1").add_auth(request)
    # Then the signed headers and the signature are botocore's
    theirs = dict(request.headers.items())
    assert ours["Authorization"] == theirs["Authorization"]
    for name in ("X-Amz-Date", "X-Amz-Target", "Content-Type", "X-Amz-Security-Token"):
        assert ours.get(name) == theirs.get(name)


def test_the_signing_key_is_derived_once_a_day_per_credential():
    signer = SigV4Signer("us-east-1", DYNAMODB)
    credentials = Credentials("AKID", "secret")
    first = signer._key(credentials.secret_key, "20261130")
    assert signer._key(credentials.secret_key, "20261130") is first
    assert signer._key(credentials.secret_key, "20261201") != first
    assert signer._key("rotated", "20261201") != signer._key(credentials.secret_key, "20261201")


# -- a scripted service ----------------------------------------------------------------------------------
class Scripted(BaseHTTPRequestHandler):
    """Answers each POST with the next (status, headers, body) of the server's script; records what came."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.received.append((self.client_address[1], dict(self.headers.items()), body))
        step = server.script.pop(0) if server.script else (200, {}, b"{}")
        if step == "hang":
            server.release.wait(5)
            return
        status, headers, payload = step
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    server.script, server.received, server.release = [], [], threading.Event()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def client_of(server, attempts: int = 6, read_timeout_s: float = 5.0, sleeps: list | None = None) -> DynamoDBJson:
    return DynamoDBJson(DYNAMODB, f"http://127.0.0.1:{server.server_port}", "us-east-1", Credentials("a", "b"),
                        CallBudget(connect_timeout_s=1.0, read_timeout_s=read_timeout_s, attempts=attempts),
                        sleep=(sleeps if sleeps is not None else []).append, jitter=lambda: 1.0, clock=lambda: NOW)


def error(code: str, message: str = "m", status: int = 400, **fields) -> tuple[int, dict, bytes]:
    return status, {}, json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message,
                                   **fields}).encode()


def test_a_call_sends_the_parameters_as_json_with_blobs_as_base64(service):
    # Given the service answers with an item
    service.script = [(200, {}, b'{"Item": {"pk": {"S": "k"}, "blob": {"B": "AP8="}}}')]
    # When an item holding bytes is written
    answer = client_of(service).put_item(TableName="t", Item={"pk": {"S": "k"}, "blob": {"B": b"\x00\xff"}})
    # Then the body is botocore's JSON for it, to DynamoDB's target, and the answer is the JSON sent back
    _, headers, body = service.received[0]
    assert json.loads(body) == {"TableName": "t", "Item": {"pk": {"S": "k"}, "blob": {"B": "AP8="}}}
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert answer == {"Item": {"pk": {"S": "k"}, "blob": {"B": "AP8="}}}


def test_a_throttled_call_is_retried_with_doubling_backoff_until_the_budget_is_spent(service):
    # Given a table that stays throttled
    service.script = [error("ProvisionedThroughputExceededException")] * 6
    sleeps: list[float] = []
    # When a call is made with six attempts
    with pytest.raises(ClientError) as raised:
        client_of(service, attempts=6, sleeps=sleeps).put_item(TableName="t", Item={})
    # Then it was tried six times, waiting 1, 2, 4, 8, 16 s (jitter 1.0), and fails with DynamoDB's code
    assert len(service.received) == 6
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert raised.value.response["Error"] == {"Code": "ProvisionedThroughputExceededException", "Message": "m"}
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 5
    assert raised.value.operation_name == "PutItem"


def test_the_backoff_is_capped_at_twenty_seconds(service):
    service.script = [(503, {}, b"")] * 8
    sleeps: list[float] = []
    with pytest.raises(ClientError):
        client_of(service, attempts=8, sleeps=sleeps).query(TableName="t")
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]


@pytest.mark.parametrize("step", [
    (500, {}, b"<html>boom</html>"), (502, {}, b""), error("ThrottlingException"), error("RequestLimitExceeded"),
    (429, {}, b""), error("TransactionInProgressException"),
    (200, {"x-amz-crc32": "1"}, b'{"Item": {}}'),  # a body that does not match its checksum
])
def test_transient_answers_are_retried_and_the_next_answer_returned(service, step):
    service.script = [step, (200, {"x-amz-crc32": str(zlib.crc32(b'{"ok": 1}'))}, b'{"ok": 1}')]
    sleeps: list[float] = []
    assert client_of(service, sleeps=sleeps).get_item(TableName="t", Key={}) == {"ok": 1}
    assert len(service.received) == 2 and sleeps == [1.0]


@pytest.mark.parametrize("code", ["ConditionalCheckFailedException", "ValidationException", "ResourceNotFoundException",
                                  "AccessDeniedException"])
def test_a_refusal_is_raised_at_once_with_its_code_message_and_modeled_fields(service, code):
    service.script = [error(code, "the reason", Item={"pk": {"S": "k"}})]
    sleeps: list[float] = []
    with pytest.raises(ClientError) as raised:
        client_of(service, sleeps=sleeps).put_item(TableName="t", Item={})
    assert len(service.received) == 1 and sleeps == []
    assert raised.value.response["Error"] == {"Code": code, "Message": "the reason"}
    assert raised.value.response["Item"] == {"pk": {"S": "k"}}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_error_page_that_is_not_json_is_the_message_and_its_status_the_code(service):
    service.script = [(500, {}, b"<html>Internal Server Error</html>")]
    with pytest.raises(ClientError) as raised:
        client_of(service, attempts=1).batch_write_item(RequestItems={})
    assert raised.value.response["Error"] == {"Code": "500", "Message": "<html>Internal Server Error</html>"}


def test_the_error_type_header_names_the_code_when_the_body_does_not(service):
    service.script = [(400, {"X-Amzn-ErrorType": "UnrecognizedClientException:http://internal.amazon.com/"},
                       b'{"message": "bad token"}')]
    with pytest.raises(ClientError) as raised:
        client_of(service, attempts=1).put_item(TableName="t", Item={})
    assert raised.value.response["Error"] == {"Code": "UnrecognizedClientException", "Message": "bad token"}


def test_no_listener_is_an_endpoint_connection_error_after_every_attempt():
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    client = DynamoDBJson(DYNAMODB, f"http://127.0.0.1:{port}", "us-east-1", Credentials("a", "b"),
                          CallBudget(connect_timeout_s=1.0, attempts=3), sleep=sleeps.append, jitter=lambda: 0.5)
    with pytest.raises(EndpointConnectionError, match=f"127.0.0.1:{port}"):
        client.put_item(TableName="t", Item={})
    assert sleeps == [0.5, 1.0]


def test_an_answer_slower_than_the_read_timeout_is_a_read_timeout_error(service):
    service.script = ["hang"]
    with pytest.raises(ReadTimeoutError):
        client_of(service, attempts=1, read_timeout_s=0.2).put_item(TableName="t", Item={})


def test_a_connect_timeout_is_a_connect_timeout_error(monkeypatch):
    def slow_connect(self):
        raise TimeoutError("timed out")

    monkeypatch.setattr("http.client.HTTPConnection.connect", slow_connect)
    client = DynamoDBJson(DYNAMODB, "http://127.0.0.1:9", "us-east-1", Credentials("a", "b"), CallBudget(attempts=1))
    with pytest.raises(ConnectTimeoutError):
        client.put_item(TableName="t", Item={})


def test_missing_credentials_fail_before_anything_is_sent(service):
    client = DynamoDBJson(DYNAMODB, f"http://127.0.0.1:{service.server_port}", "us-east-1", None)
    with pytest.raises(NoCredentialsError):
        client.put_item(TableName="t", Item={})
    assert service.received == []


def test_each_thread_keeps_one_connection_of_its_own(service):
    client = client_of(service)
    for _ in range(3):
        client.put_item(TableName="t", Item={})
    other = threading.Thread(target=lambda: [client.put_item(TableName="t", Item={}) for _ in range(3)])
    other.start()
    other.join()
    ports = [port for port, _, _ in service.received]
    assert len(ports) == 6 and len(set(ports[:3])) == 1 and len(set(ports[3:])) == 1 and ports[0] != ports[3]


def test_the_retried_codes_are_botocores_standard_modes():
    assert json_protocol.TRANSIENT_CODES == set(TransientRetryableChecker._TRANSIENT_ERROR_CODES)
    assert json_protocol.THROTTLED_CODES == set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES)
    assert json_protocol.RETRYABLE_STATUS == set(TransientRetryableChecker._TRANSIENT_STATUS_CODES) | {429}


@pytest.mark.parametrize(("region", "endpoint"), [
    ("us-east-1", "https://dynamodb.us-east-1.amazonaws.com"),
    ("cn-north-1", "https://dynamodb.cn-north-1.amazonaws.com.cn"),
])
def test_the_endpoint_and_region_are_botocores_resolution(region, endpoint):
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name=region)
    client = DynamoDBJson.for_session(DYNAMODB, session, None)
    assert client.endpoint_url == endpoint and client.signer.region == region
    assert client.https and client.port == 443


def test_a_url_that_is_not_an_endpoint_is_refused():
    with pytest.raises(ValueError, match="not an endpoint URL"):
        JsonProtocolClient(DYNAMODB, "dynamodb.us-east-1", "us-east-1", None)


# -- against the emulator: botocore's answers and errors ---------------------------------------------------
@pytest.fixture
def tables(emulator):
    ddb = emulator.target().client("dynamodb")
    name = "json-protocol-parity"
    if name not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}])
    target = emulator.target()
    return ddb, DynamoDBJson.for_session(DYNAMODB, target.session(), target.endpoint), name


@pytest.mark.emulator
def test_items_written_and_read_are_the_ones_botocore_writes_and_reads(tables):
    # Given an item with every kind of attribute, written by this client
    ddb, ours, name = tables
    item = {"pk": {"S": "quote#PARITY"}, "sk": {"S": "1"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"},
            "m": {"M": {"l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]}}}, "ss": {"SS": ["a", "b"]}}
    answer = ours.put_item(TableName=name, Item=item, ReturnConsumedCapacity="TOTAL")
    # Then botocore reads back the same item, and both report the same units
    assert ddb.get_item(TableName=name, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True)["Item"] == item
    assert answer["ConsumedCapacity"] == ddb.put_item(TableName=name, Item=item,
                                                      ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    # And a Query answers what botocore's does, blobs as base64 text where botocore gives bytes
    query = {"TableName": name, "KeyConditionExpression": "pk = :pk",
             "ExpressionAttributeValues": {":pk": {"S": "quote#PARITY"}}, "ConsistentRead": True}
    got, expected = ours.query(**query), ddb.query(**query)
    assert got["Items"][0]["b"] == {"B": "AP8="} and expected["Items"][0]["b"] == {"B": b"\x00\xff"}
    got["Items"][0]["b"] = expected["Items"][0]["b"]
    assert got["Items"] == expected["Items"] and got["Count"] == expected["Count"] == 1


@pytest.mark.emulator
@pytest.mark.parametrize("request_", [
    {"TableName": "json-protocol-parity", "Item": {"pk": {"S": "quote#PARITY"}, "sk": {"S": "1"}},
     "ConditionExpression": "attribute_not_exists(pk)"},
    {"TableName": "no-such-table", "Item": {"pk": {"S": "k"}}},
    {"TableName": "json-protocol-parity", "Item": {"pk": {"S": "k"}}},  # the sort key is missing
], ids=["condition-failed", "missing-table", "invalid-item"])
def test_a_refused_call_raises_the_client_error_botocore_raises(tables, request_):
    ddb, ours, name = tables
    ddb.put_item(TableName=name, Item={"pk": {"S": "quote#PARITY"}, "sk": {"S": "1"}})
    with pytest.raises(ClientError) as mine:
        ours.put_item(**request_)
    with pytest.raises(ClientError) as botocores:
        ddb.put_item(**request_)
    assert mine.value.response["Error"] == botocores.value.response["Error"]
    assert mine.value.response["ResponseMetadata"]["HTTPStatusCode"] == \
        botocores.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.emulator
def test_firehose_records_sent_as_json_arrive_byte_for_byte(emulator):
    # Given a delivery stream writing to a bucket
    target = emulator.target()
    s3, firehose = target.client("s3"), target.client("firehose")
    s3.create_bucket(Bucket="json-protocol-lake")
    firehose.create_delivery_stream(
        DeliveryStreamName="json-protocol-lake", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": "arn:aws:s3:::json-protocol-lake", "Prefix": "staged/"})
    records = [b'{"n":1}\n', b"\x00\xff not text\n"]
    # When the JSON-protocol client puts a batch
    ours = FirehoseJson.for_session(FIREHOSE, target.session(), target.endpoint)
    answer = ours.put_record_batch(DeliveryStreamName="json-protocol-lake", Records=[{"Data": r} for r in records])
    # Then it answers as botocore reads it, and the bucket holds exactly the bytes sent
    assert answer["FailedPutCount"] == 0 and len(answer["RequestResponses"]) == 2
    assert all(r.get("RecordId") for r in answer["RequestResponses"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="json-protocol-lake")["Contents"]]
    assert b"".join(s3.get_object(Bucket="json-protocol-lake", Key=k)["Body"].read() for k in keys) == b"".join(records)
