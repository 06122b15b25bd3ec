"""AlertingStack: the SNS topics, their sensor queues and e-mail subscriptions, and the CloudWatch alarms.

The alarms watch metrics of resources created by later stacks (functions, stream, queues, API). They are
built from the catalogue's specs rather than from those constructs so that this stack can come first:
the functions publish to its topics, so the functions' stacks depend on it, not the reverse.
"""
from __future__ import annotations

from aws_cdk import Duration, Fn, NestedStack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from barometer.catalogue import (
    API_FUNCTION,
    EVENTS_DLQ,
    EVENTS_STREAM,
    FINOPS_TOPIC,
    FUNCTIONS,
    NOTIFY_DLQ,
    OPS_TOPIC,
    PROJECT,
    SENSOR_QUEUES,
    STREAM_FAILURES_DLQ,
    TOPICS,
)
from infra_cdk.constructs.messaging import catalogue_queue, catalogue_topic, subscribe_sensor_queue
from infra_cdk.parameters import EstateParameters, has_value

# Topic -> the AWS services that publish to it -> the aws:SourceArn pattern of the publishers (Fn::Sub
# syntax; None: the service's source ARN is not documented, aws:SourceAccount alone).
TOPIC_PUBLISHERS: dict[str, dict[str, str | None]] = {
    OPS_TOPIC.logical_id: {
        "cloudwatch.amazonaws.com": f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{PROJECT}-*",
    },
    FINOPS_TOPIC.logical_id: {
        "budgets.amazonaws.com": "arn:${AWS::Partition}:budgets::${AWS::AccountId}:*",
        "costalerts.amazonaws.com": None,
    },
}
API_NAME = API_FUNCTION.local_name  # the REST API carries the API function's name
API_STAGE = "prod"
PERIOD = Duration.minutes(5)


class AlertingStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters,
                 messaging_key: kms.IKey) -> None:
        super().__init__(scope, construct_id, description="Barometer alerting: topics, subscriptions, alarms")
        self.topics = {spec.logical_id: catalogue_topic(self, spec, messaging_key) for spec in TOPICS}
        self.sensor_queues = {}
        for topic_spec, queue_spec in zip(TOPICS, SENSOR_QUEUES, strict=True):
            queue = catalogue_queue(self, queue_spec, messaging_key)
            subscribe_sensor_queue(self.topics[topic_spec.logical_id], queue)
            self.sensor_queues[queue_spec.logical_id] = queue
        has_email = has_value(self, params.alert_email)
        for topic in self.topics.values():
            subscription = sns.Subscription(self, f"{topic.node.id}Email", topic=topic,
                                            protocol=sns.SubscriptionProtocol.EMAIL,
                                            endpoint=params.alert_email.value_as_string)
            subscription.node.default_child.cfn_options.condition = has_email  # type: ignore[union-attr]
        # A topic policy replaces SNS's default access: without these statements nothing of AWS may publish.
        for topic_id, publishers in TOPIC_PUBLISHERS.items():
            topic = self.topics[topic_id]
            for service, source_arn in publishers.items():
                conditions: dict = {"StringEquals": {"aws:SourceAccount": self.account}}
                if source_arn:
                    conditions["ArnLike"] = {"aws:SourceArn": Fn.sub(source_arn)}
                topic.add_to_resource_policy(iam.PolicyStatement(
                    sid=f"Allow{service.split('.')[0].title()}",
                    principals=[iam.ServicePrincipal(service)], actions=["sns:Publish"], resources=[topic.topic_arn],
                    conditions=conditions))
        self.ops_topic = self.topics[OPS_TOPIC.logical_id]
        self.alarms = self._alarms(params)

    def _alarm(self, name: str, metric: cloudwatch.Metric, threshold: float, description: str,
               comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self, name, alarm_name=f"{PROJECT}-{name}", metric=metric, threshold=threshold,
            evaluation_periods=1, comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING, alarm_description=description)
        alarm.add_alarm_action(actions.SnsAction(self.ops_topic))
        alarm.add_ok_action(actions.SnsAction(self.ops_topic))
        return alarm

    def _alarms(self, params: EstateParameters) -> list[cloudwatch.Alarm]:
        alarms = []
        for spec in FUNCTIONS:
            for metric_name in ("Errors", "Throttles"):
                metric = cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric_name,
                                           dimensions_map={"FunctionName": spec.local_name},
                                           statistic="Sum", period=PERIOD)
                alarms.append(self._alarm(f"{spec.logical_id}{metric_name}", metric, 1,
                                          f"{spec.local_name}: {metric_name.lower()} in the last 5 minutes"))
        iterator_age = cloudwatch.Metric(namespace="AWS/Kinesis", metric_name="GetRecords.IteratorAgeMilliseconds",
                                         dimensions_map={"StreamName": EVENTS_STREAM.local_name},
                                         statistic="Maximum", period=PERIOD)
        alarms.append(self._alarm("EventsStreamIteratorAge", iterator_age, params.iterator_age_alarm_ms.value_as_number,
                                  "A consumer of the events stream is falling behind"))
        for spec in (EVENTS_DLQ, STREAM_FAILURES_DLQ, NOTIFY_DLQ):
            depth = cloudwatch.Metric(namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                                      dimensions_map={"QueueName": spec.local_name}, statistic="Maximum",
                                      period=PERIOD)
            alarms.append(self._alarm(f"{spec.logical_id}Depth", depth, params.dlq_depth_alarm.value_as_number,
                                      f"{spec.local_name} holds messages to look at"))
        api_5xx = cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                                    dimensions_map={"ApiName": API_NAME, "Stage": API_STAGE},
                                    statistic="Sum", period=PERIOD)
        alarms.append(self._alarm("Api5xx", api_5xx, 1, "The API answered with server errors"))
        return alarms
