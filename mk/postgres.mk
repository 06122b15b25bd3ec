# PostgreSQL for tests/platform/test_dagster_postgres.py: the production Dagster instance
# (deploy/dagster/dagster.yaml) is started against a real server. Debian's package; the test starts a
# throwaway cluster of its own (initdb + pg_ctl in a temporary folder, as the `postgres` user when run as
# root), so no system service is configured or started here.
PG_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: postgres

postgres: ## Debian's PostgreSQL server binaries for the Dagster storage test (installed only when missing)
	@if ! command -v initdb > /dev/null && ! ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; then \
		$(PG_SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(PG_SUDO) apt-get install -y postgresql; \
	fi

TEST_PREREQS += postgres
