"""`opensan perf` and `opensan sim workload` against a live virtual array."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from opensan.cli.main import app
from opensan.testing import VirtualArray

Run = Callable[..., Result]


@pytest.fixture
def opensan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opensan_array: VirtualArray) -> Run:
    """`opensan ARGS...` in-process, logged in to the virtual array."""
    monkeypatch.setenv("OPENSAN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    assert run("login", opensan_array.base_url, "--password", "1234").exit_code == 0
    return run


def test_perf_json_prints_every_figure_once(opensan: Run) -> None:
    result = opensan("perf", "--json", "--window", "30")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert set(found) == {"array", "pools", "volumes", "disks", "ports"}
    assert found["array"]["windowSeconds"] == 30
    assert {v["name"] for v in found["volumes"]} == {"vol-db", "vol-backup"}
    assert len(found["ports"]) == 4


def test_perf_once_shows_the_tables(opensan: Run) -> None:
    result = opensan("perf", "--once")
    assert result.exit_code == 0, result.output
    for title in ("Array (counting since", "Pools", "Volumes", "Disks", "Ports", "IOPS r/w now",
                  "Latency ms r/w 60s", "vol-db", "192.0.2.11:3260"):
        assert title in result.stdout, title


def test_sim_workload_sets_and_shows_a_volumes_workload(opensan: Run) -> None:
    result = opensan("sim", "workload", "vol-backup", "--iops", "700", "--read-percent", "40",
                     "--block-kb", "32", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["iops"] == 700
    listed = opensan("sim", "workload")
    assert listed.exit_code == 0
    line = next(line for line in listed.stdout.splitlines() if "vol-backup" in line)
    assert "700" in line and "40" in line and "32" in line and "not mapped" in line
    refused = opensan("sim", "workload", "vol-backup", "--read-percent", "101")
    assert refused.exit_code == 2  # typer refuses it before asking the array


def test_perf_in_a_terminal_refreshes_until_ctrl_c(opensan: Run, tmp_path: Path) -> None:
    """The live view: in a terminal (a pty) the tables are drawn again every --interval, and
    Ctrl-C ends it with exit code 0 and no traceback."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "OPENSAN_CONFIG_DIR": str(tmp_path / "config"), "COLUMNS": "250",
           "LINES": "200", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-m", "opensan", "perf", "--interval", "0.5"],
                               stdin=terminal, stdout=terminal, stderr=terminal, env=env,
                               close_fds=True)
    os.close(terminal)
    shown = b""

    def read_until(done: Callable[[], bool]) -> None:
        """What the view writes, read as it comes (a full terminal would stop it)."""
        nonlocal shown
        deadline = time.monotonic() + 30
        while not done() and time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):  # the other end closed: it has exited
                    shown += os.read(controller, 65536)

    try:
        read_until(lambda: shown.count(b"Array (counting since") >= 3)
        process.send_signal(signal.SIGINT)
        read_until(lambda: process.poll() is not None)
        code = process.wait(timeout=1)
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    assert shown.count(b"Array (counting since") >= 3, shown[-2000:]
    assert code == 0
    assert b"Traceback" not in shown
