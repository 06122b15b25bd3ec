"""What a secret holds before an operator has filled it in (the first-deploy state, docs/infra.md).

The CDK app creates the Slack webhook secret holding `slack_webhook_placeholder()`; the notifier
recognises it (`is_slack_placeholder`) and records each alert as undeliverable to Slack with the reason
"slack webhook not configured" instead of failing and retrying: email still goes, and nothing piles up in
the notify DLQ. An operator writes `{"url": "https://hooks.slack.com/services/..."}` to configure it.
(`barometer.secrets`, not the standard library's `secrets`: imports are absolute.)
"""
from __future__ import annotations

import json
from typing import Any

SLACK_URL_NOT_CONFIGURED = "REPLACE_ME"  # the `url` of the placeholder: never a URL the notifier would post to
SLACK_WEBHOOK_PLACEHOLDER = {
    "url": SLACK_URL_NOT_CONFIGURED,
    "note": 'Barometer: replace this secret\'s value with {"url": "https://hooks.slack.com/services/..."}',
}
SLACK_NOT_CONFIGURED_REASON = "slack webhook not configured"


def slack_webhook_placeholder() -> str:
    """The secret string the Slack webhook secret holds on first deploy."""
    return json.dumps(SLACK_WEBHOOK_PLACEHOLDER)


def is_slack_placeholder(value: Any) -> bool:
    """True for the decoded secret value when it is still the first-deploy placeholder."""
    return isinstance(value, dict) and value.get("url") == SLACK_URL_NOT_CONFIGURED
