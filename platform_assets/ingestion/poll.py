"""Polling the providers from Dagster: the poller Lambda, invoked through dagster-aws Pipes in both
environments. On AWS the client is Lambda's; locally it is the local runtime's Invoke API
(barometer_local/lambda_api.py, `lambda_endpoint` in platform.json), which runs the same handler with
the platform's environment. On AWS EventBridge Scheduler polls every minute; this job is for on-demand
polls and backfills, and locally the schedule stands in for EventBridge."""
import io
import json
import os
from typing import Any

import dagster as dg
from dagster_aws.pipes import PipesLambdaClient
from pydantic import Field

from barometer.catalogue import POLLER_FUNCTION
from platform_assets.resources import BarometerResource

POLL_SCHEDULE_ENV = "BAROMETER_POLL_SCHEDULE"  # "running" starts the local poll schedule by default


class PollConfig(dg.Config):
    # The poller's event: {"time", "providers": {"market", "weather"}, "symbols", "cities"}; all optional.
    event: dict = Field(default_factory=dict)


class _KeepsResult:
    """A Lambda client that keeps the function's result: Pipes reads only the log tail and the errors."""

    def __init__(self, client: Any):
        self._client = client
        self.result: Any = None

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.invoke(**kwargs)
        payload = response["Payload"].read()
        response["Payload"] = io.BytesIO(payload)  # Pipes reads it again on a function error
        if "FunctionError" not in response:
            self.result = json.loads(payload)
        return response


@dg.op(description="Run the poller Lambda once through Pipes (locally, the local runtime's Lambda Invoke API)")
def poll_providers(context: dg.OpExecutionContext, config: PollConfig, barometer: BarometerResource) -> dict:
    function = barometer.name(POLLER_FUNCTION)
    client = _KeepsResult(barometer.lambda_client())
    # The function's logs (the tail Lambda returns) go to this run's logs; a function error fails the op.
    PipesLambdaClient(client=client).run(context=context, function_name=function, event=dict(config.event))
    summary = client.result if isinstance(client.result, dict) else {"result": client.result}
    context.log.info(f"poll ({function}): {summary}")
    context.add_output_metadata({"function": function, **{k: _metadata(v) for k, v in summary.items()}})
    return summary


def _metadata(value: Any) -> int | str:
    """Counts and names as they are; a list (the failures) as its length."""
    if isinstance(value, (int, str)):
        return value
    return len(value) if isinstance(value, (list, dict)) else str(value)


@dg.job(description="Poll the market and weather providers once; `event` in the op config selects "
                    "providers, symbols, cities or a past minute (backfill)")
def poll_feeds():
    poll_providers()


poll_schedule = dg.ScheduleDefinition(
    name="poll_every_minute", job=poll_feeds, cron_schedule="* * * * *", execution_timezone="UTC",
    description="Locally, what EventBridge Scheduler does on AWS: poll every minute",
    default_status=dg.DefaultScheduleStatus.RUNNING if os.environ.get(POLL_SCHEDULE_ENV) == "running"
    else dg.DefaultScheduleStatus.STOPPED)
