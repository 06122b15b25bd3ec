"""The ports of the poller: what a market or weather provider must offer.

A provider turns one configured symbol or city and the poll time into one event in the contract's
shape (docs/contracts.md), or raises a `ProviderError` naming what went wrong.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from barometer.config import CityRef, SymbolRef


class ProviderError(RuntimeError):
    """A provider could not deliver an observation for one symbol or city."""


class MarketProvider(Protocol):
    name: str

    def quote(self, symbol: SymbolRef, now: datetime) -> dict[str, Any]:
        """A quote event for `symbol` as of `now` (UTC)."""


class WeatherProvider(Protocol):
    name: str

    def observe(self, city: CityRef, now: datetime) -> dict[str, Any]:
        """A weather event for `city` as of `now` (UTC)."""
