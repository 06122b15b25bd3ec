"""Errors of the notifier."""
from __future__ import annotations


class NotifierError(RuntimeError):
    """A notification could not be delivered now; raised so that the invocation is retried."""


class OutcomeUnknownError(NotifierError):
    """The post was sent but no answer came (a read timeout, a connection dropped after sending): the
    channel may have shown the alert. Never posted again (at most once); recorded and reported instead."""


class WebhookNotConfiguredError(NotifierError):
    """The webhook secret still holds the first-deploy placeholder (barometer/secrets.py): the alert is
    recorded undeliverable for the channel; no retry would change that until an operator fills it in."""
