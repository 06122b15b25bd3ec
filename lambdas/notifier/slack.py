"""Slack incoming webhook: the URL from Secrets Manager (cached briefly), posted with urllib.

The URL is a credential: it is never logged nor put in an error message. A post either has an answer
(2xx: delivered; an HTTP error: not delivered, NotifierError, retried) or fails before it was sent
(connection refused, DNS, connect timeout: NotifierError, retried), or was sent without an answer (read
timeout, connection dropped after sending): OutcomeUnknownError, which the handler never posts again.
The timeout is BAROMETER_SLACK_TIMEOUT_S seconds (default 5).
"""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

from barometer.aws import client, resource_name
from barometer.catalogue import SLACK_WEBHOOK_SECRET
from barometer.secrets import SLACK_NOT_CONFIGURED_REASON, is_slack_placeholder
from lambdas.notifier.errors import NotifierError, OutcomeUnknownError, WebhookNotConfiguredError

SECRET_TTL_S = 60.0
POST_TIMEOUT_S = 5.0
TIMEOUT_ENV = "BAROMETER_SLACK_TIMEOUT_S"

_cache_lock = threading.Lock()
_cached: dict[str, tuple[float, str]] = {}  # secret name -> (fetched at, url)


def webhook_url(now: float | None = None) -> str:
    """The webhook URL held by the secret named in BAROMETER_SLACK_SECRET (`{"url": "..."}`)."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = resource_name(SLACK_WEBHOOK_SECRET.env_var)
    now = time.monotonic() if now is None else now
    with _cache_lock:
        hit = _cached.get(name)
        if hit and now - hit[0] < SECRET_TTL_S:
            return hit[1]
    try:
        secret = client("secretsmanager").get_secret_value(SecretId=name)
    except ClientError as exc:
        raise NotifierError(f"secret {name}: {exc.response['Error'].get('Code')}") from exc
    except BotoCoreError as exc:
        raise NotifierError(f"secret {name}: {type(exc).__name__}") from exc
    url = _url_from_secret(name, secret.get("SecretString"))
    with _cache_lock:
        _cached[name] = (now, url)
    return url


def _url_from_secret(name: str, text: str | None) -> str:
    try:
        value = json.loads(text or "")
    except json.JSONDecodeError:
        raise NotifierError(f'secret {name}: expected JSON {{"url": "https://..."}}') from None
    if is_slack_placeholder(value):
        raise WebhookNotConfiguredError(f"{SLACK_NOT_CONFIGURED_REASON}: secret {name} still holds the first-deploy "
                                        'placeholder; write {"url": "https://hooks.slack.com/services/..."} to it')
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise NotifierError(f"secret {name}: field url must be an http(s) URL")
    return url


def forget_webhook_url() -> None:
    """Drop the cached URL (after a failed post: the secret may have been rotated)."""
    with _cache_lock:
        _cached.clear()


class SlackWebhook:
    """Posts payloads to the URL that `url_source` returns at call time."""

    def __init__(self, url_source=webhook_url, timeout_s: float | None = None):
        self._url_source = url_source
        self._timeout_s = timeout_s if timeout_s is not None else post_timeout_s()

    def post(self, payload: dict) -> None:
        body = json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(
            self._url_source(), data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "barometer-notifier"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            forget_webhook_url()
            detail = exc.read(200).decode("utf-8", "replace").strip()
            raise NotifierError(f"Slack webhook answered {exc.code}: {detail or exc.reason}") from None
        except urllib.error.URLError as exc:  # urllib wraps what fails while connecting and sending
            forget_webhook_url()
            reason = exc.reason
            raise NotifierError(f"Slack webhook unreachable: {type(reason).__name__}: {reason}") from None
        except OSError as exc:  # sent, then no answer: a read timeout, or the connection dropped
            forget_webhook_url()
            what = f"no answer within {self._timeout_s:g}s" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise OutcomeUnknownError(f"Slack webhook: the post was sent but {what}; it may have been shown") from None


def post_timeout_s() -> float:
    """The post timeout: BAROMETER_SLACK_TIMEOUT_S when set to a positive number, else POST_TIMEOUT_S."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, ""))
    except ValueError:
        return POST_TIMEOUT_S
    return value if 0 < value <= 60 else POST_TIMEOUT_S
