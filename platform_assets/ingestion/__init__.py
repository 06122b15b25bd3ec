"""Ingestion group: the feeds, their freshness checks, and polling (schedule and on-demand job)."""
import dagster as dg

from platform_assets.ingestion.assets import FEED_ASSETS, FRESHNESS_CHECKS, feed_key
from platform_assets.ingestion.poll import poll_feeds, poll_schedule

# Observable sources are left out of group selections unless asked for.
observe_feeds = dg.define_asset_job("observe_feeds", selection=dg.AssetSelection.assets(feed_key("quote"),
                                                                                     feed_key("weather")),
                                    description="Observe the stock and weather feeds (and run their freshness checks)")
# The feeds' per-symbol and per-city freshness checks run with each observation: every 5 minutes, well
# inside the tightest limit (orchestration.quote_max_age, 15 minutes by default).
observe_schedule = dg.ScheduleDefinition(
    name="observe_feeds_every_5_minutes", job=observe_feeds, cron_schedule="*/5 * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Observe the feeds and check every symbol's and city's freshness")

defs = dg.Definitions(assets=FEED_ASSETS, asset_checks=FRESHNESS_CHECKS, jobs=[poll_feeds, observe_feeds],
                      schedules=[poll_schedule, observe_schedule])

__all__ = ["defs", "feed_key", "observe_feeds"]
