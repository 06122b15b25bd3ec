"""Named cost profiles: one CDK context value (`-c profile=demo`) sets the defaults of every toggle.

A profile only chooses Parameter *defaults*: the template has the same resources behind the same
Conditions whatever the profile, so an operator can still override one toggle at deploy time
(`--parameters Barometer:EnableCrawler=true`). Pure Python (no aws_cdk): the cost calculator
(bench/cost_idle.py) reads the same table.

- demo: every toggle off. Functions outside the VPC (no NAT gateway), a one-shard provisioned stream,
  no Glue crawler (Dagster registers the partitions it writes), no orchestrator on AWS (Dagster runs
  where the operator starts it, e.g. `make dagster-dev` against the account), nothing optional.
- standard (the default): what the estate deployed before profiles existed: functions in prod-app behind
  one NAT gateway, an on-demand stream, the daily crawler, Dagster on ECS with RDS storage; nothing optional.
- full: every toggle on.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

CONTEXT_KEY = "profile"
DEFAULT_PROFILE = "standard"

# Toggles whose "true" is the standard estate (off only in demo).
STANDARD_TOGGLES = frozenset({"EnableNatGateway", "EnableOnDemandStream", "EnableCrawler", "EnableOrchestrator"})
# The optional extras (off in demo and standard).
EXTRA_TOGGLES = frozenset({
    "EnableMultiNat", "EnableInterfaceEndpoints", "EnableDax", "EnableQuickSight", "EnableGuardDuty",
    "EnableSecurityHub", "EnableConfig", "EnableSecondaryRegion", "EnableFailoverDns",
})
ALL_TOGGLES = STANDARD_TOGGLES | EXTRA_TOGGLES

# The MonthlyBudgetUsd default: the profile's idle month x BUDGET_HEADROOM, rounded up to BUDGET_STEP_USD.
# Headroom covers the default poller's events and light API use; tests/infra/test_cost_profiles.py checks
# each figure below against bench/cost_idle.py over the synthesized templates.
BUDGET_HEADROOM = 1.5
BUDGET_STEP_USD = 5


class ProfileError(ValueError):
    """An unknown profile name."""


@dataclass(frozen=True)
class Profile:
    name: str
    on: frozenset[str]  # toggles whose default is "true"
    budget_usd: int  # MonthlyBudgetUsd default
    # Optional parameters given a value and the replica stack deployed (the cost calculator's view of "full").
    everything: bool = False

    def toggle_default(self, toggle: str) -> str:
        if toggle not in ALL_TOGGLES:
            raise ProfileError(f"profile {self.name}: unknown toggle {toggle!r}")
        return "true" if toggle in self.on else "false"


PROFILES: dict[str, Profile] = {
    "demo": Profile("demo", frozenset(), budget_usd=45),
    "standard": Profile("standard", STANDARD_TOGGLES, budget_usd=240),
    "full": Profile("full", ALL_TOGGLES, budget_usd=610, everything=True),
}


def profile_named(name: str | None) -> Profile:
    """The profile called `name` (None or empty: the default), or ProfileError with a did-you-mean."""
    if not name:
        return PROFILES[DEFAULT_PROFILE]
    key = str(name).strip().lower()
    if key in PROFILES:
        return PROFILES[key]
    close = difflib.get_close_matches(key, list(PROFILES), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ProfileError(f"unknown profile {name!r} (context value {CONTEXT_KEY!r}): expected one of "
                       f"{', '.join(PROFILES)}{hint}")


def budget_for(idle_usd: float) -> int:
    """The budget a profile idling at `idle_usd` a month defaults to."""
    return max(BUDGET_STEP_USD, math.ceil(idle_usd * BUDGET_HEADROOM / BUDGET_STEP_USD) * BUDGET_STEP_USD)
