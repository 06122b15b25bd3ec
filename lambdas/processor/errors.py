"""The processor's adapter errors. Each one fails exactly the key (or the records) it concerns: they are
reported as batch item failures, and Lambda delivers them again."""
from lambdas.shared.errors import SinkError

__all__ = ["AlertStoreError", "PublishError", "SinkError", "StateConflictError", "StoreError", "UnstorableError"]


class StoreError(RuntimeError):
    """MetricsTable or LatestTable could not be read or written."""


class UnstorableError(SinkError):
    """DynamoDB refused this one item itself (a ValidationException such as "Number underflow"): no retry can
    write it, so its record is quarantined with the reason instead of failing its key."""


class StateConflictError(RuntimeError):
    """Another writer saved the key's state since it was read (the optimistic lock on `version`)."""


class AlertStoreError(RuntimeError):
    """AlertsTable could not be read or written."""


class PublishError(RuntimeError):
    """An alert could not be published to its SNS topic."""
