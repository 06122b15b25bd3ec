"""The emulator's fixed identity: one account, one region, credentials it accepts.

An emulator (moto, LocalStack) takes any credentials, but boto3 and pyarrow refuse to sign, or go
looking for instance metadata, without some.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

EMULATOR_ACCOUNT = "123456789012"  # moto's default account: every local ARN carries it
EMULATOR_REGION = "us-east-1"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def environment(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


EMULATOR_CREDENTIALS = Credentials("testing", "testing", "testing")


def shell_has_credentials() -> bool:
    """True when the environment names credentials (keys or a profile) the SDK should use as they are."""
    return bool(os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"))
