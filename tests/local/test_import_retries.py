"""`barometer import`'s poster against a fake API: 503/429 with Retry-After, events the stream did not take,
refusals by the API, a refused token, and no platform at all (issue 13)."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from barometer.settings import get_settings
from barometer_local.cli import main
from barometer_local.client import ApiResponse
from barometer_local.import_files import Source
from barometer_local.importer import FileReport, Progress, run_import
from barometer_local.paths import HOME_ENV

BASE = datetime.now(UTC) - timedelta(days=2)


class FakeApi:
    """Answers from a script of (status, body-or-None, headers); None means: accept all but `failed`."""

    def __init__(self, script):
        self.script, self.calls = list(script), []

    def __call__(self, events):
        self.calls.append([e["event_id"] for e in events])
        status, failed, headers = self.script.pop(0) if self.script else (200, [], {})
        body = {"accepted": len(events) - len(failed), "failed": failed} if failed is not None else {"error": "x"}
        return ApiResponse(status, body, headers)


def quotes_csv(tmp_path, rows: int):
    path = tmp_path / "q.csv"
    path.write_text("kind,symbol,price,ts\n" + "".join(
        f"quote,RETRY,{10 + i},{(BASE + timedelta(minutes=i)).strftime('%Y-%m-%dT%H:%M:%SZ')}\n" for i in range(rows)))
    return path


def test_503_and_429_are_retried_after_retry_after_and_untaken_events_resent_alone(tmp_path):
    # given an API that answers 503 (Retry-After 2), then 429 (Retry-After 1), then takes all but the 2nd event
    api = FakeApi([(503, None, {"retry-after": "2"}), (429, None, {"retry-after": "1"}),
                   (200, [{"index": 1, "error": "not accepted by the stream, retry", "retryable": True}], {})])
    slept: list[float] = []

    # when 3 rows are imported
    report = run_import([quotes_csv(tmp_path, 3)], get_settings(), api, sleep=slept.append)

    # then it waited as told, re-sent only the event the stream left, and every row is accepted
    assert slept == [2.0, 1.0, 0.5]
    assert [len(c) for c in api.calls] == [3, 3, 3, 1]
    assert api.calls[3] == [api.calls[2][1]]
    assert (report.accepted, report.refused, report.exit_code) == (3, 0, 0)


def test_an_event_the_api_refuses_is_a_rejected_row_with_its_line(tmp_path):
    # given an API that refuses the second event of the batch (say its configuration changed)
    api = FakeApi([(200, [{"index": 1, "error": "city: must be a configured city",
                           "errors": [{"field": "city", "message": "must be a configured city"}]}], {})])

    # when 3 rows are imported
    report = run_import([quotes_csv(tmp_path, 3)], get_settings(), api, sleep=lambda s: None)

    # then that row is refused with line 3 and the API's reason
    assert (report.accepted, report.refused, report.exit_code) == (2, 1, 1)
    assert report.files[0].samples == ["line 3: refused by the API: city: must be a configured city"]


def test_a_refused_token_stops_the_import_with_exit_code_2(tmp_path):
    api = FakeApi([(401, None, {})])
    report = run_import([quotes_csv(tmp_path, 3)], get_settings(), api, sleep=lambda s: None)
    assert report.exit_code == 2 and "refused the token (401" in report.error
    assert report.accepted == 0


def test_without_a_running_platform_import_says_so_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", str(quotes_csv(tmp_path, 1))]) == 2
    assert "no local platform is running" in capsys.readouterr().err


def test_dry_run_validates_without_a_platform(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["import", str(quotes_csv(tmp_path, 4)), "--dry-run"]) == 0
    assert "4 rows, 4 valid, 0 refused" in capsys.readouterr().out


@pytest.mark.parametrize("batch", ["0", "501"])
def test_a_batch_size_outside_the_apis_limit_is_a_usage_error(tmp_path, batch, capsys):
    assert main(["import", str(quotes_csv(tmp_path, 1)), "--dry-run", "--batch", batch]) == 2
    assert "--batch: must be 1..500" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_shows_rate_share_and_eta_in_place_on_a_terminal(tmp_path):
    # given a file of 100 rows whose size is known, half of it read and done
    source = Source(tmp_path / "q.csv", "csv", "line", iter(()), None, total_bytes=1000, bytes_read=lambda: 500)
    report = FileReport(source.path, "line", tmp_path / "r.jsonl", rows=50, accepted=48, refused=2)
    screen = Terminal()
    progress = Progress(screen)
    progress.start_file(source, report)

    # when it is drawn
    progress.update(force=True)

    # then one line, rewritten in place, with counts, rate, share and time left
    text = screen.getvalue()
    assert text.startswith("\r") and "\n" not in text
    assert "q.csv: 50 rows (48 accepted, 2 refused)" in text and "rows/s, 50%, ETA 0:" in text


def test_the_progress_is_plain_lines_when_not_a_terminal(tmp_path):
    source = Source(tmp_path / "q.parquet", "parquet", "row", iter(()), total_rows=10, total_bytes=None,
                    bytes_read=lambda: 10)
    report = FileReport(source.path, "row", tmp_path / "r.jsonl", rows=10, accepted=10)
    plain = io.StringIO()
    progress = Progress(plain)
    progress.start_file(source, report)
    progress.update(force=True)
    assert plain.getvalue().startswith("[import] q.parquet: 10 rows (10 accepted, 0 refused)")
    assert plain.getvalue().endswith("100%\n")


def test_an_answer_of_an_unexpected_shape_stops_the_import_instead_of_hanging(tmp_path):
    # given an API whose 200 names an event index the batch does not have
    api = FakeApi([(200, [{"index": 999, "error": "?"}], {})] * 3)
    report = run_import([quotes_csv(tmp_path, 1200)], get_settings(), api, sleep=lambda s: None)
    assert report.exit_code == 2 and "unexpected answer from the API" in report.error
    assert len(api.calls) == 1  # nothing more was sent after it


def test_an_answer_without_indexes_stops_the_import(tmp_path):
    api = FakeApi([(200, [{"error": "?"}], {})])
    report = run_import([quotes_csv(tmp_path, 3)], get_settings(), api, sleep=lambda s: None)
    assert report.exit_code == 2 and "unexpected answer from the API: KeyError" in report.error
