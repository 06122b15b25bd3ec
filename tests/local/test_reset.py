"""`barometer reset`: the data of a state folder is emptied together, on purpose (issue 13)."""
from __future__ import annotations

import io

import pytest

from barometer_local.cli import main
from barometer_local.paths import HOME_ENV
from barometer_local.state import DATA, ResetError, reset
from barometer_local.supervise import StateLock

KEPT = ("jwt-signing-key", "logs/emulator.log")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    for name in ("emulator/state.pickle", "checkpoints.json", "mail/a.eml", "webhook/1.json",
                 "dagster/storage/runs.db", "runner-status.json", *KEPT):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return tmp_path


def test_reset_with_yes_removes_the_data_together_and_keeps_the_key_and_logs(home, capsys):
    assert main(["reset", "--yes"]) == 0
    assert not any((home / name).exists() for name in DATA)
    assert all((home / name).exists() for name in KEPT)
    assert "the next `barometer up` starts empty" in capsys.readouterr().out


def test_reset_without_a_terminal_asks_for_yes_and_removes_nothing(home, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a tty
    assert main(["reset"]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert (home / "emulator/state.pickle").exists() and (home / "mail/a.eml").exists()


def test_reset_on_a_terminal_removes_only_after_yes(home, monkeypatch, capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    assert main(["reset"]) == 1
    assert (home / "emulator/state.pickle").exists()
    monkeypatch.setattr("sys.stdin", Tty("yes\n"))
    assert main(["reset"]) == 0
    assert not (home / "emulator").exists()


def test_reset_is_refused_while_a_platform_owns_the_folder(home, capsys):
    with StateLock(home):
        with pytest.raises(ResetError):
            reset(home)
        assert main(["reset", "--yes"]) == 2
    assert "in use by another Barometer process" in capsys.readouterr().err
    assert (home / "emulator/state.pickle").exists()


def test_reset_with_logs_removes_them_too(home):
    reset(home, logs=True)
    assert not (home / "logs").exists() and (home / "jwt-signing-key").exists()
