"""runner.run: every failure becomes one CommandFailed with what an operator needs to act."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opensan.backends.runner import CommandFailed, run, spawn
from opensan.domain.errors import BackendError


def test_returns_standard_output_and_feeds_input() -> None:
    assert run(["cat"], input="hello\n") == "hello\n"


def test_path_arguments_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("content")
    assert run(["cat", tmp_path / "file"]) == "content"


def test_failure_carries_argv_code_and_stderr_and_says_it_in_one_line() -> None:
    with pytest.raises(CommandFailed) as caught:
        run(["sh", "-c", "echo first >&2; echo 'the real reason' >&2; exit 3"])
    error = caught.value
    assert isinstance(error, BackendError)
    assert error.argv == ("sh", "-c", "echo first >&2; echo 'the real reason' >&2; exit 3")
    assert error.returncode == 3
    assert error.stderr == "first\nthe real reason\n"
    assert "\n" not in error.message
    assert error.message.startswith("sh -c ")
    assert error.message.endswith("(exit code 3: the real reason)")


def test_ok_codes_accept_other_exit_codes() -> None:
    assert run(["sh", "-c", "echo out; exit 4"], ok_codes=(0, 4)) == "out\n"


def test_timeout_kills_and_raises() -> None:
    with pytest.raises(CommandFailed, match=r"timed out after 0\.2 s") as caught:
        run(["sleep", "5"], timeout=0.2)
    assert caught.value.returncode is None


def test_missing_tool_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CommandFailed, match="btrfs is not installed; install btrfs-progs"):
        run(["btrfs", "--version"])
    with (
        (tmp_path / "log").open("wb") as log,
        pytest.raises(CommandFailed, match="tgtd is not installed; install tgt"),
    ):
        spawn(["tgtd", "-f"], output=log)


def test_commands_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="opensan.linux"):
        run(["echo", "two words"])
    assert "run: echo 'two words'" in caplog.messages
