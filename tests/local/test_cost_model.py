"""The cost model's arithmetic (bench/cost_model.py, cost_sim.py, cost_idle.py): dollars, item sizes,
the consumer's throughput formula and the idle month, against hand-computed figures. No timing."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from barometer.config import Window
from barometer.core.itemsize import item_size
from barometer.core.records import metrics_item
from bench import cost_idle, cost_model, cost_sim

GB = 2**30
PRICES = {  # round figures so that every expectation below is computed by hand
    "dynamodb": {"write_request_units_per_million": 1.0, "read_request_units_per_million": 0.25,
                 "storage_gb_month": 0.25, "pitr_gb_month": 0.20, "item_storage_overhead_bytes": 100},
    "lambda": {"requests_per_million": 0.20, "gb_second_x86": 0.00001, "one_vcpu_at_mb": 1769},
    "kinesis": {"on_demand_ingest_gb": 0.08, "on_demand_retrieval_gb": 0.04, "on_demand_record_rounding_kb": 1,
                "provisioned_put_payload_units_per_million": 0.014, "provisioned_put_payload_unit_kb": 25,
                "on_demand_stream_hour": 0.04, "provisioned_shard_hour": 0.015},
    "firehose": {"ingest_gb": 0.029, "record_rounding_kb": 5, "format_conversion_gb": 0.018},
    "s3": {"put_per_1000": 0.005, "storage_gb_month": 0.023},
    "vpc": {"nat_gateway_hour": 0.045, "public_ipv4_hour": 0.005, "interface_endpoint_az_hour": 0.01},
    "cloudwatch": {"alarm_standard_metric_month": 0.10, "alarm_high_resolution_metric_month": 0.30,
                   "dashboard_month": 3.0},
    "kms": {"key_month": 1.0}, "secrets_manager": {"secret_month": 0.40},
    "waf": {"web_acl_month": 5.0, "rule_month": 1.0},
}


def test_dollars_per_million_events_add_up_each_service():
    # Given per-event units of a tiny case
    units = cost_model.Units(ddb_write_units=2, ddb_read_units=0.4, lambda_invocations=0.002, lambda_gb_s=0.001,
                             kinesis_ingest_kb=1, kinesis_retrieval_kb=2, firehose_ingest_kb=10,
                             firehose_conversion_kb=5, s3_puts=0.002)
    # When priced
    usd = cost_model.dollars_per_million(units, PRICES)
    # Then each line is units x price per million events
    kb = 1024 / GB * 1e6  # GB per million events of one KB each
    assert usd["dynamodb"] == pytest.approx(2 * 1.0 + 0.4 * 0.25)  # 2.10
    assert usd["lambda"] == pytest.approx(0.002 * 0.20 + 0.001 * 0.00001 * 1e6)  # 0.0004 + 0.01
    assert usd["kinesis"] == pytest.approx(round((1 * 0.08 + 2 * 0.04) * kb, 4))
    assert usd["firehose"] == pytest.approx(round((10 * 0.029 + 5 * 0.018) * kb, 4))
    assert usd["s3"] == pytest.approx(0.002 * 0.005 * 1000)  # 0.01
    assert usd["total"] == pytest.approx(sum(v for k, v in usd.items() if k != "total"))
    provisioned = cost_model.dollars_per_million(replace(units, kinesis_put_payload_units=1), PRICES, "provisioned")
    assert provisioned["kinesis"] == pytest.approx(0.014)


def test_stream_units_round_records_as_each_service_bills_them():
    units = cost_model.Units()
    a = cost_model.Assumptions(keys=1000)
    cost_model.stream_units(units, kinesis_bytes=174, lake_bytes=5200, interval_s=60, a=a, prices=PRICES)
    assert units.kinesis_ingest_kb == 1 and units.kinesis_retrieval_kb == 2  # two consumers read each record
    assert units.kinesis_put_payload_units == 1
    assert units.firehose_ingest_kb == 10 + 5  # the lake row rounds up to 10 KB, the raw record to 5 KB
    assert units.firehose_conversion_kb == 10
    assert units.s3_puts == pytest.approx(2 / 1000)  # two deliveries flush a minute's 1,000 records each


def test_consistent_reads_round_a_query_up_to_four_kilobytes():
    assert [cost_sim.read_units(b) for b in (0, 1, 4096, 4097, 13_080)] == [1, 1, 1, 2, 4]


def test_batch_fill_follows_the_feed_and_the_key_count():
    a = cost_model.Assumptions(keys=1000, batch=500, batching_window_s=1.0)
    assert cost_model.batch_fill(60, a) == 500  # a poll puts every key at once
    assert cost_model.batch_fill(1, a) == 500
    assert cost_model.batch_fill(60, replace(a, keys=7)) == 7
    assert cost_model.batch_fill(1, replace(a, keys=7)) == 7


def test_the_throughput_formula():
    # Given 20 us of CPU per record, 100 us per key save, 1 ms per departure Query and 500 us per lookup call
    # on this machine, a 1,024 MB consumer, 8 threads
    cpu = {"record_s": 20e-6, "key_s": 100e-6, "query_s": 1e-3, "lookup_call_s": 500e-6}
    a = cost_model.Assumptions(keys=1000, batch=500, threads=8, put_item_ms=6, batch_write_ms=10, batch_get_ms=6,
                               query_ms=5, firehose_put_batch_ms=30)
    scale = 1769 / 1024
    # When a batch of 500 records over 500 keys has 25 lookups and 30 departure Queries
    seconds = cost_model.new_batch_seconds(500, 500, 25, 30, cpu, a, scale)
    # Then: in the handler's thread the records' CPU, one lookup call, its BatchGetItem and one PutRecordBatch;
    # in the pool of 8 the MetricsTable chunks (ceil(20 / 8) = 3 rounds of 10 ms), the 30 Queries (CPU-bound:
    # 30 x 1 ms x scale, then the last one's 5 ms) and the 500 PutItems (wait-bound: 63 rounds of 6 ms + 100 us x scale)
    serial = scale * (500 * 20e-6 + 500e-6) + (6 + 30) / 1000
    queries = max(30 * scale * 1e-3 + 0.005, 4 * (scale * 1e-3 + 0.005))
    puts = max(500 * scale * 100e-6 + 0.006, 63 * (scale * 100e-6 + 0.006))
    assert queries == 30 * scale * 1e-3 + 0.005 and puts == 63 * (scale * 100e-6 + 0.006)
    assert seconds == pytest.approx(serial + 3 * 0.010 + queries + puts)
    # ... and without overlap every wait adds to every CPU second
    slow = cost_model.new_batch_seconds(500, 500, 25, 30, cpu, a, scale, overlap=False)
    assert slow == pytest.approx(serial + 3 * 0.010 + 30 * scale * 1e-3 + 4 * 0.005 + 500 * scale * 100e-6 + 63 * 0.006)
    per_record = {"lookups": 25 / 500, "queries": 30 / 500}
    model = cost_model.shard_throughput(cpu, per_record, a, 1024, PRICES)
    assert model["events_per_s"] == round(500 / seconds)
    assert model["events_per_s_with_parallelization"] == round(2 * 500 / seconds)
    assert model["events_per_s_without_overlap"] == round(500 / slow)
    assert model["cpu_seconds"] == pytest.approx(scale * (500 * 20e-6 + 500 * 100e-6 + 30 * 1e-3 + 500e-6), abs=1e-4)
    assert model["events_per_s_by_threads"][16] > model["events_per_s_by_threads"][8]
    assert model["events_per_s_by_memory_mb"][1769] > model["events_per_s_by_memory_mb"][1024] == model["events_per_s"]


def test_the_model_assumes_the_processors_pool():
    from lambdas.processor.pool import WORKERS

    assert cost_model.Assumptions().threads == WORKERS


def test_lambda_below_one_vcpu_gets_a_share_of_it():
    assert cost_model.cpu_scale(1769, PRICES) == 1.0
    assert cost_model.cpu_scale(512, PRICES) == pytest.approx(1769 / 512)
    assert cost_model.cpu_scale(3008, PRICES) == 1.0


def test_the_new_metrics_item_carries_the_sequence_number_and_sizes_exactly():
    case = cost_sim.Case(60, (Window("5m", 300),), days=1)
    sizer = cost_sim.MetricsSizer(cost_sim.new_metrics_item)
    days = cost_sim.Days(case.timezone)
    seen = 0
    for event, seq, _ in cost_sim.events(case):
        day = days(event)
        item = cost_sim.new_metrics_item(event, day, seq)
        assert item["seq"] == str(seq)
        assert sizer(event, day, seq) == item_size(item)  # the per-shape cache is exact
        # the seq attribute costs its name and 56 digits over the first design's item
        assert item_size(item) == item_size(metrics_item(event, day, cost_sim.INGESTED_AT)) + len("seq") + 56
        seen += 1
    assert seen == 1440


def test_a_day_at_one_event_a_minute_writes_two_units_per_event_in_the_new_design():
    # Given a day of quotes at 1/min with a 5m window (its 5 events are followed in full: no reads)
    case = cost_sim.Case(60, (Window("5m", 300),), days=2)
    new = cost_sim.simulate(case, "new")
    # Then every record writes one MetricsTable item and one LatestTable put of one unit
    assert new["records"] == 1440 and new["metrics_write_units"] == 1.0 and new["latest_puts"] == 1.0
    assert new["latest_write_units_per_put"] == 1.0 and new["lookups"] == 0 and new["queries"] == 0
    # while with a 24h window the first design's item (a day of packed minutes) is several units
    old = cost_sim.simulate(replace(case, windows=(Window("5m", 300), Window("24h", 86400))), "old")
    assert old["latest_item_bytes"] > 2048 and old["latest_write_units_per_put"] >= 3


def test_duplicates_are_looked_up_and_never_written():
    case = cost_sim.Case(60, (Window("5m", 300),), duplicates=0.05, days=2)
    new = cost_sim.simulate(case, "new")
    assert 0.03 < new["lookups"] < 0.07  # a repeat of an earlier event needs its MetricsTable item
    assert new["metrics_writes"] == pytest.approx(1 - new["lookups"], abs=0.01)


def test_old_design_duplicates_are_derived_from_the_clean_run():
    clean = {"latest_puts": 1.0, "queries": 3.0, "query_read_units": 7.0, "query_items": 90.0, "lookups": 0.0,
             "metrics_write_units": 1.0, "metrics_item_bytes": 268.0}
    derived = cost_model.old_with_duplicates(clean, 0.05)
    assert derived["latest_puts"] == pytest.approx(0.95) and derived["query_read_units"] == pytest.approx(6.65)
    assert derived["metrics_write_units"] == pytest.approx(1.0)  # a duplicate still rewrites its item


def _templates(tmp_path):
    """A root stack with one toggle and a nested stack whose second NAT gateway depends on it."""
    digest = "a" * 64
    root = {"Parameters": {"EnableMultiNat": {"Type": "String", "Default": "false", "AllowedValues": ["true", "false"]},
                           "AlertEmail": {"Type": "String", "Default": ""}},
            "Resources": {"Net": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                "TemplateURL": {"Fn::Join": ["", ["https://s3/", f"{digest}.json"]]},
                "Parameters": {"refMultiNat": {"Ref": "EnableMultiNat"}, "refOther": {"Fn::GetAtt": ["X", "Y"]}}}}}}
    nested = {"Conditions": {"MultiNatOn": {"Fn::Equals": [{"Ref": "refMultiNat"}, "true"]},
                             "OtherGiven": {"Fn::Not": [{"Fn::Equals": [{"Ref": "refOther"}, ""]}]},
                             "Both": {"Fn::And": [{"Condition": "MultiNatOn"}, {"Condition": "OtherGiven"}]}},
              "Resources": {
                  "Nat1": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
                  "Ip1": {"Type": "AWS::EC2::EIP", "Properties": {}},
                  "Nat2": {"Type": "AWS::EC2::NatGateway", "Condition": "Both", "Properties": {}},
                  "Ip2": {"Type": "AWS::EC2::EIP", "Condition": "MultiNatOn", "Properties": {}},
                  "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
                  "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 300}},
                  "Stream": {"Type": "AWS::Kinesis::Stream",
                             "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}}},
                  "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}}}}
    (tmp_path / "Barometer.template.json").write_text(json.dumps(root))
    (tmp_path / "Barometer.assets.json").write_text(json.dumps(
        {"files": {digest: {"source": {"path": "Net.nested.template.json"}}}}))
    (tmp_path / "Net.nested.template.json").write_text(json.dumps(nested))
    return tmp_path


def test_idle_month_evaluates_the_conditions_of_each_profile(tmp_path):
    idle = cost_idle.idle_month(_templates(tmp_path), PRICES)
    cheapest, full = idle["profiles"]["standard"], idle["profiles"]["full"]
    fixed = 730 * 0.04 + 1.0 + 0.10  # the stream, the key, the alarm
    assert cheapest["total"] == pytest.approx(fixed + 730 * 0.045 + 730 * 0.005, abs=0.02)
    assert full["total"] == pytest.approx(fixed + 2 * 730 * 0.045 + 2 * 730 * 0.005, abs=0.02)
    assert not any("Lambda" in line["item"] for line in full["lines"])  # usage-priced: nothing while idle


def test_schedules_per_month():
    assert cost_idle._runs_per_month("rate(1 minute)") == pytest.approx(730 * 60)
    assert cost_idle._runs_per_month("cron(15 2 * * ? *)") == pytest.approx(730 / 24)
    assert math.isclose(cost_idle._runs_per_month("rate(2 hours)"), 365)


def test_prices_file_says_when_and_where_and_that_it_is_unchecked():
    prices = cost_model.load_prices()
    assert prices["region"] == "us-east-1" and prices["as_of"]
    assert prices["checked_against_price_list"] is False and "check" in prices["about"]
