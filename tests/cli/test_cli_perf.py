"""`opensan perf` and `opensan sim workload` against a live virtual array."""

from __future__ import annotations

import json
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
