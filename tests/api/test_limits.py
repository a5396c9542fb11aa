"""The login gate (api/limits.py): a login storm cannot take the server's memory and cores."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from unittest import mock

import httpx
import pytest
from conftest import PASSWORD, local_array

from opensan.api.app import create_app
from opensan.api.limits import LoginGate, ServerLimits
from opensan.domain.errors import Busy
from opensan.service import accounts as accounts_module


def test_the_gate_runs_at_most_its_concurrency_and_refuses_beyond_its_queue() -> None:
    async def storm() -> tuple[int, int, list[str]]:
        gate = LoginGate(concurrency=2, queue=3, wait_seconds=5)
        running = peak = 0
        outcomes: list[str] = []

        async def attempt() -> None:
            nonlocal running, peak
            try:
                async with gate.slot():
                    running += 1
                    peak = max(peak, running)
                    await asyncio.sleep(0.05)
                    running -= 1
                outcomes.append("done")
            except Busy as busy:
                assert busy.retry_after_seconds == 1 and busy.http_status == 503
                outcomes.append("busy")

        await asyncio.gather(*(attempt() for _ in range(10)))
        return peak, running, outcomes

    peak, running, outcomes = asyncio.run(storm())
    assert (peak, running) == (2, 0)
    assert outcomes.count("done") == 5 and outcomes.count("busy") == 5  # 2 run, 3 wait


def test_a_wait_longer_than_the_gate_allows_is_refused() -> None:
    async def late() -> str:
        gate = LoginGate(concurrency=1, queue=5, wait_seconds=0.05)
        async with gate.slot():
            try:
                async with gate.slot():
                    return "entered"
            except Busy:
                return "busy"

    assert asyncio.run(late()) == "busy"


def test_during_a_login_storm_checks_are_bounded_and_a_logged_in_read_is_served(
        tmp_path: Path) -> None:
    """The audit's 500 concurrent logins ran 40 scrypt checks at once (992 MB)."""
    concurrent = peak = 0
    lock = threading.Lock()
    matches = accounts_module.password_matches

    def counted(password: str, stored: str) -> bool:
        nonlocal concurrent, peak
        with lock:
            concurrent += 1
            peak = max(peak, concurrent)
        time.sleep(0.05)
        try:
            return matches(password, stored)
        finally:
            with lock:
                concurrent -= 1

    async def storm(app: object) -> tuple[list[int], float, int]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://array") as http:
            login = await http.post(f"/rest/login/account/admin/password/{PASSWORD}")
            token = login.json()["accessToken"]
            logins = [http.post(f"/rest/login/account/user/password/{PASSWORD}",
                                headers={"x-client": str(i)}) for i in range(60)]
            started = time.monotonic()
            pending = asyncio.gather(*logins)
            await asyncio.sleep(0.1)  # the storm is on
            read = await http.get("/rest/storage/volumeinfo", headers={"Authorization": token})
            read_seconds = time.monotonic() - started
            answers = await pending
            return [a.status_code for a in answers], read_seconds, read.status_code

    limits = ServerLimits(login_concurrency=2, login_queue=20, login_wait_seconds=30)
    with local_array(tmp_path) as array, \
            mock.patch.object(accounts_module, "password_matches", counted):
        app = create_app(array.service, limits=limits)
        statuses, read_seconds, read_status = asyncio.run(storm(app))
    assert peak <= 2
    assert read_status == 200
    assert statuses.count(200) == 22 and statuses.count(503) == 38  # 2 checked, 20 waited
    assert read_seconds < 60 * 0.05, read_seconds  # not behind the storm's checks


@pytest.mark.parametrize("concurrency", [0, 65])
def test_the_gate_setting_is_bounded(concurrency: int) -> None:
    from pydantic import ValidationError

    from opensan.config import Settings

    with pytest.raises(ValidationError):
        Settings(login_concurrency=concurrency)
