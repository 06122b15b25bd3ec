"""Cost profiles (issue 14): one context value picks the toggles' defaults; the project computes each
profile's bill (bench/cost_idle.py) and the budget default follows from it."""
from __future__ import annotations

import json

import pytest

from barometer.catalogue import CONFIG_JSON_ENV
from barometer.settings import get_settings
from bench import cost_idle, cost_model
from infra_cdk.profiles import ALL_TOGGLES, PROFILES, ProfileError, budget_for, profile_named

pytestmark = pytest.mark.infra

PRICES = cost_model.load_prices()
HOURS = 730
DIGEST = "b" * 64


def _estate(tmp_path):
    """A root stack with the profiles' toggles and one nested stack shaped like the real ones: a NAT gateway
    and its address behind EnableNatGateway, a second behind it and EnableMultiNat, the stream's mode and
    shard count chosen by Fn::If, a daily crawler behind EnableCrawler, a function placed in the VPC by
    Fn::If, a key and an alarm."""
    toggles = {name: {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"]}
               for name in sorted(ALL_TOGGLES)}
    root = {"Parameters": {**toggles, "StreamShardCount": {"Type": "Number", "Default": 2},
                           "AlertEmail": {"Type": "String", "Default": ""}},
            "Resources": {"Net": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                "TemplateURL": {"Fn::Join": ["", ["https://s3/", f"{DIGEST}.json"]]},
                "Parameters": {"refNat": {"Ref": "EnableNatGateway"}, "refMulti": {"Ref": "EnableMultiNat"},
                               "refOnDemand": {"Ref": "EnableOnDemandStream"}, "refCrawler": {"Ref": "EnableCrawler"},
                               "refShards": {"Ref": "StreamShardCount"}}}}}}
    nested = {
        "Conditions": {
            "NatOn": {"Fn::Equals": [{"Ref": "refNat"}, "true"]},
            "MultiOn": {"Fn::Equals": [{"Ref": "refMulti"}, "true"]},
            "SecondNat": {"Fn::And": [{"Condition": "NatOn"}, {"Condition": "MultiOn"}]},
            "OnDemand": {"Fn::Equals": [{"Ref": "refOnDemand"}, "true"]},
            "CrawlerOn": {"Fn::Equals": [{"Ref": "refCrawler"}, "true"]}},
        "Resources": {
            "Nat1": {"Type": "AWS::EC2::NatGateway", "Condition": "NatOn", "Properties": {}},
            "Ip1": {"Type": "AWS::EC2::EIP", "Condition": "NatOn", "Properties": {}},
            "Nat2": {"Type": "AWS::EC2::NatGateway", "Condition": "SecondNat", "Properties": {}},
            "Ip2": {"Type": "AWS::EC2::EIP", "Condition": "SecondNat", "Properties": {}},
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {
                "StreamModeDetails": {"StreamMode": {"Fn::If": ["OnDemand", "ON_DEMAND", "PROVISIONED"]}},
                "ShardCount": {"Fn::If": ["OnDemand", {"Ref": "AWS::NoValue"}, {"Ref": "refShards"}]}}},
            "Crawler": {"Type": "AWS::Glue::Crawler", "Condition": "CrawlerOn", "Properties": {
                "Schedule": {"ScheduleExpression": "cron(15 2 * * ? *)"}}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "VpcConfig": {"Fn::If": ["NatOn", {"SubnetIds": ["s1"]}, {"Ref": "AWS::NoValue"}]}}},
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 300}}}}
    (tmp_path / cost_idle.ROOT_TEMPLATE).write_text(json.dumps(root))
    (tmp_path / "Barometer.assets.json").write_text(json.dumps(
        {"files": {DIGEST: {"source": {"path": "Net.nested.template.json"}}}}))
    (tmp_path / "Net.nested.template.json").write_text(json.dumps(nested))
    return tmp_path


def test_each_profile_is_priced_from_its_own_toggles_against_hand_computed_figures(tmp_path):
    # Given the small estate (its own defaults all "true": the profile's values must win over them)
    months = cost_idle.idle_month(_estate(tmp_path), PRICES)["profiles"]
    # Then by hand, at $0.045/NAT-hour, $0.005/IPv4-hour, $0.015/shard-hour, $0.04/on-demand stream-hour,
    # a daily crawl of 10 minutes x 2 DPU at $0.44/DPU-hour over 730/24 days, $1 a key, $0.10 an alarm
    key_and_alarm = 1.00 + 0.10
    crawler = 730 / 24 * 10 / 60 * 2 * 0.44  # 4.46
    demo = 730 * 2 * 0.015 + key_and_alarm  # two provisioned shards (StreamShardCount's default), no NAT
    standard = 730 * 0.045 + 730 * 0.005 + 730 * 0.04 + crawler + key_and_alarm
    full = 2 * 730 * 0.045 + 2 * 730 * 0.005 + 730 * 0.04 + crawler + key_and_alarm
    assert months["demo"]["total"] == pytest.approx(demo, abs=0.02)  # 23.00
    assert months["standard"]["total"] == pytest.approx(standard, abs=0.02)  # 71.26
    assert months["full"]["total"] == pytest.approx(full, abs=0.02)  # 107.76
    assert (months["demo"]["kinesis_mode"], months["demo"]["nat_gateways"]) == ("provisioned", 0)
    assert (months["full"]["kinesis_mode"], months["full"]["nat_gateways"]) == ("on_demand", 2)


def test_conditional_properties_are_resolved_before_pricing(tmp_path):
    # Given the small estate's nested stack with the demo profile's values
    root = json.loads((_estate(tmp_path) / cost_idle.ROOT_TEMPLATE).read_text())
    params = cost_idle.profile_parameters(root, "demo")
    stack = next(s for s in cost_idle.stacks(tmp_path, "demo") if s[0] == "Net.nested.template.json")
    # When its resources are evaluated
    resources = dict(cost_idle.deployed(stack[1], stack[2]))
    # Then the If chose, NoValue dropped the property, the parameter's value replaced its Ref
    assert params["EnableNatGateway"] == "false" and params["StreamShardCount"] == "2"
    assert resources["Stream"]["Properties"] == {"StreamModeDetails": {"StreamMode": "PROVISIONED"}, "ShardCount": "2"}
    assert "VpcConfig" not in resources["Fn"]["Properties"]
    assert "Crawler" not in resources and "Nat1" not in resources


def test_dollars_per_million_events_follow_the_profiles_stream_mode_and_nat():
    # Given one event's units: 2 write units, 1 KB into the stream read by two consumers, one put payload unit
    units = {"ddb_write_units": 2.0, "ddb_read_units": 0.0, "lambda_invocations": 0.0, "lambda_gb_s": 0.0,
             "kinesis_ingest_kb": 1, "kinesis_retrieval_kb": 2, "kinesis_put_payload_units": 1,
             "firehose_ingest_kb": 0, "firehose_conversion_kb": 0, "s3_puts": 0.0, "detail": {"fill": 7}}
    lake = {"kinesis_record_bytes": 300.0, "lake_record_bytes": 400.0}
    # When priced for a provisioned stream without NAT, and on demand behind a NAT gateway
    provisioned = cost_idle.per_million_events(units, lake, PRICES, {"kinesis_mode": "provisioned", "nat_gateways": 0})
    on_demand = cost_idle.per_million_events(units, lake, PRICES, {"kinesis_mode": "on_demand", "nat_gateways": 1})
    # Then, by hand: DynamoDB 2 x $0.625; Kinesis $0.014 per million payload units, or 1 KB in at $0.08/GB and
    # 2 KB out at $0.04/GB per million; NAT (300 in + 300 out + 400 to Firehose) bytes at $0.045/GB per million
    kb = 1024 / 2**30 * 1e6
    assert provisioned["dynamodb"] == pytest.approx(1.25) and provisioned["kinesis"] == pytest.approx(0.014)
    assert "nat_data" not in provisioned and provisioned["total"] == pytest.approx(1.25 + 0.014, abs=1e-4)
    assert on_demand["kinesis"] == pytest.approx(kb * (0.08 + 2 * 0.04), abs=1e-4)
    assert on_demand["nat_data"] == pytest.approx(1000 / 2**30 * 1e6 * 0.045, abs=1e-4)
    assert on_demand["total"] == pytest.approx(1.25 + on_demand["kinesis"] + on_demand["nat_data"], abs=1e-3)


def test_a_profile_is_picked_by_name_and_an_unknown_one_is_refused_with_a_suggestion():
    assert profile_named(None).name == "standard" and profile_named("Demo").name == "demo"
    with pytest.raises(ProfileError, match="did you mean 'standard'"):
        profile_named("standrad")
    with pytest.raises(ProfileError, match="expected one of demo, standard, full"):
        profile_named("cheap-and-cheerful")
    assert PROFILES["demo"].on == frozenset() and PROFILES["full"].on == ALL_TOGGLES
    assert budget_for(29.24) == 45 and budget_for(30.0) == 45 and budget_for(30.01) == 50


def _declared(context: dict):
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from infra_cdk.parameters import declare_parameters

    app = App(context=context)
    stack = Stack(app, "Probe")
    declare_parameters(stack)
    return Template.from_stack(stack).to_json()


def test_the_context_value_sets_every_toggles_default_and_the_budgets():
    # Given the demo profile as a context value
    template = _declared({"profile": "demo"})
    parameters = template["Parameters"]
    # Then every toggle defaults to false, the budget to demo's, and the parameters stay overridable
    assert {name: parameters[name]["Default"] for name in ALL_TOGGLES} == dict.fromkeys(ALL_TOGGLES, "false")
    assert parameters["MonthlyBudgetUsd"]["Default"] == PROFILES["demo"].budget_usd
    assert all(parameters[name]["AllowedValues"] == ["true", "false"] for name in ALL_TOGGLES)
    # And DAX without the functions in the VPC is refused at deploy time by a rule
    rule = template["Rules"]["DaxNeedsVpcFunctions"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableDax"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "EnableNatGateway"}, "true"]}
    # And without a context value the standard profile applies
    standard = _declared({})["Parameters"]
    assert {name for name in ALL_TOGGLES if standard[name]["Default"] == "true"} == PROFILES["standard"].on


def test_an_unknown_profile_fails_the_synthesis_naming_the_nearest():
    with pytest.raises(ProfileError, match="did you mean 'demo'"):
        _declared({"profile": "dmeo"})


# -- over the synthesized app -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def months(synthesized):
    return cost_idle.idle_month(synthesized.outdir, PRICES)["profiles"]


def test_each_profiles_budget_default_is_its_idle_month_with_headroom(months):
    # Given each profile's idle month computed from the synthesized templates
    for name, profile in PROFILES.items():
        # Then the MonthlyBudgetUsd default it synthesizes with is that month x 1.5, rounded up to $5
        assert profile.budget_usd == budget_for(months[name]["total"]), (name, months[name]["total"])


def test_the_demo_profile_idles_under_45_dollars_without_nat_crawler_or_on_demand_stream(months, synthesized):
    demo = months["demo"]
    assert demo["total"] < 45
    assert (demo["kinesis_mode"], demo["nat_gateways"]) == ("provisioned", 0)
    assert not any("Glue crawler" in line["item"] or "NAT" in line["item"] for line in demo["lines"])
    assert months["standard"]["nat_gateways"] == 1 and months["full"]["nat_gateways"] == 2
    # And its functions run outside the VPC, where standard places them in prod-app's private subnets
    for profile, in_vpc in (("demo", False), ("standard", True)):
        functions = [r for _, template, params in cost_idle.stacks(synthesized.outdir, profile)
                     for _, r in cost_idle.deployed(template, params)
                     if r["Type"] == "AWS::Lambda::Function" and "Environment" in r["Properties"]
                     and CONFIG_JSON_ENV in r["Properties"]["Environment"].get("Variables", {})]
        assert len(functions) == 4
        assert all(("VpcConfig" in f["Properties"]) is in_vpc for f in functions), profile


def test_barometer_cost_prints_a_profiles_bill(tmp_path, capsys):
    from barometer_local.cli import main

    # Given the small estate as the synthesized templates
    estate = _estate(tmp_path)
    # When its demo bill is asked for (two simulated days per key keep the cost model short)
    assert main(["cost", "--profile", "demo", "--cdk-out", str(estate), "--days", "2", "--json"]) == 0
    bill = json.loads(capsys.readouterr().out)
    # Then the idle month is the hand-computed one and events are priced for a provisioned stream, no NAT
    assert bill["idle_month"]["total"] == pytest.approx(730 * 2 * 0.015 + 1.10, abs=0.02)
    per_million = bill["usd_per_million_events"]
    assert "nat_data" not in per_million and per_million["kinesis"] < 0.05
    assert per_million["total"] == pytest.approx(sum(v for k, v in per_million.items() if k != "total"), abs=1e-3)
    settings = get_settings()
    keys = len(settings.symbols) + len(settings.cities)  # the default poll's: every configured symbol and city
    assert bill["basis"]["keys"] == keys and bill["basis"]["rate"] == "1/min"
    # And the printed form names every priced line and the default poll's month
    assert main(["cost", "--profile", "standard", "--cdk-out", str(estate), "--days", "2"]) == 0
    text = capsys.readouterr().out
    assert "Profile standard: idle $71.26/month" in text and "NAT gateways" in text and "nat_data" in text
    assert f"The default poll ({keys} symbols and cities every minute, {keys * 730 * 60:,} events/month)" in text
