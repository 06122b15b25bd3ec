"""MarketAlert / WeatherAlert -> a run that refreshes the alert's rollup partitions and the incident record."""
import re

import dagster as dg

from barometer.catalogue import MARKET_TOPIC, WEATHER_TOPIC
from platform_assets.alert_sensors import build_queue_sensor
from platform_assets.analytics.assets import ALERT_ID_TAG, INCIDENTS_KEY, rollup_asset_key
from platform_assets.partitions import local_days
from platform_assets.sensor_queue import QueueMessage

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ROLLUP_OF_KIND = {"market": "daily_ohlc", "weather": "daily_weather"}

alert_response_job = dg.define_asset_job(
    "alert_response", selection=dg.AssetSelection.groups("analytics"),
    description="Refresh the rollups and the incident record of an alert's local day")


def alert_run_request(message: QueueMessage) -> dg.RunRequest:
    """The run for one alert; ValueError names the field when the alert cannot be placed."""
    alert = message.message or {}
    kind, day = alert.get("kind"), alert.get("local_day")
    if kind not in ROLLUP_OF_KIND:
        raise ValueError(f"kind: expected market or weather, got {kind!r}")
    if not isinstance(day, str) or not _DAY.match(day):
        raise ValueError(f"local_day: expected YYYY-MM-DD, got {day!r}")
    if day not in local_days.get_partition_keys():
        raise ValueError(f"local_day: {day} is outside the partitions")
    return dg.RunRequest(
        run_key=f"alert:{message.key}", partition_key=day,
        asset_selection=[rollup_asset_key(ROLLUP_OF_KIND[kind]), rollup_asset_key("alert_summary"), INCIDENTS_KEY],
        tags={ALERT_ID_TAG: message.key, "barometer/alert_kind": kind,
              "barometer/alert_key": str(alert.get("key", "")), "barometer/alert_rule": str(alert.get("rule", ""))})


market_alert_sensor = build_queue_sensor(
    "market_alerts", MARKET_TOPIC, alert_response_job, alert_run_request,
    "MarketAlerts (via its SQS queue): refresh daily_ohlc, alert_summary and the incident record of the day")
weather_alert_sensor = build_queue_sensor(
    "weather_alerts", WEATHER_TOPIC, alert_response_job, alert_run_request,
    "WeatherAlerts (via its SQS queue): refresh daily_weather, alert_summary and the incident record of the day")
