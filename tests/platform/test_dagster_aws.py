"""The AWS branches (BAROMETER_ENV=aws), against the emulator through its endpoint, and where the emulator
lacks an API (QuickSight DescribeIngestion, Backup ListRecoveryPointsByResource) with recorded responses in
the shapes AWS documents (botocore's Stubber validates them against the service model)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import dagster as dg
import pytest
from botocore.stub import Stubber

from barometer.aws import EMULATOR_ACCOUNT
from barometer.catalogue import METRICS_TABLE
from barometer_local.emulator import REGION
from platform_assets.dashboards.quicksight import SpiceRefreshError, refresh_spice
from platform_assets.definitions import build_definitions
from platform_assets.deployment import deployment_key
from platform_assets.dr.checks import evaluate, protected_resources
from platform_assets.resources import BarometerResource

pytestmark = pytest.mark.emulator
NOW = datetime.now(UTC)


def offline_client(service: str):
    """A client that never sends: the Stubber answers (dummy endpoint, dummy credentials)."""
    return boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def ingestion(dataset: str, status: str, **extra) -> dict:
    return {"Ingestion": {"Arn": f"arn:aws:quicksight:{REGION}:{EMULATOR_ACCOUNT}:dataset/{dataset}/ingestion/i1",
                          "IngestionId": "i1", "IngestionStatus": status, "CreatedTime": NOW, **extra},
            "RequestId": "r", "Status": 200}


def created(dataset: str) -> dict:
    return {"Arn": f"arn:aws:quicksight:{REGION}:{EMULATOR_ACCOUNT}:dataset/{dataset}/ingestion/i1",
            "IngestionId": "i1", "IngestionStatus": "INITIALIZED", "RequestId": "r", "Status": 201}


def stub_refresh(stubber: Stubber, datasets: list[str], statuses: list[dict[str, dict]]):
    for dataset in datasets:
        stubber.add_response("create_ingestion", created(dataset), {
            "AwsAccountId": EMULATOR_ACCOUNT, "DataSetId": dataset, "IngestionId": "i1"})
    for round_ in statuses:
        for dataset, answer in round_.items():
            stubber.add_response("describe_ingestion", answer, {
                "AwsAccountId": EMULATOR_ACCOUNT, "DataSetId": dataset, "IngestionId": "i1"})


def test_spice_success_is_recorded_only_once_every_ingestion_completed():
    quicksight = offline_client("quicksight")
    sleeps = []
    with Stubber(quicksight) as stubber:
        # Given two datasets, one still running on the first look
        stub_refresh(stubber, ["ohlc", "weather"], [
            {"ohlc": ingestion("ohlc", "RUNNING"), "weather": ingestion("weather", "COMPLETED")},
            {"ohlc": ingestion("ohlc", "COMPLETED", RowInfo={"RowsIngested": 42}, IngestionTimeInSeconds=7)}])
        # When the refresh runs
        done = refresh_spice(quicksight, EMULATOR_ACCOUNT, ["ohlc", "weather"], "i1", timeout_s=60,
                             sleep=sleeps.append, clock=lambda: 0.0)
        stubber.assert_no_pending_responses()
    # Then it waited for the running one and reports both completed
    assert [(i.dataset, i.status) for i in done] == [("ohlc", "COMPLETED"), ("weather", "COMPLETED")]
    assert done[0].rows == 42 and len(sleeps) == 1


def test_a_failed_ingestion_fails_the_refresh_with_quicksights_reason():
    quicksight = offline_client("quicksight")
    with Stubber(quicksight) as stubber:
        stub_refresh(stubber, ["ohlc"], [{"ohlc": ingestion("ohlc", "FAILED", ErrorInfo={
            "Type": "DATA_SOURCE_AUTH_FAILED", "Message": "Athena workgroup access denied"})}])
        with pytest.raises(SpiceRefreshError, match="ohlc: FAILED \\(DATA_SOURCE_AUTH_FAILED: Athena workgroup"):
            refresh_spice(quicksight, EMULATOR_ACCOUNT, ["ohlc"], "i1", timeout_s=60, sleep=lambda s: None)


def test_an_ingestion_still_running_at_the_timeout_fails_the_refresh():
    quicksight = offline_client("quicksight")
    ticks = iter([0.0, 30.0, 61.0])
    with Stubber(quicksight) as stubber:
        stub_refresh(stubber, ["ohlc"], [{"ohlc": ingestion("ohlc", "RUNNING")}, {"ohlc": ingestion("ohlc", "QUEUED")}])
        with pytest.raises(SpiceRefreshError, match="ohlc: QUEUED, still running after 60 s"):
            refresh_spice(quicksight, EMULATOR_ACCOUNT, ["ohlc"], "i1", timeout_s=60, sleep=lambda s: None,
                          clock=lambda: next(ticks))


@pytest.fixture
def aws(emulator, provisioned):
    """The AWS branch (environment aws) against the emulator's endpoint, with buckets of this test."""
    from platform_helpers import new_bucket

    buckets = {"RawBucket": new_bucket(emulator, "raw"), "ProcessedBucket": new_bucket(emulator)}
    return BarometerResource(environment="aws", endpoint=emulator.url, region=REGION, name_overrides=buckets,
                             replica_regions="us-west-2", backup_vault="barometer-vault",
                             quicksight_datasets="ohlc-dataset", athena_workgroup="barometer-analytics")


def test_spice_on_the_emulator_records_no_success_without_describe_ingestion(aws):
    # The emulator starts ingestions but cannot describe them: the step must fail, not record success
    with dg.instance_for_test() as instance:
        result = build_definitions({"barometer": aws}).resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(["dashboards", "quicksight_spice"])],
            raise_on_error=False)
    assert not result.success
    assert result.asset_materializations_for_node("dashboards__quicksight_spice") == []
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "DescribeIngestion" in failure.step_failure_data.error.to_string()


def test_dr_checks_on_aws_fail_with_reasons_and_the_run_still_succeeds(aws, emulator):
    # Given an object in the raw zone that no replication rule covers (the emulator sets no status)
    boto3.client("s3", endpoint_url=emulator.url, region_name=REGION).put_object(
        Bucket=aws.name_overrides["RawBucket"], Key="raw/dt=2026-11-24/part-1.gz", Body=b"{}")
    # When the DR checks run on the AWS branch
    with dg.instance_for_test() as instance:
        result = build_definitions({"barometer": aws}).resolve_job_def("dr_checks").execute_in_process(
            instance=instance, raise_on_error=False)
    # Then the run succeeds and each check failed, on each asset it protects, with its own reason, as an ERROR
    assert result.success
    verdicts = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert len(verdicts) == 11
    assert all(not v.passed and v.severity == dg.AssetCheckSeverity.ERROR for v in verdicts.values())
    # the emulator has no ListRecoveryPointsByResource: an AWS error, reported by the check
    assert "AWS refused or could not be reached" in verdicts["metrics_table", "backup_recent"].metadata["reason"].value
    assert "@us-west-2=missing" in verdicts["alerts_table", "global_table_replicas_active"].metadata["problems"].value
    assert verdicts["raw_bucket", "lake_replicated"].metadata["not_replicated"].value.endswith("part-1.gz=None")
    assert verdicts["processed_bucket", "lake_replicated"].metadata["reason"].value == "no object to check"
    assert (verdicts["api_function", "health_check_healthy"].metadata["reason"].value
            == "BAROMETER_HEALTH_CHECK_ID is not set")


RECORDED: dict[str, object] = {}  # recording name -> a stubbed Backup client (Dagster copies resources)


class RecordedBackup(BarometerResource):
    """The emulator for everything but AWS Backup, which answers from recorded responses."""

    recording: str = ""

    def client(self, service: str):
        return RECORDED[self.recording] if service == "backup" else super().client(service)


def recorded(aws: BarometerResource):
    name = uuid.uuid4().hex
    RECORDED[name] = offline_client("backup")
    return RecordedBackup(**aws.model_dump(), recording=name), RECORDED[name]


def recovery_point(arn: str, hours: float, status: str = "COMPLETED") -> dict:
    return {"RecoveryPointArn": f"arn:aws:backup:{REGION}:{EMULATOR_ACCOUNT}:recovery-point:{uuid.uuid4()}",
            # Ages are measured from the check's own clock: stamp the point now, not at import (a slow suite
            # ran this test 18 minutes after the module loaded and read 40.3 h).
            "CreationDate": datetime.now(UTC) - timedelta(hours=hours), "Status": status, "BackupVaultName": "barometer-vault",
            "ResourceName": arn.rsplit("/", 1)[-1]}


def test_backup_recent_asks_for_each_protected_resources_points(aws):
    resource, backup = recorded(aws)
    arns = protected_resources(resource)
    assert len(arns) == 5 and arns[-1] == f"arn:aws:s3:::{aws.name_overrides['ProcessedBucket']}"
    with Stubber(backup) as stubber:
        for n, arn in enumerate(arns):
            hours = 40 if n == len(arns) - 1 else 3  # the processed bucket's newest point is too old
            stubber.add_response("list_recovery_points_by_resource", {"RecoveryPoints": [recovery_point(arn, hours)]},
                                 {"ResourceArn": arn})
        results = evaluate("backup_recent", resource)
        stubber.assert_no_pending_responses()
    # Then each table and bucket has its own verdict: only the processed bucket's fails
    verdicts = {r.asset_key.path[-1]: r for r in results}
    assert [k for k, r in verdicts.items() if r.passed] == ["metrics_table", "latest_table", "alerts_table",
                                                            "raw_bucket"]
    assert not verdicts["processed_bucket"].passed
    assert verdicts["processed_bucket"].metadata["problems"].value == f"{arns[-1]}: newest completed point is 40.0 h old"


def test_an_aws_error_fails_backup_recent_with_the_reason(aws):
    resource, backup = recorded(aws)
    table = deployment_key(METRICS_TABLE)
    with Stubber(backup) as stubber:
        stubber.add_client_error("list_recovery_points_by_resource", "AccessDeniedException",
                                 "not authorized to perform: backup:ListRecoveryPointsByResource", 400)
        [result] = evaluate("backup_recent", resource, {table})
    assert result.asset_key == table
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert "AccessDeniedException" in result.metadata["reason"].value


def test_athena_rollups_register_the_utc_days_first_and_use_the_workgroup(aws, emulator):
    athena = boto3.client("athena", endpoint_url=emulator.url, region_name=REGION)
    glue = boto3.client("glue", endpoint_url=emulator.url, region_name=REGION)
    if "barometer-analytics" not in {w["Name"] for w in athena.list_work_groups()["WorkGroups"]}:
        athena.create_work_group(Name="barometer-analytics")
    day = "2025-03-10"  # days no other test registers
    # When the daily_weather rollup of local day D runs on Athena (the emulator's Athena writes no result)
    with dg.instance_for_test() as instance:
        result = build_definitions({"barometer": aws}).resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, partition_key=day, asset_selection=[dg.AssetKey(["analytics", "daily_weather"])],
            raise_on_error=False)
    assert not result.success  # no result file: the step fails, as it must
    # Then the weather table's UTC partitions D-1..D+1 were registered before the query
    values = {tuple(p["Values"]) for p in glue.get_partitions(DatabaseName="barometer", TableName="weather",
                                                               Expression="dt >= '2025-03-09' AND dt <= '2025-03-11'")
              ["Partitions"]}
    assert {("2025-03-09",), ("2025-03-10",), ("2025-03-11",)} <= values
    # And the query went to the deployment's workgroup
    ids = athena.list_query_executions(WorkGroup="barometer-analytics")["QueryExecutionIds"]
    queries = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    assert any("2025-03-10" in q["Query"] and q["WorkGroup"] == "barometer-analytics" for q in queries)
