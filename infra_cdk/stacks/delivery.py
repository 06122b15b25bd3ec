"""DeliveryStack: GitHub Actions' OIDC provider and the role the delivery workflow deploys with.

A top-level stack of its own, deployed once per account by an administrator (docs/infra.md, "Delivery
pipeline"); the workflow itself never deploys it, so it cannot widen its own rights. The deploy role may do
one thing: assume the CDK bootstrap roles of this account (deploy, file publishing, image publishing,
lookup) in the primary and the secondary region, the pattern the CDK recommends. What a deployment may
change is then bounded by the bootstrap's CloudFormation execution policy, not by this role.

The role trusts tokens of GitHub's OIDC provider for the audience sts.amazonaws.com whose subject is one of
`repo:<GitHubRepository>:environment:<env>`: only jobs that run in a GitHub environment of that repository
(where the environment's protection rules, such as required reviewers, have already passed), never a
branch, a tag or a pull request. Pull requests get a role of their own, for `cdk diff` against staging:
it may only assume the bootstrap lookup role (read-only, kms:Decrypt denied), since anyone who can push a
branch can change what a pull request's workflow runs.
"""
from __future__ import annotations

from aws_cdk import Aws, CfnCondition, CfnOutput, CfnParameter, DefaultStackSynthesizer, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from barometer.catalogue import PROJECT

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# The GitHub environments of .github/workflows/deliver.yml, in deployment order.
DELIVERY_ENVIRONMENTS = ("staging", "production")
DEPLOY_ROLE_NAME = f"{PROJECT}-github-deploy"
DIFF_ROLE_NAME = f"{PROJECT}-github-diff"
# The roles `cdk bootstrap` creates; the CLI assumes them to publish assets, deploy and look up context.
BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")
# The app's own synthesizer setting: the roles the CLI assumes for every stack of this app are these.
QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
# A first deployment of the full profile (NAT gateways, DAX, global tables) runs longer than STS's default hour.
MAX_SESSION = Duration.hours(2)


def bootstrap_role_arn(qualifier: str, kind: str, region: str) -> str:
    """ARN of one bootstrap role of this account, as `cdk bootstrap` names it."""
    return Fn.sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/cdk-{qualifier}-{kind}-role-"
                  "${AWS::AccountId}-${Region}", {"Region": region})


class DeliveryStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, description="Barometer delivery: GitHub OIDC provider and the "
                                                          "deploy role (deployed once per account by an admin)",
                         **kwargs)
        repository = CfnParameter(
            self, "GitHubRepository", type="String",
            # GitHub's immutable subject claim (repositories created from 2026-07-15, or opted in) carries
            # the numeric ids: owner@<org id>/name@<repo id>.
            allowed_pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}(@[0-9]+)?/[A-Za-z0-9._-]{1,100}(@[0-9]+)?$",
            constraint_description="owner/name, or owner@<org id>/name@<repository id> as the OIDC subject "
                                   "claim carries it",
            description="The repository whose delivery workflow may deploy, as its OIDC token's subject names "
                        "it: owner/name (owner@<org id>/name@<repository id> with immutable subject claims)")
        environments = CfnParameter(
            self, "GitHubEnvironments", type="String", default=",".join(DELIVERY_ENVIRONMENTS),
            allowed_values=[",".join(DELIVERY_ENVIRONMENTS), *DELIVERY_ENVIRONMENTS],
            description="The GitHub environments that deploy into this account (one account per environment: "
                        "name it; one account for both: the default)")
        create_provider = CfnParameter(
            self, "CreateOidcProvider", type="String", default="true", allowed_values=["true", "false"],
            description="false when the account already has the token.actions.githubusercontent.com provider "
                        "(an account holds one provider per URL)")
        secondary_region = CfnParameter(
            self, "SecondaryRegion", type="String", default="us-west-2",
            allowed_pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$",
            description="The region of BarometerReplica (its bootstrap roles are assumable too)")
        qualifier = self.node.try_get_context(QUALIFIER_CONTEXT) or DefaultStackSynthesizer.DEFAULT_QUALIFIER

        creates_provider = CfnCondition(self, "CreatesOidcProvider",
                                        expression=Fn.condition_equals(create_provider.value_as_string, "true"))
        provider = iam.CfnOIDCProvider(self, "GitHubOidcProvider", url=f"https://{GITHUB_OIDC_HOST}",
                                       client_id_list=[GITHUB_OIDC_AUDIENCE])
        provider.cfn_options.condition = creates_provider
        # Ref of the provider is its ARN; the existing provider has the same ARN, by construction.
        provider_arn = Fn.condition_if(
            creates_provider.logical_id, provider.ref,
            Fn.sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC_HOST}"))

        role = iam.Role(
            self, "DeployRole", role_name=DEPLOY_ROLE_NAME, max_session_duration=MAX_SESSION,
            description="Assumed by the delivery workflow's deploy jobs (GitHub OIDC); may only assume the CDK "
                        "bootstrap roles",
            assumed_by=iam.FederatedPrincipal(
                provider_arn.to_string(),
                conditions={"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                                             f"{GITHUB_OIDC_HOST}:sub": self._subjects(repository, environments)}},
                assume_role_action="sts:AssumeRoleWithWebIdentity"))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="AssumeCdkBootstrapRoles", actions=["sts:AssumeRole"],
            resources=[bootstrap_role_arn(qualifier, kind, region)
                       for region in (Aws.REGION, secondary_region.value_as_string)
                       for kind in BOOTSTRAP_ROLE_KINDS]))
        CfnOutput(self, "DeployRoleArn", value=role.role_arn,
                  description="The GitHub environments' AWS_DEPLOY_ROLE_ARN variable")

        # Only where staging deploys: pull requests diff against staging.
        hosts_staging = CfnCondition(self, "HostsStaging", expression=Fn.condition_not(
            Fn.condition_equals(environments.value_as_string, "production")))
        diff_role = iam.Role(
            self, "DiffRole", role_name=DIFF_ROLE_NAME,
            description="Assumed by the delivery workflow's pull-request diff (GitHub OIDC); may only assume the "
                        "CDK bootstrap lookup role (read-only)",
            assumed_by=iam.FederatedPrincipal(
                provider_arn.to_string(),
                conditions={"StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": Fn.sub("repo:${Repository}:pull_request",
                                                      {"Repository": repository.value_as_string})}},
                assume_role_action="sts:AssumeRoleWithWebIdentity"))
        diff_role.add_to_principal_policy(iam.PolicyStatement(
            sid="AssumeCdkLookupRole", actions=["sts:AssumeRole"],
            resources=[bootstrap_role_arn(qualifier, "lookup", Aws.REGION)]))
        for construct in (diff_role, diff_role.node.find_child("DefaultPolicy")):
            construct.node.default_child.cfn_options.condition = hosts_staging
        diff_output = CfnOutput(self, "DiffRoleArn", value=diff_role.role_arn,
                                description="The repository's STAGING_DIFF_ROLE_ARN variable")
        diff_output.condition = hosts_staging

    def _subjects(self, repository: CfnParameter, environments: CfnParameter):
        """The `sub` claims trusted: one per environment the parameter names (a Condition per choice)."""
        def subject(env: str) -> str:
            return Fn.sub(f"repo:${{Repository}}:environment:{env}", {"Repository": repository.value_as_string})

        only = {}
        for env in DELIVERY_ENVIRONMENTS:
            only[env] = CfnCondition(self, f"Only{env.capitalize()}",
                                     expression=Fn.condition_equals(environments.value_as_string, env))
        every = [subject(env) for env in DELIVERY_ENVIRONMENTS]
        staging, production = DELIVERY_ENVIRONMENTS
        return Fn.condition_if(only[staging].logical_id, [subject(staging)],
                               Fn.condition_if(only[production].logical_id, [subject(production)], every))
