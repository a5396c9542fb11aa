"""GET /metrics: who may read it, both formats, `promtool check metrics` on a real scrape, one
check per family, state sets, and counters that only grow whoever reads them."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import BACKEND, PASSWORD, SIMULATED, Api, Harness, LiveServer, assert_error
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from opensan.api.metrics import _Checksums, _Part, gzipped

Samples = dict[str, list[tuple[dict[str, str], float]]]
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
VOLUME = ("volume_id", "name", "pool_id")
POOL = ("pool_id", "name")
DISK = ("disk_id",)
IO = ("read_ops", "write_ops", "read_bytes", "write_bytes", "read_seconds", "write_seconds")


def samples_of(text: str) -> Samples:
    found: Samples = {}
    for family in parse_text(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def scrape(api: Api, accept: str | None = None) -> httpx.Response:
    response = api.get("/metrics", headers={"Accept": accept} if accept else None)
    assert response.status_code == 200, response.text
    return response


def scraped(api: Api) -> Samples:
    return samples_of(scrape(api).text)


# Who may read it

def test_metrics_are_never_open(anonymous: Api) -> None:
    assert_error(anonymous.get("/metrics"), 401)
    for wrong in ("nonsense", "Bearer nonsense", "Bearer"):
        assert_error(anonymous.get("/metrics", headers={"Authorization": wrong}), 401)


def test_any_logged_in_account_reads_them_by_header_bearer_or_cookie(harness: Harness,
                                                                    reader: Api) -> None:
    assert "text/plain" in scrape(reader).headers["content-type"]
    assert scrape(Api(harness.http, f"Bearer {reader.token}")).status_code == 200
    harness.http.cookies.clear()
    login = harness.http.post(f"/rest/login/account/user/password/{PASSWORD}")
    assert login.status_code == 200
    assert harness.http.get("/metrics").status_code == 200  # the session cookie alone


@pytest.fixture
def scraping_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "state", env={"OPENSAN_METRICS_TOKEN": "scrape-token-0123456789"})
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.mark.simulated("a live virtual array started with a scrape token")
def test_the_scrape_token_of_the_settings_reads_them_without_a_session(
        scraping_server: LiveServer) -> None:
    url = f"{scraping_server.url}/metrics"
    assert httpx.get(url, headers={"Authorization": "Bearer scrape-token-0123456789"}
                     ).status_code == 200
    assert httpx.get(url, headers={"Authorization": "scrape-token-0123456789"}).status_code == 200
    assert_error(httpx.get(url, headers={"Authorization": "Bearer scrape-token-012345678"}), 401)
    assert_error(httpx.get(url), 401)
    # The token opens /metrics only, not the API.
    assert_error(httpx.get(f"{scraping_server.url}/rest/storage/volumeinfo",
                           headers={"Authorization": "Bearer scrape-token-0123456789"}), 401)


# The formats

def test_promtool_checks_a_real_scrape(reader: Api, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (see .ci/run)"
    scrape(reader)  # so that the API's own families have samples too
    path = tmp_path / "scrape.txt"
    path.write_bytes(scrape(reader).content)
    with path.open("rb") as text:
        checked = subprocess.run([promtool, "check", "metrics"], stdin=text, capture_output=True,
                                 text=True, timeout=60)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr


def test_openmetrics_when_the_scraper_asks_for_it(reader: Api) -> None:
    response = scrape(reader, f"{OPENMETRICS},text/plain;q=0.5")
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n") and response.text.count("# EOF") == 1
    families = {f.name: f for f in parse_openmetrics(response.text)}  # strict: raises on a flaw
    assert families["opensan_disk_read_bytes"].type == "counter"
    assert families["opensan_disk_read_bytes"].unit == "bytes"
    assert families["opensan_tick_duration_seconds"].unit == "seconds"
    assert families["opensan_disk_health"].type == "gauge"
    assert families["opensan_system"].type == "info"
    assert families["opensan_api_request_duration_seconds"].type == "histogram"
    assert families["opensan_events"].type == "counter"
    assert {s.name for s in families["opensan_events"].samples} == {"opensan_events_total"}


def test_gzip_when_the_scraper_takes_it_and_the_same_families_either_way(reader: Api) -> None:
    zipped = scrape(reader, "text/plain")
    plain = reader.get("/metrics", headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    moving = ("opensan_api_", "opensan_array_time", "opensan_tick_", "opensan_backend_",
              "opensan_sessions")

    def steady(text: str) -> set[str]:
        return {line for line in text.splitlines() if not line.startswith(moving)
                and not line.startswith(tuple(f"# {word} {name}" for word in ("HELP", "TYPE")
                                              for name in moving))
                and "_total{" not in line and "_total " not in line}

    assert steady(zipped.text) == steady(plain.text)


def test_parts_compressed_apart_make_one_gzip_stream() -> None:
    texts = [b"# HELP a A.\n" * 1000, b"", "b{x=\"\u00e9\"} 1\n".encode(), bytes(range(256)) * 99]
    body = gzipped([_Part(text) for text in texts])
    assert gzip.decompress(body) == b"".join(texts)
    # One member, which a decoder that reads a single member (httpx, browsers) reads whole.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(body) == b"".join(texts) and decoder.eof
    assert decoder.unused_data == b""


def test_checksums_kept_from_the_last_answer_are_those_of_the_new_one() -> None:
    checksums = _Checksums()
    stays, moves = _Part(b"records\n" * 500), _Part(b"io 1\n")
    for parts in ([stays, moves], [stays, _Part(b"io 2\n")], [stays], [_Part(b"new"), stays]):
        text = b"".join(part.text for part in parts)
        assert checksums.of(parts) == (zlib.crc32(text), len(text))
        assert gzip.decompress(gzipped(parts, checksums)) == text


def test_a_changed_volume_shows_in_the_next_scrape_and_the_others_stay(admin: Api) -> None:
    """Each volume's lines are kept across changes and written again when it changes."""
    target, *others = admin.ok("GET", "/rest/storage/volumeinfo")
    before = scraped(admin)
    space = (target["snapshotSpaceBytes"] // 1024**3 + 1) * 1024**3  # grown: never below use
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{target['id']}/sizegb/{space // 1024**3}")
    pool_id = target["poolId"]
    created = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool_id}/name/metrics-new/"
                               "sizegb/1")
    after = scraped(admin)

    def by_volume(samples: Samples, family: str) -> dict[str, float]:
        return {labels["volume_id"]: value for labels, value in samples[family]}

    spaces = by_volume(after, "opensan_volume_snapshot_space_bytes")
    assert spaces[str(target["id"])] == space
    earlier = by_volume(before, "opensan_volume_snapshot_space_bytes")
    assert all(spaces[str(v["id"])] == earlier[str(v["id"])] for v in others)
    for family in ("opensan_volume_capacity_bytes", "opensan_volume_info",
                   "opensan_volume_mapped"):
        assert str(created["id"]) in by_volume(after, family), family
    admin.ok("POST", f"/rest/storage/deletevolume/vdid/{created['id']}")
    assert str(created["id"]) not in by_volume(scraped(admin), "opensan_volume_capacity_bytes")


# Every family, with its labels

# Backends that count each volume's I/O (docs/monitoring.md, "Performance counters by backend");
# every backend counts each disk's.
COUNTS_VOLUMES = BACKEND in ("simulated", "ceph")
# The test hosts of the Linux backend are VMs without hwmon sensors.
HAS_SENSORS = BACKEND != "linux"
# (sample name, its label names, whether this backend lacks it: then only the virtual array
# is checked for it)
FAMILIES: list[tuple[str, tuple[str, ...], bool]] = [
    ("opensan_system_info", ("model", "serial_number", "firmware_version", "system_name",
                             "backend"), False),
    ("opensan_system_health", ("state",), False),
    ("opensan_controller_info", ("controller", "serial_number", "status", "firmware_version"),
     False),
    ("opensan_controller_up", ("controller",), False),
    ("opensan_sensor_status", ("sensor_id", "enclosure_id", "location", "name", "type", "state"),
     not HAS_SENSORS),
    *[(f"opensan_sensor_{kind}", ("sensor_id", "enclosure_id", "location", "name"), True)
      for kind in ("temperature_celsius", "voltage_volts", "fan_speed_rpm", "charge_ratio")],
    ("opensan_disk_info", ("disk_id", "enclosure_id", "slot", "vendor", "model", "serial_number",
                           "firmware_version", "type", "interface_speed"), False),
    ("opensan_disk_capacity_bytes", DISK, False),
    ("opensan_disk_health", (*DISK, "state"), False),
    ("opensan_disk_status", (*DISK, "state"), False),
    ("opensan_disk_usage", (*DISK, "state"), False),
    ("opensan_disk_smart_supported", DISK, False),
    ("opensan_disk_temperature_celsius", DISK, True),
    ("opensan_disk_power_on_seconds", DISK, True),
    ("opensan_disk_pool_info", ("disk_id", "pool_id"), True),
    *[(f"opensan_disk_smart_attribute_{kind}", (*DISK, "attribute_id", "attribute"), True)
      for kind in ("value", "threshold", "raw", "failing")],
    ("opensan_pool_info", ("pool_id", "name", "raid_level", "provision"), False),
    *[(f"opensan_pool_{kind}", POOL, False)
      for kind in ("capacity_bytes", "used_bytes", "free_bytes", "disks", "volumes")],
    ("opensan_pool_health", (*POOL, "state"), False),
    ("opensan_pool_status", (*POOL, "state"), False),
    ("opensan_volume_info", (*VOLUME, "provision", "wwn", "cache_mode"), False),
    *[(f"opensan_volume_{kind}", VOLUME, False)
      for kind in ("capacity_bytes", "used_bytes", "snapshot_space_bytes", "snapshot_used_bytes",
                   "snapshots", "mapped")],
    ("opensan_volume_health", (*VOLUME, "state"), False),
    ("opensan_volume_status", (*VOLUME, "state"), False),
    *[(f"opensan_volume_{io}_total", VOLUME, not COUNTS_VOLUMES) for io in IO],
    *[(f"opensan_pool_{io}_total", POOL, not COUNTS_VOLUMES) for io in IO],
    *[(f"opensan_port_{io}_total", ("port", "controller"), True) for io in IO],
    *[(f"opensan_disk_{io}_total", DISK, False) for io in IO],
    ("opensan_io_counters_start_time_seconds", (), False),
    ("opensan_target_info", ("target_id", "type", "controller", "node", "iqn", "name"), False),
    ("opensan_target_luns", ("target_id",), False),
    ("opensan_lun_mapping_info", ("target_id", "lun", "volume_id", "snapshot_id", "permission",
                                  "hosts"), False),
    ("opensan_events_total", ("level",), False),
    *[(name, (), False) for name in (
        "opensan_sessions", "opensan_start_time_seconds", "opensan_array_time_seconds",
        "opensan_tick_duration_seconds_count", "opensan_tick_duration_seconds_sum",
        "opensan_tick_errors_total", "opensan_api_failed_logins_total")],
    ("opensan_backend_measurement_duration_seconds_count", ("operation",), False),
    ("opensan_backend_measurement_errors_total", ("operation",), False),
    ("opensan_api_requests_total", ("method", "endpoint", "status"), False),
    ("opensan_api_request_duration_seconds_bucket", ("method", "endpoint", "le"), False),
]


def test_every_family_is_there_with_its_labels(reader: Api) -> None:
    scrape(reader)  # the API's own families count this request
    samples = scraped(reader)
    problems = []
    for name, label_names, simulated_only in FAMILIES:
        if simulated_only and not SIMULATED:
            continue
        found = samples.get(name)
        if not found:
            problems.append(f"no samples of {name}")
        problems += [f"{name}: labels {sorted(labels)} or value {value}" for labels, value
                     in found or [] if set(labels) != set(label_names) or value < 0]
    assert not problems, "\n".join(problems)


def test_capacity_and_use_match_the_api(reader: Api) -> None:
    samples = scraped(reader)
    capacity = {labels["volume_id"]: value for labels, value in
                samples["opensan_volume_capacity_bytes"]}
    for volume in reader.ok("GET", "/rest/storage/volumeinfo"):
        assert capacity[str(volume["id"])] == volume["capacityBytes"]
    used = {labels["pool_id"]: value for labels, value in samples["opensan_pool_used_bytes"]}
    for pool in reader.ok("GET", "/rest/storage/poolinfo"):
        assert used[str(pool["id"])] == pool["usedBytes"]


def test_states_are_state_sets_with_one_current_state(reader: Api) -> None:
    samples = scraped(reader)
    disks = {d["id"]: d for d in reader.ok("GET", "/rest/storage/diskinfo")}
    for family in ("opensan_disk_health", "opensan_pool_health", "opensan_volume_status",
                   "opensan_system_health", *(["opensan_sensor_status"] if HAS_SENSORS else [])):
        current: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for labels, value in samples[family]:
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "state"))
            current.setdefault(key, [])
            if value == 1:
                current[key].append(labels["state"])
            else:
                assert value == 0
        assert all(len(states) == 1 for states in current.values()), family
    health = {labels["disk_id"]: labels["state"] for labels, value in
              samples["opensan_disk_health"] if value == 1}
    assert health == {str(i): d["health"] for i, d in disks.items()}


@pytest.mark.simulated("faults injected on the virtual array")
def test_a_failed_disk_and_fan_show_in_the_states(admin: Api) -> None:
    disk = next(d for d in admin.ok("GET", "/rest/storage/diskinfo") if d["usage"] == "RAID")
    admin.ok("POST", f"/rest/sim/faildisk/diskid/{disk['id']}")
    admin.ok("POST", "/rest/sim/sensor/sensor/fan-1/status/failed")
    samples = scraped(admin)
    assert (({"disk_id": str(disk["id"]), "state": "Failed"}, 1.0)
            in samples["opensan_disk_health"])
    fan = [labels["state"] for labels, value in samples["opensan_sensor_status"]
           if labels["sensor_id"] == "fan-1" and value == 1]
    assert fan == ["Failed"]
    assert ({"state": "Degraded"}, 1.0) in samples["opensan_system_health"]
    events = {labels["level"]: value for labels, value in samples["opensan_events_total"]}
    assert events["ERROR"] >= 2 and events["WARNING"] >= 1


# Counters

def _io(samples: Samples, noun: str) -> dict[str, float]:
    return {f"{io}:{sorted(labels.items())}": value for io in IO
            for labels, value in samples.get(f"opensan_{noun}_{io}_total", [])}


@pytest.mark.simulated("the simulated clock and the virtual array's host workload")
def test_counters_only_grow_and_two_readers_do_not_disturb_each_other(admin: Api,
                                                                      reader: Api) -> None:
    first = scraped(reader)
    admin.ok("POST", "/rest/sim/clock/seconds/600")
    by_admin, by_reader = scraped(admin), scraped(reader)
    for noun in ("volume", "pool", "disk", "port"):
        before, after = _io(first, noun), _io(by_reader, noun)
        assert before and before.keys() == after.keys()
        assert all(after[key] >= before[key] for key in before), noun
        # Reading does not reset anything: the other reader's scrape saw the same or less.
        assert all(_io(by_admin, noun)[key] <= after[key] for key in after), noun
    mapped = {labels["volume_id"] for labels, value in first["opensan_volume_mapped"] if value}
    earlier = _io(first, "volume")
    grown = [key for key, value in _io(by_reader, "volume").items() if value > earlier[key]]
    assert mapped and all(any(f"'volume_id', '{vid}'" in key for key in grown) for vid in mapped)


@pytest.mark.simulated("the virtual array's host workload")
def test_volume_counters_add_up_to_pools_and_ports(reader: Api) -> None:
    samples = scraped(reader)
    for io in ("read_ops", "write_ops", "read_bytes", "write_bytes"):
        volumes = sum(v for _l, v in samples[f"opensan_volume_{io}_total"])
        assert volumes == sum(v for _l, v in samples[f"opensan_pool_{io}_total"])
        assert volumes == sum(v for _l, v in samples[f"opensan_port_{io}_total"])


def test_the_api_counts_its_requests_and_failed_logins(anonymous: Api, reader: Api) -> None:
    def failed_logins() -> float:
        return scraped(reader)["opensan_api_failed_logins_total"][0][1]

    before = failed_logins()
    assert_error(anonymous.post("/rest/login/account/user/password/wrong-one"), 401)
    assert failed_logins() == before + 1
    refused = anonymous.post("/auth/get", data={"user": "user", "password": "wrong-one"})
    assert refused.status_code == 401  # XEVO's login counts too
    assert failed_logins() == before + 2
    reader.ok("GET", "/rest/storage/volumeinfo")
    requests = scraped(reader)["opensan_api_requests_total"]
    assert any(labels == {"method": "GET", "endpoint": "/rest/storage/volumeinfo",
                          "status": "200"} and value >= 1 for labels, value in requests)
    assert_error(anonymous.get("/no/such/path"), 404)
    endpoints = {labels["endpoint"] for labels, _v in scraped(reader)["opensan_api_requests_total"]}
    assert "(unmatched)" in endpoints and not any("such" in e for e in endpoints)
