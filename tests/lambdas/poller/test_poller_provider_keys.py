"""Provider API keys from Secrets Manager (through the emulator over HTTP)."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from poller_fakes import ReplayTransport, recorded

from barometer.catalogue import PROVIDER_KEYS_SECRET
from barometer.config import SymbolRef
from lambdas.poller import provider_keys
from lambdas.poller.finnhub import FinnhubError, FinnhubMarket
from lambdas.poller.provider_keys import ProviderKeyError, provider_key

pytestmark = pytest.mark.emulator


@pytest.fixture
def secret(emulator_env, monkeypatch):
    """A fresh secret name per test (the session's emulator is shared), named by the catalogue's env var."""
    from barometer.aws import client

    name = f"barometer/provider-keys-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(PROVIDER_KEYS_SECRET.env_var, name)
    provider_keys.clear_cache()

    def put(value: str) -> None:
        try:
            client("secretsmanager").create_secret(Name=name, SecretString=value)
        except client("secretsmanager").exceptions.ResourceExistsException:
            client("secretsmanager").put_secret_value(SecretId=name, SecretString=value)

    yield put
    provider_keys.clear_cache()


def test_the_key_is_read_from_the_secret_and_cached(secret):
    # Given the provider-keys secret holds a Finnhub key
    secret(json.dumps({"finnhub": " abc123 "}))
    # When the key is asked for twice, with the secret changed in between
    first = provider_key("finnhub")
    secret(json.dumps({"finnhub": "rotated"}))
    second = provider_key("finnhub")
    # Then both answers come from the first read (cached for a few minutes), trimmed
    assert first == second == "abc123"
    # And a cleared cache reads the rotated key
    provider_keys.clear_cache()
    assert provider_key("finnhub") == "rotated"


def test_a_missing_secret_is_a_provider_key_error(secret):
    with pytest.raises(ProviderKeyError, match=r"secret barometer/provider-keys-\w+: ResourceNotFoundException"):
        provider_key("finnhub")


@pytest.mark.parametrize("value, message", [
    ("not json", "expected JSON"),
    ('["finnhub"]', "expected a JSON object"),
    ('{"other": "x"}', r"has no key for 'finnhub'"),
    ('{"finnhub": ""}', r"has no key for 'finnhub'"),
])
def test_an_unusable_secret_names_what_is_wrong(secret, value, message):
    secret(value)
    with pytest.raises(ProviderKeyError, match=message):
        provider_key("finnhub")


def test_finnhub_reports_a_missing_key_as_a_failure_of_that_symbol_only(secret):
    # Given no key in the secret, Finnhub's adapter fails with a ProviderError (listed per symbol)
    secret("{}")
    market = FinnhubMarket(lambda: provider_key("finnhub"), transport=ReplayTransport())
    with pytest.raises(ProviderKeyError):
        market.quote(SymbolRef("AAPL", "America/New_York"), datetime.now(UTC))


def test_finnhub_sends_the_secret_key(secret):
    secret(json.dumps({"finnhub": "k-from-secret"}))
    transport = ReplayTransport(recorded("finnhub/unauthorized_401"))
    market = FinnhubMarket(lambda: provider_key("finnhub"), transport=transport)
    with pytest.raises(FinnhubError, match="HTTP 401"):
        market.quote(SymbolRef("AAPL", "America/New_York"), datetime.now(UTC))
    assert transport.calls[0][1] == {"X-Finnhub-Token": "k-from-secret"}
