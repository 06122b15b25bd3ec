# The synthesized app deployed into MiniStack, a local cloud that runs Lambda code without Docker (issue 11).
# `make deploy-local` starts MiniStack on MINISTACK_PORT (its own virtualenv: it pins its own botocore), runs
# `cdk bootstrap` + `cdk deploy` with the pinned CDK CLI against it, proves the deployment end to end and
# stops it. Needs no AWS credentials and no network. See docs/infra.md, "Local cloud deployment".
MINISTACK_VENV := .venv-ministack
MINISTACK_REQUIREMENTS := infra_cdk/ministack/requirements.txt
# Spelled out, not $(CDK_CLI): mk/infra.mk (which builds it) is read after this file.
DEPLOY_LOCAL_CDK := infra_cdk/node_modules/.bin/cdk
# make deploy-local MINISTACK_PORT=4566 picks the port (default: a free one).

.PHONY: deploy-local ministack-venv

$(MINISTACK_VENV)/.installed: $(UV) $(MINISTACK_REQUIREMENTS)
	rm -rf $(MINISTACK_VENV)
	$(UV) venv --quiet --python $(UV_PYTHON) $(MINISTACK_VENV)
	$(UV) pip install --quiet --python $(MINISTACK_VENV)/bin/python -r $(MINISTACK_REQUIREMENTS)
	@touch $@

ministack-venv: $(MINISTACK_VENV)/.installed ## the MiniStack virtualenv (from infra_cdk/ministack/requirements.txt)

deploy-local: setup $(DEPLOY_LOCAL_CDK) $(MINISTACK_VENV)/.installed ## cdk bootstrap + deploy into MiniStack (no Docker, no credentials), then prove it works
	$(PY) -m infra_cdk.deploy_local $(if $(filter command line,$(origin MINISTACK_PORT)),--port $(MINISTACK_PORT))

# tests/infra/test_deploy_local.py deploys into MiniStack as part of `make test` (about three minutes).
TEST_PREREQS += $(MINISTACK_VENV)/.installed $(DEPLOY_LOCAL_CDK)
