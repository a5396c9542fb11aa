"""The exporter against OpenSAN's virtual array, served live, over SANOS and over XEVO: the
server's own names, one login, the deadline, an array stopped in mid-scrape and restarted."""

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

from opensan.client import Api, SanosClient
from opensan.exporter.scraper import Scraper
from opensan.exporter.source import SanosSource, XevoSource, open_source

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
ACCOUNT = "user"
VOLUMES = {Api.SANOS: "/rest/storage/volumeinfo", Api.XEVO: "/rest/v2/storage/block/volumes"}
# XEVO's reads that also need the volume list: its LUN mappings name their volumes.
NEEDS_VOLUMES = {Api.SANOS: set(), Api.XEVO: {"/rest/v2/dataTransfer/targets/{id}/luns/"}}
# What XEVO's API does not give (docs/monitoring.md): disks, events, the system's clock, the
# controllers, a pool's health, status, capacity and disks; its sensors have no ID or location
# (test_a_xevo_arrays_hardware_is_its_health_and_readings compares them by name).
NOT_IN_XEVO = ("opensan_sensor_", "opensan_disk_", "opensan_events_",
               "opensan_controller_", "opensan_start_time_", "opensan_array_time_",
               "opensan_pool_health", "opensan_pool_status", "opensan_pool_capacity_",
               "opensan_pool_used_", "opensan_pool_free_", "opensan_pool_disks")
BOTH = pytest.mark.parametrize("api", list(Api))
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


def scrape_until_fresh(scraper: Scraper) -> Samples:
    """A scrape with every endpoint answered (on a loaded machine, the first scrape's login and
    reads may take longer than a short deadline: their late answers come in the next ones)."""
    for _ in range(50):
        found = scrape(scraper)
        if set(stale(found).values()) == {0}:
            return found
        time.sleep(0.2)
    raise AssertionError(f"still stale: {stale(found)}")


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


def exporter(url: str, deadline: float = 5.0, timeout: float | None = None,
             api: Api = Api.SANOS, password: str = PASSWORD) -> Scraper:
    """A scraper; the SDK waits `timeout` for an answer (default: the deadline)."""
    kind = XevoSource if api is Api.XEVO else SanosSource
    return Scraper(kind(url, ACCOUNT, password, timeout=timeout or deadline),
                   deadline=deadline, concurrency=4)


@BOTH
def test_the_names_labels_and_capacities_are_the_servers(live_server: LiveServer,
                                                         admin: SanosClient, api: Api) -> None:
    pool = admin.pools()[0]
    admin.create_volume(pool.id, "extra", 5)
    scraper = exporter(live_server.url, api=api)
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

    expected = {key for key in comparable(served)
                if api is Api.SANOS or not key[0].startswith(NOT_IN_XEVO)}
    # XEVO's sensors carry other labels: test_a_xevo_arrays_hardware_... compares them.
    shared = {key for key in comparable(found)
              if api is Api.SANOS or not key[0].startswith("opensan_sensor_")}
    assert shared == expected
    assert any(k[0] == "opensan_volume_capacity_bytes" for k in shared)
    for key in shared:
        if key[0] not in MOVING:
            assert found[key] == served[key], key
    # The one label the SANOS API cannot fill: the backend.
    (system,) = [k for k in found if k[0] == "opensan_system_info"]
    (own,) = [k for k in served if k[0] == "opensan_system_info"]
    assert dict(system[1]) == {**dict(own[1]), "backend": ""}
    assert value(found, "opensan_exporter_up") == 1
    assert set(stale(found).values()) == {0}


def sensor_states(found: Samples, named: Any) -> dict[tuple[str, str], str]:
    """(type, name as named(labels) gives it) -> the state each sensor is in."""
    return {(labels["type"], named(labels)): labels["state"]
            for family, label_pairs in found if family == "opensan_sensor_status"
            for labels in [dict(label_pairs)] if found[(family, label_pairs)] == 1}


def as_xevo_names(labels: dict[str, str]) -> str:
    """The name XEVO's hardware call gives a sensor: a controller's with its location first."""
    location, name = labels["location"], labels["name"]
    return f"{location} {name}" if location.startswith("Controller") else name


def test_a_xevo_arrays_hardware_is_its_health_and_readings(live_server: LiveServer,
                                                          admin: SanosClient) -> None:
    admin.pools()  # logs in
    with live_server.client() as http:
        token = {"Authorization": admin.token or ""}
        http.post("/rest/sim/sensor/sensor/fan-2/status/failed", headers=token).raise_for_status()
        served = samples(http.get("/metrics", headers=token).text)
    scraper = exporter(live_server.url, api=Api.XEVO)
    try:
        found = scrape(scraper)
    finally:
        scraper.close()
    xevo_states = sensor_states(found, lambda labels: labels["name"])
    assert xevo_states == sensor_states(served, as_xevo_names)
    assert "Failed" in xevo_states.values() and "Good" in xevo_states.values()
    for health in ("Good", "Degraded", "Failed"):
        assert value(found, "opensan_system_health", state=health) == \
            value(served, "opensan_system_health", state=health)
    for family in ("opensan_sensor_temperature_celsius", "opensan_sensor_voltage_volts",
                   "opensan_sensor_fan_speed_rpm"):
        readings = {dict(k[1])["name"]: v for k, v in found.items() if k[0] == family}
        good = [v for name, v in readings.items() if "Good" in (
            xevo_states.get((kind, name)) for kind in ("temperature", "voltage", "fan"))]
        assert good and all(v > 0 for v in good), family
        assert set(readings) == {as_xevo_names(dict(k[1])) for k in served if k[0] == family}


@BOTH
def test_one_login_across_many_scrapes(live_server: LiveServer, admin: SanosClient,
                                       api: Api) -> None:
    before = logins_of(admin, ACCOUNT)
    scraper = exporter(live_server.url, api=api)
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


@BOTH
def test_a_slow_endpoint_misses_the_deadline_and_is_served_stale(proxy: SlowProxy,
                                                                 admin: SanosClient,
                                                                 api: Api) -> None:
    # The SDK waits longer than the scrape: the read goes on past the deadline and answers late.
    scraper = exporter(proxy.url, deadline=0.5, timeout=10, api=api)
    slow = VOLUMES[api]
    try:
        fresh = scrape_until_fresh(scraper)
        sent = proxy.requests[slow]
        volume = admin.volumes()[0]
        admin.extend_volume(volume.id, volume.capacity_bytes // 2**30 + 1)
        proxy.delays[slow] = 2.0
        started = time.monotonic()
        late = scrape(scraper)
        assert time.monotonic() - started < 1.5
        again = scrape(scraper)  # the slow read is still running: not sent again
        proxy.delays.clear()
        time.sleep(2.0)
        caught_up = scrape(scraper)  # takes the late answer: sends no new read
    finally:
        scraper.close()
    capacity = ("opensan_volume_capacity_bytes", (("name", volume.name),
                                                  ("pool_id", str(volume.pool_id)),
                                                  ("volume_id", str(volume.id))))
    assert late[capacity] == fresh[capacity] == volume.capacity_bytes  # the last good value
    assert stale(late) == {**stale(fresh), slow: 1, **dict.fromkeys(NEEDS_VOLUMES[api], 1)}
    assert value(late, "opensan_exporter_up") == 1
    assert value(late, "opensan_exporter_endpoint_errors_total", endpoint=slow) == (
        value(fresh, "opensan_exporter_endpoint_errors_total", endpoint=slow) + 1)
    assert value(late, "opensan_exporter_endpoint_age_seconds", endpoint=slow) >= 0.5
    assert value(late, "opensan_exporter_endpoint_duration_seconds", endpoint=slow) >= 0.5
    assert stale(again)[slow] == 1
    # The late answer is taken when it comes: the extended capacity.
    assert stale(caught_up)[slow] == 0
    assert caught_up[capacity] == volume.capacity_bytes + 2**30
    assert value(caught_up, "opensan_exporter_logins_total") == 1
    # One GET of the list in all three scrapes: XEVO's mappings read, which needs it too, waits
    # for the volumes read's rather than sending one.
    assert proxy.requests[slow] == sent + 1


@BOTH
def test_an_array_slowed_down_by_sim_read_latency_is_served_stale_in_time(
        live_server: LiveServer, admin: SanosClient, api: Api) -> None:
    scraper = exporter(live_server.url, deadline=0.5, timeout=10, api=api)
    try:
        fresh = scrape_until_fresh(scraper)
        admin.set_read_latency(4000)  # every GET of the array answers 4 s late
        started = time.monotonic()
        slowed = scrape(scraper)
        took = time.monotonic() - started
        admin.set_read_latency(0)
        time.sleep(4.5)  # the reads under way answer, late
        caught_up = scrape_until_fresh(scraper)
    finally:
        admin.set_read_latency(0)
        scraper.close()
    assert took < 3  # the deadline (0.5 s), not the array, ends the scrape
    assert set(stale(slowed).values()) == {1}
    assert value(slowed, "opensan_exporter_up") == 0  # no endpoint answered this scrape
    array_families = {key: v for key, v in fresh.items() if not key[0].startswith(
        ("opensan_exporter_", "opensan_events_total"))}
    assert array_families
    assert {key: slowed[key] for key in array_families} == array_families  # the last good values
    assert value(caught_up, "opensan_exporter_up") == 1
    assert value(caught_up, "opensan_exporter_logins_total") == 1


def restart_on_the_same_port(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    port = server.port
    monkeypatch.setattr(conftest, "free_port", lambda: port)
    server.start()


@BOTH
def test_an_array_stopped_mid_scrape_then_restarted(
        live_server: LiveServer, proxy: SlowProxy, monkeypatch: pytest.MonkeyPatch,
        api: Api) -> None:
    # A deadline with room for the restarted array's first answers (a login's scrypt, cold
    # caches) while CI's other lane loads the machine: at 3 s one endpoint came late there.
    scraper = exporter(proxy.url, deadline=6.0, api=api)
    try:
        good = scrape(scraper)
        proxy.delays[""] = 0.5
        answer: dict[str, Any] = {}
        scraping = threading.Thread(target=lambda: answer.update(found=scrape(scraper)))
        scraping.start()
        time.sleep(0.2)  # every read is held at the proxy: the array stops under them
        live_server.kill()
        scraping.join(15)
        stopped = answer["found"]
        assert value(stopped, "opensan_exporter_up") == 0
        assert set(stale(stopped).values()) == {1}
        for key, figure in good.items():  # every value of the last good scrape is still served
            if not key[0].startswith("opensan_exporter_") and key[0] not in MOVING:
                assert stopped[key] == figure, key

        proxy.delays.clear()
        restart_on_the_same_port(live_server, monkeypatch)
        # Sessions outlive an OpenSAN restart; the array's clock moved past their idle time
        # ends them as a reboot of a real array does: the next read answers 401. XEVO's
        # refresh token (a week) renews the session then, with no login; past it, a login.
        with SanosClient(live_server.url, "admin", PASSWORD) as admin:
            admin.advance_clock(1801)
            before = logins_of(admin, ACCOUNT)
            recovered = scrape(scraper)
            assert logins_of(admin, ACCOUNT) == before + (api is Api.SANOS)
            assert value(recovered, "opensan_exporter_logins_total") == 1 + (api is Api.SANOS)
            admin.advance_clock(8 * 86400)
            relogged = scrape(scraper)
            assert logins_of(admin, ACCOUNT) == before + 1 + (api is Api.SANOS)
    finally:
        scraper.close()
    assert value(recovered, "opensan_exporter_up") == 1
    assert set(stale(recovered).values()) == {0}
    assert value(relogged, "opensan_exporter_up") == 1
    assert value(relogged, "opensan_exporter_logins_total") == 2 + (api is Api.SANOS)


def failed_logins(server: LiveServer, admin: SanosClient) -> float:
    with server.client() as http:
        text = http.get("/metrics", headers={"Authorization": admin.token or ""}).text
    return value(samples(text), "opensan_api_failed_logins_total")


@BOTH
def test_a_wrong_password_costs_one_failed_login_a_scrape(live_server: LiveServer,
                                                          admin: SanosClient, api: Api) -> None:
    admin.volumes()  # logged in
    before = failed_logins(live_server, admin)
    scraper = exporter(live_server.url, api=api, password="not-the-password")
    try:
        scrape(scraper)
        found = scrape(scraper)
    finally:
        scraper.close()
    assert failed_logins(live_server, admin) == before + 2
    assert value(found, "opensan_exporter_up") == 0
    assert not any(key[0].startswith("opensan_volume_") for key in found)
    assert value(found, "opensan_exporter_endpoint_errors_total", endpoint=VOLUMES[api]) == 2
    assert set(stale(found).values()) == {1}


def rendered(scraper: Scraper, openmetrics: bool) -> Samples:
    if openmetrics:
        text = scraper.render(openmetrics_latest, True).decode()
        assert text.endswith("# EOF\n") and text.count("# EOF") == 1
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in openmetrics_families(text) for s in family.samples}
    return samples(scraper.render(generate_latest, False).decode())


@BOTH
@pytest.mark.parametrize("openmetrics", [False, True], ids=["text", "openmetrics"])
def test_render_writes_what_collect_does_and_again_what_moved(
        live_server: LiveServer, admin: SanosClient, openmetrics: bool, api: Api) -> None:
    scraper = exporter(live_server.url, api=api)
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


def test_xevo_asks_for_each_list_once_a_scrape(proxy: SlowProxy, admin: SanosClient) -> None:
    """XEVO's reads share lists (targets and mappings both need each target's LUNs): one scrape
    sends each GET once, however many reads use it."""
    scraper = exporter(proxy.url, api=Api.XEVO)
    try:
        scrape(scraper)  # logs in
        proxy.requests.clear()
        found = scrape(scraper)
    finally:
        scraper.close()
    assert set(stale(found).values()) == {0}
    targets = admin.targets()
    assert targets and proxy.requests[f"/rest/v2/dataTransfer/targets/{targets[0].id}/luns/"] == 1
    assert set(proxy.requests.values()) == {1}, proxy.requests


@pytest.mark.parametrize(("forced", "read_over"), [(None, Api.SANOS), (Api.SANOS, Api.SANOS),
                                                  (Api.XEVO, Api.XEVO)])
def test_the_source_speaks_the_api_found_or_forced(live_server: LiveServer, forced: Api | None,
                                                   read_over: Api) -> None:
    """OpenSAN speaks both and is read over SANOS (more to read) unless XEVO is asked for."""
    scraper = Scraper(open_source(live_server.url, ACCOUNT, PASSWORD, api=forced), deadline=5,
                      concurrency=4)
    try:
        found = scrape_until_fresh(scraper)
    finally:
        scraper.close()
    assert VOLUMES[read_over] in stale(found) and VOLUMES[Api.XEVO if read_over is Api.SANOS
                                                          else Api.SANOS] not in stale(found)
    assert value(found, "opensan_exporter_logins_total") == 1
