"""Dagster on AWS (issue 12): the Orchestration nested stack, its roles, its environment and its image.

All read the session's synthesis (fixture `synthesized`); Given = the default (standard) synthesis.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from barometer.catalogue import CATALOGUE, CONFIG_JSON_ENV, OPS_TOPIC, SECRETS
from infra_cdk.profiles import PROFILES
from infra_cdk.stacks.orchestration import (
    CODE_SERVER_HOST,
    CODE_SERVER_PORT,
    CODE_SERVICE,
    DOCKERFILE,
    NAMESPACE,
    RUN_CONTAINER,
    RUN_FAMILY,
)

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "dagster"
# The deployment's settings the brief (issue 12) names, beside the catalogue's resource variables.
SETTINGS = ("BAROMETER_ATHENA_WORKGROUP", "BAROMETER_QUICKSIGHT_DATASETS", "BAROMETER_BACKUP_VAULT",
            "BAROMETER_REPLICA_REGIONS", "BAROMETER_HEALTH_CHECK_ID", OPS_TOPIC.env_var)
# What awswrangler calls for an Athena query in a workgroup (barometer_sql/athena_engine.py: not named in our code).
ATHENA_CALLS = {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                "athena:GetWorkGroup"}
# Services the assets' code calls through barometer.aws clients.
CODE_SERVICES = ("s3", "glue", "athena", "dynamodb", "sqs", "sns", "backup", "quicksight", "route53", "lambda",
                 "cloudwatch", "kinesis", "firehose")
# botocore operation -> IAM action where the names differ.
IAM_ACTION_OF = {"s3:HeadObject": "s3:GetObject", "s3:ListObjectsV2": "s3:ListBucket",
                 "s3:DeleteObjects": "s3:DeleteObject", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
                 "lambda:Invoke": "lambda:InvokeFunction",
                 "s3:GetBucketReplication": "s3:GetReplicationConfiguration"}


@pytest.fixture(scope="module")
def orchestration(synthesized) -> dict:
    return synthesized.nested["Orchestration"]


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _statements(template: dict, role_prefix: str) -> list[dict]:
    (policy,) = [r for lid, r in _of_type(template, "AWS::IAM::Policy").items() if lid.startswith(role_prefix)]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _actions(statements: list[dict]) -> set[str]:
    out: set[str] = set()
    for statement in statements:
        actions = statement["Action"]
        out.update([actions] if isinstance(actions, str) else actions)
    return out


def _containers(template: dict) -> dict[str, dict]:
    return {task["Properties"]["ContainerDefinitions"][0]["Name"]: task["Properties"]["ContainerDefinitions"][0]
            for task in _of_type(template, "AWS::ECS::TaskDefinition").values()}


def test_the_orchestrator_is_one_nested_stack_behind_its_toggle_on_in_standard_and_full_only(synthesized):
    # Then the nested stack's resource carries the EnableOrchestrator Condition in the root template
    (resource,) = [r for lid, r in synthesized.root["Resources"].items() if lid.startswith("Orchestration")]
    assert resource["Condition"] == "EnableOrchestratorOn"
    assert synthesized.root["Conditions"]["EnableOrchestratorOn"] == {
        "Fn::Equals": [{"Ref": "EnableOrchestrator"}, "true"]}
    # And the profiles: off in demo, on in standard and full
    assert [name for name, p in PROFILES.items() if p.toggle_default("EnableOrchestrator") == "true"] == [
        "standard", "full"]
    # And without a NAT gateway (the tasks' only way to ECR and AWS) the deploy is refused by a rule
    rule = synthesized.root["Rules"]["OrchestratorNeedsNat"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "EnableOrchestrator"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "EnableNatGateway"}, "true"]}


def test_webserver_daemon_and_code_server_run_on_fargate_in_private_subnets_with_the_orchestrator_group(
        synthesized, orchestration):
    services = {r["Properties"]["ServiceName"]: r["Properties"]
                for r in _of_type(orchestration, "AWS::ECS::Service").values()}
    assert sorted(services) == ["barometer-dagster-code", "barometer-dagster-daemon", "barometer-dagster-webserver"]
    # The orchestrator's group is the one NetworkingStack made for it (passed in as a parameter)
    (root_resource,) = [r for lid, r in synthesized.root["Resources"].items() if lid.startswith("Orchestration")]
    (sg_parameter,) = [name for name, value in root_resource["Properties"]["Parameters"].items()
                       if "Ec2Sg" in json.dumps(value)]
    for name, service in services.items():
        network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert service["LaunchType"] == "FARGATE" and service["DesiredCount"] == 1, name
        assert network["AssignPublicIp"] == "DISABLED", name
        assert network["SecurityGroups"] == [{"Ref": sg_parameter}], name
        assert all("privateSubnet" in json.dumps(subnet) for subnet in network["Subnets"]), name
    # One daemon at a time, even while a deploy replaces it
    daemon = services["barometer-dagster-daemon"]["DeploymentConfiguration"]
    assert (daemon["MaximumPercent"], daemon["MinimumHealthyPercent"]) == (100, 0)
    # The webserver is reached through ECS Exec (SSM port forwarding), never a load balancer or an open port
    assert services["barometer-dagster-webserver"]["EnableExecuteCommand"] is True
    assert not any(r["Type"].startswith("AWS::ElasticLoadBalancing") for t in synthesized.nested.values()
                   for r in t["Resources"].values())
    ingress = _of_type(orchestration, "AWS::EC2::SecurityGroupIngress")
    assert [(r["Properties"]["FromPort"], r["Properties"]["SourceSecurityGroupId"]) for r in ingress.values()] == [
        (CODE_SERVER_PORT, {"Ref": sg_parameter})]


def test_the_code_server_is_found_where_the_workspace_says(orchestration):
    # Given the production workspace (webserver and daemon load the code location from the gRPC server)
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    assert (entry["grpc_server"]["host"], entry["grpc_server"]["port"]) == (CODE_SERVER_HOST, CODE_SERVER_PORT)
    # Then Cloud Map registers the code service under that name in that namespace
    (namespace,) = _of_type(orchestration, "AWS::ServiceDiscovery::PrivateDnsNamespace").values()
    (discovery,) = _of_type(orchestration, "AWS::ServiceDiscovery::Service").values()
    assert namespace["Properties"]["Name"] == NAMESPACE and discovery["Properties"]["Name"] == CODE_SERVICE
    code = _containers(orchestration)["code"]
    assert code["Command"][:3] == ["dagster", "api", "grpc"] and str(CODE_SERVER_PORT) in code["Command"]
    assert code["PortMappings"] == [{"ContainerPort": CODE_SERVER_PORT, "Protocol": "tcp"}]


def test_postgres_storage_is_encrypted_private_protected_and_backed_up(synthesized, orchestration):
    (db,) = _of_type(orchestration, "AWS::RDS::DBInstance").values()
    props = db["Properties"]
    (key_id,) = _of_type(orchestration, "AWS::KMS::Key")
    assert props["Engine"] == "postgres" and props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["PerformanceInsightsKMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["DeletionProtection"] is True and props["PubliclyAccessible"] is False
    assert props["BackupRetentionPeriod"] >= 7 and db["DeletionPolicy"] == "Snapshot"
    # In the data VPC's isolated subnets
    (subnets,) = _of_type(orchestration, "AWS::RDS::DBSubnetGroup").values()
    assert all("ProdDatadataSubnet" in json.dumps(s) for s in subnets["Properties"]["SubnetIds"])
    # TLS only
    (parameters,) = _of_type(orchestration, "AWS::RDS::DBParameterGroup").values()
    assert parameters["Properties"]["Parameters"]["rds.force_ssl"] == "1"
    # Credentials generated into Secrets Manager under the same key, handed to the tasks as ECS secrets
    (secret,) = _of_type(orchestration, "AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert "GenerateSecretString" in secret["Properties"]
    for name, container in _containers(orchestration).items():
        assert {s["Name"] for s in container["Secrets"]} == {"DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"}, name
        assert not {"DAGSTER_PG_PASSWORD", "DAGSTER_PG_USERNAME"} & {e["Name"] for e in container["Environment"]}
    # Reachable on its port from the orchestrator's group only
    (db_sg,) = _of_type(orchestration, "AWS::EC2::SecurityGroup").values()
    (rule,) = db_sg["Properties"]["SecurityGroupIngress"]
    assert (rule["FromPort"], "SourceSecurityGroupId" in rule, "CidrIp" in rule) == (5432, True, False)


def test_every_task_gets_the_functions_resource_variables_and_the_deployments_settings(orchestration):
    # Given what the catalogue gives the functions (secrets excepted: the code location reads none)
    secret_vars = {s.env_var for s in SECRETS}
    expected = set(CATALOGUE.local_environment()) - secret_vars
    for name, container in _containers(orchestration).items():
        env = {e["Name"]: e["Value"] for e in container["Environment"]}
        # Then every variable is set, from the deployment (a reference, never the local name)
        assert expected <= set(env), (name, expected - set(env))
        for variable in expected:
            assert isinstance(env[variable], dict), (name, variable, env[variable])
        assert set(SETTINGS) <= set(env), (name, set(SETTINGS) - set(env))
        assert env["BAROMETER_ENV"] == "aws" and CONFIG_JSON_ENV in env
        assert env["DAGSTER_RUN_TASK_DEFINITION"] == RUN_FAMILY and env["PGSSLMODE"] == "require"
        # Settings chosen by a Condition of this template (QuickSight, replicas) are Fn::If on it
        for variable in ("BAROMETER_QUICKSIGHT_DATASETS", "BAROMETER_REPLICA_REGIONS"):
            (condition_name, _, otherwise) = env[variable]["Fn::If"]
            assert condition_name in orchestration["Conditions"] and otherwise == ""
        assert not set(SETTINGS) & secret_vars


def test_the_datasets_the_orchestrator_refreshes_import_into_spice(synthesized, orchestration):
    # Given the datasets whose SPICE copies the quicksight_spice asset refreshes (CreateIngestion)
    (container, *_) = _containers(orchestration).values()
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    (_, datasets, _) = env["BAROMETER_QUICKSIGHT_DATASETS"]["Fn::If"]
    names = set(datasets.split(","))
    # Then each of them is a SPICE dataset (a DIRECT_QUERY one would fail every refresh)
    modes = {r["Properties"]["DataSetId"]: r["Properties"]["ImportMode"]
             for r in synthesized.resources("Dashboards", "AWS::QuickSight::DataSet").values()}
    assert names and names <= set(modes), (names, modes)
    assert {modes[name] for name in names} == {"SPICE"}


def test_no_secret_reaches_a_task_as_a_plain_variable(orchestration):
    for name, container in _containers(orchestration).items():
        for entry in container["Environment"]:
            assert not re.search(r"PASSWORD|SECRET|TOKEN", entry["Name"]), (name, entry["Name"])


def test_the_run_launcher_finds_its_task_definition_and_container(orchestration):
    # Given the production instance's run launcher settings
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    assert launcher["config"]["container_name"] == RUN_CONTAINER
    assert launcher["config"]["task_definition"] == {"env": "DAGSTER_RUN_TASK_DEFINITION"}
    # Then the run family exists, with a container of that name, under the assets' role
    tasks = {r["Properties"]["Family"]: r for r in _of_type(orchestration, "AWS::ECS::TaskDefinition").values()}
    run = tasks[RUN_FAMILY]["Properties"]
    assert run["ContainerDefinitions"][0]["Name"] == RUN_CONTAINER
    assert run["TaskRoleArn"]["Fn::GetAtt"][0].startswith("AssetsRole")
    assert tasks[RUN_FAMILY]["Metadata"]["barometer:cost"] == "dagster-run"  # bench/cost_idle.py prices its runs
    # And every task logs to CloudWatch, runs as read-only root with a separate execution role
    for family, task in tasks.items():
        container = task["Properties"]["ContainerDefinitions"][0]
        assert container["LogConfiguration"]["LogDriver"] == "awslogs", family
        assert container["ReadonlyRootFilesystem"] is True, family
        assert task["Properties"]["ExecutionRoleArn"] != task["Properties"]["TaskRoleArn"], family


def _code_calls() -> set[frozenset[str]]:
    """Per AWS operation named in the code location and SQL over the lake, the IAM actions it may be (a name
    like `create_table` is Glue's or DynamoDB's: one of them must be granted)."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    candidates: dict[str, set[str]] = {}
    for service in CODE_SERVICES:
        for op in session.get_service_model(service).operation_names:
            action = f"{service}:{op}"
            candidates.setdefault(xform_name(op), set()).add(IAM_ACTION_OF.get(action, action))
    calls = set()
    for root in ("platform_assets", "barometer_sql"):
        for path in (REPO / root).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            # Calls and method references (`_call(kinesis.describe_stream_summary, ...)`), and paginators
            for name in re.findall(r"\.(\w+)", text) + re.findall(r'get_paginator\("(\w+)"\)', text):
                if name in candidates:
                    calls.add(frozenset(candidates[name]))
    return calls


def test_the_assets_role_allows_every_call_the_code_location_makes_and_no_wildcard_action(orchestration):
    statements = _statements(orchestration, "AssetsRole")
    granted = _actions(statements)
    # Given the calls named in platform_assets/ and barometer_sql/ plus awswrangler's Athena calls
    calls = _code_calls() | {frozenset({action}) for action in ATHENA_CALLS}
    assert len(calls) > 20
    # Then each is granted
    assert sorted(sorted(call) for call in calls if not call & granted) == [], "called but not granted"
    # And no action is a wildcard, and the brief's calls are there: SNS only on OpsAlerts, SQS receive/delete
    assert not [a for a in granted if "*" in a]
    assert {"sns:Publish", "backup:ListRecoveryPointsByResource", "quicksight:CreateIngestion",
            "quicksight:DescribeIngestion", "sqs:ReceiveMessage", "sqs:DeleteMessage", "lambda:InvokeFunction",
            "cloudwatch:GetMetricData", "glue:CreatePartition", "s3:PutObject"} <= granted
    (publish,) = [s for s in statements if s["Action"] == "sns:Publish"]
    assert "OpsAlerts" in json.dumps(publish["Resource"]) and "FinOps" not in json.dumps(publish["Resource"])
    # And it cannot write or delete outside the zones Dagster owns
    for statement in statements:
        if set(_actions([statement])) & {"s3:PutObject", "s3:DeleteObject"} and "AthenaResults" not in json.dumps(
                statement["Resource"]):
            prefixes = re.findall(r'"/([a-z/-]+)\*"', json.dumps(statement["Resource"]))
            assert prefixes and set(prefixes) <= {"processed/", "rollups/", "extracts/", "incidents/",
                                                  "ops/finops-alerts/"}, statement
    # And no ECS or IAM control: that is the daemon's
    assert not {a for a in granted if a.startswith(("ecs:", "iam:"))}


def test_the_daemon_may_only_start_run_tasks_of_its_family_in_its_cluster_and_pass_their_roles(orchestration):
    statements = _statements(orchestration, "DaemonRole")
    (run,) = [s for s in statements if s["Action"] == "ecs:RunTask"]
    assert f"task-definition/{RUN_FAMILY}:*" in json.dumps(run["Resource"])
    assert "ecs:cluster" in run["Condition"]["ArnEquals"]
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    passed = {ref["Fn::GetAtt"][0].rstrip("0123456789ABCDEF") for ref in pass_role["Resource"]}
    assert passed == {"AssetsRole", "ExecutionRole"}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert not {a for a in _actions(statements) if a.startswith(("s3:", "sns:", "sqs:", "dynamodb:"))}


def test_only_the_webserver_accepts_ecs_exec_sessions(orchestration):
    exec_actions = {"ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"}
    assert exec_actions <= _actions(_statements(orchestration, "WebserverRole"))
    for role in ("AssetsRole", "DaemonRole", "ExecutionRole"):
        assert not exec_actions & _actions(_statements(orchestration, role)), role


# -- the image ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def image_asset(synthesized) -> tuple[Path, str]:
    """The staged build context of the orchestrator's image (what `cdk deploy` builds) and its Dockerfile."""
    assets = json.loads((synthesized.outdir / "Barometer.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    return synthesized.outdir / image["source"]["directory"], image["source"]["dockerFile"]


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_image_builds_from_the_staged_context_every_copy_source_there(image_asset):
    context, dockerfile = image_asset
    # Given the Dockerfile the CDK builds, from the context it staged (the .dockerignore allowlist)
    assert dockerfile == DOCKERFILE
    instructions = _dockerfile_instructions((context / dockerfile).read_text())
    copies = [args.split() for kind, args in instructions if kind == "COPY"]
    assert copies
    # Then every COPY source exists in that context
    for args in copies:
        sources = [a for a in args[:-1] if not a.startswith("--")]
        for source in sources:
            assert (context / source).exists(), source
    # And nothing the image does not need is staged (the Lambda code, the web app, the tests, virtualenvs)
    staged = {p.name for p in context.iterdir()}
    assert {"platform_assets", "barometer", "barometer_sql", "uv.lock"} <= staged
    assert not {"lambdas", "web", "tests", ".venv", "node_modules", "cdk.out", "infra_cdk"} & staged
    # And the entrypoint and its commands are the ones the task definitions run
    (entrypoint,) = [json.loads(args) for kind, args in instructions if kind == "ENTRYPOINT"]
    assert entrypoint == ["python", "/opt/dagster/entrypoint.py"]


def test_the_entrypoint_imports_alone_and_refuses_a_missing_setting_by_name(tmp_path):
    # Given the entrypoint run as the image runs it, without the database settings
    env = {"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path / "home"), "BAROMETER_ENV": "aws"}
    done = subprocess.run([sys.executable, str(DEPLOY / "entrypoint.py"), "true"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    # Then it stops before starting anything, naming what is missing
    assert done.returncode == 2
    assert "DAGSTER_PG_HOST" in done.stderr and "DAGSTER_RUN_TASK_DEFINITION" in done.stderr
    # And with every setting it writes the production instance into DAGSTER_HOME and runs the command
    env.update({"DAGSTER_PG_HOST": "db", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_DB": "dagster",
                "DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "x", "DAGSTER_RUN_TASK_DEFINITION": RUN_FAMILY})
    done = subprocess.run([sys.executable, str(DEPLOY / "entrypoint.py"), "sh", "-c", "echo started $0", "ok"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "started ok", done.stderr
    assert (tmp_path / "home" / "dagster.yaml").read_text() == (DEPLOY / "dagster.yaml").read_text()


def test_the_tasks_commands_name_what_the_image_has():
    from infra_cdk.stacks.orchestration import COMMANDS

    # The code server loads the code location the local workspace loads
    local = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"][0]["python_module"]
    code = COMMANDS["code"]
    assert code[code.index("-m") + 1] == local["module_name"] and code[code.index("-a") + 1] == local["attribute"]
    # And the executables are the orchestration group's
    executables = {command[0] for command in COMMANDS.values()}
    assert executables == {"dagster", "dagster-webserver", "dagster-daemon"}
    for executable in executables:
        assert (Path(sys.executable).parent / executable).exists(), executable


def test_the_images_python_environment_built_as_the_dockerfile_says_loads_the_code_location(image_asset, tmp_path):
    """No Docker engine here: the Dockerfile's COPY and `uv sync` steps are replayed into a folder (uv offline,
    from the cache `make setup` filled), then the entrypoint starts Python there the way a task would."""
    context, dockerfile = image_asset
    uv = REPO / ".venv-tools" / "bin" / "uv"
    assert uv.exists(), "run `make setup` (it installs uv into .venv-tools)"
    root, workdir, venv = tmp_path / "image", "/", tmp_path / "image" / "opt" / "venv"
    synced = False
    for kind, args in _dockerfile_instructions((context / dockerfile).read_text()):
        if kind == "WORKDIR":
            workdir = args.strip()
        elif kind == "COPY":
            *sources, dest = args.split()
            target = root / Path(workdir, dest).relative_to("/")
            for source in sources:
                into = target / Path(source).name if dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                if (context / source).is_dir():
                    shutil.copytree(context / source, into)
                else:
                    shutil.copyfile(context / source, into)
        elif kind == "RUN" and "uv sync" in args:
            (command,) = [part.strip() for part in args.split("&&") if part.strip().startswith("uv sync")]
            (root / Path(workdir).relative_to("/")).mkdir(parents=True, exist_ok=True)
            done = subprocess.run([str(uv), *command.split()[1:], "--offline"], cwd=root / Path(workdir).relative_to("/"),
                                  env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "hardlink"},
                                  capture_output=True, text=True, timeout=600, check=False)
            assert done.returncode == 0, done.stderr[-3000:]
            synced = True
    assert synced
    # When the entrypoint runs the code server's import of the code location, with the task's settings
    probe = ("import platform_assets.definitions as d, dagster_postgres, dagster_aws.ecs, dagster_webserver; "
             "print(len(list(d.defs.resolve_all_asset_keys())))")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PYTHONPATH": str(root / "opt" / "barometer"),
           "DAGSTER_HOME": str(tmp_path / "home"), "BAROMETER_ENV": "aws", "AWS_REGION": "us-east-1",
           "HOME": str(tmp_path), "DAGSTER_PG_HOST": "db", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_DB": "dagster",
           "DAGSTER_PG_USERNAME": "dagster", "DAGSTER_PG_PASSWORD": "x", "DAGSTER_RUN_TASK_DEFINITION": RUN_FAMILY}
    done = subprocess.run([str(venv / "bin" / "python"), str(root / "opt" / "dagster" / "entrypoint.py"),
                           "python", "-c", probe], env=env, capture_output=True, text=True, timeout=300, check=False)
    # Then the definitions load from the image's folders alone, with the image's packages
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip().splitlines()[-1]) > 10
    # And every executable the task definitions run is in that environment
    from infra_cdk.stacks.orchestration import COMMANDS

    assert all((venv / "bin" / command[0]).exists() for command in COMMANDS.values())
