"""Loads the one configuration once per process (cached; nothing happens at import time).

On Lambda the CDK app passes the configuration as JSON in BAROMETER_CONFIG_JSON (no YAML parser
in the runtime, no file to ship); everywhere else BAROMETER_CONFIG names the YAML file, by default
`barometer.yaml` at the repository root.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from barometer.config import ConfigError, Settings, parse_settings
from barometer.catalogue import CONFIG_JSON_ENV, CONFIG_PATH_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = REPO_ROOT / "barometer.yaml"


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH)


def load_raw_config() -> dict:
    """The configuration mapping, before validation."""
    inline = os.environ.get(CONFIG_JSON_ENV)
    if inline:
        try:
            return json.loads(inline)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{CONFIG_JSON_ENV}: not valid JSON ({exc})") from None
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{CONFIG_PATH_ENV}: cannot read {path}: {exc.strerror}") from None
    import yaml  # local runs only; Lambda takes the JSON branch above

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return parse_settings(load_raw_config())
