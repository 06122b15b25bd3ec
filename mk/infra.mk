# Infrastructure (issue 3): the CDK app in infra_cdk/, its scanners and its deployment.
# `make synth` needs neither credentials nor network; deploy/diff use the CDK CLI pinned in
# infra_cdk/package-lock.json and the caller's AWS credentials. See docs/infra.md.
INFRA_OUT := cdk.out
CHECKOV_VENV := .venv-checkov
CHECKOV_REQUIREMENTS := infra_cdk/checkov/requirements.txt
CDK_CLI := infra_cdk/node_modules/.bin/cdk
# The cost profile (infra_cdk/profiles.py): demo, standard or full, e.g. make deploy PROFILE=demo.
# Unset: the context's `profile` (cdk.json), else standard.
PROFILE ?=
PROFILE_ARG := $(if $(PROFILE),--profile $(PROFILE))
CDK_APP := $(abspath $(PY)) -m infra_cdk.app $(PROFILE_ARG)
# Parameters for deploy, e.g. make deploy CDK_PARAMETERS="Barometer:AlertEmail=ops@example.com"
CDK_PARAMETERS ?=
SECONDARY_REGION ?= us-west-2

.PHONY: synth infra-checks cfn-lint checkov cfn-lint-templates checkov-templates deploy deploy-replica diff bootstrap

synth: setup ## synthesize the CDK app into cdk.out/ (PROFILE=demo|standard|full; no AWS credentials needed)
	rm -rf $(INFRA_OUT)
	$(PY) -m infra_cdk.app $(PROFILE_ARG)

cfn-lint-templates:
	@ls $(INFRA_OUT)/*.template.json > /dev/null  # cfn-lint passes silently when its glob matches nothing
	$(VENV)/bin/cfn-lint --config-file .cfnlintrc.yaml
	@echo "cfn-lint: $$(ls $(INFRA_OUT)/*.template.json | wc -l) templates, no error, no warning"

$(CHECKOV_VENV)/.installed: $(UV) $(CHECKOV_REQUIREMENTS)
	rm -rf $(CHECKOV_VENV)
	$(UV) venv --quiet --python $(UV_PYTHON) $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python -r $(CHECKOV_REQUIREMENTS)
	@touch $@

checkov-templates: $(CHECKOV_VENV)/.installed
	$(PY) -m infra_cdk.checks.checkov_gate --checkov $(CHECKOV_VENV)/bin/checkov --templates $(INFRA_OUT)

cfn-lint: synth ## cfn-lint every synthesized template (zero errors, zero warnings)
	$(MAKE) --no-print-directory cfn-lint-templates

checkov: synth $(CHECKOV_VENV)/.installed ## checkov offline over the synthesized templates (zero unexplained failures)
	$(MAKE) --no-print-directory checkov-templates

infra-checks: synth $(CHECKOV_VENV)/.installed ## synth once, then cfn-lint and checkov
	$(MAKE) --no-print-directory cfn-lint-templates
	$(MAKE) --no-print-directory checkov-templates

$(CDK_CLI): infra_cdk/package.json infra_cdk/package-lock.json
	cd infra_cdk && npm ci --no-audit --no-fund --silent
	@touch $@

bootstrap: setup $(CDK_CLI) ## cdk bootstrap the current account in the primary and the secondary region
	$(CDK_CLI) bootstrap --app "$(CDK_APP)" aws://unknown-account/$${AWS_REGION:?set AWS_REGION} aws://unknown-account/$(SECONDARY_REGION)

deploy-replica: setup $(CDK_CLI) ## deploy the DR replica stack into SECONDARY_REGION (before the first deploy with EnableSecondaryRegion)
	AWS_REGION=$(SECONDARY_REGION) AWS_DEFAULT_REGION=$(SECONDARY_REGION) $(CDK_CLI) deploy --app "$(CDK_APP)" BarometerReplica --require-approval never

deploy: setup $(CDK_CLI) ## cdk deploy the root stack (nested stacks included) with CDK_PARAMETERS
	$(CDK_CLI) deploy --app "$(CDK_APP)" Barometer $(foreach p,$(CDK_PARAMETERS),--parameters $(p))

diff: setup $(CDK_CLI) ## cdk diff of the root stack against the deployed one
	$(CDK_CLI) diff --app "$(CDK_APP)" Barometer

TEST_PREREQS += $(CHECKOV_VENV)/.installed
TEST_EXTRA += infra-checks
