"""The live servers' fork server (forked_server.py) gives a forked `opensan` what a new program
would have: the command's exit status, the environment given, and its output in the log."""

from __future__ import annotations

import os
from pathlib import Path

import forked_server


def test_a_forked_command_exits_with_its_status_and_logs_its_output(tmp_path: Path) -> None:
    log = tmp_path / "opensan.log"
    process = forked_server.start(["serve", "--port", "not-a-port"], dict(os.environ), log)
    process.join(60)
    assert process.exitcode == 2  # click's usage error, as `opensan serve --port not-a-port`
    assert "not-a-port" in log.read_text()


def test_a_forked_command_reads_the_environment_given(tmp_path: Path) -> None:
    """`opensan serve` refuses a bad OPENSAN_* setting at its start (it reads them as it
    starts, not when the fork server imported it)."""
    log = tmp_path / "opensan.log"
    env = {**os.environ, "OPENSAN_MAX_CONNECTIONS": "not-a-number"}
    process = forked_server.start(["serve", "--port", "0", "--state-dir", str(tmp_path / "s")],
                                  env, log)
    process.join(60)
    assert process.exitcode not in (None, 0), log.read_text()
    assert "max_connections" in log.read_text().lower(), log.read_text()
    assert not (tmp_path / "s").exists()  # refused before it made its state dir
