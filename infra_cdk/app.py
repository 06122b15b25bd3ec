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

from aws_cdk import App, Aspects, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra_cdk.checks.checkov_skips import ApplyCheckovSkips
from infra_cdk.nag import acknowledge_findings
from infra_cdk.profiles import CONTEXT_KEY, DEFAULT_PROFILE, PROFILES, ProfileError
from infra_cdk.replica import ReplicaStack
from infra_cdk.stacks.delivery import DeliveryStack
from infra_cdk.stacks.root import BarometerStack
from barometer.config import parse_settings
from barometer.catalogue import PROJECT
from barometer.settings import load_raw_config

REPO_ROOT = Path(__file__).resolve().parents[1]
ROOT_STACK = "Barometer"
REPLICA_STACK = "BarometerReplica"
DELIVERY_STACK = "BarometerDelivery"  # deployed once per account by an admin (docs/infra.md)


def build_app(outdir: str | os.PathLike | None = None, profile: str | None = None) -> App:
    """The app; `profile` (infra_cdk/profiles.py) sets the Parameters' defaults, else the context's
    `profile` (the CDK CLI's `-c profile=...`), else standard."""
    raw_config = load_raw_config()
    parse_settings(raw_config)  # a bad barometer.yaml fails the synthesis, naming the key
    # The same feature flags for `python -m infra_cdk.app` and for the CDK CLI: both read cdk.json.
    context = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    # The CDK CLI tells the app where to write through CDK_OUTDIR.
    target = outdir or os.environ.get("CDK_OUTDIR") or REPO_ROOT / "cdk.out"
    # post_cli_context outranks the CLI's -c values, so an explicit `profile` argument wins.
    app = App(outdir=str(target), context=context,
              post_cli_context={CONTEXT_KEY: profile} if profile else None)
    BarometerStack(app, ROOT_STACK, raw_config=raw_config)
    ReplicaStack(app, REPLICA_STACK)
    DeliveryStack(app, DELIVERY_STACK)
    Tags.of(app).add("project", PROJECT)
    return app



def synth(app: App):
    """Synthesize with cdk-nag: a first pass resolves cross-stack references (finding ids embed them),
    the findings are acknowledged from infra_cdk/nag.py, and the validating pass fails on the rest."""
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
    args = parser.parse_args(argv)
    try:
        app = build_app(profile=args.profile)
    except ProfileError as exc:
        print(f"infra_cdk.app: {exc}", file=sys.stderr)
        return 2
    synth(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
