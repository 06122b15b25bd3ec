"""AnalyticsStack: the Glue database and lake tables, a crawler over the processed zone (optional), and Athena.

The Glue tables are declared from barometer/lake.py (Firehose converts to Parquet with them, so they
exist before the delivery streams); the rollup SQL of barometer_sql/sql is stored as named queries.
"""
from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, NestedStack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from barometer.catalogue import GLUE_DATABASE, PROJECT
from barometer.lake import LAKE_TABLES, PROCESSED_PREFIX
from infra_cdk.constructs.lake import lake_table
from infra_cdk.constructs.secure_bucket import secure_bucket
from infra_cdk.parameters import EstateParameters, condition

ROLLUP_SQL_DIR = Path(__file__).resolve().parents[2] / "barometer_sql" / "sql"
WORKGROUP = PROJECT
BYTES_SCANNED_CUTOFF = 10 * 1024**3  # a runaway query stops at 10 GB (~$0.05)


def rollup_queries() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(ROLLUP_SQL_DIR.glob("*.sql"))}


class AnalyticsStack(NestedStack):
    def __init__(self, scope: Construct, construct_id: str, *, params: EstateParameters, processed_bucket: s3.IBucket,
                 access_logs: s3.IBucket, data_key: kms.IKey, log_key: kms.IKey) -> None:
        super().__init__(scope, construct_id, description="Barometer analytics: Glue catalog, crawler, Athena")
        self.database = glue.CfnDatabase(
            self, "Database", catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=GLUE_DATABASE, description="Barometer lake (processed zone, Parquet)"))
        self.tables = {table: lake_table(self, self.database, table, processed_bucket, f"{PROCESSED_PREFIX}{table}/")
                       for table in LAKE_TABLES}
        self._crawler(processed_bucket, data_key, log_key)
        crawler_on = condition(self, params.toggle("EnableCrawler"))
        for resource in (self.crawler, self.crawler_security, self.crawler_role.node.default_child,
                         self.crawler_role.node.find_child("DefaultPolicy").node.default_child):
            resource.cfn_options.condition = crawler_on  # type: ignore[union-attr]
        self.results_bucket = secure_bucket(self, "AthenaResults", key=data_key, access_logs=access_logs,
                                            log_prefix="athena-results/")
        self.workgroup = athena.CfnWorkGroup(
            self, "WorkGroup", name=WORKGROUP, description="Barometer rollups and ad-hoc queries",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True, publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version="Athena engine version 3"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_bucket.s3_url_for_object("results/"),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=data_key.key_arn))))
        self.named_queries = {}
        for name, sql in rollup_queries().items():
            query = athena.CfnNamedQuery(self, f"Rollup{name.title().replace('_', '')}", name=name,
                                         database=GLUE_DATABASE, work_group=self.workgroup.ref, query_string=sql,
                                         description=f"barometer_sql rollup {name}")
            query.add_resource_dependency(self.database)
            self.named_queries[name] = query

    def _crawler(self, bucket: s3.IBucket, data_key: kms.IKey, log_key: kms.IKey) -> None:
        """Registers the dt partitions Firehose writes; the tables' columns stay as declared. Optional
        (EnableCrawler): Dagster's lake assets register the partitions they compact directly
        (platform_assets/lake/catalog.py); the crawler also catches days Dagster has not run over yet."""
        self.crawler_security = security = glue.CfnSecurityConfiguration(
            self, "CrawlerSecurity", name=f"{PROJECT}-crawler",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=log_key.key_arn),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=data_key.key_arn),
                s3_encryptions=[glue.CfnSecurityConfiguration.S3EncryptionProperty(
                    s3_encryption_mode="SSE-KMS", kms_key_arn=data_key.key_arn)]))
        self.crawler_role = role = iam.Role(self, "CrawlerRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                        description="Glue crawler of the processed zone")
        bucket.grant_read(role, f"{PROCESSED_PREFIX}*")
        data_key.grant_decrypt(role)
        log_key.grant_encrypt_decrypt(role)
        stack = NestedStack.of(self)
        role.add_to_policy(iam.PolicyStatement(
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:UpdateTable",
                     "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                     "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
                     "glue:GetSecurityConfiguration"],
            resources=[stack.format_arn(service="glue", resource="catalog"),
                       stack.format_arn(service="glue", resource="database", resource_name=GLUE_DATABASE),
                       stack.format_arn(service="glue", resource="table", resource_name=f"{GLUE_DATABASE}/*")]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            resources=[stack.format_arn(service="logs", resource="log-group",
                                        resource_name="/aws-glue/crawlers*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)]))
        self.crawler = glue.CfnCrawler(
            self, "Crawler", name=f"{PROJECT}-processed", role=role.role_arn,
            description="Adds the processed zone's new dt partitions to the lake tables",
            crawler_security_configuration=security.ref,
            # Daily: each crawl bills at least 10 DPU-minutes; the orchestrator registers partitions as it writes.
            schedule=glue.CfnCrawler.ScheduleProperty(schedule_expression="cron(15 2 * * ? *)"),
            targets=glue.CfnCrawler.TargetsProperty(catalog_targets=[glue.CfnCrawler.CatalogTargetProperty(
                database_name=GLUE_DATABASE, tables=list(LAKE_TABLES))]),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior="LOG", delete_behavior="LOG"),
            configuration='{"Version": 1.0, "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": '
                          '"InheritFromTable"}}, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"}}')
        for table in self.tables.values():
            self.crawler.add_resource_dependency(table)
