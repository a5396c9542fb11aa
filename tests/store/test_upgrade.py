"""A state dir written by release 0.1.0 opens with every object, ID, password and event intact.

tests/store/releases/0.1.0-simulated holds the SQLite file that release left (schema 1: a table
per record kind) and what its API answered then (see its README). The test opens a copy with this
release, which migrates the file, and reads it back through the API.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Api
from fastapi.testclient import TestClient

from opensan.api.app import create_app
from opensan.array import open_array
from opensan.config import Settings
from opensan.domain.errors import InvalidArgument
from opensan.store.sqlite import DATABASE_NAME, SCHEMA_VERSION, SqliteStore

RELEASE = Path(__file__).parent / "releases" / "0.1.0-simulated"
EXPECTED: dict[str, Any] = json.loads((RELEASE / "expected.json").read_text())


def release_state(tmp_path: Path) -> Path:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    shutil.copy(RELEASE / DATABASE_NAME, state_dir / DATABASE_NAME)
    return state_dir


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[Api]:
    """The 0.1.0 array opened by this release, logged in as admin. No periodic tick runs (no
    lifespan), so the rebuild that was under way then is not finished by today's clock."""
    array = open_array(Settings(state_dir=release_state(tmp_path)))
    try:
        http = TestClient(create_app(array.service))
        yield Api(http).login("admin", EXPECTED["passwords"]["admin"])
    finally:
        array.close()


def test_every_object_and_id_is_read_back_as_0_1_0_answered(upgraded: Api) -> None:
    disks = upgraded.ok("GET", "/rest/storage/diskinfo")
    for disk in disks:
        disk.pop("temperatureC")
    assert disks == EXPECTED["disks"]
    assert upgraded.ok("GET", "/rest/storage/poolinfo") == EXPECTED["pools"]
    assert upgraded.ok("GET", "/rest/storage/volumeinfo") == EXPECTED["volumes"]
    for volume_id, snapshots in EXPECTED["snapshots"].items():
        assert upgraded.ok("GET", f"/rest/storage/snapshot/vdid/{volume_id}") == snapshots
    assert upgraded.ok("GET", "/rest/storage/availtarget") == EXPECTED["targets"]
    for target_id, luns in EXPECTED["luns"].items():
        assert upgraded.ok("GET", f"/storage/availlun/targetid/{target_id}") == luns
    assert upgraded.ok("GET", "/rest/storage/lunmappinginfo") == EXPECTED["mappings"]
    system = upgraded.ok("GET", "/rest/dashboard/systeminfo")
    assert {key: system[key] for key in EXPECTED["system"]} == EXPECTED["system"]


def test_the_forced_sensor_stays_forced(upgraded: Api) -> None:
    monitor = upgraded.ok("GET", "/rest/dashboard/hwmonitor")
    sensors = {s["id"]: s["status"] for e in monitor["enclosures"] for s in e["sensors"]}
    # Every sensor of 0.1.0 is there, with the ones this release reads beside them (each
    # controller's host card slot 1 temperature, which QSAN's hardware monitor shows).
    added = {f"ctr{n}-slot1-temp" for n in (1, 2)}
    assert set(sensors) == set(EXPECTED["sensors"]) | added
    assert {sensors[sensor] for sensor in added} == {"Good"}
    assert sensors["fan-1"] == EXPECTED["sensors"]["fan-1"] == "Warning"


def test_every_event_is_kept_with_its_id(upgraded: Api) -> None:
    first = upgraded.ok("GET", "/rest/log/list/1")
    events = [event for page in range(first["totalPages"], 0, -1)
              for event in reversed(upgraded.ok("GET", f"/rest/log/list/{page}")["events"])]
    old = EXPECTED["events"]
    # As 0.1.0 answered them, and with no account or client: 0.1.0 did not record them.
    assert [{k: v for k, v in e.items() if k not in ("account", "client")}
            for e in events[:len(old)]] == old
    # After them: 0.1.0's last logout and login, then this release's login, the first event
    # that names its account and client.
    assert [(e["message"], e["account"], e["client"]) for e in events[len(old):]] == [
        ("Account admin logged out.", None, None),
        ("Account user logged in from 127.0.0.1.", None, None),
        ("Account admin logged in from testclient.", "admin", "testclient")]


def test_the_accounts_are_enabled_and_can_be_disabled(upgraded: Api) -> None:
    assert upgraded.ok("GET", "/rest/account/accountinfo") == [
        {"name": "admin", "role": "admin", "enabled": True, "defaultPassword": True},
        {"name": "user", "role": "user", "enabled": True, "defaultPassword": False}]
    upgraded.ok("POST", "/rest/account/disable/account/user")
    refused = upgraded.http.post(
        f"/rest/login/account/user/password/{EXPECTED['passwords']['user']}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == 16004


def test_passwords_are_kept(upgraded: Api) -> None:
    user = Api(upgraded.http).login("user", EXPECTED["passwords"]["user"])
    assert user.ok("GET", "/rest/storage/poolinfo")
    assert upgraded.http.post("/rest/login/account/user/password/1234").status_code == 401


def test_new_ids_are_never_ids_0_1_0_issued(upgraded: Api) -> None:
    pool = EXPECTED["pools"][0]
    taken = {item["id"] for kind in ("disks", "pools", "volumes") for item in EXPECTED[kind]}
    taken |= {s["id"] for info in EXPECTED["snapshots"].values() for s in info["snapshots"]}
    volume = upgraded.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/new/"
                                 "sizegb/1")
    assert 10**9 <= volume["id"] < 10**10 and volume["id"] not in taken


def test_the_open_session_is_migrated(tmp_path: Path) -> None:
    """0.1.0 kept sessions in columns; the session it left open (the user's) is a record now.
    (Opening the array would delete it: it idled out long ago.)"""
    store = SqliteStore(release_state(tmp_path) / DATABASE_NAME)
    try:
        sessions = list(store.load_state().sessions.values())
    finally:
        store.close()
    assert [(s.account, s.role.value) for s in sessions] == [("user", "user")]
    assert len(sessions[0].token_hash) == 64 and sessions[0].created_at > 1.7e9


def test_the_file_is_migrated_once_and_a_later_schema_is_refused(tmp_path: Path) -> None:
    state_dir = release_state(tmp_path)
    with sqlite3.connect(state_dir / DATABASE_NAME) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("1",)
    open_array(Settings(state_dir=state_dir)).close()
    with sqlite3.connect(state_dir / DATABASE_NAME) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")}
        assert tables == {"meta", "records", "issued_ids", "events"}
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    open_array(Settings(state_dir=state_dir)).close()  # the second opening has nothing to do
    with sqlite3.connect(state_dir / DATABASE_NAME) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(InvalidArgument, match="later OpenSAN release"):
        SqliteStore(state_dir / DATABASE_NAME)


def test_the_0_1_0_objects_read_through_xevo_with_the_settings_they_never_had(
        upgraded: Api) -> None:
    """0.1.0 wrote volumes without XEVO's settings and mappings without their own ID: they
    read back with the defaults, and each mapping with the ID of where it was made."""
    volumes = {int(v["id"]): v for v in upgraded.ok("GET", "/rest/v2/storage/block/volumes")}
    assert set(volumes) == {v["id"] for v in EXPECTED["volumes"]}
    for volume in volumes.values():
        assert (volume["blockSize"], volume["ioPriority"], volume["tags"]["type"],
                volume["metadata"]) == (4096, "MEDIUM", "RAID",
                                        {"status": "", "type": "", "content": "", "timestamp": ""})
    first: dict[int, dict[str, Any]] = {}  # a volume shows its first mapping
    for mapping in sorted(EXPECTED["mappings"], key=lambda m: (m["targetId"], m["lun"])):
        if mapping["snapshotId"] is None:
            first.setdefault(mapping["volumeId"], mapping)
    assert first
    for volume_id, mapping in first.items():
        assert volumes[volume_id]["targetId"] == str(mapping["targetId"])
        assert volumes[volume_id]["lunId"] == str(mapping["targetId"] * 1000 + mapping["lun"])


def test_the_0_1_0_targets_keep_their_iqns_and_a_new_target_gets_qsans_form(
        upgraded: Api) -> None:
    """0.1.0 named targets by the model and the whole serial number; they keep those names
    (initiators log in to them), and a target made now has QSAN's form."""
    targets = upgraded.ok("GET", "/rest/storage/availtarget")
    assert [t["iqn"] for t in targets] == [t["iqn"] for t in EXPECTED["targets"]]
    assert all(":xs5226d-qw" in t["iqn"] for t in targets)
    created = upgraded.ok("POST", "/rest/storage/createtarget/controller/2")
    assert re.fullmatch(r"iqn\.2004-08\.com\.qsan:xs5226-[0-9a-f]{9}:dev\d+\.ctr2",
                        created["iqn"]), created["iqn"]
