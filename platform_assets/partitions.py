"""Daily partitions. The lake's are UTC days (`dt` = the event's UTC date); the rollups' are local
calendar days (of the exchange or the city), which overlap the UTC day before and after."""
from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

START_ENV = "BAROMETER_PARTITIONS_START"
DEFAULT_START = "2025-01-01"

_start = os.environ.get(START_ENV) or DEFAULT_START
# One definition for both, so that a single run (`dagster asset materialize --select '*' --partition D`)
# can take day D of every group. end_offset=2: today's (still filling) day is a partition, and so is
# tomorrow, which is already today's local day east of UTC (up to UTC+14).
days = dg.DailyPartitionsDefinition(start_date=_start, end_offset=2)
utc_days = days
local_days = days
# A local day reads the UTC days before, of and after it.
# The newest local days map to UTC days that are not partitions yet: allowed (a beta flag in 1.13).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    LOCAL_DAY_TO_UTC_DAYS = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=1,
                                                          allow_nonexistent_upstream_partitions=True)


@contextmanager
def beta_parameters() -> Iterator[None]:
    """Defining assets with `backfill_policy` (beta in 1.13, and what makes a year of history one run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


# A range of partitions is one run: each asset reads and writes the range at once.
SINGLE_RUN = dg.BackfillPolicy.single_run()
# Compaction rewrites the lake files that rollups read: their steps share this pool, whose one slot in the
# production instance (deploy/dagster/dagster.yaml, pools.default_limit) keeps them from overlapping.
LAKE_POOL = "lake"
