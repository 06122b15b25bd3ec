"""The production Dagster instance (deploy/dagster/dagster.yaml) against a real PostgreSQL server.

A throwaway cluster (Debian's `postgresql` package: `make postgres`) is started in a temporary folder with
password authentication; the instance file is used as deployed, except that the EcsRunLauncher (ECS only)
is swapped for the default launcher. Runs, events, schedules' storage, concurrency pools, the run queue's
limits and the daemon are exercised against it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INSTANCE_FILE = REPO / "deploy" / "dagster" / "dagster.yaml"
PG_USER = "dagster"
PG_DB = "dagster"
LAKE_POOL = "lake"  # the pool compaction and rollups are to share (see docs/infra.md, Dagster on AWS)


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    password: str

    def environment(self) -> dict[str, str]:
        """What the task definitions set on AWS (deploy/dagster/dagster.yaml reads these)."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_DB": PG_DB,
                "DAGSTER_PG_USERNAME": PG_USER, "DAGSTER_PG_PASSWORD": self.password,
                "DAGSTER_RUN_TASK_DEFINITION": "barometer-dagster-run"}


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        pytest.fail(f"PostgreSQL's {name} is missing: run `make postgres` (Debian's postgresql package)")
    return str(found)


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the package's `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own (password authentication, TCP on 127.0.0.1), stopped afterwards."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    # Not under pytest's folder: as root that one is closed to the `postgres` user.
    root = Path(tempfile.mkdtemp(prefix="barometer-postgres-"))
    data, password = root / "data", uuid.uuid4().hex
    (root / "pwfile").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    _run(_as_server_user([initdb, "-D", str(data), "-U", PG_USER, "--pwfile", str(root / "pwfile"),
                          "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync"]), 120)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    _run(_as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"),
                          "-w", "-t", "60", "start"]), 90)
    try:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, password=password, dbname="postgres")
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {PG_DB}")
        connection.close()
        yield Postgres("127.0.0.1", port, password)
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True,
                       timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], timeout: int) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}")


def _local_instance_config() -> dict:
    """The production instance file with the default run launcher instead of ECS's (nothing else changed)."""
    config = yaml.safe_load(INSTANCE_FILE.read_text())
    config["run_launcher"] = {"module": "dagster.core.launcher", "class": "DefaultRunLauncher"}
    return config


@pytest.fixture
def dagster_home(postgres, tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(_local_instance_config()))
    for name, value in postgres.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _rows(postgres: Postgres, sql: str, *args) -> list[tuple]:
    import psycopg2

    with psycopg2.connect(host=postgres.host, port=postgres.port, user=PG_USER, password=postgres.password,
                          dbname=PG_DB) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-11-01"))
def probe_day(context) -> int:
    context.log.info(f"day {context.partition_key}")
    return len(context.partition_key)


def test_runs_and_events_are_stored_in_postgres_and_read_back_by_a_fresh_instance(dagster_home, postgres):
    # Given the production instance (its run launcher swapped for the default one)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        # When a partitioned asset is materialized in process
        result = dg.materialize([probe_day], instance=instance, partition_key="2026-11-24",
                                tags={"dagster/partition": "2026-11-24"})
        assert result.success
        run_id = result.run_id
    # Then a fresh instance (another process on AWS) reads the run and the materialization back
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == "2026-11-24"
        event = instance.get_latest_materialization_event(dg.AssetKey("probe_day"))
        assert event is not None and event.dagster_event.partition == "2026-11-24"
    # And the rows are in the PostgreSQL server itself
    assert _rows(postgres, "SELECT status FROM runs WHERE run_id = %s", run_id) == [("SUCCESS",)]
    assert _rows(postgres, "SELECT count(*) FROM event_logs WHERE run_id = %s", run_id)[0][0] > 3


def test_schedule_state_survives_in_postgres(dagster_home):
    from dagster._core.remote_origin import (
        GrpcServerCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        ScheduleInstigatorData,
    )

    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(GrpcServerCodeLocationOrigin(host="code.dagster.barometer.internal", port=4000,
                                                            location_name="barometer"), "__repository__"),
        "daily_compaction")
    # Given a running schedule's state written by one instance
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.add_instigator_state(InstigatorState(origin, InstigatorType.SCHEDULE, InstigatorStatus.RUNNING,
                                                      ScheduleInstigatorData("30 0 * * *", start_timestamp=time.time())))
    # Then another instance reads it
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        state = instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())
        assert state is not None and state.status == InstigatorStatus.RUNNING
        assert state.instigator_data.cron_schedule == "30 0 * * *"


def test_a_pool_lets_one_step_run_at_a_time_across_runs(dagster_home):
    # Given the production instance's pools (default limit 1, per op)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(LAKE_POOL)
        compaction, rollup = str(uuid.uuid4()), str(uuid.uuid4())
        # When a compaction step holds the pool's slot
        assert storage.claim_concurrency_slot(LAKE_POOL, compaction, "lake__quotes").is_claimed
        # Then a rollup step of another run waits
        assert not storage.claim_concurrency_slot(LAKE_POOL, rollup, "analytics__daily_ohlc").is_claimed
        # And gets the slot once the compaction's run frees it
        storage.free_concurrency_slots_for_run(compaction)
        assert storage.claim_concurrency_slot(LAKE_POOL, rollup, "analytics__daily_ohlc").is_claimed
        assert storage.get_concurrency_info(LAKE_POOL).slot_count == 1


def test_the_run_queue_limits_runs_and_one_run_per_partition(dagster_home):
    from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 4
        (limit,) = queue.tag_concurrency_limits
        assert limit == {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}


def test_the_ecs_run_launcher_accepts_the_production_settings():
    from dagster._config import process_config
    from dagster_aws.ecs import EcsRunLauncher

    launcher = yaml.safe_load(INSTANCE_FILE.read_text())["run_launcher"]["config"]
    # Then the EcsRunLauncher's own schema accepts them as written
    assert process_config(EcsRunLauncher.config_type(), launcher).success
    # And the same check refuses a setting it does not know (a misspelt key would not reach ECS)
    assert not process_config(EcsRunLauncher.config_type(), {**launcher, "container": "run"}).success


def test_the_daemon_starts_against_postgres_and_records_its_heartbeats(dagster_home, tmp_path):
    # Given `dagster-daemon run` on the production instance (no code location: the daemons themselves)
    env = {**os.environ}
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "--empty-workspace"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # When it has run long enough to beat (each daemon writes a heartbeat when it starts its loop)
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            deadline = time.monotonic() + 120
            beats = {}
            while time.monotonic() < deadline and daemon.poll() is None:
                beats = instance.get_daemon_heartbeats()
                if {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(beats):
                    break
                time.sleep(1)
            # Then the scheduler, the sensor daemon and the run queue are alive, their heartbeats in Postgres
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(beats), (
                sorted(beats), (tmp_path / "daemon.log").read_text()[-3000:])
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
        log.close()
