# Delivery (issue 11): the targets .github/workflows/{ci,deliver}.yml run, and the workflows' own lint.
# `make workflow-lint` runs actionlint and zizmor offline from a tool virtualenv of their own (pinned, with
# hashes, in .github/workflow-lint/requirements.txt), so the shared .venv is untouched. See docs/infra.md,
# "Delivery pipeline".
WORKFLOW_LINT_VENV := .venv-workflow-lint
WORKFLOW_LINT_REQUIREMENTS := .github/workflow-lint/requirements.txt
WORKFLOWS := $(wildcard .github/workflows/*.yml)
# The cost profile of the environment being deployed (infra_cdk/profiles.py); empty: cdk.json's, else standard.
CDK_PROFILE ?=
CDK_PROFILE_CONTEXT = $(if $(strip $(CDK_PROFILE)),-c profile=$(strip $(CDK_PROFILE)))

.PHONY: workflow-lint lint-errors delivery-diff delivery-deploy delivery-deploy-replica

$(WORKFLOW_LINT_VENV)/.installed: $(UV) $(WORKFLOW_LINT_REQUIREMENTS)
	rm -rf $(WORKFLOW_LINT_VENV)
	$(UV) venv --quiet --python $(UV_PYTHON) $(WORKFLOW_LINT_VENV)
	$(UV) pip install --quiet --only-binary :all: --require-hashes --python $(WORKFLOW_LINT_VENV)/bin/python \
		-r $(WORKFLOW_LINT_REQUIREMENTS)
	@touch $@

workflow-lint: $(WORKFLOW_LINT_VENV)/.installed ## actionlint and zizmor (offline) over .github/workflows
	@test -n "$(WORKFLOWS)" || { echo "workflow-lint: no workflow in .github/workflows"; exit 1; }
	$(WORKFLOW_LINT_VENV)/bin/actionlint -shellcheck=$(WORKFLOW_LINT_VENV)/bin/shellcheck -pyflakes= $(WORKFLOWS)
	$(WORKFLOW_LINT_VENV)/bin/zizmor --offline --no-progress --persona pedantic $(WORKFLOWS)
	@echo "workflow-lint: $(words $(WORKFLOWS)) workflows, no finding"

lint-errors: setup ## ruff's error classes only (syntax errors, undefined names): a quick subset of make lint
	$(VENV)/bin/ruff check --select E9,F63,F7,F82 $(RUFF_TARGETS)

delivery-diff: setup $(CDK_CLI) ## (CI) cdk diff of Barometer against the deployed template, read-only
	$(CDK_CLI) diff --app "$(CDK_APP)" $(CDK_PROFILE_CONTEXT) --method template Barometer

delivery-deploy-replica: setup $(CDK_CLI) ## (CI) deploy BarometerReplica into SECONDARY_REGION, no prompt
	@test -n "$(strip $(SECONDARY_REGION))" || { echo "delivery-deploy-replica: SECONDARY_REGION is empty"; exit 2; }
	AWS_REGION=$(SECONDARY_REGION) AWS_DEFAULT_REGION=$(SECONDARY_REGION) $(CDK_CLI) deploy --app "$(CDK_APP)" \
		$(CDK_PROFILE_CONTEXT) BarometerReplica --ci --require-approval never --progress events

# --require-approval never: the production environment's required reviewers approve before this runs.
delivery-deploy: setup $(CDK_CLI) ## (CI) deploy Barometer with CDK_PROFILE and CDK_PARAMETERS, no prompt
	$(CDK_CLI) deploy --app "$(CDK_APP)" $(CDK_PROFILE_CONTEXT) Barometer --ci --require-approval never \
		--progress events $(foreach p,$(CDK_PARAMETERS),--parameters $(p))

TEST_PREREQS += $(WORKFLOW_LINT_VENV)/.installed
TEST_EXTRA += workflow-lint
