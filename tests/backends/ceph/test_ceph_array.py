"""The Ceph backend end to end: two `opensan serve --backend ceph` processes on one throwaway
Ceph cluster are the two controllers of one array; checked through the API and with real iSCSI
initiators (qemu-io) on both controllers' portals."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import rados
import rbd
from conftest import (
    CEPH_MOVING_FIGURES,
    LINUX_PASSWORD,
    Api,
    LiveServer,
    array_state,
    assert_error,
    served,
    set_passwords,
)
from data_path import eventually, pattern_ok, xevo_lun_and_clones_reach_an_initiator
from prometheus_client.parser import text_string_to_metric_families
from support import CephHost, ceph_host

from opensan.backends.ceph.config import connect_to
from opensan.config import Settings

HOST = "iqn.1994-05.com.redhat:ceph-host"
MIB = 1024**2


@dataclass
class Controller:
    number: int
    server: LiveServer
    portal: str
    http: httpx.Client
    admin: Api

    def qemu_io(self, iqn: str, lun: int, command: str,
                readonly: bool = False) -> subprocess.CompletedProcess[str]:
        """qemu-io on SANOS LUN `lun` of this controller's portal (tgt's LUN lun + 1)."""
        options = (f"driver=iscsi,transport=tcp,portal={self.portal},target={iqn},"
                   f"lun={lun + 1},initiator-name={HOST}")
        argv = ["qemu-io", *(["-r"] if readonly else []), "--image-opts", options, "-c", command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@dataclass
class CephArray:
    host: CephHost
    controllers: tuple[Controller, Controller]

    @property
    def one(self) -> Controller:
        return self.controllers[0]

    @property
    def two(self) -> Controller:
        return self.controllers[1]


@pytest.fixture
def ceph_array(tmp_path: Path) -> Iterator[CephArray]:
    """Both controllers of a new, empty array, as live servers."""
    with ceph_host(tmp_path) as host:
        settings = [Settings(state_dir=tmp_path / f"state{n}", backend="ceph",
                             backend_config=config)
                    for n, config in enumerate(host.configs, start=1)]
        set_passwords(settings[0])  # the records are shared: once for both controllers
        with served(settings[0]) as first, served(settings[1]) as second:
            controllers = []
            for number, server in enumerate((first, second), start=1):
                http = server.client(timeout=60)
                controllers.append(Controller(number, server, host.portals[number - 1], http,
                                              Api(http).login("admin", LINUX_PASSWORD)))
            try:
                yield CephArray(host, (controllers[0], controllers[1]))
            finally:
                for controller in controllers:
                    controller.http.close()


def configuration(api: Api) -> dict[str, Any]:
    """The array as one controller shows it, without what `ceph df` and `rbd du` measure: each
    controller reads those at its own moment."""
    return array_state(api, CEPH_MOVING_FIGURES)


def make_pool(api: Api, name: str = "p1") -> dict[str, Any]:
    disks = api.ok("GET", "/rest/storage/diskinfo")
    ids = ",".join(str(d["id"]) for d in disks)
    return dict(api.ok("POST", f"/rest/storage/createpool/name/{name}/raidlevel/5/diskids/{ids}"))


def node0_target(api: Api, controller: int) -> dict[str, Any]:
    """Target dev0.ctr<controller> (a new array has it), created if it is not there."""
    for target in api.ok("GET", "/rest/storage/availtarget"):
        if target["controller"] == controller and target["node"] == 0:
            return dict(target)
    return dict(api.ok("POST", f"/rest/storage/createtarget/controller/{controller}/node/0"))


def exported_volume(array: CephArray, size_gb: int = 1) -> tuple[dict[str, Any], list[str]]:
    """A volume with snapshot space, mapped as LUN 0 of node 0 on both controllers; the IQNs."""
    api = array.one.admin
    pool = make_pool(api)
    volume = api.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/"
                            f"sizegb/{size_gb}")
    api.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    iqns = []
    for controller in (1, 2):
        target = node0_target(api, controller)
        api.ok("POST", f"/rest/storage/maplun/targetid/{target['id']}/lun/0/vdid/{volume['id']}/"
                       "permission/rw")
        iqns.append(target["iqn"])
    return volume, iqns


def at_the_same_moment(requests: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Send the requests from threads released together."""
    start = threading.Barrier(len(requests))
    results: list[httpx.Response] = []

    def send(request: Callable[[], httpx.Response]) -> None:
        start.wait()
        results.append(request())

    threads = [threading.Thread(target=send, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_objects_are_the_clusters(ceph_array: CephArray) -> None:
    api = ceph_array.one.admin
    disks = api.ok("GET", "/rest/storage/diskinfo")
    osds = ceph_array.host.cluster.ceph("osd", "dump")["osds"]
    assert sorted(d["slot"] for d in disks) == sorted(o["osd"] + 1 for o in osds)
    assert {d["serialNumber"] for d in disks} == {o["uuid"] for o in osds}
    assert all(d["status"] == "Online" and d["usage"] == "RAID" for d in disks)
    pool = make_pool(api)
    assert pool["raidLevel"] == "Replica 2" and pool["type"] == "Thin"
    name = f"{ceph_array.host.pool_prefix}p1"
    detail = ceph_array.host.cluster.ceph("osd", "pool", "get", name, "size")
    assert detail["size"] == 2
    volume = api.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/sizegb/2")
    images = subprocess.run(["rbd", "-c", str(ceph_array.host.cluster.conf_path), "ls", name],
                            capture_output=True, text=True, check=True).stdout.split()
    assert images == [f"vol-{volume['id']}"]
    # Ceph cannot make a thick volume; it says so instead of pretending.
    refused = assert_error(api.post(f"/rest/storage/createvolume/poolid/{pool['id']}/name/v2/"
                                    "sizegb/1/provision/thick"), 501)
    assert "thin" in refused["message"]
    disk_ids = ",".join(str(d["id"]) for d in disks)
    assert_error(api.post(f"/rest/storage/createpool/name/p2/raidlevel/0/diskids/{disk_ids}/"
                          "type/thick"), 501)
    info = api.ok("GET", "/rest/dashboard/systeminfo")
    assert info["controllerMode"] == "Dual Controller" and info["systemHealth"] == "Good"
    sensors = api.ok("GET", "/rest/dashboard/hwmonitor")["enclosures"][0]["sensors"]
    assert sensors[0]["value"] == "HEALTH_OK" and len(sensors) == 1 + len(osds)


def test_a_change_through_one_controller_is_seen_through_the_other(ceph_array: CephArray) -> None:
    one, two = ceph_array.one.admin, ceph_array.two.admin
    pool = make_pool(one)
    volume = two.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/sizegb/1")
    # No waiting: the very next request to the other controller shows it.
    assert [v["id"] for v in one.ok("GET", "/rest/storage/volumeinfo")] == [volume["id"]]
    one.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    one.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
    assert two.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")["snapshots"][0][
        "name"] == "s1"
    assert configuration(one) == configuration(two)
    events_one = one.ok("GET", "/rest/log/list/1")
    assert events_one == two.ok("GET", "/rest/log/list/1")


def test_a_session_is_good_on_both_controllers_until_it_ends(ceph_array: CephArray) -> None:
    token = ceph_array.one.admin.token
    on_two = Api(ceph_array.two.http, token)
    assert on_two.ok("GET", "/rest/storage/poolinfo") == []
    on_two.ok("POST", "/rest/logout")
    assert_error(ceph_array.one.admin.get("/rest/storage/poolinfo"), 401)


def test_conflicting_changes_at_the_same_moment_cannot_both_win(ceph_array: CephArray) -> None:
    one, two = ceph_array.one.admin, ceph_array.two.admin
    pool = make_pool(one)
    for attempt in range(5):
        path = f"/rest/storage/createvolume/poolid/{pool['id']}/name/same-{attempt}/sizegb/1"
        results = at_the_same_moment([lambda api=api, path=path: api.post(path)
                                      for api in (one, two)])
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        named = [v for v in two.ok("GET", "/rest/storage/volumeinfo")
                 if v["name"] == f"same-{attempt}"]
        assert len(named) == 1
    # The same LUN of one target for two volumes: one mapping, never both.
    target = node0_target(one, 1)
    volumes = [v["id"] for v in one.ok("GET", "/rest/storage/volumeinfo")][:2]
    outcomes = at_the_same_moment([
        lambda api=api, vid=vid: api.post(f"/rest/storage/maplun/targetid/{target['id']}/lun/3/"
                                          f"vdid/{vid}/permission/rw")
        for api, vid in zip((one, two), volumes, strict=True)])
    assert sorted(r.status_code for r in outcomes) == [200, 409]
    mappings = [m for m in one.ok("GET", "/rest/storage/lunmappinginfo") if m["lun"] == 3]
    assert len(mappings) == 1


def test_data_through_both_controllers_snapshots_and_rollback(ceph_array: CephArray) -> None:
    api = ceph_array.one.admin
    volume, (iqn_one, iqn_two) = exported_volume(ceph_array)
    one, two = ceph_array.one, ceph_array.two
    # Controller 2 serves its target once it has taken in the mapping (at its next tick).
    eventually(lambda: pattern_ok(two.qemu_io(iqn_two, 0, "read 0 4k")), 15,
               "controller 2 exports the LUN")
    assert pattern_ok(one.qemu_io(iqn_one, 0, "write -P 0xab 0 4M"))
    assert pattern_ok(two.qemu_io(iqn_two, 0, "read -P 0xab 0 4M"))
    assert pattern_ok(two.qemu_io(iqn_two, 0, "write -P 0xcd 4M 4M"))
    assert pattern_ok(one.qemu_io(iqn_one, 0, "read -P 0xcd 4M 4M"))

    snapshot = api.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/before")
    assert pattern_ok(one.qemu_io(iqn_one, 0, "write -P 0xef 0 4M"))
    targets = {t["controller"]: t for t in api.ok("GET", "/rest/storage/availtarget")}
    api.ok("POST", f"/rest/storage/mapsnapshot/targetid/{targets[1]['id']}/lun/1/"
                   f"snapid/{snapshot['id']}")
    # The snapshot's LUN shows the point in time, and refuses writes.
    assert pattern_ok(one.qemu_io(iqn_one, 1, "read -P 0xab 0 4M", readonly=True))
    assert "write protected" in one.qemu_io(iqn_one, 1, "write -P 0x11 0 4k").stderr
    assert pattern_ok(one.qemu_io(iqn_one, 0, "read -P 0xef 0 4M"))  # the volume now
    # What rbd du says the snapshot holds, as the array measures it (every 2 s).
    def snapshot_holds_the_overwritten_data() -> bool:
        used = api.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
        return 0 < used["snapshotUsedBytes"] <= 1024**3
    eventually(snapshot_holds_the_overwritten_data, 15, "the snapshot's use is measured")

    # Rolled back while controller 2 still exports the volume: its tgtd gives up the image's
    # exclusive lock, and both paths then read the old data.
    api.ok("POST", f"/rest/storage/unmaplun/targetid/{targets[1]['id']}/lun/1")
    api.ok("POST", f"/rest/storage/rollback/snapid/{snapshot['id']}")
    assert pattern_ok(one.qemu_io(iqn_one, 0, "read -P 0xab 0 4M"))
    assert pattern_ok(two.qemu_io(iqn_two, 0, "read -P 0xab 0 4M"))

    # Grown through controller 1: both controllers' LUNs grow (tgt reads the size when a LUN
    # is made, so each server makes its LUN again).
    api.ok("POST", f"/rest/storage/extendvolume/vdid/{volume['id']}/sizegb/2")
    for controller, iqn in ((one, iqn_one), (two, iqn_two)):
        eventually(lambda c=controller, i=iqn: "2 GiB" in c.qemu_io(i, 0, "length").stdout, 15,
                   f"controller {controller.number} serves the grown LUN")

    # Rolled back to the snapshot taken before the extend: the volume keeps its 2 GiB (RBD
    # gives the image the snapshot's size) and the data is the snapshot's.
    api.ok("POST", f"/rest/storage/rollback/snapid/{snapshot['id']}")
    assert "2 GiB" in one.qemu_io(iqn_one, 0, "length").stdout
    assert pattern_ok(one.qemu_io(iqn_one, 0, "read -P 0xab 0 4M"))


def io_counters(api: Api, noun: str, key: str) -> dict[str, dict[str, float]]:
    """The opensan_<noun>_*_total counters of a /metrics scrape: {id: {field: value}}."""
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(api.get("/metrics").text):
        prefix = f"opensan_{noun}_"
        if not family.name.startswith(prefix) or family.type != "counter":
            continue
        for sample in family.samples:
            field = sample.name.removeprefix(prefix).removesuffix("_total")
            found.setdefault(sample.labels[key], {})[field] = sample.value
    return found


def test_writes_and_reads_through_a_lun_show_in_the_volume_and_osd_counters(
        ceph_array: CephArray) -> None:
    api, one = ceph_array.one.admin, ceph_array.one
    volume, (iqn, _) = exported_volume(ceph_array)
    vid = str(volume["id"])
    eventually(lambda: vid in io_counters(api, "volume", "volume_id"), 15,
               "the volume is counted")
    before = io_counters(api, "volume", "volume_id")[vid]
    disks_before = io_counters(api, "disk", "disk_id")
    assert set(disks_before) == {str(d["id"]) for d in api.ok("GET", "/rest/storage/diskinfo")}

    assert pattern_ok(one.qemu_io(iqn, 0, "write -P 0xab 0 4M"))
    assert pattern_ok(one.qemu_io(iqn, 0, "read -P 0xab 0 4M"))

    def grown() -> bool:
        now = io_counters(api, "volume", "volume_id")[vid]
        return (now["write_bytes"] - before["write_bytes"] >= 4 * MIB
                and now["read_bytes"] - before["read_bytes"] >= 4 * MIB)

    # The manager sums the OSDs' reports every second (`mgr stats period` of the cluster).
    eventually(grown, 30, "the image's counters show the 4 MiB written and read")
    after = io_counters(api, "volume", "volume_id")[vid]
    assert after["write_ops"] > before["write_ops"] and after["read_ops"] > before["read_ops"]
    assert after["write_seconds"] > before["write_seconds"] > -1
    # The other controller reads the same counters from the manager.
    eventually(lambda: io_counters(ceph_array.two.admin, "volume", "volume_id")[vid][
        "write_bytes"] >= after["write_bytes"], 15, "controller 2 sees the writes")
    # The OSDs together wrote the data twice (a RAID 5 pool is Replica 2) and served the reads.
    disks = io_counters(api, "disk", "disk_id")
    written = sum(d["write_bytes"] - disks_before[k]["write_bytes"] for k, d in disks.items())
    read = sum(d["read_bytes"] - disks_before[k]["read_bytes"] for k, d in disks.items())
    assert written >= 2 * 4 * MIB and read >= 4 * MIB
    # The same figures in the performance extensions: the volume and every OSD are counted.
    counted = {v["volumeId"] for v in api.ok("GET", "/rest/performance/volume")}
    assert volume["id"] in counted
    assert {str(d["diskId"]) for d in api.ok("GET", "/rest/performance/disk")} == set(disks)


def test_an_osd_stopped_and_started_shows_in_health_and_events(ceph_array: CephArray) -> None:
    api = ceph_array.one.admin
    cluster = ceph_array.host.cluster
    make_pool(api)
    osd = cluster.osd_ids[-1]
    cluster.stop_osd(osd)
    try:
        def disk_down() -> bool:
            disks = ceph_array.two.admin.ok("GET", "/rest/storage/diskinfo")
            return any(d["slot"] == osd + 1 and d["health"] == "Failed" for d in disks)

        eventually(disk_down, 30, "the OSD's disk fails")
        info = ceph_array.two.admin.ok("GET", "/rest/dashboard/systeminfo")
        assert info["systemHealth"] in ("Degraded", "Failed")
        assert api.ok("GET", "/rest/storage/poolinfo")[0]["health"] == "Degraded"

        def sensor_failed() -> bool:  # each controller reads the cluster once a tick
            sensors = api.ok("GET", "/rest/dashboard/hwmonitor")["enclosures"][0]["sensors"]
            return any(s["name"] == f"osd.{osd}" and s["status"] == "Failed" for s in sensors)

        eventually(sensor_failed, 10, "controller 1's sensor of the OSD fails")
    finally:
        cluster.start_osd(osd)

    def messages() -> list[tuple[str, str]]:
        events = api.ok("GET", "/rest/log/list/1")["events"]
        return [(e["level"], e["message"]) for e in events]

    def cleared() -> bool:
        return any(level == "INFO" and "Cleared: OSD_DOWN" in message
                   for level, message in messages())

    # Peering again takes a few seconds here, longer on a loaded machine.
    eventually(cleared, 90, "an INFO event that OSD_DOWN cleared")
    eventually(lambda: api.ok("GET", "/rest/dashboard/systeminfo")["systemHealth"] == "Good",
               30, "the system is healthy again")
    seen = messages()
    assert any(level == "WARNING" and message.startswith("OSD_DOWN") for level, message in seen)
    assert any(level == "ERROR" and f"osd.{osd}" in message for level, message in seen)
    assert any(level == "INFO" and f"osd.{osd}" in message and "Good" in message
               for level, message in seen)
    # One event per change of a check, not one per controller.
    raised = [message for _, message in seen if message.startswith("OSD_DOWN")]
    assert len(raised) == len(set(raised))


def test_a_controller_killed_mid_change_loses_nothing_and_leaves_nothing(
        ceph_array: CephArray) -> None:
    """kill -9 of controller 1 at random moments of a stream of changes: after its restart every
    volume in the records has its image and no image is left without a record, and controller 2
    served changes all along (after the killed one's lock lease ran out)."""
    pool = make_pool(ceph_array.one.admin)
    ceph_pool = f"{ceph_array.host.pool_prefix}p1"
    conf = str(ceph_array.host.cluster.conf_path)
    rng = random.Random(5)
    for round_number in range(3):
        stop = threading.Event()

        def stream(api: Api = ceph_array.one.admin, round_number: int = round_number,
                   stop: threading.Event = stop) -> None:
            for i in range(1000):
                if stop.is_set():
                    return
                try:
                    api.post(f"/rest/storage/createvolume/poolid/{pool['id']}/"
                             f"name/r{round_number}-{i}/sizegb/1")
                except httpx.TransportError:
                    return  # the server is gone

        writer = threading.Thread(target=stream)
        writer.start()
        time.sleep(rng.uniform(0.5, 2.0))
        ceph_array.one.server.kill()
        stop.set()
        writer.join()
        # The other controller carries on (once the dead one's lease on the lock runs out).
        ceph_array.two.admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/"
                                        f"name/two-{round_number}/sizegb/1")
        ceph_array.one.server.start()
        ceph_array.one.http.close()
        ceph_array.one.http = ceph_array.one.server.client(timeout=60)
        ceph_array.one.admin = Api(ceph_array.one.http).login("admin", LINUX_PASSWORD)
        volumes = ceph_array.one.admin.ok("GET", "/rest/storage/volumeinfo")
        images = subprocess.run(["rbd", "-c", conf, "ls", ceph_pool], capture_output=True,
                                text=True, check=True).stdout.split()
        assert sorted(images) == sorted(f"vol-{v['id']}" for v in volumes)
        assert configuration(ceph_array.one.admin) == configuration(ceph_array.two.admin)


def test_snapshot_space_is_kept_by_deleting_the_oldest_snapshot(ceph_array: CephArray) -> None:
    """Nothing in Ceph stops snapshots outgrowing their space: OpenSAN deletes the oldest, with
    a warning, once what changed since it (rbd du) is more than the space, and not before."""
    api = ceph_array.one.admin
    pool = make_pool(api)
    volume = api.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/sizegb/2")
    api.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    chunk = b"\xab" * (64 * MIB)
    cluster = connect_to(ceph_array.host.cluster.conf_path)
    try:
        ioctx = cluster.open_ioctx(f"{ceph_array.host.pool_prefix}p1")
        with rbd.Image(ioctx, f"vol-{volume['id']}") as image:
            image.write(chunk, 0)
            for name in ("old", "new"):
                api.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/{name}")
            time.sleep(3)  # a few ticks: holding nothing yet, the snapshots stay
            names = [s["name"] for s in
                     api.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")["snapshots"]]
            assert names == ["old", "new"]
            for offset in range(0, 1280 * MIB, 64 * MIB):  # 1.25 GiB changed after both
                image.write(chunk, offset)
        ioctx.close()
    finally:
        cluster.shutdown()

    def snapshots() -> list[str]:
        info = api.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
        return [s["name"] for s in info["snapshots"]]

    eventually(lambda: snapshots() == [], 30, "the snapshots outgrowing their space go")
    warnings = [e["message"] for e in api.ok("GET", "/rest/log/list/1")["events"]
                if e["level"] == "WARNING" and "Snapshot space" in e["message"]]
    assert len(warnings) == 2
    assert "snapshot old" in warnings[1] and "snapshot new" in warnings[0]  # newest first


def test_an_osd_that_joins_becomes_a_disk(ceph_array: CephArray) -> None:
    """Last in this file: the session's cluster keeps the new OSD."""
    api = ceph_array.two.admin
    before = api.ok("GET", "/rest/storage/diskinfo")
    osd = ceph_array.host.cluster.add_osd()

    def joined() -> list[dict[str, Any]]:
        disks = api.ok("GET", "/rest/storage/diskinfo")
        return [d for d in disks if d["slot"] == osd + 1]

    # The mon knows the OSD a moment before it is up: it may first be listed as Missing.
    eventually(lambda: [d["health"] for d in joined()] == ["Good"], 30,
               "the new OSD listed as a good disk")
    [disk] = joined()
    assert len(api.ok("GET", "/rest/storage/diskinfo")) == len(before) + 1
    assert disk["status"] == "Online" and disk["usage"] == "RAID" and f"osd.{osd}" in disk["model"]
    events = api.ok("GET", "/rest/log/list/1")["events"]
    assert [e for e in events if "joined the array" in e["message"] and f"osd.{osd}" in
            e["message"]], events


def test_configured_pools_that_exist_are_taken_over(tmp_path: Path) -> None:
    """Ceph pools named in `pools` that exist before the first start become SANOS pools with
    their replica count; an erasure-coded one is refused with a reason (RBD keeps image
    metadata only in replicated pools)."""
    with ceph_host(tmp_path) as host:
        cluster, prefix = host.cluster, host.pool_prefix
        cluster.ceph("osd", "erasure-code-profile", "set", f"{prefix}k2m1", "k=2", "m=1",
                     "crush-failure-domain=osd")
        cluster.ceph("osd", "pool", "create", f"{prefix}ec", "1", "1", "erasure", f"{prefix}k2m1")
        cluster.ceph("osd", "pool", "create", f"{prefix}rep", "1")
        cluster.ceph("osd", "pool", "set", f"{prefix}rep", "size", "2")
        settings = Settings(state_dir=tmp_path / "state", backend="ceph",
                            backend_config=host.configs[0])
        set_passwords(settings)
        original = host.configs[0].read_text()

        def allow(*names: str) -> None:
            listed = ", ".join(f'"{prefix}{name}"' for name in names)
            host.configs[0].write_text(f"{original}pools = [{listed}]\n")

        allow("ec", "rep", "new")
        refused = subprocess.run(
            [sys.executable, "-m", "opensan", "serve", "--backend", "ceph", "--config",
             str(host.configs[0]), "--port", "1"], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "erasure-coded" in refused.stderr, refused.stderr
        allow("rep", "new")
        with served(settings) as server, server.client(timeout=60) as http:
            api = Api(http).login("admin", LINUX_PASSWORD)
            pools = {p["name"]: p for p in api.ok("GET", "/rest/storage/poolinfo")}
            assert {name: p["raidLevel"] for name, p in pools.items()} == {"rep": "Replica 2"}
            assert pools["rep"]["type"] == "Thin" and pools["rep"]["health"] == "Good"
            events = " ".join(e["message"] for e in api.ok("GET", "/rest/log/list/1")["events"])
            assert "Pool rep (Replica 2) taken over from the cluster" in events
            volume = api.ok("POST", f"/rest/storage/createvolume/poolid/{pools['rep']['id']}/"
                                    "name/v1/sizegb/1")
            assert volume["poolId"] == pools["rep"]["id"]
            # Only the configured pools may be made: another name is refused.
            ids = ",".join(str(d["id"]) for d in api.ok("GET", "/rest/storage/diskinfo"))
            assert_error(api.post(f"/rest/storage/createpool/name/other/raidlevel/0/"
                                  f"diskids/{ids}"), 409)
            made = api.ok("POST", f"/rest/storage/createpool/name/new/raidlevel/0/diskids/{ids}")
            assert made["raidLevel"] == "Replica 1"


@contextmanager
def images(array: CephArray) -> Iterator[rados.Ioctx]:
    """The array's first pool's I/O context, to look at its images as librbd sees them."""
    cluster = connect_to(array.host.cluster.conf_path)
    try:
        ioctx = cluster.open_ioctx(f"{array.host.pool_prefix}p1")
        try:
            yield ioctx
        finally:
            ioctx.close()
    finally:
        cluster.shutdown()


def test_a_clone_is_a_flattened_rbd_clone_with_its_sources_data(ceph_array: CephArray) -> None:
    api, one = ceph_array.one.admin, ceph_array.one
    volume, (iqn, _) = exported_volume(ceph_array)
    assert pattern_ok(one.qemu_io(iqn, 0, "write -P 0xab 0 4M"))
    snapshot = api.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
    assert pattern_ok(one.qemu_io(iqn, 0, "write -P 0xcd 0 4M"))
    clone = api.ok("POST", f"/rest/storage/clonevolume/vdid/{volume['id']}/name/c1")
    from_snapshot = api.ok("POST", f"/rest/storage/clonevolume/vdid/{volume['id']}/name/c2/"
                                   f"snapid/{snapshot['id']}")

    def done() -> bool:
        states = {v["name"]: v["status"] for v in api.ok("GET", "/rest/storage/volumeinfo")}
        return states["c1"] == states["c2"] == "Online"

    eventually(done, 60, "both clones are flattened")
    with images(ceph_array) as ioctx:
        for made in (clone, from_snapshot):
            with rbd.Image(ioctx, f"vol-{made['id']}", read_only=True) as image, \
                    pytest.raises(rbd.ImageNotFound):
                image.parent_info()  # its own data: no parent any more
        with rbd.Image(ioctx, f"vol-{volume['id']}", read_only=True) as image:
            assert [s["name"] for s in image.list_snaps()] == [f"snap-{snapshot['id']}"]
            assert not image.is_protected_snap(f"snap-{snapshot['id']}")
    target = node0_target(api, 1)
    for lun, made in ((1, clone), (2, from_snapshot)):
        api.ok("POST", f"/rest/storage/maplun/targetid/{target['id']}/lun/{lun}/"
                       f"vdid/{made['id']}")
    assert pattern_ok(one.qemu_io(iqn, 1, "read -P 0xcd 0 4M"))
    assert pattern_ok(one.qemu_io(iqn, 2, "read -P 0xab 0 4M"))
    # The source goes; the clones keep their data.
    for target_id in {t["id"] for t in api.ok("GET", "/rest/storage/availtarget")}:
        api.ok("POST", f"/rest/storage/unmaplun/targetid/{target_id}/lun/0")
    api.ok("POST", f"/rest/storage/deletesnapshot/snapid/{snapshot['id']}")
    api.ok("POST", f"/rest/storage/deletevolume/vdid/{volume['id']}")
    assert pattern_ok(one.qemu_io(iqn, 1, "read -P 0xcd 0 4M"))
    assert pattern_ok(one.qemu_io(iqn, 2, "read -P 0xab 0 4M"))


def test_qos_limits_are_the_images_librbd_qos_and_hold_a_lun(ceph_array: CephArray) -> None:
    api, one = ceph_array.one.admin, ceph_array.one
    pool = make_pool(api)
    volume = api.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/q1/sizegb/1")
    login = one.http.post("/auth/get", data={"user": "admin", "password": LINUX_PASSWORD})
    xevo = Api(one.http, login.json()["accessToken"])
    path = f"/rest/v2/storage/block/volumes/{volume['id']}"
    xevo.ok("PATCH", path, content=json.dumps({"maxIops": 20, "maxThroughput": 2048}))

    def limits() -> tuple[str, str]:
        with images(ceph_array) as ioctx, rbd.Image(ioctx, f"vol-{volume['id']}",
                                                    read_only=True) as image:
            return (image.metadata_get("conf_rbd_qos_iops_limit"),
                    image.metadata_get("conf_rbd_qos_bps_limit"))

    assert limits() == ("0", "0")  # QoS is off
    rule = xevo.ok("PATCH", "/rest/v2/storage/qos/volumes",
                   content=json.dumps({"enableQos": True, "qosRule": "MAX_IOPS_THROUGHPUT"}))
    assert rule == {"enableQos": True, "qosRule": "MAX_IOPS_THROUGHPUT", "enforced": True}
    assert limits() == ("20", str(2048 * 1024))
    target = node0_target(api, 1)
    api.ok("POST", f"/rest/storage/maplun/targetid/{target['id']}/lun/0/vdid/{volume['id']}")
    assert pattern_ok(one.qemu_io(target["iqn"], 0, "read 0 4k"))  # the LUN is there
    reads = " ".join(f"-c 'read {n * 4}k 4k'" for n in range(100))
    argv = ["bash", "-c", f"qemu-io --image-opts 'driver=iscsi,transport=tcp,"
            f"portal={one.portal},target={target['iqn']},lun=1,initiator-name={HOST}' {reads}"]
    started = time.monotonic()
    assert subprocess.run(argv, capture_output=True, timeout=120).returncode == 0
    assert time.monotonic() - started >= 3  # 100 reads at 20 IOPS: about 5 s
    xevo.ok("PATCH", "/rest/v2/storage/qos/volumes",
            content=json.dumps({"enableQos": False}))
    assert limits() == ("0", "0")


def test_through_xevo_alone_a_lun_and_its_clones_reach_an_initiator(
        ceph_array: CephArray) -> None:
    """The XEVO data path (tests/data_path.py) on RBD clones, served by controller 1's tgtd."""
    one = ceph_array.one
    xevo_lun_and_clones_reach_an_initiator(one.http, make_pool(one.admin)["id"], one.qemu_io)
