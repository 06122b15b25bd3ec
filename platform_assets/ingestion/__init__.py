"""Ingestion group: the feeds, their freshness checks, and polling (schedule and on-demand job)."""
import dagster as dg

from platform_assets.ingestion.assets import FEED_ASSETS, FRESHNESS_CHECKS, feed_key
from platform_assets.ingestion.poll import poll_feeds, poll_schedule

# Observable sources are left out of group selections unless asked for.
observe_feeds = dg.define_asset_job("observe_feeds", selection=dg.AssetSelection.assets(feed_key("quote"),
                                                                                     feed_key("weather")),
                                    description="Observe the stock and weather feeds (and run their freshness checks)")

defs = dg.Definitions(assets=FEED_ASSETS, asset_checks=FRESHNESS_CHECKS, jobs=[poll_feeds, observe_feeds],
                      schedules=[poll_schedule])

__all__ = ["defs", "feed_key", "observe_feeds"]
