"""The scanners' waivers: each with a reason, each still needed (a stale one fails the synthesis)."""
from __future__ import annotations

import json

import pytest

from infra_cdk.checks.checkov_gate import problems
from infra_cdk.checks.checkov_skips import SKIPS
from infra_cdk.nag import ACKNOWLEDGMENTS, Acknowledgment

pytestmark = pytest.mark.infra


def test_every_nag_acknowledgment_and_checkov_skip_gives_a_reason():
    for ack in ACKNOWLEDGMENTS:
        assert len(ack.reason) > 30, ack
    for skip in SKIPS:
        assert len(skip.reason) > 30, skip


def test_acknowledgment_patterns_match_whole_ids_only():
    ack = Acknowledgment("Barometer/*", "AwsSolutions-IAM5[Action::s3:List*]", "reason")
    assert ack.matches("Barometer/Storage/Role", "AwsSolutions-IAM5[Action::s3:List*]")
    assert not ack.matches("Barometer/Storage/Role", "AwsSolutions-IAM5[Action::s3:*]")
    assert not ack.matches("Other/Storage/Role", "AwsSolutions-IAM5[Action::s3:List*]")


def test_synthesis_passed_cdk_nag_and_wrote_the_skips_where_checkov_reads_them(synthesized):
    # Given the session synthesis (it raises on any unacknowledged cdk-nag finding)
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    assert all(plugin["conclusion"] == "success" for plugin in report.get("pluginReports", []))
    skipped = [r for t in synthesized.nested.values() for r in t["Resources"].values()
               if "checkov" in r.get("Metadata", {})]
    assert skipped
    for resource in skipped:
        for entry in resource["Metadata"]["checkov"]["skip"]:
            assert entry["comment"]


def test_checkov_gate_counts_failures_unreasoned_skips_and_empty_scans():
    clean = [{"summary": {"resource_count": 3, "passed": 3, "parsing_errors": 0},
              "results": {"failed_checks": [], "skipped_checks": [
                  {"check_id": "CKV_AWS_18", "resource": "AWS::S3::Bucket.Logs",
                   "check_result": {"suppress_comment": "the log target itself"}}]}}]
    found, waived = problems(clean)
    assert found == [] and sum(waived.values()) == 1
    failing = [{"summary": {"resource_count": 1, "parsing_errors": 1},
                "results": {"failed_checks": [{"check_id": "CKV_AWS_1", "check_name": "x", "resource": "r",
                                               "file_path": "f"}],
                            "skipped_checks": [{"check_id": "CKV_AWS_2", "resource": "r",
                                                "check_result": {"suppress_comment": "No comment provided"}}]}}]
    found, _ = problems(failing)
    assert len(found) == 3
    found, _ = problems([{"summary": {"resource_count": 0}, "results": {}}])
    assert found == ["checkov scanned no resource: were the templates synthesized?"]


def test_an_unacknowledged_finding_fails_the_synthesis(tmp_path):
    # Given a small app with a bucket that breaks AwsSolutions rules and no acknowledgment for it
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Probe"), "Open")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # When it is synthesized, Then the validation plugin fails the synthesis
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*AwsSolutions-S1"):
        app.synth()


def test_stale_waivers_fail(tmp_path):
    # Given an app that triggers none of the acknowledged findings
    from aws_cdk import App, Aspects, Stack
    from aws_cdk import aws_sqs as sqs

    from infra_cdk.checks.checkov_skips import ApplyCheckovSkips, UnusedCheckovSkipError
    from infra_cdk.nag import StaleAcknowledgmentError, acknowledge_findings

    app = App(outdir=str(tmp_path))
    sqs.Queue(Stack(app, "Probe"), "Queue", enforce_ssl=True)
    skips = ApplyCheckovSkips()
    Aspects.of(app).add(skips)
    app.synth()
    # Then acknowledgments and skips that match nothing are reported, not silently kept
    with pytest.raises(StaleAcknowledgmentError):
        acknowledge_findings(app)
    with pytest.raises(UnusedCheckovSkipError):
        skips.check_all_used()
