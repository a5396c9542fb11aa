"""What wraps every request (api/middleware.py): the body size limit and the security headers.
(The access log's redaction is in test_access_log.py.)"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from conftest import PASSWORD, Api, Harness, LiveServer, array_state, assert_error

MAX_BODY = 64 * 1024


def test_a_declared_body_over_the_limit_is_refused_with_413(harness: Harness) -> None:
    response = harness.http.post("/rest/login", content=b"{" + b" " * MAX_BODY + b"}",
                                 headers={"Content-Type": "application/json"})
    assert_error(response, 413, 10009)


def test_a_streamed_body_over_the_limit_is_refused_with_413(admin: Api) -> None:
    before = array_state(admin)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "'
        for _ in range(64):
            yield b"x" * 4096
        yield b'"}'

    response = admin.post("/rest/storage/createvolume", content=chunks())
    assert_error(response, 413, 10009)
    assert array_state(admin) == before


def test_a_body_just_under_the_limit_is_read_as_before(harness: Harness) -> None:
    body = json.dumps({"account": "admin", "password": PASSWORD}).encode()
    padded = body[:-1] + b" " * (MAX_BODY - len(body)) + b"}"
    assert harness.http.post("/rest/login", content=padded).status_code == 200


@pytest.mark.simulated
def test_a_400_mb_login_is_never_buffered(live_server: LiveServer) -> None:
    """The audit's unauthenticated 400 MB POST to /rest/login took the server to 966 MB."""
    assert live_server.process is not None
    pid = live_server.process.pid

    def rss_kib() -> int:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

    before = rss_kib()
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(b"POST /rest/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 400000000\r\n\r\n")
        started = time.monotonic()
        answer = sock.recv(65536)
        while b"}}" not in answer:  # the body may come in a second segment
            answer += sock.recv(65536)
        sent = 0
        try:  # keep sending: the server must not take it in
            while sent < 100 * 2**20 and time.monotonic() - started < 10:
                sock.sendall(b"x" * 2**20)
                sent += 2**20
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code":10009' in answer.replace(b" ", b"")
    assert rss_kib() - before < 20 * 1024, (before, rss_kib())


def test_every_answer_carries_the_security_headers(admin: Api, anonymous: Api) -> None:
    for response in [admin.get("/rest/storage/volumeinfo"), anonymous.get("/rest/"),
                     anonymous.get("/rest/storage/volumeinfo"), admin.get("/rest/nothing")]:
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", response.url
        assert headers["cache-control"] == "no-store", response.url
        assert headers["x-frame-options"] == "DENY", response.url
        assert "frame-ancestors 'none'" in headers["content-security-policy"], response.url
    docs = admin.get("/docs")
    assert docs.headers["content-type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in
                  docs.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"  # no inline script, no other host

