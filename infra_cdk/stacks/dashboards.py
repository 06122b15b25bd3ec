"""DashboardsStack: a CloudWatch dashboard of pipeline health; QuickSight over the lake (optional)."""
from __future__ import annotations

from aws_cdk import Aws, Duration, NestedStack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_quicksight as quicksight
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from barometer.catalogue import GLUE_DATABASE, LATEST_TABLE, PROJECT
from barometer.lake import LAKE_SCHEMAS
from infra_cdk.parameters import EstateParameters, all_of, condition, has_value

PERIOD = Duration.minutes(1)
QUICKSIGHT_TABLES = ("quotes", "weather", "alerts")
DYNAMODB_CATALOG = f"{PROJECT}_dynamodb"
# LatestTable attributes QuickSight shows (docs/contracts.md); the connector maps DynamoDB types to these.
LATEST_COLUMNS = (("pk", "STRING"), ("kind", "STRING"), ("key", "STRING"), ("value", "DECIMAL"), ("ts", "STRING"),
                  ("local_day", "STRING"), ("change_pct", "DECIMAL"), ("previous_close", "DECIMAL"),
                  ("updated_at", "STRING"))
QUICKSIGHT_TYPES = {"string": "STRING", "timestamp": "DATETIME", "double": "DECIMAL", "bigint": "INTEGER"}
OWNER_ACTIONS = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                 "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
                 "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
                 "quicksight:UpdateDataSetPermissions"]


class DashboardsStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters,
                 functions: list[lambda_.IFunction], processor: lambda_.IFunction, stream: kinesis.IStream,
                 queues: list[sqs.IQueue], api: apigateway.RestApi, workgroup: athena.CfnWorkGroup) -> None:
        super().__init__(scope, construct_id, description="Barometer dashboards: pipeline health, QuickSight")
        self.dashboard = cloudwatch.Dashboard(self, "PipelineHealth", dashboard_name=f"{PROJECT}-pipeline-health",
                                              default_interval=Duration.hours(6))
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown="# Barometer pipeline health\nIngest, process, deliver, alert.",
                                  width=24, height=2),
            cloudwatch.GraphWidget(title="API requests and errors", width=12, left=[
                api.metric_count(period=PERIOD), api.metric_client_error(period=PERIOD),
                api.metric_server_error(period=PERIOD)], right=[api.metric_latency(period=PERIOD)]),
            cloudwatch.GraphWidget(title="Events stream", width=12, left=[
                stream.metric_incoming_records(period=PERIOD),
                stream.metric_get_records_success(period=PERIOD)],
                right=[stream.metric_get_records_iterator_age_milliseconds(period=PERIOD, statistic="Maximum")]),
            # The processor's own age of the last record it finished: the hot path's lag behind the stream.
            cloudwatch.GraphWidget(title="Processor lag and batches", width=12, left=[
                processor.metric("IteratorAge", period=PERIOD, statistic="Maximum")],
                right=[processor.metric_invocations(period=PERIOD)]),
            cloudwatch.GraphWidget(title="Function errors", width=12,
                                   left=[fn.metric_errors(period=PERIOD) for fn in functions]),
            cloudwatch.GraphWidget(title="Function duration (p95)", width=12,
                                   left=[fn.metric_duration(period=PERIOD, statistic="p95") for fn in functions]),
            cloudwatch.GraphWidget(title="Dead-letter queues", width=12, left=[
                queue.metric_approximate_number_of_messages_visible(period=PERIOD) for queue in queues]),
        )
        self._quicksight(params, workgroup)

    def _quicksight(self, params: EstateParameters, workgroup: athena.CfnWorkGroup) -> None:
        """Athena data source and one dataset per lake table, owned by QuickSightPrincipalArn."""
        enabled = all_of(self, "QuickSightReady", condition(self, params.toggle("EnableQuickSight")),
                         has_value(self, params.quicksight_principal_arn))
        principal = params.quicksight_principal_arn.value_as_string
        source = quicksight.CfnDataSource(
            self, "AthenaSource", aws_account_id=Aws.ACCOUNT_ID, data_source_id=f"{PROJECT}-athena",
            name="Barometer lake (Athena)", type="ATHENA",
            data_source_parameters=quicksight.CfnDataSource.DataSourceParametersProperty(
                athena_parameters=quicksight.CfnDataSource.AthenaParametersProperty(work_group=workgroup.ref)),
            ssl_properties=quicksight.CfnDataSource.SslPropertiesProperty(disable_ssl=False),
            permissions=[quicksight.CfnDataSource.ResourcePermissionProperty(principal=principal, actions=[
                "quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
                "quicksight:PassDataSource", "quicksight:UpdateDataSource", "quicksight:DeleteDataSource",
                "quicksight:UpdateDataSourcePermissions"])])
        source.cfn_options.condition = enabled
        datasets = {}
        for table in QUICKSIGHT_TABLES:
            dataset = datasets[table] = quicksight.CfnDataSet(
                self, f"{table.title()}DataSet", aws_account_id=Aws.ACCOUNT_ID, data_set_id=f"{PROJECT}-{table}",
                # SPICE: Dagster's quicksight_spice asset refreshes these daily (CreateIngestion needs SPICE),
                # so the dashboard reads a copy instead of an Athena scan per visual.
                name=f"Barometer {table}", import_mode="SPICE",
                physical_table_map={table: quicksight.CfnDataSet.PhysicalTableProperty(
                    relational_table=quicksight.CfnDataSet.RelationalTableProperty(
                        data_source_arn=source.attr_arn, catalog="AwsDataCatalog", schema=GLUE_DATABASE, name=table,
                        input_columns=[quicksight.CfnDataSet.InputColumnProperty(name=name, type=QUICKSIGHT_TYPES[kind])
                                       for name, kind in LAKE_SCHEMAS[table]]))},
                permissions=[quicksight.CfnDataSet.ResourcePermissionProperty(principal=principal,
                                                                              actions=OWNER_ACTIONS)])
            dataset.cfn_options.condition = enabled
        self._latest_through_athena(params, enabled, source, principal)
        self._stocks_weather_dashboard(enabled, datasets, principal)

    def _stocks_weather_dashboard(self, enabled, datasets: dict, principal: str) -> None:
        """One sheet: average price per symbol and average temperature per city, by hour."""
        def line_chart(visual_id: str, title: str, dataset: str, key: str, measure: str) -> dict:
            def column(name: str) -> dict:
                return {"DataSetIdentifier": dataset, "ColumnName": name}

            return {"LineChartVisual": {
                "VisualId": visual_id,
                "Title": {"Visibility": "VISIBLE", "FormatText": {"PlainText": title}},
                "ChartConfiguration": {"FieldWells": {"LineChartAggregatedFieldWells": {
                    "Category": [{"DateDimensionField": {"FieldId": f"{visual_id}-ts", "Column": column("ts"),
                                                         "DateGranularity": "HOUR"}}],
                    "Values": [{"NumericalMeasureField": {
                        "FieldId": f"{visual_id}-{measure}", "Column": column(measure),
                        "AggregationFunction": {"SimpleNumericalAggregation": "AVERAGE"}}}],
                    "Colors": [{"CategoricalDimensionField": {"FieldId": f"{visual_id}-{key}",
                                                              "Column": column(key)}}],
                }}},
            }}

        dashboard = quicksight.CfnDashboard(
            self, "StocksWeather", aws_account_id=Aws.ACCOUNT_ID, dashboard_id=f"{PROJECT}-stocks-weather",
            name="Barometer stocks and weather",
            permissions=[quicksight.CfnDashboard.ResourcePermissionProperty(principal=principal, actions=[
                "quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard",
                "quicksight:UpdateDashboard", "quicksight:DeleteDashboard", "quicksight:UpdateDashboardPermissions",
                "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion"])])
        dashboard.add_property_override("Definition", {
            "DataSetIdentifierDeclarations": [
                {"Identifier": table, "DataSetArn": datasets[table].attr_arn} for table in ("quotes", "weather")],
            "Sheets": [{"SheetId": "overview", "Name": "Overview", "Visuals": [
                line_chart("prices", "Average price by symbol (hourly)", "quotes", "symbol", "price"),
                line_chart("temperatures", "Average temperature by city (hourly)", "weather", "city", "temp_c"),
            ]}],
        })
        dashboard.cfn_options.condition = enabled

    def _latest_through_athena(self, params: EstateParameters, quicksight_on, source, principal: str) -> None:
        """LatestTable in QuickSight: DynamoDB through Athena's federated DynamoDB connector (installed by the
        operator from the Serverless Application Repository; its ARN is DynamoDbConnectorArn)."""
        enabled = all_of(self, "DynamoDbThroughAthena", quicksight_on, has_value(self, params.dynamodb_connector_arn))
        catalog = athena.CfnDataCatalog(
            self, "DynamoDbCatalog", name=DYNAMODB_CATALOG, type="LAMBDA",
            description="DynamoDB tables through the Athena DynamoDB connector",
            parameters={"function": params.dynamodb_connector_arn.value_as_string})
        catalog.cfn_options.condition = enabled
        dataset = quicksight.CfnDataSet(
            self, "LatestDataSet", aws_account_id=Aws.ACCOUNT_ID, data_set_id=f"{PROJECT}-latest",
            name="Barometer latest values", import_mode="DIRECT_QUERY",
            physical_table_map={"latest": quicksight.CfnDataSet.PhysicalTableProperty(
                relational_table=quicksight.CfnDataSet.RelationalTableProperty(
                    data_source_arn=source.attr_arn, catalog=DYNAMODB_CATALOG, schema="default",
                    name=LATEST_TABLE.local_name,
                    input_columns=[quicksight.CfnDataSet.InputColumnProperty(name=name, type=kind)
                                   for name, kind in LATEST_COLUMNS]))},
            permissions=[quicksight.CfnDataSet.ResourcePermissionProperty(principal=principal, actions=OWNER_ACTIONS)])
        dataset.cfn_options.condition = enabled
        dataset.add_resource_dependency(catalog)
