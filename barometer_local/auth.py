"""Locally signed JWTs: the stand-in for the Cognito authorizer in front of the API.

Tokens carry OAuth scopes like Cognito's client-credentials tokens: writing events needs
`barometer/events.write`, reading needs `barometer/read`. A token is accepted only with a numeric `exp`
at most MAX_TTL_S ahead, a numeric `iat` and `token_use: access` (as Cognito's access tokens), so a
token minted before the cap, or by hand without an expiry, does not live forever.
"""
from __future__ import annotations

import math
import os
import secrets
import time
from pathlib import Path
from typing import Any

ISSUER = "barometer-local"
AUDIENCE = "barometer-api"
WRITE_SCOPE = "barometer/events.write"
READ_SCOPE = "barometer/read"
DEFAULT_TTL_S = 12 * 3600
MAX_TTL_S = 7 * 24 * 3600  # `barometer token --ttl` is capped here; longer-lived tokens are refused too
TOKEN_USE = "access"
LEEWAY_S = 60  # clock skew allowed on exp and iat


class AuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class TokenError(ValueError):
    """A token cannot be issued as asked (e.g. a lifetime beyond MAX_TTL_S)."""


def signing_key(state_dir: Path) -> bytes:
    """The HMAC key, created once per state folder and readable only by its owner.

    Created with mode 0600 in one step (O_CREAT|O_EXCL on a temporary name, then a rename), so the key is
    never readable by others, not even for a moment, and two processes starting at once agree on one key.
    """
    path = state_dir / "jwt-signing-key"
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    temporary = state_dir / f".jwt-signing-key.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # fails if another process created the key first: then use theirs
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) < 32:
        raise TokenError(f"the signing key {path} is shorter than 32 bytes; delete it to create a new one")
    return key


def check_ttl(ttl_s: int) -> int:
    if ttl_s > MAX_TTL_S:
        raise TokenError(f"--ttl: at most {MAX_TTL_S // 86400} days ({MAX_TTL_S} s) for a local token, got {ttl_s} s")
    return ttl_s


def mint(key: bytes, scopes: tuple[str, ...] = (WRITE_SCOPE, READ_SCOPE), ttl_s: int = DEFAULT_TTL_S,
         subject: str = "local-client") -> str:
    """A token signed with `key`; TokenError when `ttl_s` exceeds MAX_TTL_S (negative: already expired)."""
    import jwt

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + check_ttl(ttl_s),
              "scope": " ".join(scopes), "token_use": TOKEN_USE}
    return jwt.encode(claims, key, algorithm="HS256")


def issue_token(state_dir: Path, scopes: tuple[str, ...] = (WRITE_SCOPE, READ_SCOPE), ttl_s: int = DEFAULT_TTL_S,
                subject: str = "local-client") -> str:
    return mint(signing_key(state_dir), scopes, ttl_s, subject)


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def verify(header: str | None, key: bytes, required_scope: str) -> dict[str, Any]:
    """Claims of a valid bearer token with the scope; AuthError(401/403) otherwise."""
    import jwt

    if not header or not header.lower().startswith("bearer "):
        raise AuthError(401, "missing bearer token (Authorization: Bearer <token>; get one with `barometer token`)")
    try:
        claims = jwt.decode(header[7:].strip(), key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                            leeway=LEEWAY_S, options={"require": ["exp", "iat", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise AuthError(401, "the token has expired; get a new one with `barometer token`") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(401, f"invalid token: {exc}") from None
    # PyJWT takes exp "123" (a string) through int(); a JWT's NumericDate is a JSON number.
    if not _number(claims["exp"]) or not _number(claims["iat"]):
        raise AuthError(401, "invalid token: exp and iat must be numbers (seconds since the epoch)")
    if claims["exp"] > time.time() + MAX_TTL_S + LEEWAY_S:
        raise AuthError(401, f"invalid token: it expires more than {MAX_TTL_S // 86400} days ahead; "
                             "get a new one with `barometer token`")
    if claims.get("token_use") != TOKEN_USE:
        raise AuthError(401, f"invalid token: token_use must be {TOKEN_USE!r}")
    if required_scope not in str(claims.get("scope", "")).split():
        raise AuthError(403, f"the token lacks the scope {required_scope}")
    return claims
