# Orchestration (issue 4): the Dagster code location in platform_assets/ and SQL over the lake in
# barometer_sql/. `make dagster-dev` serves the UI at 127.0.0.1:$(DAGSTER_PORT) against the running
# local platform (`make up`); see docs/orchestration.md.
DAGSTER_HOME ?= $(if $(BAROMETER_HOME),$(BAROMETER_HOME),$(CURDIR)/.barometer)/dagster
DAGSTER_PORT ?= 3000
DAY ?= $(shell date -u +%F)
# `make dagster-backfill FIRST=2025-01-01 LAST=2025-12-31`: the lake and the rollups over a range, one run
FIRST ?= $(DAY)
LAST ?= $(DAY)
BACKFILL_ASSETS ?= group:lake or group:analytics

.PHONY: dagster-validate dagster-home dagster-dev dagster-materialize dagster-backfill bench-orchestration

dagster-validate: setup ## load the Dagster code location and check its definitions (dg check defs)
	$(VENV)/bin/dg check defs

dagster-home:
	@mkdir -p $(DAGSTER_HOME)/.nux
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@printf 'seen: 1\n' > $(DAGSTER_HOME)/.nux/nux.yaml

dagster-dev: setup dagster-home ## the Dagster UI and daemon (schedules, sensors) at 127.0.0.1:$(DAGSTER_PORT)
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

dagster-materialize: setup dagster-home ## materialize every asset for DAY (default today, UTC) in one in-process run
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dg launch --assets '*' --partition $(DAY)

dagster-backfill: setup dagster-home ## the lake and rollups for FIRST..LAST (UTC / local days) in one in-process run
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dg launch --assets '$(BACKFILL_ASSETS)' --partition-range $(FIRST)...$(LAST)

bench-orchestration: setup ## analytics group for one local day (in-process), on 2 days of Firehose-like deliveries
	$(PY) tests/platform/bench_analytics.py

TEST_EXTRA += dagster-validate
