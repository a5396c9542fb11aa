"""The server below the app (api/protocol.py, uvicorn's options): time-outs, the connection
cap, malformed HTTP and the client address, each against a real `opensan serve` on a socket."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import PASSWORD, Api, LiveServer

from opensan.tls import CERT_FILE

pytestmark = pytest.mark.simulated  # the server, not the backend, is under test

LIMITS = {"OPENSAN_HEADER_TIMEOUT_SECONDS": "1", "OPENSAN_IDLE_TIMEOUT_SECONDS": "1",
          "OPENSAN_MAX_CONNECTIONS": "8"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("protocol") / "state", env=LIMITS)
    try:
        yield live.start()
    finally:
        live.stop()


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of one answer, read until the server closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def error_code(body: bytes) -> int:
    error = json.loads(body)["error"]
    assert isinstance(error["message"], str) and error["message"]
    return int(error["code"])


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(server: LiveServer) -> None:
    """The audit held 200 sockets open for good at 1 byte/s; now each ends after the timeout."""
    with connect(server) as sock:
        started = time.monotonic()
        for byte in b"GET /rest/ HTTP/1.1\r\nHost: x\r\n":
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # closed by the server
                break
            time.sleep(0.1)
        status, headers, body = read_answer(sock)
        assert time.monotonic() - started < 5
    assert status == 408 and headers["content-type"] == "application/json"
    assert error_code(body) == 10010


def test_a_silent_connection_is_closed_after_the_header_timeout(server: LiveServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        status, _headers, body = read_answer(sock)
        assert 0.5 < time.monotonic() - started < 5
    assert status == 408 and error_code(body) == 10010


def test_a_body_that_stops_arriving_ends_the_connection(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /rest/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"acc")
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed without an answer: there is no request
        assert time.monotonic() - started < 5


def test_malformed_http_is_answered_with_the_error_body(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /rest/ HTTP/1.1\r\nHost x\r\n\r\n")
        status, headers, body = read_answer(sock)
    assert status == 400 and headers["content-type"] == "application/json"
    assert error_code(body) == 12003


def test_connections_beyond_the_cap_get_503_with_retry_after(server: LiveServer) -> None:
    held = [connect(server) for _ in range(8)]
    try:
        time.sleep(0.2)  # every one accepted
        with connect(server) as extra:
            status, headers, body = read_answer(extra)
        assert status == 503 and headers["retry-after"] == "1"
        assert error_code(body) == 10011
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"{server.url}/rest/", timeout=5).status_code == 200


def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(tmp_path: Path) -> None:
    """The audit bypassed the lockout with a new X-Forwarded-For per guess: the address is
    the socket's unless OPENSAN_TRUSTED_PROXIES names the peer."""
    live = LiveServer(tmp_path / "state")
    try:
        live.start()
        with httpx.Client(base_url=live.url, timeout=30) as http:
            statuses = [http.post("/rest/login/account/admin/password/wrong",
                                  headers={"X-Forwarded-For": f"10.9.0.{i}"}).status_code
                        for i in range(7)]
            right = http.post(f"/rest/login/account/admin/password/{PASSWORD}",
                              headers={"X-Forwarded-For": "10.9.1.1"})
            assert statuses == [401] * 5 + [429] * 2
            assert right.status_code == 429
            http.cookies.clear()
            events = Api(http).login("user").ok("GET", "/rest/log/list/1")
        text = json.dumps(events)
        assert "10.9." not in text and "from 127.0.0.1" in text
        assert "10.9." not in live.log_path.read_text()
    finally:
        live.stop()


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "state", env={"OPENSAN_TRUSTED_PROXIES": '["127.0.0.1"]'})
    try:
        live.start()
        with httpx.Client(base_url=live.url, timeout=30) as http:
            http.post("/rest/login/account/admin/password/wrong",
                      headers={"X-Forwarded-For": "10.9.0.1"})
            http.cookies.clear()
            admin = Api(http).login("admin")
            http.cookies.clear()
            admin.ok("POST", "/rest/sim/latency/ms/0", headers={"X-Forwarded-For": "10.9.0.2"})
            events = admin.ok("GET", "/rest/log/list/1")["events"]
        assert "Login failed for account admin from 10.9.0.1." in json.dumps(events)
        # The change's event names the client the proxy named, and the account.
        assert [(e["account"], e["client"]) for e in events
                if e["message"] == "Simulated change latency set to 0 ms."] == \
            [("admin", "10.9.0.2")]
    finally:
        live.stop()


# Over HTTPS the server makes the TLS handshake itself, under the same limits.


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    state = tmp_path_factory.mktemp("protocol-tls") / "state"
    live = LiveServer(state, ["--tls"], env=LIMITS, ca_file=state / CERT_FILE)
    try:
        yield live.start()
    finally:
        live.stop()


def connect_tls(server: LiveServer) -> ssl.SSLSocket:
    assert server.ca_file is not None
    context = ssl.create_default_context(cafile=server.ca_file)
    return context.wrap_socket(connect(server), server_hostname="127.0.0.1")


def closed_unanswered(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_a_handshake_that_does_not_end_is_cut_off_at_the_header_timeout(
        tls_server: LiveServer) -> None:
    for start in [b"", b"\x16\x03\x01\x02\x00\x01"]:  # silence; a ClientHello's first bytes
        with connect(tls_server) as sock:
            sock.sendall(start)
            started = time.monotonic()
            assert closed_unanswered(sock)
            assert 0.5 < time.monotonic() - started < 5


def test_headers_that_do_not_arrive_over_tls_get_408(tls_server: LiveServer) -> None:
    with connect_tls(tls_server) as sock:
        sock.sendall(b"GET /rest/ HTTP/1.1\r\n")
        status, headers, body = read_answer(sock)
    assert status == 408 and headers["content-type"] == "application/json"
    assert error_code(body) == 10010


def test_plain_http_to_the_https_port_is_closed_unanswered(tls_server: LiveServer) -> None:
    with connect(tls_server) as sock:
        sock.sendall(b"GET /rest/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_unanswered(sock)


def test_tls_connections_beyond_the_cap_get_503_and_handshakes_beyond_it_are_closed(
        tls_server: LiveServer) -> None:
    held = [connect_tls(tls_server) for _ in range(8)]
    try:
        time.sleep(0.2)
        with connect_tls(tls_server) as extra:
            status, headers, body = read_answer(extra)
        assert status == 503 and headers["retry-after"] == "1" and error_code(body) == 10011
    finally:
        for sock in held:
            sock.close()
    handshaking = [connect(tls_server) for _ in range(8)]  # TCP only: each in its handshake
    try:
        time.sleep(0.2)
        with connect(tls_server) as extra:
            assert closed_unanswered(extra)
    finally:
        for sock in handshaking:
            sock.close()
    time.sleep(0.2)
    with tls_server.client() as http:
        assert http.get("/rest/").status_code == 200
