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

from barometer.catalogue import CONFIG_JSON_ENV, CONFIG_PATH_ENV
from barometer.config import ConfigError, Settings, parse_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = REPO_ROOT / "barometer.yaml"


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH)


def load_raw_config() -> dict:
    """The configuration mapping, before validation."""
    inline = os.environ.get(CONFIG_JSON_ENV)
    if inline:
        try:
            return json.loads(inline, object_pairs_hook=_refuse_duplicate_json_keys)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{CONFIG_JSON_ENV}: not valid JSON ({exc})") from None
    return load_yaml_file(config_path())


def load_yaml_file(path: Path) -> dict:
    """One YAML file as a mapping; syntax errors and keys given twice are refused with their line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror}; {CONFIG_PATH_ENV} selects the file)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    import yaml  # local runs only; Lambda takes the JSON branch of load_raw_config

    try:
        return yaml.load(text, Loader=_strict_loader()) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(f"{path}: not valid YAML at {where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def check_config_file(path: Path) -> Settings:
    """What `barometer config check` and `barometer up` run before anything starts: the file read,
    parsed and validated eagerly (every timezone, window and threshold); ConfigError names the file
    and the key."""
    raw = load_yaml_file(path)
    try:
        return parse_settings(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def check_configured() -> Settings:
    """The configuration this process would load (BAROMETER_CONFIG_JSON, else the YAML file), checked
    now and not cached: errors name where it came from and the key."""
    if os.environ.get(CONFIG_JSON_ENV):
        try:
            return parse_settings(load_raw_config())
        except ConfigError as exc:
            message = str(exc)
            raise ConfigError(message if message.startswith(CONFIG_JSON_ENV) else f"{CONFIG_JSON_ENV}: {message}") from None
    return check_config_file(config_path())


def describe(settings: Settings) -> str:
    """A one-line summary of a valid configuration."""
    return (f"{len(settings.symbols)} symbols, {len(settings.cities)} cities, windows "
            f"{' '.join(w.name for w in settings.windows)}, market drop {settings.market_drop_pct:g}%, "
            f"{len(settings.weather_rules)} weather rules, poller {settings.poller.market}/{settings.poller.weather}")


def _refuse_duplicate_json_keys(pairs: list) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise ConfigError(f"{CONFIG_JSON_ENV}: key {key!r} is given twice in one object")
        seen[key] = value
    return seen


@lru_cache(maxsize=1)
def _strict_loader():
    """yaml.SafeLoader, except that a key given twice in one mapping is an error (PyYAML keeps the last
    one silently: a second `market_drop_pct:` further down would win unseen)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        first_line: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                if key in first_line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice (first on line {first_line[key]})",
                        key_node.start_mark)
                first_line[key] = key_node.start_mark.line + 1
            except TypeError:  # an unhashable key: SafeLoader's own error says so
                break
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Cached per process. Dagster's Definitions load calls it (platform_assets/ingestion), so an invalid
    configuration fails the code location's load; `barometer up` checks the file before it starts."""
    return parse_settings(load_raw_config())
