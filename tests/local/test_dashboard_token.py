"""The dashboard's token: read-only and short-lived (the page renews it from /dashboard/config.json on a 401)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from barometer_local.auth import READ_SCOPE, WRITE_SCOPE, AuthError, signing_key, verify
from barometer_local.cli import _format_checks, health_exit_code
from barometer_local.platform import DASHBOARD_TOKEN_TTL_S, LocalPlatform


def test_the_dashboard_gets_a_read_only_token_for_a_quarter_of_an_hour(tmp_path):
    # Given a state folder, when the page asks for its configuration
    config = LocalPlatform.dashboard_config(SimpleNamespace(state_dir=tmp_path))
    # Then its token reads, lives 15 minutes, and cannot write
    claims = verify(f"Bearer {config['token']}", signing_key(tmp_path), READ_SCOPE)
    assert DASHBOARD_TOKEN_TTL_S == 15 * 60 and claims["exp"] - claims["iat"] == DASHBOARD_TOKEN_TTL_S
    with pytest.raises(AuthError) as refused:
        verify(f"Bearer {config['token']}", signing_key(tmp_path), WRITE_SCOPE)
    assert refused.value.status == 403
    assert config["api_base"] == "" and config["refresh_ms"] == 3000


def test_barometer_health_prints_each_status_with_its_thresholds():
    health = {"status": "warn", "checks": [
        {"name": "stream_lag_ms", "label": "Stream lag", "value": 12_500.0, "unit": "ms", "warn_at": 10_000,
         "fail_at": 60_000, "status": "warn"},
        {"name": "dlq_depth.notify", "label": "DLQ notify", "value": None, "unit": "messages", "warn_at": 1,
         "fail_at": 100, "status": "unknown"}]}
    lines = _format_checks(health).splitlines()
    assert lines[0].split() == ["status", "WARN"]
    assert lines[1].split() == ["Stream", "lag", "12.5", "s", "warn", "(warn", ">=", "10.0", "s,", "fail", ">=", "60.0",
                                "s)"]
    assert "unknown" in lines[2] and "fail >= 100 messages" in lines[2]


@pytest.mark.parametrize(("status", "code"), [("ok", 0), ("warn", 0), ("fail", 1)])
def test_barometer_health_exits_non_zero_only_when_a_check_fails(status, code):
    # Given the API's overall status, then the command's exit status lets a script act on it
    assert health_exit_code({"status": status, "checks": []}) == code
