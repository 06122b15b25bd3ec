"""What one Kinesis record turns into: an accepted event, or a rejection for the quarantine."""
from __future__ import annotations

import json
from dataclasses import dataclass

from barometer.core.errors import FieldError
from barometer.core.events import Event


class Accepted:
    """A valid event with its local day, its arrival time and its Kinesis sequence number."""

    __slots__ = ("event", "ingested_at", "local_day", "seq", "shard_id")

    def __init__(self, event: Event, local_day: str, ingested_at: str, seq: int, shard_id: str = "shard"):
        self.event, self.local_day, self.ingested_at, self.seq = event, local_day, ingested_at, seq
        self.shard_id = shard_id  # where it came from, should a write refuse it (quarantined like a Rejection)

    def unstorable(self, reason: str) -> Rejection:
        """The quarantine record of an accepted event that DynamoDB refused to store (the record as the
        normalised event: the raw zone keeps the bytes as received)."""
        return Rejection("could not be stored", (FieldError("record", reason),),
                         json.dumps(self.event.as_dict(), separators=(",", ":")), self.shard_id, str(self.seq),
                         self.ingested_at)

    def __repr__(self) -> str:
        return f"Accepted({self.event!r} at {self.seq})"


@dataclass(frozen=True, slots=True)
class Rejection:
    """An invalid record, quarantined with its reason."""

    reason: str
    errors: tuple[FieldError, ...]
    record: str  # the record's data as received (decoded as UTF-8 with replacement)
    shard_id: str
    sequence_number: str
    arrival: str
