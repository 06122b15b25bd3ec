"""Realistic events for the benchmarks: decoded JSON objects in the contract's shape.

Quotes (configured and unconfigured symbols, random-walk prices, some crashing past the drop
threshold on the second day) and weather (the configured cities, occasionally past a rule), in one
interleaved stream whose clock moves by a few seconds per event. Timestamps carry milliseconds
(never whole minutes, so the rolling windows' edges cut buckets), a tenth of them with a zone offset;
half of the events carry an `event_id` (as the poller sends them), the rest get one derived.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from barometer.config import Settings

# 16 hours after the start it is the next local day in New York (05:00 UTC) and Europe: crashes compare with a close.
CRASH_AFTER_H = 16
OFFSET = timezone(timedelta(hours=1))



def default_start(today: datetime | None = None) -> datetime:
    """Monday 14:00 UTC (09:00 or 10:00 in New York) two weeks back: in the past wherever the clock is,
    and 36 hours of events from it cross every local midnight of the configuration."""
    day = (today or datetime.now(UTC)).date()
    monday = day - timedelta(days=day.weekday() + 14)
    return datetime(monday.year, monday.month, monday.day, 14, 0, tzinfo=UTC)


def extra_symbols(count: int) -> list[str]:
    """Symbols outside the configuration (accepted with the default exchange timezone)."""
    return [f"BX{i:03d}" for i in range(count)]


def _stamp(ts: datetime, rng: random.Random) -> str:
    if rng.random() < 0.1:
        return ts.astimezone(OFFSET).isoformat(timespec="milliseconds")
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Workload:
    """A deterministic stream of events over `symbols` and `cities` (same seed, same events)."""

    def __init__(self, settings: Settings, *, seed: int = 42, extra: int = 16, weather_share: float = 0.2,
                 crashing: int = 3):
        self.rng = random.Random(seed)
        self.symbols = list(settings.symbols) + extra_symbols(extra)
        self.cities = list(settings.cities)
        self.weather_share = weather_share
        self.prices = {s: 50.0 + self.rng.random() * 400 for s in self.symbols}
        # These fall ~15% on their second local day: the market drop rule fires once for each.
        self.crashing = set(self.rng.sample(self.symbols, min(crashing, len(self.symbols))))
        self.base_temps = {c: 5.0 + self.rng.random() * 10 for c in self.cities}
        self.temps = dict(self.base_temps)
        self.seq = 0

    def quote(self, symbol: str, ts: datetime, crashed: bool) -> dict[str, Any]:
        rng = self.rng
        price = self.prices[symbol] * (1 + rng.gauss(0, 0.0015))
        self.prices[symbol] = price
        if crashed and symbol in self.crashing:
            price *= 0.85
        event: dict[str, Any] = {"kind": "quote", "symbol": symbol, "price": round(price, 4), "ts": _stamp(ts, rng),
                                 "volume": rng.randrange(1, 50_000), "currency": "USD"}
        return self._envelope(event, "bench-market", symbol)

    def weather(self, city: str, ts: datetime) -> dict[str, Any]:
        rng = self.rng
        base = self.base_temps[city]
        temp = self.temps[city] = self.temps[city] + 0.02 * (base - self.temps[city]) + rng.gauss(0, 0.3)
        event: dict[str, Any] = {"kind": "weather", "city": city, "ts": _stamp(ts, rng), "temp_c": round(temp, 2),
                                 "humidity_pct": round(rng.uniform(30, 100), 1),
                                 "wind_mps": round(abs(rng.gauss(4, 3)), 2),
                                 "precip_mm": round(35.0 if rng.random() < 0.002 else rng.expovariate(2.0), 2),
                                 "pressure_hpa": round(rng.uniform(990, 1030), 1)}
        return self._envelope(event, "bench-weather", city)

    def _envelope(self, event: dict[str, Any], source: str, key: str) -> dict[str, Any]:
        self.seq += 1
        event["source"] = source
        if self.seq % 2 == 0:
            event["event_id"] = f"{source}:{key.replace(' ', '-')}:{self.seq}"
        return event

    def stream(self, count: int, start: datetime | None = None, span_hours: float = 36.0) -> Iterator[dict]:
        """`count` events in arrival order over about `span_hours`; the clock moves by a random step."""
        rng = self.rng
        start = start or default_start()
        mean_step_s = span_hours * 3600 / max(count, 1)
        crash_from = start + timedelta(hours=CRASH_AFTER_H)
        clock = start
        for _ in range(count):
            if self.cities and rng.random() < self.weather_share:
                yield self.weather(rng.choice(self.cities), clock)
            else:
                yield self.quote(rng.choice(self.symbols), clock, clock >= crash_from)
            clock += timedelta(microseconds=int(rng.expovariate(1.0 / mean_step_s) * 1_000_000) + 1000)


def events(settings: Settings, count: int, seed: int = 42) -> list[dict[str, Any]]:
    return list(Workload(settings, seed=seed).stream(count))
