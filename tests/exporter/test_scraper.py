"""The exporter against OpenSAN's virtual array, served live: the server's own names, one
login, the deadline, an array stopped in mid-scrape and restarted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import conftest
import pytest
from conftest import PASSWORD, LiveServer
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from slow_proxy import SlowProxy

from opensan.client import SanosClient
from opensan.exporter.scraper import Scraper
from opensan.exporter.source import SanosSource

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
ACCOUNT = "user"
VOLUMES = "/rest/storage/volumeinfo"
# What the SANOS API does not give (docs/monitoring.md lists them): the I/O counters, the
# server's own work, its sessions. Anything else the server serves, the exporter serves too.
NOT_IN_SANOS = ("opensan_api_", "opensan_tick_", "opensan_backend_measurement_",
                "opensan_sessions", "opensan_io_counters_", "opensan_volume_read_",
                "opensan_volume_write_", "opensan_pool_read_", "opensan_pool_write_",
                "opensan_disk_read_", "opensan_disk_write_", "opensan_port_")
# Figures the two read at different moments or count from different starts: the clock, the
# events, and the hardware's readings (which the array takes every second).
MOVING = ("opensan_array_time_seconds", "opensan_start_time_seconds", "opensan_events_total",
          "opensan_sensor_temperature_celsius", "opensan_sensor_voltage_volts",
          "opensan_sensor_fan_speed_rpm", "opensan_sensor_charge_ratio",
          "opensan_disk_temperature_celsius", "opensan_disk_power_on_seconds",
          "opensan_disk_smart_attribute_value", "opensan_disk_smart_attribute_raw")


def samples(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(scraper: Scraper) -> Samples:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(scraper)
    return samples(generate_latest(registry).decode())


def value(found: Samples, family: str, /, **labels: str) -> float:
    return found[(family, tuple(sorted(labels.items())))]


def stale(found: Samples) -> dict[str, float]:
    return {dict(key[1])["endpoint"]: v for key, v in found.items()
            if key[0] == "opensan_exporter_endpoint_stale"}


def logins_of(admin: SanosClient, account: str) -> int:
    return sum(1 for e in admin.events_since(0)
               if e.message.startswith(f"Account {account} logged in from"))


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[SanosClient]:
    with SanosClient(live_server.url, "admin", PASSWORD) as client:
        yield client


@pytest.fixture
def proxy(live_server: LiveServer) -> Iterator[SlowProxy]:
    with SlowProxy(live_server.port).running() as running:
        yield running


def exporter(url: str, deadline: float = 5.0, timeout: float | None = None) -> Scraper:
    """A scraper; the SDK waits `timeout` for an answer (default: the deadline)."""
    return Scraper(SanosSource(url, ACCOUNT, PASSWORD, timeout=timeout or deadline),
                   deadline=deadline, concurrency=4)


def test_the_names_labels_and_capacities_are_the_servers(live_server: LiveServer,
                                                         admin: SanosClient) -> None:
    pool = admin.pools()[0]
    admin.create_volume(pool.id, "extra", 5)
    scraper = exporter(live_server.url)
    try:
        found = scrape(scraper)
    finally:
        scraper.close()
    with live_server.client() as http:
        token = admin.token
        assert token
        served = samples(http.get("/metrics", headers={"Authorization": token}).text)

    def comparable(all_samples: Samples) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {key for key in all_samples if not key[0].startswith(NOT_IN_SANOS)
                and not key[0].startswith("opensan_exporter_")
                and not key[0].endswith("_created")
                and key[0] != "opensan_system_info"}

    assert comparable(found) == comparable(served)
    assert any(k[0] == "opensan_volume_capacity_bytes" for k in comparable(found))
    for key in comparable(found):
        if key[0] not in MOVING:
            assert found[key] == served[key], key
    # The one label the SANOS API cannot fill: the backend.
    (system,) = [k for k in found if k[0] == "opensan_system_info"]
    (own,) = [k for k in served if k[0] == "opensan_system_info"]
    assert dict(system[1]) == {**dict(own[1]), "backend": ""}
    assert value(found, "opensan_exporter_up") == 1
    assert set(stale(found).values()) == {0}


def test_one_login_across_many_scrapes(live_server: LiveServer, admin: SanosClient) -> None:
    before = logins_of(admin, ACCOUNT)
    scraper = exporter(live_server.url)
    try:
        for _ in range(15):
            found = scrape(scraper)
            assert value(found, "opensan_exporter_up") == 1
    finally:
        scraper.close()
    assert logins_of(admin, ACCOUNT) == before + 1
    assert value(found, "opensan_exporter_logins_total") == 1
    assert value(found, "opensan_exporter_scrapes_total") == 15


def test_events_are_counted_from_the_exporters_start(live_server: LiveServer,
                                                     admin: SanosClient) -> None:
    scraper = exporter(live_server.url)
    try:
        first = scrape(scraper)
        disk = next(d for d in admin.disks() if d.usage == "RAID")
        admin.fail_disk(disk.id)
        after = scrape(scraper)
    finally:
        scraper.close()
    assert {value(first, "opensan_events_total", level=level)
            for level in ("INFO", "WARNING", "ERROR")} == {0}
    assert value(after, "opensan_events_total", level="ERROR") >= 1
    assert value(after, "opensan_disk_health", disk_id=str(disk.id), state="Failed") == 1


def test_a_slow_endpoint_misses_the_deadline_and_is_served_stale(proxy: SlowProxy,
                                                                 admin: SanosClient) -> None:
    # The SDK waits longer than the scrape: the read goes on past the deadline and answers late.
    scraper = exporter(proxy.url, deadline=0.5, timeout=10)
    try:
        fresh = scrape(scraper)
        volume = admin.volumes()[0]
        admin.extend_volume(volume.id, volume.capacity_bytes // 2**30 + 1)
        proxy.delays[VOLUMES] = 2.0
        started = time.monotonic()
        late = scrape(scraper)
        assert time.monotonic() - started < 1.5
        again = scrape(scraper)  # the slow read is still running: not sent again
        assert proxy.requests[VOLUMES] == 1
        proxy.delays.clear()
        time.sleep(2.0)
        caught_up = scrape(scraper)
    finally:
        scraper.close()
    capacity = ("opensan_volume_capacity_bytes", (("name", volume.name),
                                                  ("pool_id", str(volume.pool_id)),
                                                  ("volume_id", str(volume.id))))
    assert late[capacity] == fresh[capacity] == volume.capacity_bytes  # the last good value
    assert stale(late) == {**stale(fresh), VOLUMES: 1}
    assert value(late, "opensan_exporter_up") == 1
    assert value(late, "opensan_exporter_endpoint_errors_total", endpoint=VOLUMES) == 1
    assert value(late, "opensan_exporter_endpoint_age_seconds", endpoint=VOLUMES) >= 0.5
    assert value(late, "opensan_exporter_endpoint_duration_seconds", endpoint=VOLUMES) >= 0.5
    assert stale(again)[VOLUMES] == 1
    # The late answer is taken when it comes: the extended capacity.
    assert stale(caught_up)[VOLUMES] == 0
    assert caught_up[capacity] == volume.capacity_bytes + 2**30
    assert value(caught_up, "opensan_exporter_logins_total") == 1


def restart_on_the_same_port(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    port = server.port
    monkeypatch.setattr(conftest, "free_port", lambda: port)
    server.start()


def test_an_array_stopped_mid_scrape_then_restarted(
        live_server: LiveServer, proxy: SlowProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    scraper = exporter(proxy.url, deadline=3.0)
    try:
        good = scrape(scraper)
        proxy.delays[""] = 0.5
        answer: dict[str, Any] = {}
        scraping = threading.Thread(target=lambda: answer.update(found=scrape(scraper)))
        scraping.start()
        time.sleep(0.2)  # every read is held at the proxy: the array stops under them
        live_server.kill()
        scraping.join(10)
        stopped = answer["found"]
        assert value(stopped, "opensan_exporter_up") == 0
        assert set(stale(stopped).values()) == {1}
        for key, figure in good.items():  # every value of the last good scrape is still served
            if not key[0].startswith("opensan_exporter_") and key[0] not in MOVING:
                assert stopped[key] == figure, key

        proxy.delays.clear()
        restart_on_the_same_port(live_server, monkeypatch)
        # Sessions outlive an OpenSAN restart; the array's clock moved past their idle time
        # ends them as a reboot of a real array does: the next read answers 401.
        with SanosClient(live_server.url, "admin", PASSWORD) as admin:
            admin.advance_clock(1801)
            before = logins_of(admin, ACCOUNT)
            recovered = scrape(scraper)
            assert logins_of(admin, ACCOUNT) == before + 1
    finally:
        scraper.close()
    assert value(recovered, "opensan_exporter_up") == 1
    assert set(stale(recovered).values()) == {0}
    assert value(recovered, "opensan_exporter_logins_total") == 2


def failed_logins(server: LiveServer, admin: SanosClient) -> float:
    with server.client() as http:
        text = http.get("/metrics", headers={"Authorization": admin.token or ""}).text
    return value(samples(text), "opensan_api_failed_logins_total")


def test_a_wrong_password_costs_one_failed_login_a_scrape(live_server: LiveServer,
                                                          admin: SanosClient) -> None:
    admin.volumes()  # logged in
    before = failed_logins(live_server, admin)
    scraper = Scraper(SanosSource(live_server.url, ACCOUNT, "not-the-password"), deadline=5,
                      concurrency=4)
    try:
        scrape(scraper)
        found = scrape(scraper)
    finally:
        scraper.close()
    assert failed_logins(live_server, admin) == before + 2
    assert value(found, "opensan_exporter_up") == 0
    assert not any(key[0].startswith("opensan_volume_") for key in found)
    assert value(found, "opensan_exporter_endpoint_errors_total", endpoint=VOLUMES) == 2
    assert set(stale(found).values()) == {1}


def rendered(scraper: Scraper, openmetrics: bool) -> Samples:
    if openmetrics:
        text = scraper.render(openmetrics_latest, True).decode()
        assert text.endswith("# EOF\n") and text.count("# EOF") == 1
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in openmetrics_families(text) for s in family.samples}
    return samples(scraper.render(generate_latest, False).decode())


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text", "openmetrics"])
def test_render_writes_what_collect_does_and_again_what_moved(
        live_server: LiveServer, admin: SanosClient, openmetrics: bool) -> None:
    scraper = exporter(live_server.url)
    volume, other = admin.volumes()[:2]
    try:
        collected = scrape(scraper)
        first = rendered(scraper, openmetrics)
        admin.extend_volume(volume.id, volume.capacity_bytes // 2**30 + 1)
        moved = rendered(scraper, openmetrics)
    finally:
        scraper.close()

    def capacity(found: Samples, v: Any) -> float:
        return value(found, "opensan_volume_capacity_bytes", volume_id=str(v.id), name=v.name,
                     pool_id=str(v.pool_id))

    def array_part(found: Samples) -> Samples:
        return {k: v for k, v in found.items() if not k[0].startswith("opensan_exporter_")
                and k[0] not in MOVING}

    assert array_part(first) == array_part(collected)
    assert capacity(moved, volume) == volume.capacity_bytes + 2**30
    assert capacity(moved, other) == capacity(first, other) == other.capacity_bytes
    assert value(moved, "opensan_exporter_scrapes_total") == 3
