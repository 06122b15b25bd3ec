"""The processor's adapter errors. Each one fails exactly the key (or the records) it concerns: they are
reported as batch item failures, and Lambda delivers them again."""
from lambdas.shared.errors import SinkError

__all__ = ["AlertStoreError", "PublishError", "SinkError", "StateConflictError", "StoreError"]


class StoreError(RuntimeError):
    """MetricsTable or LatestTable could not be read or written."""


class StateConflictError(RuntimeError):
    """Another writer saved the key's state since it was read (the optimistic lock on `version`)."""


class AlertStoreError(RuntimeError):
    """AlertsTable could not be read or written."""


class PublishError(RuntimeError):
    """An alert could not be published to its SNS topic."""
