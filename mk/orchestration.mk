# Orchestration (issue 4): the Dagster code location in platform_assets/ and SQL over the lake in
# barometer_sql/. `make dagster-dev` serves the UI at 127.0.0.1:$(DAGSTER_PORT) against the running
# local platform (`make up`); see docs/orchestration.md.
DAGSTER_HOME ?= $(if $(BAROMETER_HOME),$(BAROMETER_HOME),$(CURDIR)/.barometer)/dagster
DAGSTER_PORT ?= 3000
DAY ?= $(shell date -u +%F)

.PHONY: dagster-validate dagster-home dagster-dev dagster-materialize bench-orchestration

dagster-validate: setup ## load the Dagster code location and validate its definitions
	$(VENV)/bin/dagster definitions validate -w workspace.yaml

dagster-home:
	@mkdir -p $(DAGSTER_HOME)/.nux
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@printf 'seen: 1\n' > $(DAGSTER_HOME)/.nux/nux.yaml

dagster-dev: setup dagster-home ## the Dagster UI and daemon (schedules, sensors) at 127.0.0.1:$(DAGSTER_PORT)
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

dagster-materialize: setup dagster-home ## materialize every asset for DAY (default today, UTC) in one in-process run
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dagster asset materialize -m platform_assets.definitions -a defs --select '*' --partition $(DAY)

bench-orchestration: setup ## analytics group for one local day (in-process), on 2 days of Firehose-like deliveries
	$(PY) tests/platform/bench_analytics.py

TEST_EXTRA += dagster-validate
