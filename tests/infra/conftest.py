"""One synthesis of the CDK app per test session (jsii costs ~5 s per process, a synthesis ~20 s)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.emulator_deploy import nested_templates

ROOT_STACK = "Barometer"
REPLICA_STACK = "BarometerReplica"


@dataclass
class Synthesized:
    outdir: Path
    root: dict
    replica: dict
    nested: dict[str, dict]
    _assertions: dict = field(default_factory=dict)

    def template(self, name: str):
        """aws_cdk.assertions.Template of a nested stack (or "Root" / "Replica")."""
        if name not in self._assertions:
            from aws_cdk.assertions import Template

            source = {"Root": self.root, "Replica": self.replica}.get(name) or self.nested[name]
            self._assertions[name] = Template.from_json(source)
        return self._assertions[name]

    def resources(self, name: str, resource_type: str) -> dict[str, dict]:
        template = {"Root": self.root, "Replica": self.replica}.get(name) or self.nested[name]
        return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    """The app synthesized once, with cdk-nag validating (an unacknowledged finding fails this fixture)."""
    from infra_cdk.app import build_app, synth

    outdir = tmp_path_factory.mktemp("cdk-out")
    synth(build_app(outdir))

    def load(name: str) -> dict:
        return json.loads((outdir / f"{name}.template.json").read_text(encoding="utf-8"))

    return Synthesized(outdir, load(ROOT_STACK), load(REPLICA_STACK), nested_templates(outdir, ROOT_STACK))


@pytest.fixture(scope="session")
def runtime(synthesized, tmp_path_factory):
    """The synthesized code asset alone, with a virtualenv of what Lambda's runtime and layer provide."""
    from infra.packaged_runtime import PackagedRuntime

    code = synthesized.template("Processing").find_resources("AWS::Lambda::Function")
    (asset_key,) = {f["Properties"]["Code"]["S3Key"] for f in code.values()}
    return PackagedRuntime.build(synthesized.outdir / f"asset.{asset_key.removesuffix('.zip')}",
                                 tmp_path_factory.mktemp("packaged"))


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    """A local Slack webhook receiver."""
    from barometer_local.webhook import WebhookReceiver

    with WebhookReceiver(tmp_path_factory.mktemp("webhook")) as webhook:
        yield webhook
