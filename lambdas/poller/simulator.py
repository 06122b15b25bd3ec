"""A seeded market and weather simulator: the local default provider.

Every value is a pure function of (seed, key, minute): no state, no clock, so the same seed and
minute always give the same events, a re-poll within a minute is a duplicate, and a backfill of
any past minute is instant. Prices follow smooth multi-scale "value noise" (which looks like a
random walk) and are bounded so that, without injected crashes, no price ever falls 10% below the
previous local day's prices; with `drop_chance` a minute's quote is a crash far enough below every
price of the previous local day to trip the market-drop rule.
"""
from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from barometer.config import CityRef, SymbolRef
from lambdas.poller.events import quote_event, weather_event

SOURCE = "simulator"
# Log-price amplitudes. Day-to-day drift is at most DAY_AMP * 3 / DAY_SCALE (value-noise slope)
# and intraday moves stay within ±INTRADAY_AMP, so two prices on consecutive local days differ by
# at most ~7.6% (log): below the default 10% drop threshold.
DAY_AMP = 0.12
DAY_SCALE = 10  # days
INTRADAY_AMP = 0.02
DROP_MARGIN_PCT = 2.0  # injected crashes fall at least threshold + this below the previous day


def unit(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) determined by the seed and the parts."""
    text = "|".join(str(p) for p in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2**64


def noise(seed: int, x: float, *parts: object) -> float:
    """Smooth value noise in [-1, 1] over x (lattice at whole numbers, smoothstep between)."""
    i = math.floor(x)
    f = x - i
    a = unit(seed, *parts, i) * 2 - 1
    b = unit(seed, *parts, i + 1) * 2 - 1
    return a + (b - a) * f * f * (3 - 2 * f)


def _minute(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(second=0, microsecond=0)


class SimulatedMarket:
    name = SOURCE

    def __init__(self, seed: int, drop_chance: float = 0.0, drop_threshold_pct: float = 10.0):
        self.seed = seed
        self.drop_chance = drop_chance
        self.drop_threshold_pct = drop_threshold_pct

    def _base_log_price(self, symbol: str) -> float:
        return math.log(20 + 480 * unit(self.seed, symbol, "base"))

    def _day_log(self, symbol: str, day_ordinal: int) -> float:
        return DAY_AMP * noise(self.seed, day_ordinal / DAY_SCALE, symbol, "day")

    def _intraday_log(self, symbol: str, epoch: int) -> float:
        mix = (0.6 * noise(self.seed, epoch / 7200, symbol, "2h")
               + 0.3 * noise(self.seed, epoch / 900, symbol, "15m")
               + 0.1 * noise(self.seed, epoch / 60, symbol, "1m"))
        return INTRADAY_AMP * mix

    def is_crash(self, symbol: str, epoch: int) -> bool:
        return self.drop_chance > 0 and unit(self.seed, symbol, "drop", epoch) < self.drop_chance

    def price(self, symbol: SymbolRef, minute: datetime) -> float:
        epoch = int(minute.timestamp())
        day = minute.astimezone(ZoneInfo(symbol.timezone)).date().toordinal()
        base = self._base_log_price(symbol.symbol)
        if self.is_crash(symbol.symbol, epoch):
            # Below the lowest price the previous local day can have had, by threshold + margin.
            floor_yesterday = base + self._day_log(symbol.symbol, day - 1) - INTRADAY_AMP
            depth_pct = self.drop_threshold_pct + DROP_MARGIN_PCT + 8 * unit(self.seed, symbol.symbol, "depth", epoch)
            return round(math.exp(floor_yesterday) * (1 - min(depth_pct, 95.0) / 100), 2)
        log_price = base + self._day_log(symbol.symbol, day) + self._intraday_log(symbol.symbol, epoch)
        return round(math.exp(log_price), 2)

    def quote(self, symbol: SymbolRef, now: datetime) -> dict[str, Any]:
        minute = _minute(now)
        epoch = int(minute.timestamp())
        volume = int(100 + 49_900 * unit(self.seed, symbol.symbol, "volume", epoch))
        return quote_event(symbol.symbol, self.price(symbol, minute), minute, source=SOURCE, stamp=epoch,
                           volume=volume)


class SimulatedWeather:
    """Plausible weather: temperature by latitude, season and local hour, plus slow noise."""

    name = SOURCE

    def __init__(self, seed: int):
        self.seed = seed

    def observe(self, city: CityRef, now: datetime) -> dict[str, Any]:
        minute = _minute(now)
        epoch = int(minute.timestamp())
        local = minute.astimezone(ZoneInfo(city.timezone))
        hours = epoch / 3600
        key = city.name

        lat = abs(city.lat)
        hemisphere = 1 if city.lat >= 0 else -1
        season = math.cos(2 * math.pi * (local.timetuple().tm_yday - 200) / 365.25) * hemisphere
        diurnal = math.cos(2 * math.pi * (local.hour + local.minute / 60 - 15) / 24)  # warmest ~15:00
        temp_c = (28 - 0.35 * lat + 0.22 * lat * season + 4 * diurnal
                  + 3 * noise(self.seed, hours / 6, key, "temp6h") + noise(self.seed, hours, key, "temp1h"))
        humidity = 65 - 12 * diurnal + 20 * noise(self.seed, hours / 4, key, "humidity")
        wind = 3 + 4 * noise(self.seed, hours / 3, key, "wind3h") + 2 * noise(self.seed, hours * 3, key, "wind20m")
        rain = noise(self.seed, hours / 4, key, "rain")
        precip = (rain - 0.4) * 8 if rain > 0.4 else 0.0
        pressure = 1013 + 12 * noise(self.seed, hours / 12, key, "pressure")
        return weather_event(
            key, minute, source=SOURCE, stamp=epoch,
            temp_c=round(temp_c, 1),
            humidity_pct=float(round(min(100.0, max(5.0, humidity)))),
            wind_mps=round(max(0.0, wind), 1),
            precip_mm=round(precip, 2),
            pressure_hpa=round(pressure, 1),
        )
