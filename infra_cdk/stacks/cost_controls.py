"""CostControlsStack: the monthly budget and cost-anomaly detection, both reporting to FinOpsAlerts."""
from __future__ import annotations

from aws_cdk import NestedStack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_ce as ce
from aws_cdk import aws_sns as sns
from constructs import Construct

from barometer.catalogue import PROJECT
from infra_cdk.parameters import EstateParameters

ANOMALY_THRESHOLD_USD = 10


class CostControlsStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters,
                 finops_topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id, description="Barometer cost controls: budget, anomaly detection")
        subscriber = budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=finops_topic.topic_arn)

        def notify(kind: str, percent: int) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
            return budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind, comparison_operator="GREATER_THAN", threshold=percent,
                    threshold_type="PERCENTAGE"),
                subscribers=[subscriber])

        self.budget = budgets.CfnBudget(
            self, "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{PROJECT}-monthly", budget_type="COST", time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=params.monthly_budget_usd.value_as_number,
                                                             unit="USD")),
            notifications_with_subscribers=[notify("ACTUAL", 80), notify("FORECASTED", 100)])
        monitor = ce.CfnAnomalyMonitor(self, "AnomalyMonitor", monitor_name=f"{PROJECT}-services",
                                       monitor_type="DIMENSIONAL", monitor_dimension="SERVICE")
        ce.CfnAnomalySubscription(
            self, "AnomalyAlerts", subscription_name=f"{PROJECT}-anomalies", frequency="IMMEDIATE",
            monitor_arn_list=[monitor.attr_monitor_arn],
            subscribers=[ce.CfnAnomalySubscription.SubscriberProperty(type="SNS", address=finops_topic.topic_arn)],
            threshold_expression=('{"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", '
                                  f'"MatchOptions": ["GREATER_THAN_OR_EQUAL"], "Values": ["{ANOMALY_THRESHOLD_USD}"]}}}}'))
