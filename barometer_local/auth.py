"""Locally signed JWTs: the stand-in for the Cognito authorizer in front of the API.

Tokens carry OAuth scopes like Cognito's client-credentials tokens: writing events needs
`barometer/events.write`, reading needs `barometer/read`.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

ISSUER = "barometer-local"
AUDIENCE = "barometer-api"
WRITE_SCOPE = "barometer/events.write"
READ_SCOPE = "barometer/read"
DEFAULT_TTL_S = 12 * 3600


class AuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def signing_key(state_dir: Path) -> bytes:
    """The HMAC key, created once per state folder and readable only by its owner."""
    path = state_dir / "jwt-signing-key"
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def issue_token(state_dir: Path, scopes: tuple[str, ...] = (WRITE_SCOPE, READ_SCOPE), ttl_s: int = DEFAULT_TTL_S,
                subject: str = "local-client") -> str:
    import jwt

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + ttl_s,
              "scope": " ".join(scopes), "token_use": "access"}
    return jwt.encode(claims, signing_key(state_dir), algorithm="HS256")


def verify(header: str | None, key: bytes, required_scope: str) -> dict[str, Any]:
    """Claims of a valid bearer token with the scope; AuthError(401/403) otherwise."""
    import jwt

    if not header or not header.lower().startswith("bearer "):
        raise AuthError(401, "missing bearer token (Authorization: Bearer <token>; get one with `barometer token`)")
    try:
        claims = jwt.decode(header[7:].strip(), key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.ExpiredSignatureError:
        raise AuthError(401, "the token has expired; get a new one with `barometer token`") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(401, f"invalid token: {exc}") from None
    if required_scope not in str(claims.get("scope", "")).split():
        raise AuthError(403, f"the token lacks the scope {required_scope}")
    return claims
