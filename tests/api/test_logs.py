"""The server's log: `--log-format json` (or OPENSAN_LOG_FORMAT, or log_format in the settings
file) writes one JSON object a line, the access log's with the request's ID, account, client,
method, redacted path, status and duration; the default text lines are as they always were."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import DEFAULT_PASSWORD, PASSWORD, Api, LiveServer, local_array
from fastapi.concurrency import run_in_threadpool
from fastapi.testclient import TestClient

from opensan.api import logs
from opensan.api.app import create_app

ACCESS_FIELDS = {"time", "level", "logger", "message", "request_id", "account", "client",
                 "method", "path", "status", "duration_ms"}
SECRETS = ("Wr0ngSecret", "T0kenSecret", "Qu3rySecret")


def use_the_api(http: httpx.Client) -> tuple[str, list[str]]:
    """A login, an authenticated read, a wrong password in the path and secrets in queries;
    answers the reader's token and the X-Request-ID of each answer."""
    login = http.post(f"/rest/login/account/user/password/{DEFAULT_PASSWORD}")
    token = login.json()["accessToken"]
    answers = [
        login,
        http.get("/rest/storage/poolinfo", headers={"Authorization": token}),
        http.post("/rest/login/account/admin/password/Wr0ngSecret"),
        http.get("/rest/storage/volumeinfo", params={"access_token": "T0kenSecret"}),
        http.post("/rest/login", params={"account": "user", "password": "Qu3rySecret"}),
        http.get("/rest/storage/poolinfo/token/T0kenSecret", headers={"Authorization": token}),
    ]
    return token, [answer.headers["x-request-id"] for answer in answers]


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of the output, each a JSON object (json.loads fails the test otherwise)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(params=["option", "variable", "settings file"])
def json_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A live virtual array logging JSON, the format set each way serve takes a setting."""
    args: list[str] = []
    env: dict[str, str] = {}
    if request.param == "option":
        args = ["--log-format", "json"]
    elif request.param == "variable":
        env = {"OPENSAN_LOG_FORMAT": "json"}
    else:
        (tmp_path / "settings.toml").write_text('log_format = "json"\n')
        args = ["--settings", str(tmp_path / "settings.toml")]
    server = LiveServer(tmp_path / "state", args, env=env)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.mark.simulated("live virtual arrays started with each way of setting the log format")
def test_json_format_writes_one_object_a_line(json_server: LiveServer) -> None:
    with json_server.client() as http:
        _, ids = use_the_api(http)
    json_server.stop()
    output = json_server.log_path.read_text()
    lines = json_lines(output)  # every line, uvicorn's and serve's own included
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["logger"] == "uvicorn.error" for line in lines)
    assert any("API on http://127.0.0.1" in line["message"] for line in lines)
    access = [line for line in lines if line["logger"] == "opensan.access"]
    assert [line["request_id"] for line in access][-len(ids):] == ids
    mine = access[-len(ids):]
    assert all(line.keys() == ACCESS_FIELDS for line in mine), mine
    assert [line["status"] for line in mine] == [200, 200, 401, 400, 401, 404]
    # Only an authenticated session names its account (by header, or the login's cookie the
    # client keeps); a login has none yet, nor does a path that is no API's.
    assert [line["account"] for line in mine] == [None, "user", None, "user", None, None]
    assert all(line["client"] == "127.0.0.1" and line["level"] == "INFO" for line in mine)
    assert [line["method"] for line in mine] == ["POST", "GET", "POST", "GET", "POST", "GET"]
    assert mine[1]["path"] == "/rest/storage/poolinfo"
    assert mine[2]["path"] == "/rest/login/account/admin/password/***"
    assert mine[3]["path"] == "/rest/storage/volumeinfo?access_token=%2A%2A%2A"
    assert mine[4]["path"] == "/rest/login?account=user&password=%2A%2A%2A"
    assert mine[5]["path"] == "/rest/storage/poolinfo/token/***"
    assert all(isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
               for line in mine)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", mine[0]["time"])
    assert not any(secret in output for secret in SECRETS)


@pytest.mark.simulated("a live virtual array with the default log format")
def test_the_default_text_format_is_unchanged(live_server: LiveServer) -> None:
    with live_server.client() as http:
        _, ids = use_the_api(http)
    live_server.stop()
    output = live_server.log_path.read_text()
    access = [line for line in output.splitlines() if " opensan.access: " in line][-len(ids):]
    for line in access:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO opensan.access: "
                            r"127\.0\.0\.1 (GET|POST) /rest/\S+ \d{3} \d+\.\dms", line), line
    assert access[1].endswith("GET /rest/storage/poolinfo 200 " + access[1].rsplit(" ", 1)[1])
    assert "INFO:     Started server process" in output  # uvicorn's own lines, as before
    assert not any(line.startswith("{") for line in output.splitlines())
    assert not any(secret in output for secret in SECRETS)
    assert not any(request_id in output for request_id in ids)


def test_a_log_format_it_does_not_know_is_refused(tmp_path: Path) -> None:
    served = subprocess.run([sys.executable, "-m", "opensan", "serve", "--state-dir",
                             str(tmp_path / "state"), "--port", "0", "--log-format", "xml"],
                            capture_output=True, text=True, timeout=60)
    assert served.returncode == 2, served.stderr
    assert "--log-format" in served.stderr and "'text' or 'json'" in served.stderr, served.stderr
    assert not (tmp_path / "state").exists()


def test_every_answer_has_its_own_request_id(tmp_path: Path) -> None:
    with local_array(tmp_path) as array, TestClient(create_app(array.service)) as http:
        ids = {http.get("/rest/").headers["x-request-id"] for _ in range(20)}
        ids.add(http.get("/no/such/api").headers["x-request-id"])
    assert len(ids) == 21 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_lines_written_while_a_request_is_answered_carry_its_id(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Also from the worker thread the request hands its work to; lines outside a request
    carry none."""
    caplog.set_level(logging.INFO, logger="opensan.access")
    written = io.StringIO()
    handler = logs.handler("json", written)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with local_array(tmp_path) as array:
            app = create_app(array.service)

            async def note() -> dict[str, str]:
                await run_in_threadpool(logging.getLogger("opensan.test").warning, "in a thread")
                return {}

            app.add_api_route("/test/note", note, methods=["GET"])
            with TestClient(app) as http:
                reader = Api(http).login("user", PASSWORD)
                answer = reader.get("/rest/storage/poolinfo")
                noted = http.get("/test/note")
            logging.getLogger("opensan.test").warning("outside")
    finally:
        root.removeHandler(handler)
    lines = json_lines(written.getvalue())
    inside = next(line for line in lines if line["message"] == "in a thread")
    assert inside["request_id"] == noted.headers["x-request-id"]
    assert inside["level"] == "WARNING" and inside["logger"] == "opensan.test"
    outside = next(line for line in lines if line["message"] == "outside")
    assert "request_id" not in outside
    read = next(line for line in lines if line.get("request_id") == answer.headers["x-request-id"]
                and line["logger"] == "opensan.access")
    assert read["account"] == "user" and read["path"] == "/rest/storage/poolinfo"
