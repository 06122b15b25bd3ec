"""DynamoDB's JSON protocol on a kept http.client connection per thread: the hot path's calls without
botocore's per-call machinery.

botocore spends ~0.9-1.1 ms of CPU on each call before and after the network (serializer walk, a dozen
event hooks, endpoint rules, signing key derived four HMACs deep, urllib3, header objects, parser walk);
a PutItem of a 1 KB key state costs DynamoDB less than that. The processor makes one PutItem per key per
batch, so that overhead was a quarter of its CPU (docs/benchmarks.md, "Session 7"). This client sends the
same request botocore sends for the same parameters and answers as botocore would, except as noted:

- requests: the parameters as JSON, `bytes` values as base64 text (botocore's blob serialization); signed
  with SigV4 as botocore's SigV4Auth signs them (tested header for header), the key derived once a day;
- answers: the JSON as sent. Binary attributes stay base64 text (botocore decodes them to bytes):
  barometer.ddb.from_attr reads both, and an item sent again (UnprocessedItems) is sent as received;
- errors: botocore's ClientError with the same Error.Code, Error.Message and modeled fields; a connection
  that cannot be made or read raises botocore's EndpointConnectionError / ConnectTimeoutError /
  ReadTimeoutError;
- retries: botocore's standard mode (same error codes and status codes, jittered backoff doubling to 20 s),
  within the CallBudget's attempts and timeouts. Not copied: its client-wide retry quota (a token bucket
  that stops retries when most calls fail), and X-Ray's per-call subsegments (the handler's own trace
  still covers each batch).

Endpoint, region and credentials come from a botocore session once (refreshable credentials are asked for
their current frozen value on each call, which is what botocore does).
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
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from barometer.aws.retry import BACKGROUND, CallBudget

SERVICE = "dynamodb"
TARGET_PREFIX = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_BACKOFF_S = 20.0
# botocore.retries.standard's TransientRetryableChecker and ThrottledRetryableChecker (a test keeps them equal)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
THROTTLED_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
THROTTLING_STATUS = 429
_DROPPED = (http.client.RemoteDisconnected, http.client.CannotSendRequest, BrokenPipeError, ConnectionResetError)


def _blob(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} to DynamoDB")


class SigV4Signer:
    """SigV4 of a JSON-protocol POST to "/", as botocore.auth.SigV4Auth signs it (same signed headers)."""

    def __init__(self, region: str, service: str = SERVICE):
        self.region, self.service = region, service
        self._keys: dict[tuple[str, str], bytes] = {}

    def _key(self, secret: str, day: str) -> bytes:
        key = self._keys.get((secret, day))
        if key is None:
            key = ("AWS4" + secret).encode()
            for part in (day, self.region, self.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {(secret, day): key}  # one credential, one day at a time
        return key

    def headers(self, host: str, target: str, body: bytes, credentials: Any, now: datetime) -> dict[str, str]:
        """The request's headers, Authorization included; `credentials` has access_key, secret_key, token."""
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = {"Content-Type": CONTENT_TYPE, "Host": host, "X-Amz-Date": amz_date, "X-Amz-Target": target}
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        signed = sorted((name.lower(), " ".join(value.split())) for name, value in headers.items())
        signed_names = ";".join(name for name, _ in signed)
        canonical = "\n".join(("POST", "/", "", "".join(f"{n}:{v}\n" for n, v in signed), signed_names,
                               hashlib.sha256(body).hexdigest()))
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._key(credentials.secret_key, day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                                    f"SignedHeaders={signed_names}, Signature={signature}")
        return headers


class DynamoDBJson:
    """The DynamoDB calls the processor makes, with botocore's method names and parameters."""

    def __init__(self, endpoint_url: str, region: str, credentials: Any, budget: CallBudget = BACKGROUND, *,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        parts = urlsplit(endpoint_url)
        self.endpoint_url = endpoint_url
        self.https = parts.scheme == "https"
        self.host = parts.netloc
        self.hostname, self.port = parts.hostname or "", parts.port or (443 if self.https else 80)
        self.credentials, self.budget = credentials, budget
        self.signer = SigV4Signer(region)
        self.sleep, self.jitter, self.clock = sleep, jitter, clock
        self._local = threading.local()
        self._ssl: ssl.SSLContext | None = None

    # -- botocore's names ---------------------------------------------------------------------------
    def put_item(self, **params: Any) -> dict[str, Any]:
        return self.call("PutItem", params)

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("GetItem", params)

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchWriteItem", params)

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("BatchGetItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self.call("Query", params)

    # -- one call -------------------------------------------------------------------------------------
    def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(params, default=_blob, separators=(",", ":")).encode()
        target = f"{TARGET_PREFIX}.{operation}"
        for attempt in range(1, self.budget.attempts + 1):
            last = attempt == self.budget.attempts
            try:
                status, headers, payload = self._send(target, body)
            except (OSError, http.client.HTTPException) as exc:
                if last:
                    raise self._connection_error(exc) from exc
                self._backoff(attempt)
                continue
            if status == 200 and _crc_matches(headers, payload):
                return json.loads(payload) if payload else {}
            error = _client_error(operation, status, headers, payload, attempt - 1)
            if last or not _retryable(error, status):
                raise error
            self._backoff(attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> None:
        self.sleep(self.jitter() * min(MAX_BACKOFF_S, 2.0 ** (attempt - 1)))

    def _send(self, target: str, body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        credentials = self.credentials.get_frozen_credentials()
        headers = self.signer.headers(self.host, target, body, credentials, self.clock())
        reused = getattr(self._local, "connection", None) is not None
        try:
            return self._exchange(headers, body)
        except _DROPPED:
            self.close()
            if not reused:
                raise
            return self._exchange(headers, body)  # DynamoDB closed an idle kept connection: one fresh try
        except BaseException:
            self.close()  # a timeout or an interrupted read leaves the connection unusable
            raise

    def _exchange(self, headers: dict[str, str], body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = self._connection()
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.will_close:
            self.close()
        return response.status, response.headers, payload

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self.https:
                connection = http.client.HTTPSConnection(self.hostname, self.port, context=self._context(),
                                                         timeout=self.budget.connect_timeout_s)
            else:
                connection = http.client.HTTPConnection(self.hostname, self.port,
                                                        timeout=self.budget.connect_timeout_s)
            connection.connect()
            connection.sock.settimeout(self.budget.read_timeout_s)
            self._local.connection = connection
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            from botocore.httpsession import get_cert_path  # the CA bundle botocore verifies against

            self._ssl = ssl.create_default_context(cafile=get_cert_path(True))
        return self._ssl

    def close(self) -> None:
        """Close this thread's connection (the next call opens a new one)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _connection_error(self, exc: BaseException) -> Exception:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        if isinstance(exc, TimeoutError):
            connected = getattr(self._local, "connection", None) is not None
            cls = ReadTimeoutError if connected else ConnectTimeoutError
            return cls(endpoint_url=self.endpoint_url, error=exc)
        return EndpointConnectionError(endpoint_url=self.endpoint_url, error=exc)


def _crc_matches(headers: http.client.HTTPMessage, payload: bytes) -> bool:
    """DynamoDB's x-amz-crc32 of the body; a mismatch is retried (botocore's RetryDDBChecksumError)."""
    expected = headers.get("x-amz-crc32")
    return expected is None or int(expected) == zlib.crc32(payload) & 0xFFFFFFFF


def _client_error(operation: str, status: int, headers: http.client.HTTPMessage, payload: bytes,
                  retries: int) -> Exception:
    """botocore's ClientError for an error answer (its JSON parser's reading of the code and message)."""
    from botocore.exceptions import ClientError

    try:
        body = json.loads(payload) if payload else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("__type") or headers.get("x-amzn-errortype") or "").split(":")[0].rsplit("#", 1)[-1]
    if status == 200:
        code, message = "CRC32CheckFailed", "the answer's body does not match its x-amz-crc32 header"
    else:
        message = body.get("message") or body.get("Message") or ""
        code = code or str(status)
        if not message and not body:
            message = http.client.responses.get(status, "")
    response: dict[str, Any] = {k: v for k, v in body.items() if k not in ("__type", "message", "Message")}
    response["Error"] = {"Code": code, "Message": message}
    response["ResponseMetadata"] = {"RequestId": headers.get("x-amzn-requestid", ""), "HTTPStatusCode": status,
                                    "HTTPHeaders": {k.lower(): v for k, v in headers.items()},
                                    "RetryAttempts": retries}
    return ClientError(response, operation)


def _retryable(error: Any, status: int) -> bool:
    code = error.response["Error"]["Code"]
    return (code in TRANSIENT_CODES or code in THROTTLED_CODES or status in TRANSIENT_STATUS
            or status == THROTTLING_STATUS or code == "CRC32CheckFailed")
