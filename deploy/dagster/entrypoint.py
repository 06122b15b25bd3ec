"""Entrypoint of the orchestrator's image: every ECS task of Dagster starts here.

`python entrypoint.py <command...>`: checks the settings the instance needs (a missing one stops the task
with a message naming it, instead of a Postgres or ECS error minutes later), puts the production
dagster.yaml into $DAGSTER_HOME (on the task's writable scratch volume: the root filesystem is read-only)
and replaces itself with the command: `dagster-webserver ...`, `dagster-daemon run`, `dagster api grpc ...`,
or the `dagster api execute_run ...` that the EcsRunLauncher gives a run's task.
"""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTANCE_FILE = "dagster.yaml"
# What the instance (deploy/dagster/dagster.yaml) reads from the environment, and what the code needs.
REQUIRED = ("DAGSTER_HOME", "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME",
            "DAGSTER_PG_PASSWORD", "DAGSTER_RUN_TASK_DEFINITION", "BAROMETER_ENV")


class EntrypointError(RuntimeError):
    """The task cannot start: a setting is missing or the command is empty."""


def check_environment(environ: Mapping[str, str]) -> None:
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise EntrypointError(f"missing environment variable(s): {', '.join(missing)} (set by the task "
                              "definition, infra_cdk/stacks/orchestration.py)")
    if environ["BAROMETER_ENV"] != "aws":
        raise EntrypointError(f"BAROMETER_ENV={environ['BAROMETER_ENV']!r}: this image runs on AWS only (aws)")
    if not environ["DAGSTER_PG_PORT"].isdigit():
        raise EntrypointError(f"DAGSTER_PG_PORT={environ['DAGSTER_PG_PORT']!r}: expected a port number")


def prepare_home(home: Path, source: Path = HERE / INSTANCE_FILE) -> Path:
    """$DAGSTER_HOME with the production instance file (replaced at every start: the image's is the truth)."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / INSTANCE_FILE
    shutil.copyfile(source, target)
    return target


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if environ is None else environ
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    try:
        check_environment(env)
        prepare_home(Path(env["DAGSTER_HOME"]))
    except (EntrypointError, OSError) as exc:
        print(f"entrypoint: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    os.execvp(args[0], args)  # does not return
    return 1  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
