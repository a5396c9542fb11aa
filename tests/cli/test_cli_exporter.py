"""`opensan exporter` as a process: the password from a file or $OPENSAN_PASSWORD and never
in its arguments or logs, TLS verified (with --ca-file for the array's own certificate), and
one line with its exit code for what cannot work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import PASSWORD, LiveServer
from support import free_port
from typer.testing import CliRunner

from opensan.cli.main import app
from opensan.tls import CERT_FILE

SECRET = "exporter-Secret-9"


@pytest.fixture(autouse=True)
def no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OPENSAN_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A virtual array serving HTTPS with its own certificate, its `user` password SECRET."""
    state = tmp_path / "state"
    live = LiveServer(state, ["--tls"], ca_file=state / CERT_FILE)
    try:
        live.start()
        with live.client() as http:
            token = http.post(f"/rest/login/account/admin/password/{PASSWORD}").json()
            http.post(f"/rest/account/setpassword/account/user/password/{SECRET}",
                      headers={"Authorization": token["accessToken"]}).raise_for_status()
        yield live
    finally:
        live.stop()


class Exporter:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "opensan", "exporter", "--listen", f"127.0.0.1:{self.port}",
             *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
            env={**os.environ, **env})

    def scrape(self) -> str:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=30)
                answer.raise_for_status()
                return answer.text
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(10)
        return self.log.read_text()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[type[Exporter]]:
    started: list[Exporter] = []

    class Started(Exporter):
        def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
            super().__init__(args, env or {}, tmp_path / f"exporter-{len(started)}.log")
            started.append(self)

    yield Started
    for exporter in started:
        if exporter.process.poll() is None:
            exporter.process.kill()
            exporter.process.wait(10)


def test_the_password_from_a_file_over_verified_tls(tls_server: LiveServer, run: type[Exporter],
                                                    tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(SECRET + "\n")
    exporter = run(["--url", tls_server.url, "--account", "user", "--password-file",
                    str(password_file), "--ca-file", str(tls_server.ca_file),
                    "--log-level", "debug"])
    text = exporter.scrape()
    assert "opensan_exporter_up 1.0" in text
    assert "opensan_volume_capacity_bytes{" in text
    arguments = Path(f"/proc/{exporter.process.pid}/cmdline").read_bytes()
    log = exporter.stop()
    assert "/rest/login/account/user/password/***" in log  # the debug log has the login ...
    assert SECRET not in log and SECRET.encode() not in arguments  # ... never the password


def test_tls_is_verified_without_a_ca_file(tls_server: LiveServer, run: type[Exporter]) -> None:
    exporter = run(["--url", tls_server.url, "--account", "user"],
                   {"OPENSAN_PASSWORD": SECRET})
    assert "opensan_exporter_up 0.0" in exporter.scrape()
    log = exporter.stop()
    assert "TLS with https://127.0.0.1" in log and "self-signed certificate" in log
    assert SECRET not in log


def test_the_password_from_the_environment(live_server: LiveServer, run: type[Exporter],
                                           tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("scrape-token-0123456789\n")
    exporter = run(["--url", live_server.url, "--account", "user", "--token-file",
                    str(token_file)], {"OPENSAN_PASSWORD": PASSWORD})
    deadline = time.monotonic() + 30
    while True:
        try:
            refused = httpx.get(f"http://127.0.0.1:{exporter.port}/metrics")
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert refused.status_code == 401
    answer = httpx.get(f"http://127.0.0.1:{exporter.port}/metrics",
                       headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert "opensan_exporter_up 1.0" in answer.text
    exporter.stop()


def test_a_xevo_array_read_over_xevo(live_server: LiveServer, run: type[Exporter]) -> None:
    exporter = run(["--url", live_server.url, "--account", "user", "--api", "xevo"],
                   {"OPENSAN_PASSWORD": PASSWORD})
    text = exporter.scrape()
    assert "opensan_exporter_up 1.0" in text
    assert "opensan_volume_capacity_bytes{" in text
    assert 'endpoint="/rest/v2/storage/block/volumes"' in text
    assert "opensan_disk_info" not in text  # XEVO has no disk list: nothing made up
    assert f"{live_server.url} (xevo) as user" in exporter.stop()


@pytest.mark.parametrize(("args", "env", "message"), [
    ([], {}, "no password: give --password-file FILE or set OPENSAN_PASSWORD"),
    (["--password-file", "/nonexistent/password"], {}, "cannot read the password file"),
    (["--listen", "nowhere"], {"OPENSAN_PASSWORD": "x"}, "'nowhere' is not HOST:PORT"),
])
def test_what_cannot_work_is_one_line_with_exit_code_2(
        args: list[str], env: dict[str, str], message: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["exporter", "--url", "http://127.0.0.1:9", "--account",
                                      "user", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_a_taken_port_is_exit_code_6(live_server: LiveServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSAN_PASSWORD", PASSWORD)
    result = CliRunner().invoke(app, ["exporter", "--url", live_server.url, "--account", "user",
                                      "--listen", f"127.0.0.1:{live_server.port}"])
    assert result.exit_code == 6, result.output
    assert "cannot listen on" in result.output


def test_configured_as_the_service_unit_runs_it(tls_server: LiveServer, tmp_path: Path) -> None:
    """docs/install.md's exporter.env (the OPENSAN_EXPORTER_* variables) and the unit's command
    line, which gives only the password file (packaging/systemd/opensan-exporter.service)."""
    password_file = tmp_path / "password"
    password_file.write_text(f"{SECRET}\n")
    port = free_port()
    assert tls_server.ca_file is not None
    env = {**os.environ, "OPENSAN_EXPORTER_URL": tls_server.url,
           "OPENSAN_EXPORTER_ACCOUNT": "user", "OPENSAN_EXPORTER_CA_FILE": str(tls_server.ca_file),
           "OPENSAN_EXPORTER_LISTEN": f"127.0.0.1:{port}"}
    log = tmp_path / "exporter.log"
    process = subprocess.Popen([sys.executable, "-m", "opensan", "exporter", "--password-file",
                                str(password_file)], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(10)
    assert answer.status_code == 200
    assert "opensan_exporter_up 1.0" in answer.text
    assert "opensan_volume_capacity_bytes{" in answer.text
    assert SECRET not in log.read_text()
