"""The API's events-stream port on Kinesis: the shared stream adapter (its retry policy included)."""
from __future__ import annotations

from collections.abc import Sequence

from lambdas.shared.stream import StreamRecord, put_records


class KinesisEvents:
    def put(self, records: Sequence[StreamRecord]) -> dict[int, str]:
        """Put records on the events stream; {index: error} of the ones not accepted (StreamError if none can be)."""
        return put_records(records)
