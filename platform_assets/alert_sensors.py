"""Building Dagster sensors over the alert topics' SQS queues (see sensor_queue.py for the protocol)."""
from collections.abc import Callable

import dagster as dg

from barometer.catalogue import SENSOR_QUEUES, TopicSpec
from platform_assets.environment import PlatformConfigError
from platform_assets.resources import BarometerResource
from platform_assets.sensor_queue import QueueMessage, SensorCursor, read_queue

SENSOR_INTERVAL_S = 30


def sensor_queue_spec(topic: TopicSpec):
    return next(q for q in SENSOR_QUEUES if q.local_name == topic.sensor_queue)


def queue_url(sqs, name: str) -> str:
    """The queue's URL; the deployment may hand the orchestrator a URL instead of a name."""
    if name.startswith(("https://", "http://")):
        return name
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def build_queue_sensor(name: str, topic: TopicSpec, target, to_run_request: Callable[[QueueMessage], dg.RunRequest],
                       description: str) -> dg.SensorDefinition:
    queue = sensor_queue_spec(topic)

    @dg.sensor(name=name, target=target, minimum_interval_seconds=SENSOR_INTERVAL_S,
               default_status=dg.DefaultSensorStatus.RUNNING, description=description)
    def queue_sensor(context: dg.SensorEvaluationContext, barometer: BarometerResource):
        cursor = SensorCursor.parse(context.cursor)
        try:
            sqs = barometer.client("sqs")
            url = queue_url(sqs, barometer.name(queue))
        except PlatformConfigError as exc:
            return dg.SkipReason(f"the platform is not reachable: {exc}")
        messages = read_queue(sqs, url, cursor)
        if not messages:
            return dg.SkipReason(f"no new message on {barometer.name(queue)}")
        run_requests = []
        for message in messages:
            if message.error:
                context.log.warning(f"skipping unreadable message {message.key} on {queue.local_name}: {message.error}")
                continue
            try:
                run_requests.append(to_run_request(message))
            except ValueError as exc:
                context.log.warning(f"skipping message {message.key} on {queue.local_name}: {exc}")
        return dg.SensorResult(run_requests=run_requests,
                               cursor=cursor.with_keys(m.key for m in messages).to_json())

    return queue_sensor
