"""The local authorizer's tokens: what it refuses (no or odd `exp`, wrong `token_use`, a lifetime beyond the
cap) and how the signing key is created (mode 0600 from the start, one key when two processes race)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import jwt
import pytest

from barometer_local.auth import (
    AUDIENCE,
    ISSUER,
    MAX_TTL_S,
    READ_SCOPE,
    AuthError,
    TokenError,
    issue_token,
    mint,
    signing_key,
    verify,
)

KEY = b"k" * 32


def token(**changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "t", "iat": now, "exp": now + 60, "scope": READ_SCOPE,
              "token_use": "access", **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, KEY, algorithm="HS256")


def test_a_well_formed_token_is_accepted():
    assert verify(f"Bearer {token()}", KEY, READ_SCOPE)["sub"] == "t"


@pytest.mark.parametrize("changes, named", [
    ({"exp": None}, "exp"), ({"exp": str(int(time.time()) + 60)}, "exp"), ({"exp": True}, "exp"),
    ({"exp": [1]}, "exp"), ({"iat": None}, "iat"), ({"iat": "1"}, "iat"),
    ({"token_use": "id"}, "token_use"), ({"token_use": None}, "token_use"),
    ({"exp": int(time.time()) + MAX_TTL_S + 3600}, "days ahead"),
])
def test_a_token_without_a_numeric_exp_or_with_the_wrong_token_use_is_refused(changes, named):
    with pytest.raises(AuthError) as refused:
        verify(f"Bearer {token(**changes)}", KEY, READ_SCOPE)
    assert refused.value.status == 401 and named in str(refused.value)


def test_minting_beyond_the_ttl_cap_is_refused_and_the_cap_itself_is_allowed():
    with pytest.raises(TokenError, match="at most 7 days"):
        mint(KEY, ttl_s=MAX_TTL_S + 1)
    assert verify(f"Bearer {mint(KEY, ttl_s=MAX_TTL_S)}", KEY, READ_SCOPE)


def test_barometer_token_refuses_a_ttl_beyond_the_cap(tmp_path):
    env = {**os.environ, "BAROMETER_HOME": str(tmp_path)}
    refused = subprocess.run([sys.executable, "-m", "barometer_local.cli", "token", "--ttl", "100000d"],
                             check=False, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "at most 7 days" in refused.stderr and not refused.stdout
    allowed = subprocess.run([sys.executable, "-m", "barometer_local.cli", "token", "--ttl", "7d"],
                             check=False, capture_output=True, text=True, env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert verify(f"Bearer {allowed.stdout.strip()}", signing_key(tmp_path), READ_SCOPE)


def test_the_signing_key_is_created_owner_only_and_reused(tmp_path):
    old_umask = os.umask(0)  # even with a permissive umask the key is never readable by others
    try:
        key = signing_key(tmp_path)
    finally:
        os.umask(old_umask)
    path = tmp_path / "jwt-signing-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 32
    assert signing_key(tmp_path) == key
    assert [p.name for p in tmp_path.iterdir()] == ["jwt-signing-key"]  # no temporary file left behind


def test_two_processes_creating_the_key_at_once_agree_on_one(tmp_path):
    code = "import sys; from pathlib import Path; from barometer_local.auth import signing_key; " \
           "sys.stdout.write(signing_key(Path(sys.argv[1])).hex())"
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
            for _ in range(4)]
    keys = {run.communicate()[0] for run in runs}
    assert len(keys) == 1 and bytes.fromhex(keys.pop()) == (tmp_path / "jwt-signing-key").read_bytes()


def test_issue_token_signs_with_the_state_folders_key(tmp_path):
    assert verify(f"Bearer {issue_token(tmp_path, scopes=(READ_SCOPE,))}", signing_key(tmp_path), READ_SCOPE)
