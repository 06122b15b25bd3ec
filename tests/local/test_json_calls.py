"""The runner's GetRecords as JSON (barometer_local/json_calls.py): the same records, errors and positions as
botocore's reading gave, against the real emulator over HTTP."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from botocore.exceptions import ClientError

from barometer.aws import AwsTarget
from barometer.aws.json_protocol import KINESIS
from barometer_local.emulator import Emulator
from barometer_local.json_calls import JsonCalls
from barometer_local.sources import KinesisShardReader


@pytest.fixture(scope="module")
def emulator():
    with Emulator.start() as running:
        yield running


@pytest.fixture()
def stream(emulator, request):
    kinesis = emulator.target().client("kinesis")
    name = f"json-calls-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    described = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    return kinesis, name, described["StreamARN"], shard


def test_records_read_as_json_are_the_lambda_records_botocores_reading_gave(emulator, stream):
    # Given a shard holding records of every size, an empty one and binary data among them
    kinesis, name, arn, shard = stream
    blobs = [b"", b"\x00\xff binary", json.dumps({"kind": "quote", "price": 1.5}).encode(), b"x" * 5000]
    kinesis.put_records(StreamName=name, Records=[{"Data": blob, "PartitionKey": f"k{i}"}
                                                  for i, blob in enumerate(blobs * 3)])
    # When the runner's reader reads it, and botocore reads it too
    reader = KinesisShardReader(kinesis, name, arn, shard, None, JsonCalls(emulator.target(), KINESIS))
    records = reader.read(100)
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    expected = kinesis.get_records(ShardIterator=iterator)["Records"]
    # Then each record is the one botocore read, in the shape Lambda delivers, data as base64 text
    assert len(records) == len(expected) == 12
    for got, want in zip(records, expected):
        assert got["kinesis"]["sequenceNumber"] == want["SequenceNumber"]
        assert got["kinesis"]["partitionKey"] == want["PartitionKey"]
        assert base64.b64decode(got["kinesis"]["data"]) == want["Data"]
        assert got["kinesis"]["data"] == base64.b64encode(want["Data"]).decode()
        assert got["kinesis"]["approximateArrivalTimestamp"] == pytest.approx(
            want["ApproximateArrivalTimestamp"].timestamp(), abs=1e-3)
        assert got["eventID"] == f"{shard}:{want['SequenceNumber']}" and got["eventSourceARN"] == arn
    # And the reader goes on after the last record, and an idle shard reads empty
    assert reader.after == expected[-1]["SequenceNumber"]
    assert reader.read(100) == []


def test_an_error_answer_raises_the_client_error_botocore_raises(emulator, stream):
    # Given an iterator the emulator cannot read (it answers a 500 page), and one of a deleted stream (a 400)
    kinesis, name, _, shard = stream
    calls = JsonCalls(emulator.target(), KINESIS)
    gone = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    kinesis.delete_stream(StreamName=name)
    for iterator in ("not-an-iterator", gone):
        request = {"ShardIterator": iterator, "Limit": 10}
        # When both clients send it, then both raise the same error
        with pytest.raises(ClientError) as ours:
            calls.call("GetRecords", request)
        with pytest.raises(ClientError) as botocores:
            kinesis.get_records(**request)
        assert ours.value.response["Error"] == botocores.value.response["Error"]
        assert ours.value.response["ResponseMetadata"]["HTTPStatusCode"] == \
            botocores.value.response["ResponseMetadata"]["HTTPStatusCode"]
    # And the connection still serves the next call
    assert calls.call("ListStreams", {})["StreamNames"] is not None


class ClosingAfterEachAnswer(BaseHTTPRequestHandler):
    """Answers {"n": count} and closes the connection without saying so: a kept connection gone stale."""

    protocol_version = "HTTP/1.1"
    answered = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).answered += 1
        body = json.dumps({"n": type(self).answered}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


def test_a_dropped_kept_connection_is_retried_once_on_a_new_one():
    # Given a server that drops each connection after its answer
    server = HTTPServer(("127.0.0.1", 0), ClosingAfterEachAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        calls = JsonCalls(AwsTarget.emulator(f"http://127.0.0.1:{server.server_port}"), KINESIS)
        # When three calls are made, each after the server dropped the connection the last one used
        answers = [calls.call("GetRecords", {"ShardIterator": "x"})["n"] for _ in range(3)]
    finally:
        server.shutdown()
        server.server_close()
    # Then each was answered once, on a new connection
    assert answers == [1, 2, 3]


def test_raw_calls_refuse_aws_itself():
    with pytest.raises(ValueError, match="emulator only"):
        JsonCalls(AwsTarget(None, "us-east-1"), KINESIS)
