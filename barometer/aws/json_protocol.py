"""AWS JSON-protocol calls on a kept http.client connection per thread, without botocore's per-call machinery.

botocore spends ~0.9-1.1 ms of CPU on each call besides the network (its serializer's walk of the request
shape, a dozen event hooks, endpoint rules, a signing key derived four HMACs deep, urllib3, its header
objects, its parser's walk of the answer). The processor makes one DynamoDB PutItem per key per batch and
the local runner reads its shards all the time, so that overhead was half of their CPU (docs/architecture.md,
"JSON-protocol calls"). A JsonProtocolClient sends the request botocore sends for the same parameters and
answers as botocore would, except where noted:

- requests: the parameters as JSON, `bytes` values as base64 text (botocore's blob serialization); signed
  with SigV4 as botocore's SigV4Auth signs them (a test compares them header for header), the signing key
  derived once a day;
- answers: the JSON as sent. Blobs stay base64 text (botocore decodes them to bytes, and timestamps to
  datetimes): callers here read either (barometer.ddb.from_attr), and a record sent again (UnprocessedItems)
  goes out as it came back;
- errors: botocore's ClientError with the same Error.Code and Error.Message (and modeled fields such as
  CancellationReasons); a connection that cannot be made or read raises botocore's EndpointConnectionError,
  ConnectTimeoutError or ReadTimeoutError;
- retries: botocore's standard mode (the same error codes and status codes, jittered backoff doubling to
  20 s, DynamoDB's x-amz-crc32 checked) within a CallBudget's attempts and timeouts. Not copied: the
  client-wide retry quota (a token bucket that stops retries while most calls fail) and X-Ray's per-call
  subsegments (the handler's own trace still covers each batch).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

from barometer.aws.retry import BACKGROUND, CallBudget

MAX_BACKOFF_S = 20.0
# botocore.retries.standard's TransientRetryableChecker and ThrottledRetryableChecker (a test keeps them equal)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
THROTTLED_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException"})
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
CRC32_MISMATCH = "CRC32CheckFailed"
_DROPPED = (http.client.RemoteDisconnected, http.client.CannotSendRequest, BrokenPipeError, ConnectionResetError)


@dataclass(frozen=True)
class JsonService:
    """What tells one JSON-protocol service's requests apart."""

    signing_name: str
    target_prefix: str
    json_version: str

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.json_version}"


DYNAMODB = JsonService("dynamodb", "DynamoDB_20120810", "1.0")
KINESIS = JsonService("kinesis", "Kinesis_20131202", "1.1")
FIREHOSE = JsonService("firehose", "Firehose_20150804", "1.1")


def _blob(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} in a JSON-protocol request")


class SigV4Signer:
    """SigV4 of a JSON-protocol POST to "/", as botocore.auth.SigV4Auth signs it (the same signed headers)."""

    def __init__(self, region: str, service: JsonService):
        self.region, self.service = region, service
        self._keys: dict[tuple[str, str], bytes] = {}

    def _key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = ("AWS4" + secret).encode()
            for part in (day, self.region, self.service.signing_name, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {(secret, day): key}  # one credential and one day at a time
        return key

    def headers(self, host: str, operation: str, body: bytes, credentials: Any, now: datetime) -> dict[str, str]:
        """The request's headers, Authorization included; `credentials` has access_key, secret_key and token."""
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = {"Content-Type": self.service.content_type, "Host": host, "X-Amz-Date": amz_date,
                   "X-Amz-Target": f"{self.service.target_prefix}.{operation}"}
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        signed = sorted((name.lower(), " ".join(value.split())) for name, value in headers.items())
        names = ";".join(name for name, _ in signed)
        canonical = "\n".join(("POST", "/", "", "".join(f"{n}:{v}\n" for n, v in signed), names,
                               hashlib.sha256(body).hexdigest()))
        scope = f"{day}/{self.region}/{self.service.signing_name}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._key(credentials.secret_key, day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                                    f"SignedHeaders={names}, Signature={signature}")
        return headers


class JsonProtocolClient:
    """One service's calls: `call(operation, params)` returns the answer's JSON or raises as botocore does."""

    def __init__(self, service: JsonService, endpoint_url: str, region: str, credentials: Any,
                 budget: CallBudget = BACKGROUND, *, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an endpoint URL: {endpoint_url!r}")
        self.service, self.endpoint_url, self.budget = service, endpoint_url, budget
        self.https, self.host = parts.scheme == "https", parts.netloc
        self.hostname, self.port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        self.credentials = credentials
        self.signer = SigV4Signer(region, service)
        self.sleep, self.jitter, self.clock = sleep, jitter, clock
        self._local = threading.local()
        self._ssl: ssl.SSLContext | None = None

    @classmethod
    def for_session(cls, service: JsonService, session: Any, endpoint_url: str | None,
                    budget: CallBudget = BACKGROUND) -> Self:
        """A client at the endpoint and region botocore resolves for `session` (partition, FIPS and dual-stack
        settings included), with the session's credentials."""
        from barometer.aws.retry import client_config

        meta = session.client(service.signing_name, endpoint_url=endpoint_url, config=client_config()).meta
        return cls(service, meta.endpoint_url, meta.region_name, session.get_credentials(), budget)

    def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(params, default=_blob, separators=(",", ":")).encode()
        for attempt in range(1, self.budget.attempts + 1):
            last = attempt == self.budget.attempts
            try:
                status, headers, payload = self._send(operation, body)
            except (OSError, http.client.HTTPException) as exc:
                if last:
                    raise self._connection_error(exc) from exc
                self._backoff(attempt)
                continue
            if status == 200 and _crc_matches(headers, payload):
                return json.loads(payload) if payload else {}
            error = client_error(operation, status, headers, payload, attempt - 1)
            if last or not retryable(error):
                raise error
            self._backoff(attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        """Close this thread's connection (its next call opens a new one)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # -- below one call ---------------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> None:
        self.sleep(self.jitter() * min(MAX_BACKOFF_S, 2.0 ** (attempt - 1)))

    def _send(self, operation: str, body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        if self.credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        headers = self.signer.headers(self.host, operation, body, self.credentials.get_frozen_credentials(),
                                      self.clock())
        reused = getattr(self._local, "connection", None) is not None
        try:
            return self._exchange(headers, body)
        except _DROPPED:
            if not reused:
                raise
            return self._exchange(headers, body)  # the server closed an idle kept connection: one fresh try

    def _exchange(self, headers: dict[str, str], body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = self._connection()
        try:
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except BaseException:
            self.close()  # a drop, a timeout or an interrupted read leaves the connection unusable
            raise
        if response.will_close:
            self.close()
        return response.status, response.headers, payload

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            timeout = self.budget.connect_timeout_s
            connection = (http.client.HTTPSConnection(self.hostname, self.port, context=self._context(), timeout=timeout)
                          if self.https else http.client.HTTPConnection(self.hostname, self.port, timeout=timeout))
            self._local.connecting = True
            connection.connect()
            self._local.connecting = False
            connection.sock.settimeout(self.budget.read_timeout_s)
            self._local.connection = connection
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            from botocore.httpsession import get_cert_path  # the CA bundle botocore verifies against

            self._ssl = ssl.create_default_context(cafile=get_cert_path(True))
        return self._ssl

    def _connection_error(self, exc: BaseException) -> Exception:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        if isinstance(exc, TimeoutError):
            connecting = getattr(self._local, "connecting", False)
            self._local.connecting = False
            return (ConnectTimeoutError if connecting else ReadTimeoutError)(endpoint_url=self.endpoint_url, error=exc)
        return EndpointConnectionError(endpoint_url=self.endpoint_url, error=exc)


def _crc_matches(headers: http.client.HTTPMessage, payload: bytes) -> bool:
    """DynamoDB's x-amz-crc32 of the body; botocore retries a mismatch (its RetryDDBChecksumError)."""
    expected = headers.get("x-amz-crc32")
    return expected is None or int(expected) == zlib.crc32(payload) & 0xFFFFFFFF


def client_error(operation: str, status: int, headers: Mapping[str, str], payload: bytes, retries: int = 0):
    """botocore's ClientError for an answer: its JSON parser's code (the body's `__type`, else the
    X-Amzn-ErrorType header, else the status) and message; a body that is not JSON (an HTML error page) is
    the message. Modeled fields of the body stay beside Error, as botocore leaves them."""
    from botocore.exceptions import ClientError

    try:
        body = json.loads(payload) if payload else {}
    except ValueError:
        body = None
    metadata = {"RequestId": headers.get("x-amzn-requestid", ""), "HTTPStatusCode": status,
                "HTTPHeaders": {k.lower(): v for k, v in headers.items()}, "RetryAttempts": retries}
    if status == 200:  # a good status whose body failed its checksum
        error = {"Code": CRC32_MISMATCH, "Message": "the answer's body does not match its x-amz-crc32 header"}
        return ClientError({"Error": error, "ResponseMetadata": metadata}, operation)
    if not isinstance(body, dict):
        error = {"Code": str(status), "Message": payload.decode(errors="replace")}
        return ClientError({"Error": error, "ResponseMetadata": metadata}, operation)
    code = str(body.get("__type") or (headers.get("x-amzn-errortype") or "").split(":", 1)[0] or status)
    response: dict[str, Any] = {k: v for k, v in body.items() if k not in ("__type", "message", "Message")}
    response["Error"] = {"Code": code.rsplit("#", 1)[-1], "Message": body.get("message") or body.get("Message", "")}
    response["ResponseMetadata"] = metadata
    return ClientError(response, operation)


def retryable(error: Any) -> bool:
    """botocore's standard mode: transient and throttling codes, 429 and 5xx statuses, a checksum mismatch."""
    code = error.response["Error"]["Code"]
    return (code in TRANSIENT_CODES or code in THROTTLED_CODES or code == CRC32_MISMATCH
            or error.response["ResponseMetadata"]["HTTPStatusCode"] in RETRYABLE_STATUS)

