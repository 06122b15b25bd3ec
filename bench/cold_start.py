"""Cold start: each handler module imported in a fresh Python process, with a Lambda's environment.

The figure is `time.perf_counter()` around `import lambdas.<fn>.handler` inside the child (the
interpreter's own start-up is not part of it; `-X importtime` is only used afterwards, to say where
the time of a handler over target goes). The bytecode cache is warm (one discarded run first).
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from barometer import catalogue as r
from barometer.settings import load_raw_config

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 200.0
HANDLERS = ("api", "poller", "processor", "notifier")
_PROBE = ("import time\n"
          "started = time.perf_counter()\n"
          "import {module}\n"
          "print(repr((time.perf_counter() - started) * 1000))\n")
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")


def function_spec(name: str) -> r.FunctionSpec:
    return next(f for f in r.FUNCTIONS if f.handler == f"lambdas.{name}.handler.lambda_handler")


def lambda_environment(spec: r.FunctionSpec) -> dict[str, str]:
    """What the Lambda runtime and the CDK app (infra_cdk/constructs/functions.py) give the function."""
    local = r.CATALOGUE.local_environment()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "PYTHONPATH": str(REPO_ROOT), "LAMBDA_TASK_ROOT": str(REPO_ROOT),
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_LAMBDA_FUNCTION_NAME": spec.local_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb), "_HANDLER": spec.handler,
        r.CONFIG_JSON_ENV: json.dumps(load_raw_config()),
        "POWERTOOLS_SERVICE_NAME": spec.local_name, "POWERTOOLS_METRICS_NAMESPACE": "Barometer",
    }
    for logical_id in spec.uses:
        env_var = r.CATALOGUE.by_logical_id(logical_id).env_var
        if env_var and env_var in local:
            env[env_var] = local[env_var]
    return env


def import_once(module: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *flags, "-c", _PROBE.format(module=module)], check=False, env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def time_import(module: str, env: dict[str, str]) -> float:
    done = import_once(module, env)
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def import_profile(module: str, env: dict[str, str], top: int = 8) -> dict[str, Any]:
    """Where the import time goes (`-X importtime`): self time summed per top-level package, and the
    heaviest single modules by cumulative time."""
    done = import_once(module, env, "-X", "importtime")
    by_package: dict[str, int] = defaultdict(int)
    modules = []
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = int(match[1]), int(match[2]), len(match[3]), match[4]
        by_package[name.split(".")[0]] += self_us
        modules.append((cumulative_us, name, indent))
    total = sum(by_package.values())
    packages = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    heaviest = [(name, round(c / 1000, 1)) for c, name, _ in sorted(modules, reverse=True)
                if name != module][:top]
    return {"total_ms_under_importtime": round(total / 1000, 1),
            "self_ms_by_package": {name: round(us / 1000, 1) for name, us in packages},
            "heaviest_modules_cumulative_ms": dict(heaviest)}


def measure(runs: int = 7, progress=print) -> dict[str, Any]:
    progress(f"cold start: each handler imported in a fresh process, median of {runs} runs (after one warm-up)")
    import_ms: dict[str, float] = {}
    details: dict[str, Any] = {}
    for name in HANDLERS:
        module = f"lambdas.{name}.handler"
        env = lambda_environment(function_spec(name))
        time_import(module, env)  # warm the bytecode cache and the OS file cache
        samples = [time_import(module, env) for _ in range(runs)]
        median = statistics.median(samples)
        import_ms[name] = round(median, 1)
        details[name] = {"samples_ms": [round(s, 1) for s in samples], "min_ms": round(min(samples), 1),
                         "meets_target": median <= TARGET_MS}
        progress(f"  {module:<28} {median:7.1f} ms (min {min(samples):.1f}; "
                 f"{'ok' if median <= TARGET_MS else 'OVER'} vs {TARGET_MS:.0f} ms)")
    slowest = max(import_ms, key=import_ms.get)
    for name, detail in details.items():
        if not detail["meets_target"] or name == slowest:
            detail["profile"] = import_profile(f"lambdas.{name}.handler",
                                               lambda_environment(function_spec(name)))
            costs = ", ".join(f"{k} {v}" for k, v in detail["profile"]["self_ms_by_package"].items())
            progress(f"  {name} ({'over target' if not detail['meets_target'] else 'the slowest'}): self ms by "
                     f"top-level package under -X importtime: {costs}")
    return {"import_ms": import_ms, "import_details": details, "target_ms": TARGET_MS,
            "meets_target": all(d["meets_target"] for d in details.values()),
            "parameters": {"runs": runs, "statistic": "median", "python": sys.executable,
                           "bytecode_cache": "warm (one discarded run first)"}}
