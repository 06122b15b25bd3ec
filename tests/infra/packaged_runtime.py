"""A stand-in for the Lambda runtime: the packaged code asset alone, in a virtual environment that holds only
what the python runtime (boto3, botocore and their dependencies) and the Powertools layer provide, at the
versions uv.lock pins. Handlers run in a subprocess, with an environment given whole (nothing inherited),
and report every module they imported from outside the asset, that environment and the standard library.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra_cdk.constructs.code_asset import REPO_ROOT, locked_version

UV = REPO_ROOT / ".venv-tools" / "bin" / "uv"
# The python runtime's SDK and its dependencies.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# The Powertools layer: the library, its dependency and the tracer's X-Ray SDK.
LAYER_DISTRIBUTIONS = ("aws-lambda-powertools", "typing-extensions", "aws-xray-sdk", "wrapt")

RUNNER = '''
import importlib, json, os, sys, sysconfig, traceback

request = json.loads(open(sys.argv[1], encoding="utf-8").read())
module, _, name = request["handler"].rpartition(".")


class Context:
    function_name = request["function_name"]
    memory_limit_in_mb = request["memory_mb"]
    invoked_function_arn = f"arn:aws:lambda:{os.environ['AWS_REGION']}:000000000000:function:{function_name}"
    aws_request_id = "packaged-asset-test"

    def get_remaining_time_in_millis(self):
        return 30_000


outcome = {"results": [], "error": None}
try:
    handler = getattr(importlib.import_module(module), name)
    for event in request["events"]:
        outcome["results"].append(handler(event, Context()))
except BaseException:
    outcome["error"] = traceback.format_exc()
roots = [os.path.realpath(p) + os.sep for p in
         (request["asset"], sys.prefix, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])]
runner = os.path.realpath(__file__)  # this script (as __main__ and under any alias a library gives it)
outcome["leaks"] = sorted({os.path.realpath(m.__file__) for m in list(sys.modules.values())
                           if getattr(m, "__file__", None) and os.path.realpath(m.__file__) != runner
                           and not any(os.path.realpath(m.__file__).startswith(r) for r in roots)})
outcome["sys_path"] = sys.path
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(outcome, out, default=str)
'''


class PackagedRuntimeError(RuntimeError):
    """The clean environment could not be built."""


@dataclass(frozen=True)
class PackagedRuntime:
    asset: Path  # a copy of the code asset, alone in its folder (the function's /var/task)
    venv: Path
    workdir: Path

    @classmethod
    def build(cls, asset_source: Path, workdir: Path) -> PackagedRuntime:
        asset = workdir / "task"
        shutil.copytree(asset_source, asset)
        venv = workdir / "runtime"
        pins = [f"{name}=={locked_version(name)}" for name in RUNTIME_DISTRIBUTIONS + LAYER_DISTRIBUTIONS]
        for command in ([str(UV), "venv", "--quiet", "--python", "3.11", str(venv)],
                        [str(UV), "pip", "install", "--quiet", "--no-deps", "--python", str(venv / "bin" / "python"),
                         *pins]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0:
                raise PackagedRuntimeError(f"{' '.join(command[:3])}: {done.stderr.strip()}")
        (workdir / "runner.py").write_text(RUNNER, encoding="utf-8")
        return cls(asset, venv, workdir)

    def invoke(self, handler: str, events: list[dict], environment: dict[str, str], *, function_name: str,
               memory_mb: int) -> dict[str, Any]:
        """Run `handler` on each event in turn (one warm container), with exactly `environment` (plus the
        asset as the task root on the path, as Lambda puts it)."""
        request = self.workdir / f"{function_name}-request.json"
        result = self.workdir / f"{function_name}-result.json"
        request.write_text(json.dumps({"handler": handler, "events": events, "asset": str(self.asset),
                                       "function_name": function_name, "memory_mb": memory_mb}), encoding="utf-8")
        env = {**environment, "PYTHONPATH": str(self.asset), "LAMBDA_TASK_ROOT": str(self.asset),
               "PATH": os.defpath, "PYTHONNOUSERSITE": "1"}
        done = subprocess.run([str(self.venv / "bin" / "python"), "-s", str(self.workdir / "runner.py"),
                               str(request), str(result)],
                              cwd=self.asset, env=env, capture_output=True, text=True, timeout=120, check=False)
        if not result.exists():
            raise AssertionError(f"{handler} died: {done.returncode}\n{done.stderr[-4000:]}")
        outcome = json.loads(result.read_text(encoding="utf-8"))
        outcome["log"] = done.stdout + done.stderr
        return outcome
