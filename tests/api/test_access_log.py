"""Credentials never reach the access log."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from conftest import PASSWORD, Api, LiveServer, local_array
from fastapi.testclient import TestClient

from opensan.api.app import create_app
from opensan.api.middleware import redacted

# A short password (QSAN's default, 1234) could appear in a port number: checked in context.
SECRETS = (f"/password/{PASSWORD}", "Wr0ngSecret", "N3wSecret")


def use_passwords(http: httpx.Client) -> None:
    admin = Api(http).login("admin", PASSWORD)
    http.post("/rest/login/account/admin/password/Wr0ngSecret")
    admin.ok("POST", "/rest/account/setpassword/account/user/password/N3wSecret")
    http.post("/rest/login", params={"account": "user", "password": "N3wSecret"})


def test_access_log_redacts_passwords(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with local_array(tmp_path) as array, caplog.at_level(logging.INFO, logger="opensan.access"), \
            TestClient(create_app(array.service)) as http:
        use_passwords(http)
    lines = [r.getMessage() for r in caplog.records if r.name == "opensan.access"]
    assert len(lines) == 4
    assert all("/password/***" in line or "password=%2A%2A%2A" in line for line in lines)
    assert not any(secret in "\n".join(lines) for secret in SECRETS)


def test_live_server_output_has_no_password(live_server: LiveServer) -> None:
    with live_server.client() as http:
        use_passwords(http)
    live_server.stop()
    output = live_server.log_path.read_text()
    assert output.count("/rest/login") == 3  # the access log is on, and redacted
    assert not any(secret in output for secret in SECRETS)


def test_redaction_keeps_the_rest_of_the_line() -> None:
    assert redacted("/rest/login/account/admin/password/x", "") == \
        "/rest/login/account/admin/password/***"
    assert redacted("/rest/storage/volumeinfo", "a=1&PassWord=2") == \
        "/rest/storage/volumeinfo?a=1&PassWord=%2A%2A%2A"
    assert redacted("/rest/login/account/admin/pass%77ord/x", "") == \
        "/rest/login/account/admin/pass%77ord/***"
    assert redacted("/rest/x/token/t1", "accessToken=t2&client_secret=t3&name=n") == \
        "/rest/x/token/***?accessToken=%2A%2A%2A&client_secret=%2A%2A%2A&name=n"


def test_a_password_holding_an_encoded_slash_is_redacted_whole(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The audit saw `password/***/tail-S3cretSlash`: the decoded path split the password."""
    with local_array(tmp_path) as array, caplog.at_level(logging.INFO, logger="opensan.access"), \
            TestClient(create_app(array.service)) as http:
        admin = Api(http).login("admin", PASSWORD)
        admin.ok("POST", "/rest/account/setpassword/account/user/password/head%2Ftail-S3cretSlash")
        http.post("/rest/login/account/user/password/head%2Ftail-S3cretSlash")
    lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "opensan.access")
    assert lines.count("/password/***") == 3, lines
    assert "S3cretSlash" not in lines and "tail" not in lines, lines


def test_anonymous_is_refused_with_contract_body(anonymous: Api) -> None:
    response = anonymous.get("/rest/storage/volumeinfo")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 10101
