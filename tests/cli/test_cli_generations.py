"""The commands both APIs serve, run through SANOS and through XEVO against the same array:
the same answers, the same changes, the same exit codes; and what only SANOS serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from test_cli_commands import Run, one_line_error
from test_cli_startup import SERVER_CODE, imported_modules
from typer.testing import CliRunner

from opensan.cli import main as cli_main
from opensan.cli.main import app
from opensan.cli.session import load_session
from opensan.testing import VirtualArray


@pytest.fixture
def opensan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("OPENSAN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("OPENSAN_PASSWORD", raising=False)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


@pytest.fixture(params=["sanos", "xevo"])
def generation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def logged_in(opensan: Run, opensan_array: VirtualArray, generation: str) -> Run:
    result = opensan("login", opensan_array.base_url, "--password", "1234", "--api", generation)
    assert result.exit_code == 0, result.output
    assert f"({generation.upper()} API)" in result.stdout
    return opensan


def ok(run: Run, *args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.stdout)


def test_login_finds_out_the_api_and_saves_it(opensan: Run, opensan_array: VirtualArray) -> None:
    answer = ok(opensan, "login", opensan_array.base_url, "--password", "1234")
    assert answer["api"] == "sanos"  # OpenSAN speaks both: SANOS is chosen
    saved = load_session()
    assert saved is not None and (saved.api, saved.refresh_token) == ("sanos", None)
    answer = ok(opensan, "login", opensan_array.base_url, "--password", "1234", "--api", "XEVO")
    saved = load_session()
    assert saved is not None and (answer["api"], saved.api) == ("xevo", "xevo")
    assert saved.refresh_token and answer["role"] == "admin"


def test_the_listings_answer_the_same_through_both(logged_in: Run,
                                                  opensan_array: VirtualArray) -> None:
    sanos = opensan_array.client
    assert ok(logged_in, "volumes") == [v.to_wire() for v in sanos.volumes()]
    assert ok(logged_in, "targets") == [t.to_wire() for t in sanos.targets()]
    assert ok(logged_in, "mappings") == [m.to_wire() for m in sanos.lun_mappings()]
    assert ok(logged_in, "luns", "0") == sanos.target_luns(0).to_wire()
    pools = ok(logged_in, "pools")
    assert [(p["id"], p["name"], p["raidLevel"], p["volumeCount"]) for p in pools] == [
        (p.id, p.name, p.raid_level, p.volume_count) for p in sanos.pools()]
    volume = next(v for v in sanos.volumes() if v.snapshot_count)
    listed = ok(logged_in, "snapshots", volume.name)
    assert [s["name"] for s in listed["snapshots"]] == [
        s.name for s in sanos.snapshots(volume.id).snapshots]
    assert ok(logged_in, "volume", "show", volume.name) == volume.to_wire()


@pytest.mark.parametrize("command", [
    ["system"], ["pools"], ["volumes"], ["targets"], ["luns", "0"], ["mappings"],
    ["snapshots", "vol-db"], ["volume", "show", "vol-db"],
])
def test_every_shared_read_shows_a_table(logged_in: Run, command: list[str]) -> None:
    result = logged_in(*command)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() and not result.stderr


def test_system_names_the_model(logged_in: Run, opensan_array: VirtualArray) -> None:
    model = opensan_array.client.system_info().model_name
    assert model in logged_in("system").stdout


def test_every_shared_change(logged_in: Run, opensan_array: VirtualArray, generation: str) -> None:
    sanos = opensan_array.client
    pool = sanos.pools()[0]
    created = ok(logged_in, "volume", "create", pool.name, "vol-gen", "4")
    assert (created["name"], created["capacityBytes"]) == ("vol-gen", 4 * 2**30)
    assert ok(logged_in, "volume", "extend", "vol-gen", "6")["capacityBytes"] == 6 * 2**30
    assert sanos.volume(created["id"]).capacity_bytes == 6 * 2**30
    assert ok(logged_in, "snapshot", "space", "vol-gen", "2")["snapshotSpaceBytes"] == 2 * 2**30
    first = ok(logged_in, "snapshot", "take", "vol-gen", "--name", "one")
    ok(logged_in, "snapshot", "take", "vol-gen", "--name", "two")
    assert first["id"] == ("one" if generation == "xevo" else sanos.snapshots(
        created["id"]).snapshots[0].id)
    # By name within the volume, as both APIs can; a XEVO array knows no other way.
    assert ok(logged_in, "snapshot", "rollback", "one", "--volume", "vol-gen",
              "--yes")["name"] == "one"
    assert [s.name for s in sanos.snapshots(created["id"]).snapshots] == ["one"]
    ok(logged_in, "snapshot", "delete", "one", "--volume", "vol-gen", "--yes")
    assert not sanos.snapshots(created["id"]).snapshots
    ok(logged_in, "snapshot", "space", "vol-gen", "0")
    lun = sanos.target_luns(0).free_luns[0]
    mapped = ok(logged_in, "map", "0", str(lun), "vol-gen", "--host", "iqn.1994-05.com.redhat:h1")
    assert (mapped["lun"], mapped["volumeName"]) == (lun, "vol-gen")
    assert any(m.volume_name == "vol-gen" for m in sanos.lun_mappings())
    assert ok(logged_in, "unmap", "0", str(lun))["volumeName"] == "vol-gen"
    ok(logged_in, "volume", "delete", "vol-gen", "--yes")
    assert "vol-gen" not in {v.name for v in sanos.volumes()}


@pytest.mark.parametrize(("command", "said"), [
    (["snapshots", "9999999999"], {"sanos": "code 10300", "xevo": "code 10300"}),
    (["volume", "show", "9999999999"], {"sanos": "No volume has ID", "xevo": "HTTP 404"}),
    (["unmap", "0", "200"], {"sanos": "code 10701", "xevo": "Target 0 has no LUN 200"}),
    (["volume", "extend", "vol-db", "1"], {"sanos": "HTTP 400", "xevo": "HTTP 400"}),
    (["volume", "delete", "vol-db", "--yes"], {"sanos": "code 10405", "xevo": "code 10405"}),
    (["snapshot", "take", "vol-db", "--name", "bad/name"], {"sanos": "13502", "xevo": "13502"}),
])
def test_each_refusal_exits_1_and_changes_nothing_through_both(
        logged_in: Run, opensan_array: VirtualArray, command: list[str], said: dict[str, str],
        generation: str) -> None:
    before = opensan_array.client.volumes(), opensan_array.client.lun_mappings()
    assert said[generation] in one_line_error(logged_in(*command), 1)
    assert (opensan_array.client.volumes(), opensan_array.client.lun_mappings()) == before


def test_the_read_only_account_is_refused_through_both(opensan: Run, opensan_array: VirtualArray,
                                                       generation: str) -> None:
    assert opensan("login", opensan_array.base_url, "-a", "user", "--password", "1234",
                   "--api", generation).exit_code == 0
    assert opensan("volumes").exit_code == 0
    assert "HTTP 403" in one_line_error(opensan("snapshot", "take", "vol-db"), 1)


@pytest.fixture
def xevo(opensan: Run, opensan_array: VirtualArray) -> Run:
    assert opensan("login", opensan_array.base_url, "--password", "1234", "--api",
                   "xevo").exit_code == 0
    return opensan


@pytest.mark.parametrize("command", [
    ["disks"], ["smart"], ["hardware"], ["events"], ["endpoints"], ["accounts"],
    ["pool", "delete", "Pool-1", "--yes"], ["target", "create", "1"], ["sim", "clock", "1"],
    ["snapshot", "map", "0", "5", "1"], ["password", "admin", "--new-password", "x1"],
    ["perf", "--once"],
])
def test_a_command_only_sanos_serves_says_so_on_a_xevo_array(xevo: Run, command: list[str]) -> None:
    line = one_line_error(xevo(*command), 1)
    assert "needs the SANOS API" in line and "XEVO" in line


def test_what_xevo_cannot_map_or_name_is_refused(xevo: Run, opensan_array: VirtualArray) -> None:
    before = opensan_array.client.lun_mappings()
    line = one_line_error(xevo("map", "0", "5", "vol-db", "--read-only"), 1)
    assert "read-write only" in line
    assert opensan_array.client.lun_mappings() == before
    result = xevo("snapshot", "delete", "some-snapshot", "--yes")
    assert result.exit_code == 2 and "--volume" in result.stderr


def test_a_renewed_xevo_session_is_saved(xevo: Run, opensan_array: VirtualArray) -> None:
    saved = load_session()
    assert saved is not None
    opensan_array.client.advance_clock(1900)  # the access token idles out; the refresh token lives
    assert xevo("volumes").exit_code == 0
    renewed = load_session()
    assert renewed is not None and renewed.token != saved.token
    assert renewed.refresh_token == saved.refresh_token


def test_logout_of_a_xevo_session_forgets_it(xevo: Run) -> None:
    result = xevo("logout")
    assert result.exit_code == 0 and "idles out" in result.stdout
    assert load_session() is None
    one_line_error(xevo("volumes"), 3)


def test_a_command_imports_no_server_code_and_xevo_only_for_xevo(
        logged_in: Run, opensan_array: VirtualArray, generation: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(cli_main.__file__).parents[2])}  # this checkout
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "opensan", "volumes", "--json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [v["name"] for v in json.loads(run.stdout)] == [
        v.name for v in opensan_array.client.volumes()]
    modules = imported_modules(run.stderr)
    assert ("opensan.client.xevo" in modules) is (generation == "xevo")
    assert not sorted(m for m in modules if m.startswith(SERVER_CODE))
