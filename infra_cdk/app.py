"""The CDK app: the root stack (nested stacks inside) and the secondary-region replica stack.

`python -m infra_cdk.app [--profile demo|standard|full]` synthesizes into cdk.out/ at the repository root
without credentials or network (the CDK CLI: `cdk synth -c profile=demo`); cdk-nag's AwsSolutions pack runs as a validation plugin and fails the synthesis on any
finding not acknowledged in infra_cdk/nag.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from aws_cdk import Acknowledgment as CdkAcknowledgment
from aws_cdk import App, Aspects, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from barometer.catalogue import PROJECT
from barometer.config import parse_settings
from barometer.settings import load_raw_config
from infra_cdk.checks.checkov_skips import ApplyCheckovSkips
from infra_cdk.nag import acknowledge_findings
from infra_cdk.profiles import CONTEXT_KEY, DEFAULT_PROFILE, PROFILES, ProfileError
from infra_cdk.replica import ReplicaStack
from infra_cdk.stacks.delivery import DeliveryStack
from infra_cdk.stacks.root import BarometerStack
from infra_cdk.targets import CONTEXT_KEY as TARGET_KEY
from infra_cdk.targets import (
    MINISTACK,
    TargetError,
    check_left_out,
    leave_out_unsupported,
    target_name,
    target_of,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
ROOT_STACK = "Barometer"
REPLICA_STACK = "BarometerReplica"
DELIVERY_STACK = "BarometerDelivery"  # deployed once per account by an admin (docs/infra.md)


def build_app(outdir: str | os.PathLike | None = None, profile: str | None = None,
              deploy_target: str | None = None) -> App:
    """The app; `profile` (infra_cdk/profiles.py) sets the Parameters' defaults, else the context's
    `profile` (the CDK CLI's `-c profile=...`), else standard. `deploy_target` (infra_cdk/targets.py, else
    the context's `target`, else aws) is where it deploys: ministack leaves out what that emulator lacks."""
    raw_config = load_raw_config()
    parse_settings(raw_config)  # a bad barometer.yaml fails the synthesis, naming the key
    # The same feature flags for `python -m infra_cdk.app` and for the CDK CLI: both read cdk.json.
    context = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    # The CDK CLI tells the app where to write through CDK_OUTDIR.
    target = outdir or os.environ.get("CDK_OUTDIR") or REPO_ROOT / "cdk.out"
    # post_cli_context outranks the CLI's -c values, so an explicit `profile` argument wins.
    overrides = {k: v for k, v in ((CONTEXT_KEY, profile), (TARGET_KEY, deploy_target and target_name(deploy_target)))
                 if v}
    app = App(outdir=str(target), context=context, post_cli_context=overrides or None)
    BarometerStack(app, ROOT_STACK, raw_config=raw_config)
    ReplicaStack(app, REPLICA_STACK)
    DeliveryStack(app, DELIVERY_STACK)
    Tags.of(app).add("project", PROJECT)
    return app



def synth(app: App):
    """Synthesize with cdk-nag: a first pass resolves cross-stack references (finding ids embed them),
    the findings are acknowledged from infra_cdk/nag.py, and the validating pass fails on the rest."""
    if target_of(app) == MINISTACK:
        # Not the checked template: cdk-nag would flag what is left out (flow logs, the WAF association).
        removed = leave_out_unsupported(app)
        root = app.node.try_find_child(ROOT_STACK)
        if root is not None:
            Validations.of(root).acknowledge(CdkAcknowledgment(
                id="CloudFormation-Validate::W2001",
                reason="MonthlyBudgetUsd only feeds the budget, which the ministack target leaves out"))
        assembly = app.synth()
        check_left_out(removed, Path(assembly.directory))
        return assembly
    skips = ApplyCheckovSkips()
    Aspects.of(app).add(skips)
    app.synth()
    skips.check_all_used()
    acknowledge_findings(app)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app.synth(force=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_cdk.app", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help=f"cost profile: {', '.join(PROFILES)} (default: the context's "
                                          f"'{CONTEXT_KEY}' value, else {DEFAULT_PROFILE})")
    parser.add_argument("--target", help=f"where it deploys: aws or {MINISTACK} (default: the context's "
                                         f"'{TARGET_KEY}' value, else aws; {MINISTACK}: make deploy-local)")
    args = parser.parse_args(argv)
    try:
        app = build_app(profile=args.profile, deploy_target=args.target)
    except (ProfileError, TargetError) as exc:
        print(f"infra_cdk.app: {exc}", file=sys.stderr)
        return 2
    synth(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
