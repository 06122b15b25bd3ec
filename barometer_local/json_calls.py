"""AWS JSON-protocol calls to the emulator, answered with the JSON the emulator sent.

The stream runner reads its shards with Kinesis GetRecords all the time, and botocore turns every record of an
answer into Python values: the blob decoded from base64, the arrival time made an aware datetime. The runner
needs neither: the Lambda event it builds carries the data as base64 text and the arrival as epoch seconds,
which is what the answer held. botocore's parse and the runner's encoding back cost ~30 us a record (a
GetRecords of 500: 15 ms of the runner's CPU; 2 ms this way; docs/benchmarks.md).

A call is signed as botocore signs it (SigV4 with the target's credentials and region), so the emulator sees
the same account and region; an error answer raises botocore's ClientError with the code and message botocore
would report; a kept connection the emulator dropped is retried once on a new one. Other failures raise, and
the runner's shard thread waits and reads again, as it does for any failed read.
"""
from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from barometer.aws import AwsTarget
from barometer.aws.retry import READ_TIMEOUT_S

_DROPPED = (http.client.RemoteDisconnected, http.client.CannotSendRequest, BrokenPipeError, ConnectionResetError)


class JsonCalls:
    """Calls of one JSON-protocol service (`Kinesis_20131202`, ...) on one kept connection, one at a time."""

    def __init__(self, target: AwsTarget, signing_name: str, target_prefix: str, json_version: str = "1.1",
                 timeout_s: float = READ_TIMEOUT_S):
        if not target.is_emulator:
            raise ValueError("raw JSON calls go to the local emulator only; AWS is called through botocore")
        parts = urlsplit(target.endpoint)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.url = f"{parts.scheme}://{parts.netloc}/"
        self.signer = SigV4Auth(target.session().get_credentials().get_frozen_credentials(), signing_name,
                                target.region)
        self.target_prefix, self.content_type = target_prefix, f"application/x-amz-json-{json_version}"
        self.timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        request = AWSRequest("POST", self.url, data=body, headers={
            "X-Amz-Target": f"{self.target_prefix}.{operation}", "Content-Type": self.content_type})
        self.signer.add_auth(request)
        headers = dict(request.headers.items())
        with self._lock:
            for attempt in (1, 2):
                fresh = self._connection is None
                if fresh:
                    self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
                try:
                    self._connection.request("POST", "/", body=body, headers=headers)
                    response = self._connection.getresponse()
                    status, payload = response.status, response.read()
                    break
                except _DROPPED:
                    self.close_connection()
                    if fresh or attempt == 2:
                        raise
                except BaseException:
                    self.close_connection()  # a timeout or an interrupted read leaves the connection unusable
                    raise
        if status != 200:
            raise ClientError(_error(status, response.getheader("X-Amzn-ErrorType", ""), payload), operation)
        return json.loads(payload) if payload else {}

    def close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _error(status: int, error_type: str, payload: bytes) -> dict[str, Any]:
    """The error botocore's JSON parser reports: the body's `__type` (or the X-Amzn-ErrorType header) and
    message; for a body that is not JSON (the emulator's 500 page), the status as the code and the body as
    the message."""
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {"Error": {"Code": str(status), "Message": payload.decode(errors="replace")},
                "ResponseMetadata": {"HTTPStatusCode": status}}
    code = str(body.get("__type") or error_type.split(":", 1)[0] or status).rsplit("#", 1)[-1]
    return {"Error": {"Code": code, "Message": body.get("message") or body.get("Message", "")},
            "ResponseMetadata": {"HTTPStatusCode": status}}
