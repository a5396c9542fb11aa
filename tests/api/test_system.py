"""GET /rest/system/servicepackage: the zip technical support asks for (docs/api.md lists it).

Every test here runs in-process, live, and on the Linux and Ceph backends, but the last: it
writes a large event log straight into the state dir's SQLite file and measures the memory of
an array in this process.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import sqlite3
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import MOVING_FIGURES, Api, Harness, assert_error, leave_out, local_array
from fastapi.testclient import TestClient

from opensan.api.app import create_app
from opensan.service.system import REMOVED
from opensan.store.sqlite import DATABASE_NAME

PATH = "/rest/system/servicepackage"
# Each JSON file of the package and the GET whose answer it is.
ANSWERS = {
    "systeminfo.json": "/rest/dashboard/systeminfo",
    "hwmonitor.json": "/rest/dashboard/hwmonitor",
    "diskinfo.json": "/rest/storage/diskinfo",
    "disksmart.json": "/rest/storage/disksmart",
    "poolinfo.json": "/rest/storage/poolinfo",
    "volumeinfo.json": "/rest/storage/volumeinfo",
    "availtarget.json": "/rest/storage/availtarget",
    "lunmappinginfo.json": "/rest/storage/lunmappinginfo",
}
FILES = ["manifest.json", "systeminfo.json", "support.txt", "hwmonitor.json", "diskinfo.json",
         "disksmart.json", "poolinfo.json", "volumeinfo.json", "snapshots.json",
         "availtarget.json", "lunmappinginfo.json", "configuration.json", "server.log",
         "events.jsonl"]
# What moves by itself between two reads: the clock and the figures of conftest.MOVING_FIGURES.
CLOCK = ("time", "uptimeSeconds")
NEW_PASSWORD = "Kn0wn-Secret-9f3b"
TEN_YEARS = 10 * 365 * 86400


def download(api: Api) -> zipfile.ZipFile:
    response = api.get(PATH)
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def answers(api: Api) -> dict[str, Any]:
    found = {name: api.ok("GET", path) for name, path in ANSWERS.items()}
    found["snapshots.json"] = [api.ok("GET", f"/rest/storage/snapshot/vdid/{v['id']}")
                               for v in found["volumeinfo.json"]]
    return found


def steady(value: Any) -> Any:
    return leave_out(value, (*CLOCK, *MOVING_FIGURES))


def all_events(api: Api) -> list[dict[str, Any]]:
    """The whole log through the API, oldest first."""
    first = api.ok("GET", "/rest/log/list/1")
    events = list(first["events"])
    for page in range(2, first["totalPages"] + 1):
        events += api.ok("GET", f"/rest/log/list/{page}")["events"]
    return events[::-1]


def test_servicepackage_is_a_zip_named_after_the_array_with_every_listed_file(
        admin: Api) -> None:
    response = admin.get(PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    system = admin.ok("GET", "/rest/dashboard/systeminfo")
    disposition = response.headers["content-disposition"]
    match = re.fullmatch(r'attachment; filename="(servicepackage-(.+)-(.+)-'
                         r'(\d{8}T\d{6}Z))\.zip"', disposition)
    assert match, disposition
    assert (match.group(2), match.group(3)) == (system["modelName"], system["serialNumber"])
    package = zipfile.ZipFile(io.BytesIO(response.content))
    assert package.testzip() is None
    assert package.namelist() == FILES
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["files"] == FILES
    assert manifest["name"] == match.group(1)
    assert (manifest["createdBy"], manifest["serialNumber"]) == ("admin", system["serialNumber"])


def test_servicepackage_json_files_are_what_the_gets_answer(admin: Api) -> None:
    # The tick reads the sensors again every second: take a package whose moment nothing
    # moved around (the same answers before and after it).
    for _ in range(10):
        before = steady(answers(admin))
        package = download(admin)
        if steady(answers(admin)) == before:
            break
    else:
        pytest.fail("the array's answers never held still around a download")
    for name, expected in before.items():
        assert steady(json.loads(package.read(name))) == expected, name
    support = package.read("support.txt").decode()
    system = before["systeminfo.json"]
    for value in (system["serialNumber"], system["modelName"], system["backplane"]["serialNumber"],
                  *(c["serialNumber"] for c in system["controllers"])):
        assert value in support, value


def test_servicepackage_event_log_holds_every_event_and_its_own(admin: Api) -> None:
    for _ in range(50):  # each download writes an event: the log spans pages of the API
        download(admin)
    package = download(admin)
    lines = package.read("events.jsonl").decode().splitlines()
    log = all_events(admin)
    assert len(lines) == json.loads(package.read("manifest.json"))["eventCount"]
    assert [json.loads(line) for line in lines] == log[:len(lines)]
    assert len(lines) == admin.ok("GET", "/rest/log/list/1")["total"]
    newest = json.loads(lines[-1])
    assert (newest["level"], newest["source"]) == ("INFO", "System")
    assert newest["message"].startswith("Service package downloaded by admin from ")


def test_servicepackage_holds_no_password_hash_or_token(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # in-process too: the access log reaches the server's log
    admin = harness.anonymous.login("admin")
    admin.ok("POST", f"/rest/account/setpassword/account/admin/password/{NEW_PASSWORD}")
    admin = harness.anonymous.login("admin", NEW_PASSWORD)
    assert admin.token is not None
    response = admin.get(PATH)
    assert response.status_code == 200, response.text
    package = zipfile.ZipFile(io.BytesIO(response.content))
    secrets = [NEW_PASSWORD, admin.token, hashlib.sha256(admin.token.encode()).hexdigest(),
               "scrypt$"]
    if harness.array is not None:
        accounts = harness.array.service.state.accounts.values()
        secrets += [account.password_hash for account in accounts]
        secrets += [part for account in accounts for part in account.password_hash.split("$")[1:]]
    contents = [response.content, *(package.read(name) for name in package.namelist())]
    for secret in secrets:
        for content in contents:
            assert secret.encode() not in content, secret
    server_log = package.read("server.log").decode()
    assert "/rest/account/setpassword/account/admin/password/***" in server_log


def test_servicepackage_configuration_is_the_servers(harness: Harness, admin: Api) -> None:
    configuration = json.loads(download(admin).read("configuration.json"))
    assert set(configuration) == {"settings", "backendOptions", "backendConfig"}
    system = admin.ok("GET", "/rest/dashboard/systeminfo")
    assert configuration["backendOptions"]["backend"] in ("simulated", "linux", "ceph")
    if harness.array is not None:  # every setting; those named like a secret removed
        assert configuration["settings"] == {**harness.array.settings.model_dump(mode="json"),
                                             "tls_key": REMOVED, "metrics_token": REMOVED}
    if configuration["backendOptions"]["backend"] != "simulated":
        assert configuration["backendConfig"]["model_name"] == system["modelName"]


def test_servicepackage_is_refused_to_the_reader_and_without_a_token(
        admin: Api, reader: Api) -> None:
    total = admin.ok("GET", "/rest/log/list/1")["total"]
    assert_error(reader.get(PATH), 403)
    admin.http.cookies.clear()
    assert_error(admin.http.get(PATH), 401)
    assert admin.ok("GET", "/rest/log/list/1")["total"] == total  # neither wrote an event


def test_servicepackage_is_declared_like_every_endpoint(admin: Api) -> None:
    listed = [item for item in admin.ok("GET", "/rest/") if item["path"] == PATH]
    assert [(i["method"], i["access"], i["extension"]) for i in listed] == [("GET", "admin", True)]
    operation = admin.ok("GET", "/openapi.json")["paths"][PATH]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/zip"}
    assert operation["responses"]["403"]["content"]["application/json"]


@pytest.mark.simulated("the simulated clock")
def test_servicepackage_of_an_array_past_what_zip_dates_hold(harness: Harness) -> None:
    for _ in range(9):  # 90 years on: each move idles the session out, so log in again
        harness.anonymous.login("admin").ok("POST", f"/rest/sim/clock/seconds/{TEN_YEARS}")
    admin = harness.anonymous.login("admin")
    year = int(admin.ok("GET", "/rest/dashboard/systeminfo")["time"][:4])
    assert year > 2107
    package = download(admin)
    assert package.testzip() is None
    assert package.getinfo("events.jsonl").date_time == (2107, 12, 31, 23, 59, 58)
    assert json.loads(package.read("manifest.json"))["createdAt"].startswith(str(year))


@pytest.mark.simulated("bulk events written into the state dir's SQLite file")
def test_servicepackage_of_a_large_log_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    events = 150_000  # about 19 MB of JSON lines
    with local_array(tmp_path) as array:
        with sqlite3.connect(array.settings.state_dir / DATABASE_NAME) as db:
            db.executemany("INSERT INTO events (time, level, source, message) VALUES "
                           "(?, 'INFO', 'Volume', ?)",
                           ((1.7e9 + i, f"Hosts wrote 1 GiB to volume vol-{i:06d}.")
                            for i in range(events)))
        with TestClient(create_app(array.service)) as http:
            admin = Api(http).login("admin")
            tracemalloc.start()
            try:
                with http.stream("GET", PATH, headers={"Authorization": str(admin.token)}) as r:
                    assert r.status_code == 200
                    body = b"".join(r.iter_bytes())
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    package = zipfile.ZipFile(io.BytesIO(body))
    log = package.open("events.jsonl")
    count = sum(1 for _ in log)
    assert count > events
    raw = package.getinfo("events.jsonl").file_size
    # Held whole, the log alone would take more than `raw`; streamed, the server holds a batch
    # of events and a chunk of the zip (the test client collects the zip, a tenth of that).
    assert peak < raw // 2, (peak, len(body), raw)
