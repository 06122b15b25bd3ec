"""The stream runner's Kinesis reads as JSON-protocol calls to the emulator, answered with the JSON it sent.

The runner reads its shards with Kinesis GetRecords all the time, and botocore turns every record of an
answer into Python values: the blob decoded from base64, the arrival time made an aware datetime. The runner
needs neither: the Lambda event it builds carries the data as base64 text and the arrival as epoch seconds,
which is what the answer held. botocore's parse and the runner's encoding back cost ~30 us a record (a
GetRecords of 500: 15 ms of the runner's CPU; 2 ms this way; docs/benchmarks.md).

The calls are barometer.aws.json_protocol's (signed as botocore signs them, errors raised as botocore's
ClientError, a kept connection the emulator dropped tried once more on a new one), with one attempt: a
read that fails raises, and the runner's shard thread waits and reads again, as it does for any failed read.
"""
from __future__ import annotations

from barometer.aws import AwsTarget
from barometer.aws.json_protocol import JsonProtocolClient, JsonService
from barometer.aws.retry import READ_TIMEOUT_S, CallBudget


class JsonCalls(JsonProtocolClient):
    """Calls of one JSON-protocol service (`Kinesis_20131202`, ...) to the local emulator."""

    def __init__(self, target: AwsTarget, service: JsonService, timeout_s: float = READ_TIMEOUT_S):
        if not target.is_emulator:
            raise ValueError("the runner's reads go to the local emulator only (on AWS, Lambda reads the stream)")
        credentials = target.session().get_credentials()
        super().__init__(service, target.endpoint, target.region, credentials,
                         CallBudget(read_timeout_s=timeout_s, attempts=1))
