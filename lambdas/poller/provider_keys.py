"""API keys of the real providers, from the Secrets Manager secret the catalogue names.

The secret holds JSON such as {"finnhub": "..."}. It is fetched on first use and kept for a few
minutes, so a rotated key is picked up without a cold start and a poll costs no secret read.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from barometer.catalogue import PROVIDER_KEYS_SECRET
from lambdas.poller.ports import ProviderError

CACHE_SECONDS = 300.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, Mapping[str, Any]]] = {}


class ProviderKeyError(ProviderError):
    """The provider-keys secret is missing, unreadable or lacks the provider's key."""


def _fetch(secret_id: str) -> Mapping[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    from barometer.aws import client

    try:
        response = client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ProviderKeyError(f"secret {secret_id}: {code}") from None
    except BotoCoreError as exc:
        raise ProviderKeyError(f"secret {secret_id}: {exc}") from None
    try:
        keys = json.loads(response.get("SecretString") or "")
    except json.JSONDecodeError:
        raise ProviderKeyError(f'secret {secret_id}: expected JSON such as {{"finnhub": "..."}}') from None
    if not isinstance(keys, dict):
        raise ProviderKeyError(f'secret {secret_id}: expected a JSON object such as {{"finnhub": "..."}}')
    return keys


def provider_keys() -> Mapping[str, Any]:
    from barometer.aws import resource_name

    try:
        secret_id = resource_name(PROVIDER_KEYS_SECRET.env_var)
    except RuntimeError as exc:
        raise ProviderKeyError(str(exc)) from None
    with _lock:
        cached = _cache.get(secret_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        keys = _fetch(secret_id)
        _cache[secret_id] = (time.monotonic() + CACHE_SECONDS, keys)
        return keys


def provider_key(provider: str) -> str:
    value = provider_keys().get(provider)
    if not isinstance(value, str) or not value.strip():
        raise ProviderKeyError(f"provider-keys secret (${PROVIDER_KEYS_SECRET.env_var}) has no key for {provider!r} "
                               f'(expected {{"{provider}": "<api key>"}})')
    return value.strip()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
