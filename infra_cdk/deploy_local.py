"""Deploy the synthesized app into MiniStack with the pinned CDK CLI, then prove the deployment works.

`python -m infra_cdk.deploy_local` (what `make deploy-local` runs): starts MiniStack (a local cloud that runs
Lambda code without Docker) from its own virtualenv on a loopback port, runs `cdk bootstrap` and
`cdk deploy Barometer` with the demo profile and the ministack target (infra_cdk/targets.py), then checks,
printing each step: a token from the deployed Cognito machine client; POST /v1/events through the deployed
API Gateway (and a refusal without the token and of an unknown route, both in the contract's error shape);
the event through the deployed stream and Lambdas into LatestTable and back out of the API; its alert
through SNS; the deployed alarms and schedules present in CloudWatch and EventBridge Scheduler. Exits
non-zero on the first failure; stops the MiniStack it started.

Nothing here relies on MiniStack's stream failure handling (it ignores partial batch responses, bisect and
retry limits): the proof sends one good event; failure semantics are tested on the local runtime.
"""
from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from barometer.catalogue import ALERTS_TABLE, LATEST_TABLE, OPS_TOPIC, POLLER_FUNCTION
from barometer.lake import alert_sk, item_pk
from barometer.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
MINISTACK = REPO_ROOT / ".venv-ministack" / "bin" / "ministack"
CDK_CLI = REPO_ROOT / "infra_cdk" / "node_modules" / ".bin" / "cdk"
STACK = "Barometer"
REGION = "us-east-1"
ACCOUNT = "000000000000"  # MiniStack's default account
# MiniStack accepts any key pair; these never leave the machine (the endpoint must be a loopback address).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
PROFILE = "demo"


class DeployLocalError(RuntimeError):
    """A step of the local deployment or of its proof failed."""


def say(message: str) -> None:
    print(f"deploy-local: {message}", flush=True)


def loopback_endpoint(url: str) -> str:
    """`url` if it names this machine: the CDK CLI and the proof must never reach a real account."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise DeployLocalError(f"endpoint {url!r} is not on this machine (localhost or 127.0.0.0/8 only)")
    return url.rstrip("/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MiniStackProcess:
    """A MiniStack server this module started (and only that one is stopped)."""

    process: subprocess.Popen
    endpoint: str
    log: Path

    @classmethod
    def start(cls, port: int, workdir: Path, binary: Path = MINISTACK, timeout_s: float = 60) -> MiniStackProcess:
        if not binary.exists():
            raise DeployLocalError(f"{binary} is missing: run `make ministack-venv` first")
        log = workdir / "ministack.log"
        # A small environment of its own: Lambda functions run as its subprocesses and inherit it.
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(workdir), "TMPDIR": str(workdir),
               "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "MINISTACK_REGION": REGION,
               "LOG_LEVEL": "WARNING", "S3_DATA_DIR": str(workdir / "s3"), "PYTHONDONTWRITEBYTECODE": "1"}
        with log.open("wb") as out:
            process = subprocess.Popen([str(binary)], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = cls(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DeployLocalError(f"MiniStack exited with {process.returncode}: {server.tail()}")
            try:
                with urllib.request.urlopen(f"{server.endpoint}/_ministack/health", timeout=2) as response:
                    if response.status == 200:
                        return server
            except OSError:
                time.sleep(0.3)
        server.stop()
        raise DeployLocalError(f"MiniStack did not answer on port {port} within {timeout_s:.0f} s: {server.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            # Its Lambda workers are in its process group (start_new_session): stop them with it.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def cli_environment(endpoint: str, workdir: Path) -> dict[str, str]:
    """The CDK CLI's environment: the emulator's endpoint, its dummy keys, and no way to the caller's
    AWS configuration (profiles, SSO, session tokens)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(CREDENTIALS)
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
                "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true"})
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
    command = [str(CDK_CLI), *args, "--no-notices", "--ci"]
    with log.open("ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        done = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        raise DeployLocalError(f"cdk {args[0]} failed ({done.returncode}):\n{tail}")


def bootstrap_and_deploy(endpoint: str, workdir: Path, python: str = sys.executable) -> None:
    if not CDK_CLI.exists():
        raise DeployLocalError(f"{CDK_CLI} is missing: run `make {CDK_CLI.relative_to(REPO_ROOT)}` first")
    env, log = cli_environment(endpoint, workdir), workdir / "cdk.log"
    empty = workdir / "bootstrap"  # no cdk.json there: bootstrapping needs no synthesis of the app
    empty.mkdir(exist_ok=True)
    started = time.monotonic()
    run_cli(["bootstrap", f"aws://{ACCOUNT}/{REGION}"], env, empty, log)
    say(f"cdk bootstrap aws://{ACCOUNT}/{REGION}: done in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    app = f"{python} -m infra_cdk.app --profile {PROFILE} --target ministack"
    run_cli(["deploy", STACK, "--app", app, "--output", str(workdir / "cdk.out"), "--require-approval", "never"],
            env, REPO_ROOT, log)
    say(f"cdk deploy {STACK} (profile {PROFILE}, target ministack): done in {time.monotonic() - started:.0f} s "
        f"(CLI output in {log})")


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float, interval_s: float = 0.5) -> Any:
    """probe()'s first truthy answer, or DeployLocalError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DeployLocalError(f"{what}: nothing after {timeout_s:.0f} s")
        time.sleep(interval_s)


def http(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
         ) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, ValueError) as exc:  # refused, timed out, a malformed URL
        raise DeployLocalError(f"{method} {url}: {exc}") from exc
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class Proof:
    """The checks against a deployed stack; each prints what it saw."""

    def __init__(self, endpoint: str, timeout_s: float = 90) -> None:
        self.endpoint = loopback_endpoint(endpoint)
        self.timeout_s = timeout_s
        config = Config(retries={"max_attempts": 2, "mode": "standard"})
        keys = {k.lower(): v for k, v in CREDENTIALS.items()}
        self.client = lambda service: boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                                                   config=config, **keys)
        self.outputs: dict[str, str] = {}
        self.expected_rule = ""

    def run(self) -> None:
        try:
            self._run()
        except (ClientError, BotoCoreError) as exc:  # a missing resource, MiniStack gone, ...
            raise DeployLocalError(f"proof: {exc}") from exc

    def _run(self) -> None:
        self.stack_deployed()
        token = self.token()
        event = self.post_event(token)
        self.latest_holds(event, token)
        self.alert_published(event)
        self.alarms_present()
        self.schedules_present()
        say("proof: the deployed app works end to end")

    def api_url(self, path: str) -> str:
        """The deployed API's URL on MiniStack (its execute-api path form; on AWS: the ApiUrl output)."""
        parsed = urllib.parse.urlsplit(self.outputs["ApiUrl"])
        api_id, stage = parsed.hostname.split(".")[0], parsed.path.strip("/")  # type: ignore[union-attr]
        return f"{self.endpoint}/_aws/execute-api/{api_id}/{stage}{path}"

    def stack_deployed(self) -> None:
        (stack,) = self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
        if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise DeployLocalError(f"stack {STACK} is {stack['StackStatus']}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        nested = [r for r in self.client("cloudformation").describe_stack_resources(StackName=STACK)[
            "StackResources"] if r["ResourceType"] == "AWS::CloudFormation::Stack"]
        incomplete = [r["LogicalResourceId"] for r in nested if not r["ResourceStatus"].endswith("_COMPLETE")]
        if not nested or incomplete:
            raise DeployLocalError(f"nested stacks not complete: {incomplete or 'none found'}")
        say(f"stack {STACK}: {stack['StackStatus']}, {len(nested)} nested stacks, {len(self.outputs)} outputs")

    def token(self) -> str:
        pool, client_id = self.outputs["UserPoolId"], self.outputs["MachineClientId"]
        client = self.client("cognito-idp").describe_user_pool_client(UserPoolId=pool, ClientId=client_id)[
            "UserPoolClient"]
        secret, scopes = client["ClientSecret"], " ".join(client.get("AllowedOAuthScopes", []))
        # MiniStack serves the user pool domain's token endpoint on its gateway, at the same path.
        url = self.endpoint + urllib.parse.urlsplit(self.outputs["TokenUrl"]).path
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        status, answer = http("POST", url, body=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": scopes}).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
            raise DeployLocalError(f"token from the deployed machine client: {status} {answer}")
        say(f"token: client-credentials grant of client {client_id} with scopes {scopes!r}")
        return answer["access_token"]

    def fresh_alert(self, now: datetime) -> tuple[str, str, dict[str, float]]:
        """(city, weather rule, metrics that break it) for a rule not yet alerted today: a second alert per
        city, rule and local day is never made, and a MiniStack given with --endpoint may hold earlier runs'."""
        settings = get_settings()  # barometer.yaml: what the deployment was synthesized with
        ddb, table = self.client("dynamodb"), self.outputs[f"{ALERTS_TABLE.logical_id}Name"]
        for rule in settings.weather_rules:
            step = {">=": 5.0, ">": 5.0, "<=": -5.0, "<": -5.0}.get(rule.op, 0.0)
            metrics = {"temp_c": 15.0, rule.metric: float(rule.threshold) + step}  # temp_c is required
            for city in settings.cities.values():
                local_day = now.astimezone(ZoneInfo(city.timezone)).date().isoformat()
                key = {"pk": {"S": item_pk("weather", city.name)}, "sk": {"S": alert_sk(local_day, rule.name)}}
                if "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True):
                    return city.name, rule.name, metrics
        raise DeployLocalError("every city and weather rule has alerted today already on this MiniStack: "
                               "deploy into a fresh one (without --endpoint)")

    def post_event(self, token: str) -> dict[str, Any]:
        now = datetime.now(UTC).replace(microsecond=0)
        city, rule, metrics = self.fresh_alert(now)
        event = {"kind": "weather", "city": city, "ts": now.isoformat().replace("+00:00", "Z"), **metrics,
                 "event_id": f"deploy-local-{uuid.uuid4().hex[:12]}"}
        self.expected_rule = rule
        body = json.dumps({"events": [event]}).encode()
        status, answer = http("POST", self.api_url("/v1/events"), body=body,
                              headers={"Content-Type": "application/json"})
        if status not in (401, 403):
            raise DeployLocalError(f"POST /v1/events without a token was answered {status} {answer}: "
                                   "the Cognito authorizer is not in front of the API")
        if not isinstance(answer, dict) or not isinstance(answer.get("error"), str):
            raise DeployLocalError(f"POST /v1/events without a token: {status} {answer} (expected the contract's "
                                   '{"error": ...})')
        say(f"POST /v1/events without a token: {status} (the authorizer refuses it) {answer}")
        self.gateway_responses_deployed(token)
        status, answer = http("POST", self.api_url("/v1/events"), body=body,
                              headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        if status != 200 or answer != {"accepted": 1, "failed": []}:
            raise DeployLocalError(f"POST /v1/events with the token: {status} {answer}")
        say(f"POST /v1/events through API Gateway: 200 {answer} (event {event['event_id']}, {city} {metrics}, "
            f"breaks {rule})")
        return event

    def gateway_responses_deployed(self, token: str) -> None:
        """API Gateway's own answers are in the contract's error shape (the gateway responses of
        infra_cdk/openapi.py), and only the document's routes exist (an unknown one is not the function's)."""
        status, answer = http("GET", self.api_url("/v1/no-such-route"), headers={"Authorization": f"Bearer {token}"})
        if status != 404 or answer != {"error": "path: no such resource or method"}:
            raise DeployLocalError(f"GET /v1/no-such-route: {status} {answer} (expected API Gateway's 404 in the "
                                   "contract's error shape)")
        say(f"GET /v1/no-such-route through API Gateway: 404 {answer}")

    def latest_holds(self, event: dict[str, Any], token: str) -> None:
        ddb, table = self.client("dynamodb"), self.outputs[f"{LATEST_TABLE.logical_id}Name"]
        key = {"pk": {"S": item_pk("weather", event["city"])}}

        def written() -> dict | None:
            item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            return item if item and item.get("event_id", {}).get("S") == event["event_id"] else None

        started = time.monotonic()
        wait_for(f"event {event['event_id']} in {table}", written, self.timeout_s)
        say(f"{table}: holds {event['event_id']} after {time.monotonic() - started:.1f} s "
            "(stream -> processor through the deployed mapping)")
        status, answer = http("GET", self.api_url(f"/v1/latest/weather/{urllib.parse.quote(event['city'])}"),
                              headers={"Authorization": f"Bearer {token}"})
        if status != 200 or answer.get("event_id") != event["event_id"]:
            raise DeployLocalError(f"GET /v1/latest/weather/{event['city']}: {status} {answer}")
        say(f"GET /v1/latest/weather/{event['city']} through API Gateway: 200, temp_c "
            f"{answer.get('fields', {}).get('temp_c')}")
        if answer.get("fields", {}).get("temp_c") != event["temp_c"]:
            raise DeployLocalError(f"GET /v1/latest/weather/{event['city']}: temp_c {answer.get('fields')} "
                                   f"instead of {event['temp_c']}")

    def alert_published(self, event: dict[str, Any]) -> None:
        sqs, queue = self.client("sqs"), self.outputs["WeatherAlertsSensorQueueUrl"]
        queue = self.endpoint + urllib.parse.urlsplit(queue).path  # MiniStack's URL names its own host

        def the_alert() -> dict | None:
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []):
                body = json.loads(message["Body"])
                if (body.get("rule"), body.get("key"), body.get("ts")) == (
                        self.expected_rule, event["city"], event["ts"]):
                    return body
            return None

        alert = wait_for(f"the {self.expected_rule} alert on WeatherAlerts (its sensor queue)", the_alert,
                         self.timeout_s)
        say(f"SNS WeatherAlerts delivered alert {alert.get('alert_id')}: rule {alert['rule']}, {alert['key']}")

    def _deployed(self, resource_type: str) -> list[str]:
        """Physical ids of `resource_type` in every nested stack of the deployment."""
        cloudformation = self.client("cloudformation")
        found = []
        for nested in cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]:
            if nested["ResourceType"] != "AWS::CloudFormation::Stack":
                continue
            paginator = cloudformation.get_paginator("list_stack_resources")
            for page in paginator.paginate(StackName=nested["PhysicalResourceId"]):
                found += [r["PhysicalResourceId"] for r in page["StackResourceSummaries"]
                          if r["ResourceType"] == resource_type]
        return found

    def alarms_present(self) -> None:
        names = self._deployed("AWS::CloudWatch::Alarm")
        if not names:
            raise DeployLocalError("the deployment holds no CloudWatch alarm")
        alarms = self.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        missing = sorted(set(names) - {a["AlarmName"] for a in alarms})
        ops = self.outputs[f"{OPS_TOPIC.logical_id}TopicArn"]
        silent = sorted(a["AlarmName"] for a in alarms if ops not in a.get("AlarmActions", []))
        if missing or silent:
            raise DeployLocalError(f"alarms missing in CloudWatch: {missing}; alarms not acting on OpsAlerts: "
                                   f"{silent}")
        say(f"CloudWatch: {len(alarms)} alarms of the deployment present, each acting on OpsAlerts")

    def schedules_present(self) -> None:
        ids = self._deployed("AWS::Scheduler::Schedule")
        if not ids:
            raise DeployLocalError("the deployment holds no EventBridge Scheduler schedule")
        scheduler = self.client("scheduler")
        poller_arn = self.client("lambda").get_function(FunctionName=POLLER_FUNCTION.local_name)[
            "Configuration"]["FunctionArn"]
        for physical in ids:
            schedule = scheduler.get_schedule(Name=physical.split("/")[-1])
            if schedule["State"] != "ENABLED" or schedule["Target"]["Arn"] != poller_arn:
                raise DeployLocalError(f"schedule {physical}: {schedule['State']} -> {schedule['Target']['Arn']}")
            say(f"EventBridge Scheduler: {schedule['Name']} {schedule['ScheduleExpression']} {schedule['State']} "
                f"-> {POLLER_FUNCTION.local_name}")


def deploy_local(*, port: int | None = None, endpoint: str | None = None, keep: bool = False,
                 workdir: Path | None = None, timeout_s: float = 90) -> None:
    """Start MiniStack (unless `endpoint` names a running one), bootstrap, deploy, prove; stop what it started.
    A temporary workdir is removed after a success and kept (its path printed) after a failure."""
    own_workdir = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="barometer-deploy-local-")) if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    started = time.monotonic()
    try:
        if endpoint is None:
            port = port or free_port()
            say(f"starting MiniStack on 127.0.0.1:{port} (state and logs in {workdir})")
            server = MiniStackProcess.start(port, workdir)
            endpoint = server.endpoint
        endpoint = loopback_endpoint(endpoint)
        bootstrap_and_deploy(endpoint, workdir)
        Proof(endpoint, timeout_s).run()
        say(f"done in {time.monotonic() - started:.0f} s")
        if keep and server is not None:
            say(f"MiniStack keeps running at {endpoint} (pid {server.process.pid}); stop it with "
                f"`kill -- -{server.process.pid}`")
            server = None
    except DeployLocalError:
        if server is not None:
            print(f"--- MiniStack log (last lines, {server.log}) ---\n{server.tail()}", file=sys.stderr)
        print(f"deploy-local: logs kept in {workdir}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
    if own_workdir and not keep:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra_cdk.deploy_local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="port for the MiniStack it starts (default: a free one)")
    parser.add_argument("--endpoint", help="use an already running MiniStack at this loopback URL instead")
    parser.add_argument("--keep", action="store_true", help="leave the MiniStack it started running afterwards")
    parser.add_argument("--workdir", type=Path, help="folder for MiniStack's state, cdk.out and logs "
                                                     "(default: a temporary one, removed afterwards)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds each asynchronous check may take")
    args = parser.parse_args(argv)
    try:
        deploy_local(port=args.port, endpoint=args.endpoint, keep=args.keep, workdir=args.workdir,
                     timeout_s=args.timeout)
    except DeployLocalError as exc:
        print(f"deploy-local: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
