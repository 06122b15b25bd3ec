"""Analytics group: SQL rollups per local day, the incident record, and the alert sensors."""
import dagster as dg

from platform_assets.analytics.assets import INCIDENTS_KEY, ROLLUP_ASSETS, alert_incidents, rollup_asset_key
from platform_assets.analytics.sensors import alert_response_job, market_alert_sensor, weather_alert_sensor
from platform_assets.schedules import yesterday_schedule

# A local day ends by 12:00 UTC of the next day everywhere (UTC-12); the delivery buffer adds minutes.
daily_rollups = yesterday_schedule("daily_rollups", alert_response_job, "15 12 * * *",
                                   "Roll up yesterday's local day once it has ended everywhere")

defs = dg.Definitions(assets=[*ROLLUP_ASSETS, alert_incidents], jobs=[alert_response_job],
                      sensors=[market_alert_sensor, weather_alert_sensor], schedules=[daily_rollups])

__all__ = ["INCIDENTS_KEY", "defs", "rollup_asset_key"]
