"""One fault of `python -m bench.faults`, quick: the stream runner SIGKILLed under `barometer up` while clients
post. `up` starts it again, it resumes from its checkpoints, and every acknowledged event is stored once."""
from __future__ import annotations

import shutil

import pytest

from barometer_local.emulator import free_port
from bench.faults import Up, scenario_runner_killed

pytestmark = [pytest.mark.emulator]


@pytest.fixture
def up(tmp_path):
    platform = Up(tmp_path / "state", free_port())
    platform.home.mkdir()
    platform.start(progress=lambda text: None)
    yield platform
    platform.stop()
    shutil.rmtree(platform.home, ignore_errors=True)


def test_runner_killed_while_clients_post_loses_and_doubles_nothing(up):
    # given four clients posting through the API of a running `barometer up`
    # when its stream runner is SIGKILLed part-way
    figures = scenario_runner_killed(up, quick=True, progress=lambda text: None)
    # then `up` started it again, and every acknowledged event is in MetricsTable, LatestTable and the raw zone once
    assert figures["runner_restarted_by_up"], figures
    assert figures["events_acknowledged"] > 100, figures
    assert figures["lost"] == 0 and figures["raw_missing"] == 0, figures["lost_ids"]
    assert figures["duplicated"] == 0, figures["duplicated_detail"]
    assert figures["latest_events_short_of_stored"] == 0
    assert figures["valid_events_refused"] == 0
