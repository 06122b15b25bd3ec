"""What one Kinesis record turns into: an accepted event, or a rejection for the quarantine."""
from __future__ import annotations

from dataclasses import dataclass

from barometer.core.errors import FieldError
from barometer.core.events import Event


class Accepted:
    """A valid event with its local day, its arrival time and its Kinesis sequence number."""

    __slots__ = ("event", "ingested_at", "local_day", "seq")

    def __init__(self, event: Event, local_day: str, ingested_at: str, seq: int):
        self.event, self.local_day, self.ingested_at, self.seq = event, local_day, ingested_at, seq

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
