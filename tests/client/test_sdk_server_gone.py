"""A server that goes away mid-run: GETs retry with backoff, POSTs never repeat, the client recovers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import conftest
import pytest
from conftest import LiveServer

from opensan.client import ConnectionFailed, SanosClient

BACKOFF = 0.1


def restart_on_the_same_port(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """LiveServer.start() picks a new free port; a client keeps its URL, so reuse the old one."""
    port = server.port
    monkeypatch.setattr(conftest, "free_port", lambda: port)
    server.start()


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[SanosClient]:
    with SanosClient(live_server.url, "admin", "1234", retry_backoff=BACKOFF) as sdk:
        assert sdk.volumes()
        yield sdk


def retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "opensan.client" and "attempt" in r.getMessage()]


def test_a_get_retries_with_backoff_then_raises_connection_failed(
        live_server: LiveServer, client: SanosClient, caplog: pytest.LogCaptureFixture) -> None:
    live_server.kill()
    caplog.set_level(logging.WARNING, "opensan.client")
    started = time.monotonic()
    with pytest.raises(ConnectionFailed) as raised:
        client.volumes()
    elapsed = time.monotonic() - started
    assert len(retries(caplog)) == 2  # 3 attempts
    assert elapsed >= BACKOFF + 2 * BACKOFF  # 0.1 s, then 0.2 s
    assert raised.value.status is None and "3 attempts" in raised.value.message


def test_a_post_is_never_retried(live_server: LiveServer, client: SanosClient,
                                 caplog: pytest.LogCaptureFixture) -> None:
    volume = next(v for v in client.volumes() if v.snapshot_space_bytes)
    live_server.kill()
    caplog.set_level(logging.WARNING, "opensan.client")
    with pytest.raises(ConnectionFailed):
        client.take_snapshot(volume.id, "never-twice")
    assert retries(caplog) == []


def test_the_same_client_works_again_after_a_restart(
        live_server: LiveServer, client: SanosClient, monkeypatch: pytest.MonkeyPatch) -> None:
    live_server.kill()
    with pytest.raises(ConnectionFailed):
        client.pools()
    restart_on_the_same_port(live_server, monkeypatch)
    volume = next(v for v in client.volumes() if v.snapshot_space_bytes)
    assert client.take_snapshot(volume.id, "after-restart").name == "after-restart"


def test_a_get_outlasts_a_short_outage(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    live_server.kill()
    caplog.set_level(logging.WARNING, "opensan.client")
    restart = threading.Thread(target=restart_on_the_same_port, args=(live_server, monkeypatch))
    # Backoff 0.25 s doubling over 8 attempts waits up to 32 s: ample for a server start.
    with SanosClient(live_server.url, "admin", "1234", get_attempts=8, retry_backoff=0.25) as sdk:
        restart.start()
        try:
            assert sdk.endpoints()
        finally:
            restart.join()
        assert sdk.volumes()
    assert retries(caplog)


def test_a_post_that_timed_out_is_not_repeated_though_the_array_made_it(
        live_server: LiveServer, client: SanosClient, caplog: pytest.LogCaptureFixture) -> None:
    volume = next(v for v in client.volumes() if v.snapshot_space_bytes)
    client.set_change_latency(1500)
    caplog.set_level(logging.WARNING, "opensan.client")
    with SanosClient(live_server.url, "admin", "1234", timeout=0.5) as impatient:
        with pytest.raises(ConnectionFailed) as raised:
            impatient.take_snapshot(volume.id, "slow")
        assert "may or may not have been made" in raised.value.message
    assert retries(caplog) == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the array went on and made it: repeating would fail
        if "slow" in [s.name for s in client.snapshots(volume.id).snapshots]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the slow snapshot never appeared")
    client.set_change_latency(0)
