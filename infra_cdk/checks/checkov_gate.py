"""Run checkov offline over the synthesized templates and fail on anything unexplained.

Unexplained = a failed check, a parsing error, a skip without a reason, or nothing scanned at all.
The skips (from infra_cdk/checks/checkov_skips.py, via the templates' Metadata) are listed with their
reasons so that the report shows what was waived and why.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path


def run_checkov(checkov: str, templates: Path) -> list[dict]:
    completed = subprocess.run(
        [checkov, "--directory", str(templates), "--framework", "cloudformation", "--skip-download",
         "--output", "json"],
        capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1):  # 1 = failed checks, reported below
        raise SystemExit(f"checkov did not run (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}")
    reports = json.loads(completed.stdout)
    return reports if isinstance(reports, list) else [reports]


def problems(reports: list[dict]) -> tuple[list[str], Counter]:
    found: list[str] = []
    waived: Counter = Counter()
    scanned = 0
    for report in reports:
        summary = report.get("summary", {})
        scanned += summary.get("resource_count", 0)
        if summary.get("parsing_errors"):
            found.append(f"{summary['parsing_errors']} template(s) checkov could not parse")
        results = report.get("results", {})
        for failed in results.get("failed_checks", []):
            found.append(f"FAILED {failed['check_id']} {failed['check_name']}: {failed['resource']} "
                         f"({failed['file_path']})")
        for skipped in results.get("skipped_checks", []):
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "").strip()
            if not reason or reason == "No comment provided":
                found.append(f"SKIPPED WITHOUT REASON {skipped['check_id']}: {skipped['resource']}")
            waived[(skipped["check_id"], reason)] += 1
    if scanned == 0:
        found.append("checkov scanned no resource: were the templates synthesized?")
    return found, waived


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkov", required=True, help="the checkov executable (its own virtualenv)")
    parser.add_argument("--templates", type=Path, required=True, help="the cdk.out directory")
    args = parser.parse_args(argv)
    if not any(args.templates.glob("*.template.json")):
        print(f"checkov gate: no templates in {args.templates}; run `make synth`", file=sys.stderr)
        return 2
    reports = run_checkov(args.checkov, args.templates)
    found, waived = problems(reports)
    for (check_id, reason), count in sorted(waived.items()):
        print(f"skipped {check_id} x{count}: {reason}")
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    print(f"checkov: {passed} passed, {len(found)} unexplained, {sum(waived.values())} skipped with a reason")
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
