"""The API's events-stream port on Kinesis: the shared stream adapter, with a client that fails fast.

A client is waiting on POST /v1/events: the Kinesis client has the INTERACTIVE budget (short timeouts,
one retry; barometer/aws/retry.py), so an unresponsive stream (throttled to a standstill, or the local
emulator paused) is a StreamError within a few seconds, which the handler answers 503 with Retry-After.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from barometer.aws import AwsTarget, client_config
from barometer.aws.retry import INTERACTIVE
from lambdas.shared.stream import StreamError, StreamRecord, put_records


def kinesis() -> Any:
    return _kinesis_at(AwsTarget.from_environment())


@lru_cache(maxsize=4)
def _kinesis_at(target: AwsTarget) -> Any:  # one per target: a test may point the environment elsewhere
    return target.session().client("kinesis", endpoint_url=target.endpoint, config=client_config(budget=INTERACTIVE))


class KinesisEvents:
    def put(self, records: Sequence[StreamRecord]) -> dict[int, str]:
        """Put records on the events stream; {index: error} of the ones not accepted (StreamError if none can be)."""
        from botocore.exceptions import BotoCoreError

        try:
            return put_records(records, kinesis=kinesis())
        except BotoCoreError as exc:  # no answer in time, or no connection: nothing is known to be taken
            raise StreamError(f"the events stream did not answer: {type(exc).__name__}") from exc
