"""`opensan serve` (and `passwd`) start cleanly: a failure is one line naming what failed, with
its own exit code, before anything is printed or created; the settings come from the command
line, then OPENSAN_* variables, then a --settings file."""

from __future__ import annotations

import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from conftest import Api, LiveServer
from cryptography import x509
from typer.testing import CliRunner

import opensan
import opensan.tls as tls
from opensan import __version__
from opensan.cli.main import app
from opensan.client import SanosClient

ADDRESS, STATE_DIR, USAGE = 6, 7, 2


@pytest.fixture(autouse=True)
def no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OPENSAN_")]:
        monkeypatch.delenv(name)


def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


taken = pytest.fixture(name="taken")(taken_port)
other_taken = pytest.fixture(name="other_taken")(taken_port)
third_taken = pytest.fixture(name="third_taken")(taken_port)


def serve(*args: str) -> Result:
    return CliRunner().invoke(app, ["serve", *args])


def fails(result: Result, code: int) -> str:
    """Nothing printed but one line on stderr, and the exit code of that kind of failure."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert not result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("opensan: "), result.stderr
    return lines[0]


def test_a_taken_port_is_one_line_and_creates_nothing(taken: int, tmp_path: Path) -> None:
    state = tmp_path / "state"
    line = fails(serve("--port", str(taken), "--state-dir", str(state)), ADDRESS)
    assert f"127.0.0.1:{taken}" in line and "in use" in line
    assert not state.exists()


@pytest.mark.parametrize("host", ["192.0.2.1", "no-such-host.invalid"])
def test_an_address_that_is_not_this_machine_s_is_one_line(host: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert f"cannot listen on {host}:8080" in fails(
        serve("--host", host, "--state-dir", str(state)), ADDRESS)
    assert not state.exists()


def test_a_state_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    file = tmp_path / "state"
    file.write_text("")
    assert fails(serve("--state-dir", str(file), "--port", "0"), STATE_DIR) == \
        f"opensan: state dir {file} is not a directory"
    assert f"{file} is not a directory" in fails(
        serve("--state-dir", str(file / "inner"), "--port", "0"), STATE_DIR)


def test_a_state_dir_that_cannot_be_written_is_one_line() -> None:
    # sysfs refuses new files to everyone, root too (a chmod would not stop root).
    line = fails(serve("--state-dir", "/sys/opensan-state", "--port", "0"), STATE_DIR)
    assert "/sys/opensan-state" in line


def test_variables_configure_serve(taken: int, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSAN_PORT", str(taken))
    assert f":{taken}" in fails(serve("--state-dir", str(tmp_path / "s")), ADDRESS)
    file = tmp_path / "a-file"
    file.write_text("")
    monkeypatch.setenv("OPENSAN_STATE_DIR", str(file))
    assert str(file) in fails(serve(), STATE_DIR)


def test_the_command_line_wins_then_the_variables_then_the_file(
        taken: int, other_taken: int, third_taken: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "serve.toml"
    settings.write_text(f'port = {taken}\nstate_dir = "{tmp_path / "state"}"\n')
    assert f":{taken}" in fails(serve("--settings", str(settings)), ADDRESS)
    monkeypatch.setenv("OPENSAN_PORT", str(other_taken))
    assert f":{other_taken}" in fails(serve("--settings", str(settings)), ADDRESS)
    assert f":{third_taken}" in fails(
        serve("--settings", str(settings), "--port", str(third_taken)), ADDRESS)
    monkeypatch.setenv("OPENSAN_SETTINGS", str(settings))  # the file from a variable too
    monkeypatch.delenv("OPENSAN_PORT")
    assert f":{taken}" in fails(serve(), ADDRESS)
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(("content", "said"), [
    ("prot = 8080\n", "prot in {file}: Extra inputs are not permitted"),
    ('port = "high"\n', "port in {file}: Input should be a valid integer"),
    ("port = \n", "settings file {file} is not TOML"),
])
def test_a_wrong_settings_file_is_a_usage_error(tmp_path: Path, content: str, said: str) -> None:
    file = tmp_path / "serve.toml"
    file.write_text(content)
    assert said.format(file=file) in fails(serve("--settings", str(file)), USAGE)


def test_a_missing_settings_file_is_a_usage_error(tmp_path: Path) -> None:
    assert "cannot read settings file" in fails(
        serve("--settings", str(tmp_path / "none.toml")), USAGE)


def test_a_wrong_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSAN_LOG_LEVEL", "loud")
    assert "OPENSAN_LOG_LEVEL: Input should be" in fails(serve(), USAGE)


def test_an_out_of_range_option_is_a_usage_error() -> None:
    assert "--port: Input should be less than or equal to 65535" in fails(
        serve("--port", "70000"), USAGE)


def test_a_server_configured_by_variables_serves_there(tmp_path: Path) -> None:
    """The case of the issue: OPENSAN_PORT and OPENSAN_STATE_DIR, no options."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = tmp_path / "from-variables"
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENSAN_")}
    env |= {"OPENSAN_PORT": str(port), "OPENSAN_STATE_DIR": str(state),
            "OPENSAN_LOG_LEVEL": "warning",
            "PYTHONPATH": str(Path(opensan.__file__).parents[1])}  # this checkout's opensan
    server = subprocess.Popen([sys.executable, "-m", "opensan", "serve"], env=env,
                              cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/rest/", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert (state / "opensan.db").exists()
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert f"state in {state}, API on http://127.0.0.1:{port}/rest/ (console: " \
        f"http://127.0.0.1:{port}/," in log


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"opensan {__version__}\n"


def test_passwd_checks_the_state_dir_before_it_asks(tmp_path: Path) -> None:
    file = tmp_path / "state"
    file.write_text("")
    result = CliRunner().invoke(app, ["passwd", "admin", "--state-dir", str(file)])
    assert fails(result, STATE_DIR) == f"opensan: state dir {file} is not a directory"


def test_passwd_without_a_terminal_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["passwd", "admin", "--state-dir", str(tmp_path / "s")],
                                input="Sekr1t-pass\nSekr1t-pass\n")
    assert "not a terminal" in fails(result, USAGE)
    assert not (tmp_path / "s").exists()


def test_passwd_finds_the_array_in_the_settings_file_of_serve(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opensan.array import open_array
    from opensan.cli import commands
    from opensan.config import Settings

    state_dir = tmp_path / "lab"
    open_array(Settings(state_dir=state_dir)).close()
    settings_file = tmp_path / "lab.toml"
    settings_file.write_text(f'state_dir = "{state_dir}"\n')
    monkeypatch.setattr(commands, "interactive", lambda: True)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["passwd", "admin", "--settings", str(settings_file)],
                                input="Sekr1t-pass\nSekr1t-pass\n")
    assert result.exit_code == 0, result.output
    array = open_array(Settings(state_dir=state_dir))
    try:
        assert "admin" not in array.service.accounts.with_default_password()
    finally:
        array.close()
    assert not (tmp_path / "opensan-state").exists()  # not the default state dir


# HTTPS


@pytest.fixture
def pem(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as an administrator gives them."""
    cert, key = tmp_path / "server-cert.pem", tmp_path / "server-key.pem"
    tls.make(cert, key, ["127.0.0.1"])
    return cert, key


def test_tls_files_that_cannot_be_served_are_a_usage_error_before_anything_is_made(
        tmp_path: Path, pem: tuple[Path, Path]) -> None:
    cert, key = pem
    other_cert, other_key = tmp_path / "other-cert.pem", tmp_path / "other-key.pem"
    tls.make(other_cert, other_key, ["127.0.0.1"])
    state = tmp_path / "state"
    cases = {
        ("--tls-cert", str(cert)): "tls_cert and tls_key go together: give both or neither",
        ("--http", "--tls-cert", str(cert), "--tls-key", str(key)):
            "tls is false (plain HTTP) but tls_cert is given",
        ("--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(key)):
            f"cannot read TLS certificate {tmp_path / 'none.pem'}: No such file or directory",
        ("--tls-cert", str(cert), "--tls-key", str(other_key)):
            f"TLS key {other_key} is not the key of certificate {cert}",
    }
    for options, said in cases.items():
        assert said in fails(serve(*options, "--state-dir", str(state), "--port", "0"), USAGE)
    assert not state.exists()


def test_tls_settings_come_from_variables_and_the_settings_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, missing = tmp_path / "state", tmp_path / "none.pem"
    monkeypatch.setenv("OPENSAN_STATE_DIR", str(state))
    monkeypatch.setenv("OPENSAN_TLS_CERT", str(missing))
    monkeypatch.setenv("OPENSAN_TLS_KEY", str(missing))
    assert f"cannot read TLS certificate {missing}" in fails(serve(), USAGE)
    monkeypatch.delenv("OPENSAN_TLS_CERT")
    monkeypatch.delenv("OPENSAN_TLS_KEY")
    file = tmp_path / "serve.toml"
    file.write_text(f'tls_cert = "{missing}"\ntls_key = "{missing}"\n')
    assert f"cannot read TLS certificate {missing}" in fails(serve("--settings", str(file)), USAGE)
    file.write_text('tls = "sometimes"\n')
    assert f"tls in {file}: Input should be a valid boolean" in fails(
        serve("--settings", str(file)), USAGE)
    monkeypatch.setenv("OPENSAN_TLS", "sometimes")
    assert "OPENSAN_TLS: Input should be a valid boolean" in fails(serve(), USAGE)
    assert not state.exists()


def test_a_ceph_server_whose_state_dir_cannot_keep_its_certificate_is_one_line() -> None:
    """On Ceph the records are in the cluster: the state dir holds the server's certificate
    alone, and is found wanting only when that is made (before the cluster is opened)."""
    line = fails(serve("--backend", "ceph", "--config", "/nonexistent/ceph.toml",
                       "--state-dir", "/sys/opensan-state", "--port", "0"), STATE_DIR)
    assert line.startswith("opensan: cannot keep the TLS certificate in state dir "
                           "/sys/opensan-state: ")


def served_fingerprint(port: int) -> str:
    """The fingerprint of the certificate the server at this port presents."""
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return tls.fingerprint(x509.load_pem_x509_certificate(pem.encode()))


def announced_fingerprint(server: LiveServer) -> str:
    banner = re.findall(r"SHA-256 fingerprint ([0-9A-F:]{95})$", server.log_path.read_text(),
                        re.MULTILINE)
    assert banner, server.log_path.read_text()
    return banner[-1]


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`opensan ARGS...` with a config dir of its own."""
    monkeypatch.setenv("OPENSAN_CONFIG_DIR", str(tmp_path / "config"))
    return lambda *args: CliRunner().invoke(app, list(args))


def test_serve_with_a_given_certificate_speaks_https_only(
        tmp_path: Path, pem: tuple[Path, Path], run_cli: Callable[..., Result]) -> None:
    cert, key = pem
    server = LiveServer(tmp_path / "state", ["--tls-cert", str(cert), "--tls-key", str(key)],
                        ca_file=cert)
    try:
        server.start()
        assert server.url.startswith("https://")
        with SanosClient(server.url, "admin", "1234", ca_file=cert) as client:
            info = client.system_info()
        expected = tls.load(cert, key).fingerprint
        assert info.tls_fingerprint == expected == served_fingerprint(server.port) == \
            announced_fingerprint(server)
        assert f"API on {server.url}/rest/" in server.log_path.read_text()

        trusted = run_cli("login", server.url, "--password", "1234", "--ca-file", str(cert))
        assert trusted.exit_code == 0, trusted.output
        listed = run_cli("system")
        assert listed.exit_code == 0 and "TLS fingerprint" in listed.stdout
        untrusted = run_cli("login", server.url, "--password", "1234")
        assert untrusted.exit_code == 4 and "certificate" in untrusted.stderr, untrusted.output
        plain = run_cli("login", server.url.replace("https:", "http:"), "--password", "1234")
        assert plain.exit_code == 4 and "is it https://?" in plain.stderr, plain.output
    finally:
        server.stop()


def test_the_virtual_array_with_tls_makes_a_certificate_and_keeps_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    server = LiveServer(state, ["--tls"], ca_file=state / tls.CERT_FILE)
    try:
        server.start()
        first = served_fingerprint(server.port)
        assert stat.S_IMODE((state / tls.KEY_FILE).stat().st_mode) == 0o600
        with server.client() as http:
            token = Api(http).login("admin").token
            assert token is not None
            info = http.get("/rest/dashboard/systeminfo", headers={"Authorization": token})
        assert info.json()["tlsFingerprint"] == first == announced_fingerprint(server)
        server.stop()
        server.start()
        assert served_fingerprint(server.port) == first == announced_fingerprint(server)
    finally:
        server.stop()


@pytest.mark.parametrize(("options", "warned"), [
    (["--host", "0.0.0.0"], True),
    (["--host", "0.0.0.0", "--tls"], False),
    ([], False),  # 127.0.0.1
])
def test_plain_http_beyond_loopback_is_warned_of(tmp_path: Path, options: list[str],
                                                 warned: bool) -> None:
    state = tmp_path / "state"
    server = LiveServer(state, options, ca_file=state / tls.CERT_FILE if "--tls" in options
                        else None)
    try:
        server.start()
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert ("WARNING: serving plain HTTP on 0.0.0.0, beyond this machine" in log) is warned, log


def test_a_taken_snmp_port_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        line = fails(serve("--port", "0", "--state-dir", str(state), "--snmp",
                           f"127.0.0.1:{port}", "--snmp-community", "lab"), ADDRESS)
    assert f"cannot listen for SNMP on 127.0.0.1:{port}" in line and "in use" in line
    assert not state.exists()


@pytest.mark.parametrize(("options", "said"), [
    (["--snmp", "127.0.0.1:1161"], "needs snmp_community or snmp_users"),
    (["--snmp", "somewhere", "--snmp-community", "lab"], "--snmp: Value error"),
    (["--snmp-trap", "127.0.0.1:162"], "snmp_trap needs snmp"),
    (["--snmp", "127.0.0.1:1161", "--snmp-community", "lab", "--snmp-trap",
      "nobody@127.0.0.1:162"], "no user 'nobody' in snmp_users"),
])
def test_wrong_snmp_options_are_a_usage_error(tmp_path: Path, options: list[str],
                                              said: str) -> None:
    state = tmp_path / "state"
    assert said in fails(serve("--state-dir", str(state), *options), USAGE)
    assert not state.exists()
