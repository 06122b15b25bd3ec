"""Polling the providers from Dagster: the poller handler in-process locally, the Lambda on AWS
(dagster-aws Pipes). On AWS EventBridge Scheduler polls every minute; this job is for on-demand
polls and backfills, and locally the schedule stands in for EventBridge."""
import os
from contextlib import contextmanager

import dagster as dg
from dagster_aws.pipes import PipesLambdaClient
from pydantic import Field

from barometer.catalogue import POLLER_FUNCTION
from platform_assets.resources import BarometerResource

POLL_SCHEDULE_ENV = "BAROMETER_POLL_SCHEDULE"  # "running" starts the local poll schedule by default


class PollConfig(dg.Config):
    # The poller's event: {"time", "providers": {"market", "weather"}, "symbols", "cities"}; all optional.
    event: dict = Field(default_factory=dict)


@contextmanager
def _environment(values: dict[str, str]):
    """The handler finds its resources through environment variables, as on Lambda."""
    from barometer import aws

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    aws.reset_clients()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        aws.reset_clients()


@dg.op(description="Run the poller once (the Lambda on AWS via Pipes; its handler in-process locally)")
def poll_providers(context: dg.OpExecutionContext, config: PollConfig, barometer: BarometerResource) -> dict:
    platform = barometer.platform
    if platform.is_local:
        from lambdas.poller.handler import lambda_handler

        with _environment(platform.lambda_environment()):
            summary = lambda_handler(dict(config.event), None)
    else:
        # The function's own summary is in its logs, which Pipes forwards to this run's logs.
        function = barometer.name(POLLER_FUNCTION)
        PipesLambdaClient(client=barometer.client("lambda")).run(
            context=context, function_name=function, event=dict(config.event))
        summary = {"invoked": function}
    context.log.info(f"poll: {summary}")
    context.add_output_metadata({k: v if isinstance(v, (int, str)) else len(v) for k, v in summary.items()})
    return summary


@dg.job(description="Poll the market and weather providers once; `event` in the op config selects "
                    "providers, symbols, cities or a past minute (backfill)")
def poll_feeds():
    poll_providers()


poll_schedule = dg.ScheduleDefinition(
    name="poll_every_minute", job=poll_feeds, cron_schedule="* * * * *", execution_timezone="UTC",
    description="Locally, what EventBridge Scheduler does on AWS: poll every minute",
    default_status=dg.DefaultScheduleStatus.RUNNING if os.environ.get(POLL_SCHEDULE_ENV) == "running"
    else dg.DefaultScheduleStatus.STOPPED)
