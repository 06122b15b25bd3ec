"""The ingestion group: the stock and weather feeds as observable source assets, observed from the
platform's own state, with a freshness check per configured symbol and city."""
import re
import warnings
from datetime import UTC, datetime

import dagster as dg

from barometer.catalogue import LATEST_TABLE, RAW_BUCKET
from barometer.settings import get_settings
from platform_assets.ingestion.feeds import latest_by_key, raw_objects_of_day
from platform_assets.resources import BarometerResource

GROUP = "ingestion"
FEEDS = {"quote": "stock_feed", "weather": "weather_feed"}


def feed_key(kind: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, FEEDS[kind]])


def max_age_s(kind: str) -> int:
    """The freshness limit of a feed: `orchestration.{quote,weather}_max_age` in barometer.yaml."""
    return get_settings().orchestration.max_age_s(kind)


def check_name(kind: str, key: str) -> str:
    """A valid check name for a symbol or city ('New York' -> fresh_new_york, 'BRK.B' -> fresh_brk_b)."""
    return "fresh_" + re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def build_feed(kind: str) -> dg.SourceAsset:
    with warnings.catch_warnings():  # observable source assets are "beta" in 1.13, and the right tool here
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _build_feed(kind)


def _build_feed(kind: str) -> dg.SourceAsset:
    @dg.observable_source_asset(
        key=feed_key(kind), group_name=GROUP,
        description=f"The {kind} feed (poller and API -> Kinesis): observed from LatestTable (latest event "
                    f"per {'symbol' if kind == 'quote' else 'city'}) and today's raw-zone objects.")
    def feed(context, barometer: BarometerResource) -> dg.ObserveResult:
        latest = latest_by_key(barometer.client("dynamodb"), barometer.name(LATEST_TABLE), kind)
        today = datetime.now(UTC).date().isoformat()
        objects, size = raw_objects_of_day(barometer.client("s3"), barometer.name(RAW_BUCKET), today)
        newest = max((item.ts for item in latest.values()), default=None)
        version = newest.isoformat() if newest else "no-events"
        return dg.ObserveResult(data_version=dg.DataVersion(version), metadata={
            "keys": len(latest), "newest_event": newest.isoformat() if newest else "none",
            "raw_objects_today": objects, "raw_bytes_today": size,
            "latest": dg.MetadataValue.json({k: v.ts.isoformat() for k, v in sorted(latest.items())}),
        })

    return feed


def build_freshness_checks(kind: str, keys: list[str]) -> dg.AssetChecksDefinition:
    names = {check_name(kind, key): key for key in keys}
    asset = feed_key(kind)

    @dg.multi_asset_check(
        name=f"{FEEDS[kind]}_freshness",
        specs=[dg.AssetCheckSpec(name, asset=asset, description=f"{key}: latest event younger than the limit")
               for name, key in names.items()])
    def freshness(context, barometer: BarometerResource):
        limit = max_age_s(kind)
        latest = latest_by_key(barometer.client("dynamodb"), barometer.name(LATEST_TABLE), kind)
        now = datetime.now(UTC)
        for name, key in names.items():
            item = latest.get(key)
            age = (now - item.ts).total_seconds() if item else None
            yield dg.AssetCheckResult(
                asset_key=asset, check_name=name, passed=age is not None and age <= limit,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"key": key, "latest_event": item.ts.isoformat() if item else "never",
                          "age_s": round(age, 1) if age is not None else -1, "limit_s": limit})

    return freshness


def _configured() -> tuple[list[str], list[str]]:
    settings = get_settings()
    return list(settings.symbols), list(settings.cities)


SYMBOLS, CITIES = _configured()
FEED_ASSETS = [build_feed("quote"), build_feed("weather")]
FRESHNESS_CHECKS = [c for c in (build_freshness_checks("quote", SYMBOLS) if SYMBOLS else None,
                                build_freshness_checks("weather", CITIES) if CITIES else None) if c]
