"""Errors shared by the handlers' adapters."""


class SinkError(RuntimeError):
    """A write did not complete; the records involved are reported as batch item failures and retried."""
