"""Daily schedules that request yesterday's partition. The partitions end tomorrow (east of UTC a local
day starts early), so "the newest partition" would be tomorrow: each tick names its day explicitly.
Every schedule starts RUNNING: a fresh deployment keeps its assets current without a person."""
from datetime import timedelta

import dagster as dg

RUNNING = dg.DefaultScheduleStatus.RUNNING


def yesterday_schedule(name: str, job, cron: str, description: str) -> dg.ScheduleDefinition:
    @dg.schedule(name=name, job=job, cron_schedule=cron, execution_timezone="UTC", description=description,
                 default_status=RUNNING)
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = (context.scheduled_execution_time.date() - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=f"{name}:{day}", partition_key=day)

    return _schedule
