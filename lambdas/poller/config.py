"""The `poller:` section of barometer.yaml: which providers to poll and how.

```yaml
poller:
  market: simulator      # simulator | finnhub
  weather: simulator     # simulator | open-meteo
  seed: 42               # simulator seed: same seed and minute, same events
  drop_chance: 0.0       # simulator: chance per symbol and minute of a crash below the alert threshold
  timeout_s: 5           # HTTP timeout per request to a real provider
  max_attempts: 3        # HTTP attempts per symbol or city (retries on 429, 5xx, network errors)
```
Every key is optional; errors name the key (`poller.drop_chance: ...`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from barometer.config import ConfigError
from lambdas.poller.providers import MARKET_PROVIDERS, SIMULATOR, WEATHER_PROVIDERS

SECTION = "poller"
KEYS = ("market", "weather", "seed", "drop_chance", "timeout_s", "max_attempts")


@dataclass(frozen=True, slots=True)
class PollerConfig:
    market: str = SIMULATOR
    weather: str = SIMULATOR
    seed: int = 42
    drop_chance: float = 0.0
    timeout_s: float = 5.0
    max_attempts: int = 3


def _choice(section: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = section.get(key, SIMULATOR)
    if value not in choices:
        raise ConfigError(f"{SECTION}.{key}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _integer(section: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{SECTION}.{key}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def _real(section: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = section.get(key, default)
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not low <= value <= high):
        raise ConfigError(f"{SECTION}.{key}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def parse_poller_config(raw: Mapping[str, Any]) -> PollerConfig:
    """The poller settings from the whole configuration mapping (`Settings.raw`)."""
    section = raw.get(SECTION)
    if section is None:
        return PollerConfig()
    if not isinstance(section, Mapping):
        raise ConfigError(f"{SECTION}: expected a mapping such as {{market: simulator, weather: simulator}}")
    unknown = sorted(str(k) for k in section if k not in KEYS)
    if unknown:
        raise ConfigError(f"{SECTION}.{unknown[0]}: unknown key (known: {', '.join(KEYS)})")
    return PollerConfig(
        market=_choice(section, "market", MARKET_PROVIDERS),
        weather=_choice(section, "weather", WEATHER_PROVIDERS),
        seed=_integer(section, "seed", 42, 0, 2**63 - 1),
        drop_chance=_real(section, "drop_chance", 0.0, 0.0, 1.0),
        timeout_s=_real(section, "timeout_s", 5.0, 0.1, 30.0),
        max_attempts=_integer(section, "max_attempts", 3, 1, 5),
    )
