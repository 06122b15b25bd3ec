"""`make deploy-local`: the ministack target leaves out only what MiniStack lacks, and the synthesized app,
deployed into MiniStack with the pinned CDK CLI, works (infra_cdk/targets.py, infra_cdk/deploy_local.py).

The end-to-end test starts its own MiniStack from .venv-ministack on a free loopback port (no Docker, no
network, no AWS credentials) and takes about three minutes, most of it the CLI's synthesis.
"""
from __future__ import annotations

import json

import pytest

from infra.conftest import ROOT_STACK
from infra.emulator_deploy import nested_templates
from infra_cdk.constructs.code_asset import locked_version
from infra_cdk.deploy_local import (
    CDK_CLI,
    MINISTACK,
    DeployLocalError,
    MiniStackProcess,
    Proof,
    deploy_local,
    free_port,
    loopback_endpoint,
)
from infra_cdk.targets import LEFT_OUT_ON_MINISTACK, TargetError, check_left_out

pytestmark = [pytest.mark.infra]

LOCAL_LAYER = "PowertoolsLayerLocal"


@pytest.fixture(scope="module")
def ministack_templates(tmp_path_factory) -> tuple:
    from infra_cdk.app import build_app, synth

    outdir = tmp_path_factory.mktemp("cdk-out-ministack")
    synth(build_app(outdir, profile="demo", deploy_target="ministack"))
    root = json.loads((outdir / f"{ROOT_STACK}.template.json").read_text(encoding="utf-8"))
    return outdir, {"Root": root, **nested_templates(outdir, ROOT_STACK)}


def _types(template: dict) -> dict[str, str]:
    return {lid: r["Type"] for lid, r in template.get("Resources", {}).items()}


def _peering_route(resource: dict) -> bool:
    return resource["Type"] == "AWS::EC2::Route" and "VpcPeeringConnectionId" in resource["Properties"]


def test_the_ministack_target_leaves_out_only_what_ministack_lacks(synthesized, ministack_templates):
    # Given the checked synthesis (aws) and the ministack one (the profile changes Parameter defaults only)
    _, ministack = ministack_templates
    aws = {"Root": synthesized.root, **synthesized.nested}
    assert set(ministack) == set(aws)
    seen_left_out = set()
    for name, template in aws.items():
        # When the two are compared resource by resource
        removed = {lid: t for lid, t in _types(template).items() if lid not in ministack[name].get("Resources", {})}
        added = {lid: t for lid, t in _types(ministack[name]).items() if lid not in template.get("Resources", {})}
        # Then what is missing is exactly the listed types and the routes over the peering connection
        expected = {lid for lid, r in template.get("Resources", {}).items()
                    if r["Type"] in LEFT_OUT_ON_MINISTACK or _peering_route(r)}
        assert set(removed) == expected, name
        seen_left_out.update(removed.values())
        # And the only addition is the locally built Powertools layer, in the stacks holding functions
        has_functions = "AWS::Lambda::Function" in _types(template).values()
        assert [(lid.startswith(LOCAL_LAYER), t) for lid, t in added.items()] == (
            [(True, "AWS::Lambda::LayerVersion")] if has_functions else []), name
    # And every listed type was really there to leave out (the list has no stale entry)
    assert seen_left_out >= set(LEFT_OUT_ON_MINISTACK)


def test_functions_on_ministack_use_the_layer_built_from_uv_lock(ministack_templates):
    outdir, ministack = ministack_templates
    for name in ("Ingestion", "Processing"):
        functions = {lid: r for lid, r in ministack[name]["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
        assert functions
        (layer_id,) = [lid for lid in ministack[name]["Resources"] if lid.startswith(LOCAL_LAYER)]
        for lid, function in functions.items():
            assert function["Properties"]["Layers"] == [{"Ref": layer_id}], (name, lid)
        layer = ministack[name]["Resources"][layer_id]
        asset = outdir / f"asset.{layer['Properties']['Content']['S3Key'].removesuffix('.zip')}"
        version = (asset / "python" / "aws_lambda_powertools" / "shared" / "version.py").read_text(encoding="utf-8")
        assert f'VERSION = "{locked_version("aws-lambda-powertools")}"' in version
        assert (asset / "python" / "aws_xray_sdk").is_dir() and (asset / "python" / "typing_extensions.py").is_file()
    assert "PowertoolsLayer" not in ministack["Processing"].get("Mappings", {})  # the public layer's ARNs


def test_an_unknown_target_is_refused_naming_it(capsys):
    from infra_cdk.app import main

    assert main(["--target", "localstack"]) == 2
    assert "unknown target 'localstack'" in capsys.readouterr().err


def test_a_left_out_resource_still_referred_to_fails_the_synthesis(tmp_path):
    # Given a template whose route still refers to the peering connection that was left out
    template = {"Resources": {"Route": {"Type": "AWS::EC2::Route", "Properties": {
        "VpcPeeringConnectionId": {"Ref": "AppToData"}}}}}
    (tmp_path / "Net.template.json").write_text(json.dumps(template), encoding="utf-8")
    # When the left-out resources are checked, Then the synthesis fails naming both
    with pytest.raises(TargetError, match="Net.template.json refers to left-out AppToData"):
        check_left_out({"Net": ["AppToData"]}, tmp_path)
    # And a template without the reference passes
    (tmp_path / "Net.template.json").write_text(json.dumps({"Resources": {}}), encoding="utf-8")
    check_left_out({"Net": ["AppToData"]}, tmp_path)


@pytest.mark.parametrize("url", ["https://cloudformation.us-east-1.amazonaws.com", "http://10.0.0.5:4566",
                                 "http://example.com:4566", "not a url"])
def test_the_deployment_never_goes_to_an_endpoint_off_this_machine(url):
    with pytest.raises(DeployLocalError, match="not on this machine"):
        loopback_endpoint(url)


def test_loopback_endpoints_are_accepted():
    assert loopback_endpoint("http://127.0.0.1:4566/") == "http://127.0.0.1:4566"
    assert loopback_endpoint("http://localhost:4567") == "http://localhost:4567"


@pytest.mark.slow
def test_the_app_deployed_into_ministack_works_end_to_end(tmp_path, capsys):
    for prerequisite, target in ((MINISTACK, "ministack-venv"), (CDK_CLI, "infra_cdk/node_modules/.bin/cdk")):
        if not prerequisite.exists():
            pytest.fail(f"{prerequisite} is missing: `make {target}` (make test installs it)")
    # Given MiniStack started from its own virtualenv, When the app is bootstrapped, deployed and proven
    deploy_local(workdir=tmp_path / "deploy-local")
    # Then every step of the proof passed, in order
    out = capsys.readouterr().out
    steps = ["cdk bootstrap", "cdk deploy Barometer", "nested stacks", "token:", "without a token: 401",
             "GET /v1/no-such-route through API Gateway: 404",
             "POST /v1/events through API Gateway: 200", "barometer-latest: holds", "GET /v1/latest/weather/",
             "SNS WeatherAlerts delivered alert", "alarms of the deployment present", "EventBridge Scheduler: barometer-poll",
             "works end to end"]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, out
    assert positions == sorted(positions), out


def test_the_proof_fails_on_a_ministack_without_the_deployment(tmp_path):
    if not MINISTACK.exists():
        pytest.fail(f"{MINISTACK} is missing: `make ministack-venv` (make test installs it)")
    # Given a MiniStack started as deploy-local starts it, with nothing deployed
    server = MiniStackProcess.start(free_port(), tmp_path)
    try:
        # When the proof runs against it, Then it fails naming the missing stack
        with pytest.raises(DeployLocalError, match="Barometer"):
            Proof(server.endpoint, timeout_s=5).run()
    finally:
        server.stop()
    # And the MiniStack it started is stopped
    assert server.process.poll() is not None
