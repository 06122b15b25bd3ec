"""The one retry policy: botocore retries whole calls; retry_partial re-sends only what a batch call left."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from barometer.aws import BatchCallError, PartialRetry, client_config, retry_partial
from barometer.aws.retry import MAX_ATTEMPTS, rejected_records


class FakeBatchCall:
    """Answers each call with the next scripted outcome: {position: reason} rejected, or an exception."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[list[int]] = []

    def __call__(self, pending: list[int]) -> dict[int, str]:
        self.calls.append(list(pending))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return {p: reason for p, reason in outcome.items() if p in pending}


def throttled(code: str = "ProvisionedThroughputExceededException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "BatchWriteItem")


def test_a_batch_accepted_whole_is_sent_once_without_waiting():
    # Given a service that accepts everything
    send, sleeps = FakeBatchCall({}), []
    # When five records are sent
    failed = retry_partial(range(5), send, sleep=sleeps.append)
    # Then one call, no wait, no failure
    assert (failed, send.calls, sleeps) == ({}, [[0, 1, 2, 3, 4]], [])


def test_only_the_rejected_records_are_sent_again_and_accepted_ones_are_kept():
    # Given a service that rejects two records, then one, then none
    send, sleeps = FakeBatchCall({1: "Throttled", 3: "Throttled"}, {3: "Throttled"}, {}), []
    # When five records are sent
    failed = retry_partial(range(5), send, sleep=sleeps.append)
    # Then each retry carries only what is still rejected, after a doubling wait
    assert failed == {}
    assert send.calls == [[0, 1, 2, 3, 4], [1, 3], [3]]
    assert sleeps == [0.05, 0.1]


def test_attempts_are_bounded_and_the_last_reason_is_returned():
    # Given a record the service never accepts
    policy = PartialRetry(attempts=4)
    send, sleeps = FakeBatchCall(*({2: f"Throttled #{n}"} for n in range(4))), []
    # When it is sent under a four-attempt policy
    failed = retry_partial([0, 1, 2], send, policy=policy, sleep=sleeps.append)
    # Then exactly four calls were made, with a wait between calls and none after the last
    assert len(send.calls) == 4 and len(sleeps) == 3
    assert failed == {2: "Throttled #3"}


def test_the_backoff_doubles_up_to_its_cap():
    # Given a policy with many attempts and a low cap
    policy = PartialRetry(attempts=8, base_delay_s=0.05, max_delay_s=0.3)
    send, sleeps = FakeBatchCall(*({0: "Throttled"} for _ in range(8))), []
    # When a record is rejected every time
    retry_partial([0], send, policy=policy, sleep=sleeps.append)
    # Then the waits double and never exceed the cap
    assert sleeps == [0.05, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3]


def test_a_whole_call_error_is_not_retried_again():
    # Given a call that fails whole (botocore has already made MAX_ATTEMPTS attempts of it)
    send, sleeps = FakeBatchCall(throttled(), {}), []
    # When the batch is sent
    with pytest.raises(BatchCallError) as raised:
        retry_partial(range(3), send, sleep=sleeps.append)
    # Then it was called once, and the error names the code and every position it held
    assert send.calls == [[0, 1, 2]] and sleeps == []
    assert raised.value.code == "ProvisionedThroughputExceededException"
    assert raised.value.pending == (0, 1, 2)
    assert isinstance(raised.value.cause, ClientError)


def test_a_whole_call_error_after_a_partial_success_reports_only_what_was_pending():
    # Given a first call that takes all but two records, and a second that fails whole
    send = FakeBatchCall({2: "Throttled", 4: "Throttled"}, throttled("ServiceUnavailable"))
    # When the batch is sent
    with pytest.raises(BatchCallError) as raised:
        retry_partial(range(5), send, sleep=lambda _: None)
    # Then the records accepted by the first call are not reported as failed
    assert raised.value.pending == (2, 4)
    assert len(send.calls) == 2


def test_other_exceptions_pass_through_unwrapped():
    # Given a send that breaks for a reason that is not an AWS answer
    send = FakeBatchCall(KeyError("pk"))
    # Then the helper neither retries nor disguises it
    with pytest.raises(KeyError):
        retry_partial([0], send, sleep=lambda _: None)
    assert len(send.calls) == 1


def test_per_record_results_become_reasons_by_position():
    results = [{"SequenceNumber": "1"}, {"ErrorCode": "ProvisionedThroughputExceededException",
                                         "ErrorMessage": "Rate exceeded"}, {"ErrorCode": "InternalFailure"}]
    assert rejected_records([10, 11, 12], results) == {
        11: "ProvisionedThroughputExceededException: Rate exceeded", 12: "InternalFailure"}


def test_every_client_retries_whole_calls_in_standard_mode_with_bounded_timeouts():
    config = client_config()
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert (config.connect_timeout, config.read_timeout) == (5, 30)
