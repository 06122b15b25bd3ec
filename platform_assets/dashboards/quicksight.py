"""QuickSight SPICE refresh: start one ingestion per dataset, then wait for each to finish
(DescribeIngestion: COMPLETED, or FAILED/CANCELLED, or still running at the timeout). Success is only
recorded once every ingestion COMPLETED. No Dagster here."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DONE = "COMPLETED"
FAILED = ("FAILED", "CANCELLED")
POLL_S = 10.0


class SpiceRefreshError(RuntimeError):
    """An ingestion failed, was cancelled, or did not finish in time (the message names each)."""


@dataclass(frozen=True)
class Ingestion:
    dataset: str
    ingestion_id: str
    status: str
    rows: int | None = None
    seconds: int | None = None
    error: str = ""

    def describe(self) -> str:
        return f"{self.dataset}: {self.status}" + (f" ({self.error})" if self.error else "")


def _ingestion(dataset: str, answer: dict[str, Any]) -> Ingestion:
    found = answer["Ingestion"]
    error = found.get("ErrorInfo") or {}
    rows = (found.get("RowInfo") or {}).get("RowsIngested")
    return Ingestion(dataset, found["IngestionId"], found["IngestionStatus"], rows,
                     found.get("IngestionTimeInSeconds"),
                     f"{error.get('Type', '')}: {error.get('Message', '')}".strip(": ") if error else "")


def refresh_spice(quicksight: Any, account: str, datasets: list[str], ingestion_id: str, *, timeout_s: float,
                  poll_s: float = POLL_S, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> list[Ingestion]:
    """Every dataset's finished ingestion; SpiceRefreshError when any did not complete."""
    for dataset in datasets:
        quicksight.create_ingestion(AwsAccountId=account, DataSetId=dataset, IngestionId=ingestion_id)
    deadline = clock() + timeout_s
    running = list(datasets)
    latest: dict[str, Ingestion] = {}
    while True:
        for dataset in list(running):
            latest[dataset] = _ingestion(dataset, quicksight.describe_ingestion(
                AwsAccountId=account, DataSetId=dataset, IngestionId=ingestion_id))
            if latest[dataset].status == DONE or latest[dataset].status in FAILED:
                running.remove(dataset)
        if not running or clock() >= deadline:
            break
        sleep(poll_s)
    outcome = [latest[d] for d in datasets]
    bad = [i for i in outcome if i.status != DONE]
    if bad:
        late = [i for i in bad if i.dataset in running]
        raise SpiceRefreshError("SPICE refresh did not complete: " + "; ".join(
            i.describe() + (f", still running after {timeout_s:.0f} s" if i in late else "") for i in bad))
    return outcome
