"""The delivery stack (GitHub OIDC provider + deploy role) on its synthesized template, and the workflows that
use it: who may assume the role, and that it may do nothing but assume the CDK bootstrap roles."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra_cdk.stacks.delivery import (
    BOOTSTRAP_ROLE_KINDS,
    DELIVERY_ENVIRONMENTS,
    DEPLOY_ROLE_NAME,
    DIFF_ROLE_NAME,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
)

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACCOUNT, REGION = "123456789012", "eu-central-1"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"


@pytest.fixture(scope="module")
def template(synthesized) -> dict:
    return json.loads((synthesized.outdir / "BarometerDelivery.template.json").read_text(encoding="utf-8"))


class Deployment:
    """Resolves the template's intrinsics as CloudFormation would for one set of parameter values."""

    def __init__(self, template: dict, **given: str) -> None:
        self.template = template
        self.values = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
        self.values.update(given)
        self.values.update({"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"})
        for name, spec in template["Parameters"].items():
            value = self.values[name]
            assert value is not None, f"parameter {name} has no default and was not given"
            if "AllowedValues" in spec:
                assert value in spec["AllowedValues"], (name, value)
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), (name, value)

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg in self.template["Resources"]:
                    # Ref of an AWS::IAM::OIDCProvider is its ARN
                    assert self.template["Resources"][arg]["Type"] == "AWS::IAM::OIDCProvider", arg
                    return PROVIDER_ARN
                return self.values[arg]
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else arg
                names = {k: self.resolve(v) for k, v in names.items()}
                return re.sub(r"\$\{([^}]+)\}", lambda m: names.get(m[1]) or self.values[m[1]], text)
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(arg)
                return left == right
            if key == "Fn::Not":
                (operand,) = self.resolve(arg)
                return not operand
            if key == "Fn::Or":
                return any(self.resolve(arg))
            if key == "Fn::And":
                return all(self.resolve(arg))
            if key == "Condition":
                return self.condition(arg)
            assert not key.startswith("Fn::") or key == "Fn::GetAtt", f"{key} is not resolved by this test"
        return {k: self.resolve(v) for k, v in node.items()}

    def resources(self, resource_type: str) -> dict[str, dict]:
        return {lid: r for lid, r in self.template["Resources"].items() if r["Type"] == resource_type
                and ("Condition" not in r or self.condition(r["Condition"]))}


def _role(deployment: Deployment, name: str = DEPLOY_ROLE_NAME) -> tuple[str, dict]:
    (role_id, role), = [(lid, deployment.resolve(r["Properties"]))
                        for lid, r in deployment.resources("AWS::IAM::Role").items()
                        if r["Properties"]["RoleName"] == name]
    return role_id, role


def _statements_of(deployment: Deployment, role_id: str) -> list[dict]:
    """Every permission statement the role gets: inline policies and AWS::IAM::Policy resources naming it."""
    role = deployment.resolve(deployment.template["Resources"][role_id]["Properties"])
    documents = [p["PolicyDocument"] for p in role.get("Policies", [])]
    for policy in deployment.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            assert policy["Properties"]["Roles"] == [{"Ref": role_id}], "a policy shared with another principal"
            documents.append(deployment.resolve(policy["Properties"]["PolicyDocument"]))
    return [statement for document in documents for statement in document["Statement"]]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("environments", [",".join(DELIVERY_ENVIRONMENTS), *DELIVERY_ENVIRONMENTS])
@pytest.mark.parametrize("repository", ["octo-org/barometer", "octo-org@123456/barometer@789012"])
def test_only_the_named_environments_of_the_repository_may_assume_the_deploy_role(template, environments,
                                                                                  repository):
    # Given the stack deployed for a repository (legacy or immutable subject) and its environments
    deployment = Deployment(template, GitHubRepository=repository, GitHubEnvironments=environments)
    # When the role's trust policy is resolved
    _, role = _role(deployment)
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    # Then only GitHub's tokens for STS, whose subject is one of those environments, are trusted
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert set(statement["Condition"]) == {"StringEquals"}, "no StringLike: subjects are matched exactly"
    claims = statement["Condition"]["StringEquals"]
    assert claims[f"{GITHUB_OIDC_HOST}:aud"] == GITHUB_OIDC_AUDIENCE
    assert _as_list(claims[f"{GITHUB_OIDC_HOST}:sub"]) == [
        f"repo:{repository}:environment:{env}" for env in environments.split(",")]
    assert not any("*" in s or "?" in s for s in _as_list(claims[f"{GITHUB_OIDC_HOST}:sub"]))
    assert role["RoleName"] == DEPLOY_ROLE_NAME


@pytest.mark.parametrize("repository", ["*", "octo-org/*", "octo-org", "octo-org/repo:ref:refs/heads/main",
                                        "octo org/repo"])
def test_a_repository_that_would_widen_the_subject_is_refused_at_deploy(template, repository):
    # Given a GitHubRepository value with a wildcard, no repository, or a subject of its own
    pattern = template["Parameters"]["GitHubRepository"]["AllowedPattern"]
    # Then CloudFormation's AllowedPattern refuses it
    assert not re.fullmatch(pattern, repository)


def test_the_repository_has_no_default(template):
    # Given the template
    # Then the administrator must name the repository: no default could be right for every fork
    assert "Default" not in template["Parameters"]["GitHubRepository"]


@pytest.mark.parametrize("secondary", ["us-west-2", "eu-west-1"])
def test_the_deploy_role_may_only_assume_the_cdk_bootstrap_roles_of_both_regions(template, secondary):
    # Given the stack deployed with a secondary region
    deployment = Deployment(template, GitHubRepository="octo-org/barometer", SecondaryRegion=secondary)
    role_id, role = _role(deployment)
    # When every statement the role holds is collected
    statements = _statements_of(deployment, role_id)
    # Then nothing but sts:AssumeRole on exactly the four bootstrap roles of both regions is allowed
    assert "ManagedPolicyArns" not in role and "PermissionsBoundary" not in role
    assert [s["Effect"] for s in statements] == ["Allow"]
    assert {a for s in statements for a in _as_list(s["Action"])} == {"sts:AssumeRole"}
    resources = [r for s in statements for r in _as_list(s["Resource"])]
    assert sorted(resources) == sorted(
        f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-{kind}-role-{ACCOUNT}-{region}"
        for region in (REGION, secondary) for kind in BOOTSTRAP_ROLE_KINDS)
    assert not any("NotAction" in s or "NotResource" in s or "Condition" in s for s in statements)


def test_no_iam_statement_of_the_stack_holds_a_wildcard(template):
    # Given every policy document of the template (trust policies and permissions of every role)
    deployment = Deployment(template, GitHubRepository="octo-org/barometer")
    roles = deployment.resources("AWS::IAM::Role")
    assert len(roles) == 2
    statements = [statement for role_id, role in roles.items()
                  for statement in [*deployment.resolve(role["Properties"])["AssumeRolePolicyDocument"]["Statement"],
                                    *_statements_of(deployment, role_id)]]
    # Then no action, resource or principal is a wildcard, and no policy names something else
    for statement in statements:
        for key in ("Action", "Resource"):
            assert not any("*" in value for value in _as_list(statement.get(key, []))), statement
        assert "*" not in json.dumps(statement.get("Principal", {})), statement
    assert sum(len(_statements_of(deployment, role_id)) for role_id in roles) == sum(
        len(deployment.resolve(p["Properties"]["PolicyDocument"])["Statement"])
        for p in deployment.resources("AWS::IAM::Policy").values())


@pytest.mark.parametrize("environments", [",".join(DELIVERY_ENVIRONMENTS), *DELIVERY_ENVIRONMENTS])
def test_pull_requests_may_only_read_through_the_lookup_role_where_staging_deploys(template, environments):
    # Given the stack deployed into an account for some of the environments
    deployment = Deployment(template, GitHubRepository="octo-org/barometer", GitHubEnvironments=environments)
    # When the pull-request role is looked up
    names = {r["Properties"]["RoleName"] for r in deployment.resources("AWS::IAM::Role").values()}
    # Then it exists only where staging deploys (the diff runs against staging)
    if "staging" not in environments.split(","):
        assert names == {DEPLOY_ROLE_NAME}
        assert "DiffRoleArn" not in {k for k, o in template["Outputs"].items()
                                     if "Condition" not in o or deployment.condition(o["Condition"])}
        return
    assert names == {DEPLOY_ROLE_NAME, DIFF_ROLE_NAME}
    role_id, role = _role(deployment, DIFF_ROLE_NAME)
    # and trusts only the repository's pull-request tokens for STS
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust["Condition"] == {"StringEquals": {
        f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
        f"{GITHUB_OIDC_HOST}:sub": "repo:octo-org/barometer:pull_request"}}
    # and may assume nothing but the primary region's lookup role (read-only, kms:Decrypt denied)
    (statement,) = _statements_of(deployment, role_id)
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert _as_list(statement["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-lookup-role-{ACCOUNT}-{REGION}"]
    assert "ManagedPolicyArns" not in role and "Condition" not in statement


@pytest.mark.parametrize("create", ["true", "false"])
def test_the_oidc_provider_is_created_unless_the_account_has_one(template, create):
    # Given an account with (false) or without (true) GitHub's provider
    deployment = Deployment(template, GitHubRepository="octo-org/barometer", CreateOidcProvider=create)
    # When the template is resolved
    providers = deployment.resources("AWS::IAM::OIDCProvider")
    _, role = _role(deployment)
    # Then the provider is created only when asked, for GitHub's issuer and STS's audience, and the role
    # federates with the same provider ARN either way
    if create == "true":
        (provider,) = providers.values()
        assert provider["Properties"]["Url"] == f"https://{GITHUB_OIDC_HOST}"
        assert provider["Properties"]["ClientIdList"] == [GITHUB_OIDC_AUDIENCE]
        assert "ThumbprintList" not in provider["Properties"]  # IAM trusts GitHub's CA; a pinned one would expire
    else:
        assert providers == {}
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": PROVIDER_ARN}


def test_the_role_arns_are_outputs(template):
    # Given the template
    deployment = Deployment(template, GitHubRepository="octo-org/barometer")
    outputs = template["Outputs"]
    # Then the deployment prints the ARNs the workflow's variables need
    assert outputs["DeployRoleArn"]["Value"] == {"Fn::GetAtt": [_role(deployment)[0], "Arn"]}
    assert outputs["DiffRoleArn"]["Value"] == {"Fn::GetAtt": [_role(deployment, DIFF_ROLE_NAME)[0], "Arn"]}


def _workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def _jobs_with_aws(workflow: dict) -> dict[str, dict]:
    return {name: job for name, job in workflow["jobs"].items()
            if any("configure-aws-credentials" in step.get("uses", "") for step in job.get("steps", []))}


def test_the_deploy_jobs_use_the_stacks_environments_in_order_through_oidc():
    # Given the delivery workflow
    workflow = _workflow("deliver.yml")
    jobs = _jobs_with_aws(workflow)
    deploys = {name: job for name, job in jobs.items() if "environment" in job}
    # Then each deploy job runs in one GitHub environment the deploy role trusts, with an OIDC token and
    # that environment's role variable, and production waits for staging
    by_env = {job["environment"]["name"]: name for name, job in deploys.items()}
    assert set(by_env) == set(DELIVERY_ENVIRONMENTS)
    staging, production = (by_env[env] for env in DELIVERY_ENVIRONMENTS)
    assert staging in _as_list(deploys[production]["needs"])
    assert "push" in deploys[staging]["if"] and "refs/heads/main" in deploys[staging]["if"]
    for job in deploys.values():
        assert job["permissions"]["id-token"] == "write"
        (step,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert step["with"]["audience"] == GITHUB_OIDC_AUDIENCE
        assert int(step["with"]["role-duration-seconds"]) <= 2 * 3600  # the role's MaxSessionDuration
    # and the only other AWS job is the pull request's diff, through the read-only diff role
    (diff,) = set(jobs) - set(deploys)
    assert "pull_request" in jobs[diff]["if"]
    (step,) = [s for s in jobs[diff]["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert step["with"]["role-to-assume"] == "${{ vars.STAGING_DIFF_ROLE_ARN }}"
    assert [s["run"] for s in jobs[diff]["steps"] if "run" in s] == ["make delivery-diff"]


def test_no_workflow_holds_long_lived_keys_or_asks_for_more_than_it_needs():
    # Given every workflow
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        workflow = yaml.safe_load(text)
        # Then no access key is read from anywhere, the default token is read-only, and only the jobs that
        # talk to AWS may ask for an OIDC token
        assert not re.search(r"aws-(access-key-id|secret-access-key|session-token)|AWS_SECRET_ACCESS_KEY", text), path
        assert workflow["permissions"] == {} or set(workflow["permissions"].values()) <= {"read", "none"}, path
        for name, job in workflow["jobs"].items():
            if job.get("permissions", {}).get("id-token") == "write":
                assert name in _jobs_with_aws(workflow), f"{path.name}: {name} asks for an OIDC token"


LINT_VENV = REPO / ".venv-workflow-lint"
CHECKOUT_PINNED = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"


def _workflow_lint(paths: list[Path]) -> subprocess.CompletedProcess:
    if not (LINT_VENV / ".installed").exists():
        pytest.fail("the workflow linters are missing: run `make .venv-workflow-lint/.installed`")
    return subprocess.run(["make", "--no-print-directory", "workflow-lint", f"WORKFLOWS={' '.join(map(str, paths))}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_the_workflows_pass_workflow_lint():
    # Given the repository's workflows
    # When `make workflow-lint` runs over them
    result = _workflow_lint(sorted(WORKFLOWS.glob("*.yml")))
    # Then actionlint and zizmor find nothing
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("mutation", "finding"), [
    ((CHECKOUT_PINNED, "actions/checkout@v7"), "unpinned-uses"),
    (("run: make test", 'run: echo "${{ github.event.pull_request.title }}"'), "untrusted|template-injection"),  # actionlint sees it first
    (("timeout-minutes: 90", "timeout-minutez: 90"), 'unexpected key "timeout-minutez"'),
    (("run: make test", "run: cd $HOME/work && make test"), "SC2086"),
])
def test_workflow_lint_fails_on_a_broken_workflow(tmp_path, mutation, finding):
    # Given ci.yml with one defect: an unpinned action, a script injection, a misspelt key, an unquoted variable
    old, new = mutation
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    # When `make workflow-lint` runs over it
    result = _workflow_lint([broken])
    # Then it fails, naming the defect
    assert result.returncode != 0
    assert re.search(finding, result.stdout + result.stderr), result.stdout


def test_every_action_is_pinned_by_commit_with_its_release_and_the_same_everywhere():
    # Given every `uses:` line of every workflow
    pins: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" not in line:
                continue
            # Then it names a full commit and, in a comment, the release that commit is
            match = re.fullmatch(r"\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*", line)
            assert match, f"{path.name}: {line.strip()}"
            action, commit, release = match.groups()
            pins.setdefault(action, set()).add(f"{commit} {release}")
    # and one action is pinned to one commit across the workflows
    assert pins and all(len(commits) == 1 for commits in pins.values()), pins


def test_ci_runs_what_the_local_ci_runs():
    # Given the local CI script and ci.yml's test job
    local = [line for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    steps = _workflow("ci.yml")["jobs"]["test"]["steps"]
    # Then the workflow's test step is the same command
    assert [s["run"] for s in steps if "run" in s] == local


def test_ci_lints_every_python_directory_with_ruffs_full_rule_set():
    # Given ci.yml's lint job, the ruff command `make lint` runs, and the Python files the repository tracks
    steps = _workflow("ci.yml")["jobs"]["lint"]["steps"]
    dry_run = subprocess.run(["make", "-n", "--no-print-directory", "lint"], cwd=REPO, capture_output=True,
                             text=True, timeout=60, check=True).stdout
    (ruff,) = [line.split() for line in dry_run.splitlines() if "bin/ruff check" in line]
    arguments = ruff[ruff.index("check") + 1:]
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, timeout=60,
                             check=True).stdout.split()
    # Then the job runs `make lint`, whose ruff selects no subset of the rules (pyproject.toml's set, whole)
    assert "make lint" in [s.get("run") for s in steps]
    assert not [a for a in arguments if a.startswith("-")], arguments
    # and covers the top-level directory of every tracked Python file
    assert tracked and {Path(path).parts[0] for path in tracked} <= set(arguments), arguments


def test_the_deploy_role_may_assume_every_role_the_cdk_cli_assumes_for_the_app(synthesized, template):
    # Given the roles the CLI assumes to deploy the app, as the cloud assembly names them: each stack's
    # deploy and lookup roles, and its assets' publishing roles (Barometer in the primary region,
    # BarometerReplica in the secondary one)
    secondary = "us-west-2"
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text(encoding="utf-8"))

    def arn(pattern: str, region: str) -> str:
        return (pattern.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Region}", region))

    needed = set()
    for stack, region in (("Barometer", REGION), ("BarometerReplica", secondary)):
        properties = manifest["artifacts"][stack]["properties"]
        needed |= {arn(properties["assumeRoleArn"], region), arn(properties["lookupRole"]["arn"], region)}
        assets = json.loads((synthesized.outdir / f"{stack}.assets.json").read_text(encoding="utf-8"))
        needed |= {arn(destination["assumeRoleArn"], region)
                   for kind in ("files", "dockerImages") for asset in assets.get(kind, {}).values()
                   for destination in asset["destinations"].values()}
    # When the deploy role's permissions are resolved for that account and those regions
    deployment = Deployment(template, GitHubRepository="octo-org/barometer", SecondaryRegion=secondary)
    role_id, _ = _role(deployment)
    allowed = {r for s in _statements_of(deployment, role_id) for r in _as_list(s["Resource"])}
    # Then it may assume each of them (and, by the test above, nothing beyond the bootstrap roles)
    assert len(needed) >= 5
    assert needed <= allowed, needed - allowed
