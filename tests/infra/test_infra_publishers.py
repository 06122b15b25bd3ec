"""Every AWS service that publishes or delivers into the estate may do so: topic policy and key policy.

A topic policy replaces SNS's default access, and a customer-managed key allows only what its policy
says: without both statements an alarm, a budget or AWS Config fails silently on its first use. Each
publisher is found in the synthesized templates (alarm actions, budget and anomaly subscribers, the Config
delivery channel, EventBridge rule targets), then its topic's policy and its key's policy are checked.
"""
from __future__ import annotations

import fnmatch
import json

import pytest

from barometer.catalogue import CATALOGUE, FINOPS_TOPIC, OPS_TOPIC

pytestmark = pytest.mark.infra

# Condition keys each service's KMS requests are documented to carry (a condition on a key the request
# lacks denies it): none for CloudWatch alarms, Cost Anomaly Detection and EventBridge publishing to an
# encrypted topic; aws:SourceAccount/SourceArn for Budgets and AWS Config.
KMS_CONDITION_KEYS = {
    "cloudwatch.amazonaws.com": set(),
    "costalerts.amazonaws.com": set(),
    "events.amazonaws.com": set(),
    "budgets.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
    "config.amazonaws.com": {"aws:SourceAccount", "aws:SourceArn"},
}
TOPIC_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
KEYS = ("MessagingKey", "DataKey", "TableKey", "SecretsKey")


def _topic_of(value) -> str | None:
    text = json.dumps(value)
    found = {t.logical_id for t in CATALOGUE.topics if t.logical_id in text}
    found -= {a for a in found for b in found if a != b and a in b}  # OpsAlerts is in FinOpsAlerts
    return found.pop() if len(found) == 1 else None


def _publishers(synthesized) -> list[tuple[str, str, str]]:
    """(service principal, topic logical id, where) for every publisher the templates configure."""
    found = []
    for name, template in synthesized.nested.items():
        for lid, resource in template["Resources"].items():
            props, kind = resource.get("Properties", {}), resource["Type"]
            if kind == "AWS::CloudWatch::Alarm":
                for action in props.get("AlarmActions", []) + props.get("OKActions", []):
                    found.append(("cloudwatch.amazonaws.com", _topic_of(action), f"{name}/{lid}"))
            elif kind == "AWS::Budgets::Budget":
                for notification in props["NotificationsWithSubscribers"]:
                    for subscriber in notification["Subscribers"]:
                        if subscriber["SubscriptionType"] == "SNS":
                            found.append(("budgets.amazonaws.com", _topic_of(subscriber["Address"]), f"{name}/{lid}"))
            elif kind == "AWS::CE::AnomalySubscription":
                for subscriber in props["Subscribers"]:
                    if subscriber["Type"] == "SNS":
                        found.append(("costalerts.amazonaws.com", _topic_of(subscriber["Address"]), f"{name}/{lid}"))
            elif kind == "AWS::Config::DeliveryChannel" and "SnsTopicARN" in props:
                found.append(("config.amazonaws.com", _topic_of(props["SnsTopicARN"]), f"{name}/{lid}"))
            elif kind == "AWS::Events::Rule":
                for target in props.get("Targets", []):
                    if _topic_of(target["Arn"]):
                        found.append(("events.amazonaws.com", _topic_of(target["Arn"]), f"{name}/{lid}"))
    return found


def _topic_resource(synthesized, topic_id: str) -> tuple[str, dict]:
    (found,) = [(lid, r) for lid, r in synthesized.nested["Alerting"]["Resources"].items()
                if r["Type"] == "AWS::SNS::Topic" and r["Properties"]["TopicName"] == _spec(topic_id).local_name]
    return found


def _spec(topic_id: str):
    return next(t for t in CATALOGUE.topics if t.logical_id == topic_id)


def _topic_policy_statements(synthesized, topic_lid: str) -> list[dict]:
    return [s for r in synthesized.resources("Alerting", "AWS::SNS::TopicPolicy").values()
            if {"Ref": topic_lid} in r["Properties"]["Topics"]
            for s in r["Properties"]["PolicyDocument"]["Statement"]]


def _key_statements(synthesized, key: str) -> list[dict]:
    (resource,) = [r for lid, r in synthesized.resources("Security", "AWS::KMS::Key").items() if lid.startswith(key)]
    return resource["Properties"]["KeyPolicy"]["Statement"]


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _service_statements(statements: list[dict], principal: str) -> list[dict]:
    return [s for s in statements if s["Effect"] == "Allow"
            and principal in _listed(s.get("Principal", {}).get("Service", []))]


def _allows(statement: dict, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement["Action"]))


def _condition_keys(statement: dict) -> set[str]:
    return {key for operator in statement.get("Condition", {}).values() for key in operator}


def _key_allows(synthesized, key: str, principal: str, actions=TOPIC_KEY_ACTIONS) -> None:
    statements = _service_statements(_key_statements(synthesized, key), principal)
    for action in actions:
        usable = [s for s in statements if _allows(s, action)
                  and _condition_keys(s) <= KMS_CONDITION_KEYS[principal]]
        assert usable, f"{key}'s policy does not let {principal} {action} (with conditions its requests carry)"


def test_every_publisher_is_found_and_names_a_catalogue_topic(synthesized):
    publishers = _publishers(synthesized)
    assert all(topic for _, topic, _ in publishers), [p for p in publishers if not p[1]]
    # The alarms, the budget and the anomaly subscription: a search that finds none would prove nothing
    assert {(p, t) for p, t, _ in publishers} >= {("cloudwatch.amazonaws.com", OPS_TOPIC.logical_id),
                                                  ("budgets.amazonaws.com", FINOPS_TOPIC.logical_id),
                                                  ("costalerts.amazonaws.com", FINOPS_TOPIC.logical_id)}


def test_each_topic_policy_allows_its_publishers_from_this_account_only(synthesized):
    for principal, topic_id, where in _publishers(synthesized):
        topic_lid, _ = _topic_resource(synthesized, topic_id)
        statements = [s for s in _service_statements(_topic_policy_statements(synthesized, topic_lid), principal)
                      if _allows(s, "sns:Publish")]
        assert statements, f"{where}: {topic_id}'s policy does not let {principal} publish"
        for statement in statements:
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        if principal == "cloudwatch.amazonaws.com":  # only this estate's alarms
            (source,) = [s["Condition"]["ArnLike"]["aws:SourceArn"] for s in statements]
            assert ":cloudwatch:" in json.dumps(source) and ":alarm:barometer-*" in json.dumps(source)


def test_each_topic_key_lets_its_publishers_encrypt(synthesized):
    for principal, topic_id, _ in _publishers(synthesized):
        _, topic = _topic_resource(synthesized, topic_id)
        key = next(k for k in KEYS if k in json.dumps(topic["Properties"]["KmsMasterKeyId"]))
        _key_allows(synthesized, key, principal)


def test_the_messaging_key_lets_no_unused_service_in(synthesized):
    services = {svc for s in _key_statements(synthesized, "MessagingKey")
                for svc in _listed(s.get("Principal", {}).get("Service", [])) if isinstance(svc, str)}
    # Then besides SNS (it encrypts deliveries to the sensor queues) and CloudWatch Logs (a regional
    # principal built with Fn::Join), only the services that publish to its topics
    assert services - {"sns.amazonaws.com"} == {p for p, _, _ in _publishers(synthesized)}


def test_aws_config_may_deliver_with_the_data_key(synthesized):
    (channel,) = synthesized.resources("Security", "AWS::Config::DeliveryChannel").values()
    assert "DataKey" in json.dumps(channel["Properties"]["S3KmsKeyArn"])
    _key_allows(synthesized, "DataKey", "config.amazonaws.com", actions=("kms:GenerateDataKey", "kms:Decrypt"))
