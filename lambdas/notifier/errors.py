"""Errors of the notifier."""
from __future__ import annotations


class NotifierError(RuntimeError):
    """A notification could not be delivered now; raised so that the invocation is retried."""
