"""The one retry policy for AWS calls.

Two layers, never stacked on the same failure:
- a whole call (throttled, 5xx, dropped connection) is retried by botocore itself, in standard mode,
  as `client_config()` sets it, or by `json_protocol.JsonProtocolClient` the same way within the same
  CallBudget (the hot path's calls); code above the client does not retry it again;
- a call that succeeds but leaves some records behind (Kinesis PutRecords per-record ErrorCode,
  Firehose PutRecordBatch FailedPutCount, DynamoDB BatchWriteItem UnprocessedItems) is something
  botocore cannot see: `retry_partial` sends the rejected records again, with bounded exponential
  backoff, and keeps what was accepted.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Attempts of one call, the first included (the former `max_attempts: 5` counted retries: the same 6).
# Standard mode retries throttling, 5xx and connection errors with jittered exponential backoff.
MAX_ATTEMPTS = 6
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 30
MAX_POOL_CONNECTIONS = 32


@dataclass(frozen=True)
class CallBudget:
    """How long one AWS call may take in all: per attempt a connect and a read timeout, and attempts."""

    connect_timeout_s: float = CONNECT_TIMEOUT_S
    read_timeout_s: float = READ_TIMEOUT_S
    attempts: int = MAX_ATTEMPTS

    def worst_case_s(self) -> float:
        """The longest a call can take before it fails (standard mode's backoff: at most 20 s a retry, jittered
        from base 2**n seconds; here bounded by 2**n for the few retries an interactive budget allows)."""
        backoff = sum(min(20.0, 2.0 ** n) for n in range(self.attempts - 1))
        return self.attempts * (self.connect_timeout_s + self.read_timeout_s) + backoff


BACKGROUND = CallBudget()
# A caller that answers a client waiting on it (the API's POST /v1/events): fail within a few seconds and say
# "retry" (503 with Retry-After) rather than hold the client for minutes while a service is unresponsive;
# the client's own retry takes over. A Kinesis PutRecords answers in milliseconds when healthy.
INTERACTIVE = CallBudget(connect_timeout_s=1.0, read_timeout_s=2.0, attempts=2)


def client_config(*, validate_parameters: bool = True, budget: CallBudget = BACKGROUND) -> Any:
    """The botocore Config every Barometer client uses.

    `validate_parameters=False` skips botocore's client-side check of each request against the service
    model (a few hundred microseconds of CPU per call): only for requests built by code, never from
    user input, against a service that validates them itself (DynamoDB does, with a ValidationException).
    `budget` bounds each call (timeouts, attempts): BACKGROUND for consumers, INTERACTIVE for the API.
    """
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": budget.attempts},
                  connect_timeout=budget.connect_timeout_s, read_timeout=budget.read_timeout_s,
                  max_pool_connections=MAX_POOL_CONNECTIONS, parameter_validation=validate_parameters)


@dataclass(frozen=True)
class PartialRetry:
    """How often the rejected part of a batch is sent again, and how long to wait in between."""

    attempts: int = 5  # calls in all, the first included
    base_delay_s: float = 0.05
    max_delay_s: float = 1.0

    def delay_s(self, retry: int) -> float:
        """The wait before retry number `retry` (0 for the first retry): doubling, capped."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** retry)


PARTIAL_RETRY = PartialRetry()


class BatchCallError(RuntimeError):
    """A whole batch call failed (botocore had already retried it); `pending` are the positions it held.

    Positions accepted by an earlier call of the same batch are not in `pending`: they stay written.
    """

    def __init__(self, pending: Sequence[int], cause: Exception):
        self.pending = tuple(pending)
        self.cause = cause
        self.code = getattr(cause, "response", {}).get("Error", {}).get("Code", "") or type(cause).__name__
        super().__init__(f"{self.code}: {cause}")


# send(positions) makes ONE call for the records at those positions and returns {position: reason}
# of the ones the service did not accept (an empty mapping when it took them all).
Send = Callable[[list[int]], Mapping[int, str]]


def retry_partial(positions: Iterable[int], send: Send, *, policy: PartialRetry = PARTIAL_RETRY,
                  sleep: Callable[[float], None] | None = None) -> dict[int, str]:
    """Send the records, then the rejected ones again, until none is rejected or the attempts run out.

    Returns {position: last reason} of the records still rejected. A ClientError from `send` is
    not retried here (botocore already did): it is raised as BatchCallError with the positions
    still pending.
    """
    from botocore.exceptions import ClientError

    sleep = sleep or time.sleep
    pending = list(positions)
    rejected: Mapping[int, str] = {}
    for attempt in range(policy.attempts):
        if not pending:
            break
        if attempt:
            sleep(policy.delay_s(attempt - 1))
        try:
            rejected = send(pending)
        except ClientError as exc:
            raise BatchCallError(pending, exc) from exc
        pending = [p for p in pending if p in rejected]
    return {p: rejected[p] for p in pending}


def rejected_records(positions: Sequence[int], results: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """{position: "ErrorCode: ErrorMessage"} of the per-record results that carry an ErrorCode
    (Kinesis PutRecords `Records`, Firehose PutRecordBatch `RequestResponses`, in request order)."""
    return {p: f"{r['ErrorCode']}: {r.get('ErrorMessage') or ''}".rstrip(": ")
            for p, r in zip(positions, results) if r.get("ErrorCode")}
