"""MiniCluster, the throwaway Ceph cluster under the Ceph backend's tests and benchmark: it starts
healthy, serves RBD images through the Python bindings, shows a stopped OSD in health until it
is started again (with its data), and leaves no daemon behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import rados
import rbd

from opensan.backends.ceph import minicluster
from opensan.backends.ceph.minicluster import MiniCluster

MIB = 1024**2


def processes_using(workdir: Path) -> list[str]:
    """Command lines of the running processes that name workdir (the daemons name its conf)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited meanwhile
            continue
        if str(workdir) in argv:
            found.append(argv)
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniCluster]:
    workdir = tmp_path_factory.mktemp("ceph")
    with MiniCluster(workdir) as started:
        yield started
    assert processes_using(workdir) == []


def health_when(cluster: MiniCluster, done: Callable[[dict[str, Any]], bool],
                seconds: float) -> dict[str, Any]:
    """The first `ceph health detail` within seconds for which done() holds."""
    deadline = time.monotonic() + seconds
    while not done(health := cluster.ceph("health", "detail")):
        assert time.monotonic() < deadline, f"not within {seconds} s: {health}"
        time.sleep(0.1)
    return health


def connect(cluster: MiniCluster) -> rados.Rados:
    """A client whose I/O fails after 10 s rather than waiting for ever on a PG that is gone."""
    return rados.Rados(conffile=str(cluster.conf_path), conf={"rados_osd_op_timeout": "10"})


def delete_pool(cluster: MiniCluster, pool: str) -> None:
    cluster.ceph("osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it")


def test_starts_healthy_with_three_osds_up_and_in(cluster: MiniCluster) -> None:
    status = cluster.ceph("-s")
    assert status["fsid"] == cluster.fsid
    assert status["health"]["status"] == "HEALTH_OK", status["health"]
    assert status["mgrmap"]["available"]
    assert cluster.osd_ids == [0, 1, 2]
    osds = cluster.ceph("osd", "dump")["osds"]
    assert [(osd["osd"], osd["up"], osd["in"]) for osd in osds] == [(0, 1, 1), (1, 1, 1), (2, 1, 1)]
    assert {daemon.split()[0] for daemon in processes_using(cluster.workdir)} == {
        "ceph-mon", "ceph-mgr", "ceph-osd"}


def test_a_mgr_that_dies_is_started_again(cluster: MiniCluster) -> None:
    """As systemd restarts it: Ceph 16.2's mgr segfaulted under many perf queries in CI."""
    dead = cluster._mgr
    assert dead is not None
    dead.send_signal(signal.SIGSEGV)
    dead.wait(10)
    health_when(cluster, lambda _health: cluster._mgr is not dead
                and cluster.ceph("-s")["mgrmap"]["available"], 60)
    assert cluster._mgr is not None and cluster._mgr.poll() is None


def test_clients_have_no_admin_socket_and_daemons_do(cluster: MiniCluster) -> None:
    """tgtd with the rbd backing store is a client of this conf: it must not take the CLI's
    admin socket."""

    def admin_socket(name: str) -> str:
        return subprocess.run(
            ["ceph-conf", "-c", str(cluster.conf_path), "--name", name, "--show-config-value",
             "admin_socket"], capture_output=True, text=True, check=True).stdout.strip()

    assert admin_socket("client.admin") == ""
    assert admin_socket("osd.0") == str(cluster.workdir / "run" / "osd.0.asok")


def test_a_failing_command_raises_with_its_stderr(cluster: MiniCluster) -> None:
    with pytest.raises(RuntimeError, match="unrecognized pool 'no-such-pool'"):
        cluster.ceph("osd", "pool", "get", "no-such-pool", "size")


def test_a_pool_holds_an_rbd_image_and_is_deleted(cluster: MiniCluster) -> None:
    pool, data = "minicluster-rbd", os.urandom(MIB)
    cluster.ceph("osd", "pool", "create", pool)
    try:
        detail = {p["pool_name"]: p for p in cluster.ceph("osd", "pool", "ls", "detail")}[pool]
        assert (detail["size"], detail["pg_num"]) == (1, 1)
        with connect(cluster) as client, client.open_ioctx(pool) as ioctx:
            rbd.RBD().pool_init(ioctx, False)
            rbd.RBD().create(ioctx, "image", 16 * MIB)
            with rbd.Image(ioctx, "image") as image:
                image.write(data, 5 * MIB)
            with rbd.Image(ioctx, "image", read_only=True) as image:
                assert image.size() == 16 * MIB
                assert image.read(5 * MIB, MIB) == data
                assert image.read(0, MIB) == bytes(MIB)
            assert rbd.RBD().list(ioctx) == ["image"]
        assert cluster.ceph("osd", "pool", "application", "get", pool) == {"rbd": {}}
    finally:
        delete_pool(cluster, pool)
    assert pool not in cluster.ceph("osd", "pool", "ls")


def test_a_stopped_osd_is_down_in_health_until_started_again_with_its_data(
        cluster: MiniCluster) -> None:
    pool, payload = "minicluster-health", b"kept across the OSD's restart"
    cluster.ceph("osd", "pool", "create", pool)
    try:
        # Without an application, a pool with data makes health POOL_APP_NOT_ENABLED.
        cluster.ceph("osd", "pool", "application", "enable", pool, "rbd")
        with connect(cluster) as client, client.open_ioctx(pool) as ioctx:
            ioctx.write_full("object", payload)
        osd = cluster.ceph("osd", "map", pool, "object")["acting_primary"]
        cluster.stop_osd(osd)
        try:
            started = time.monotonic()
            health = health_when(cluster, lambda health: "OSD_DOWN" in health["checks"], 5)
            print(f"OSD_DOWN {time.monotonic() - started:.2f} s after stop_osd returned")
            assert health["status"] == "HEALTH_WARN"
            messages = [d["message"] for d in health["checks"]["OSD_DOWN"]["detail"]]
            assert len(messages) == 1 and messages[0].startswith(f"osd.{osd} "), messages
            # Down but still in: its PGs wait for it instead of moving away.
            states = {o["osd"]: (o["up"], o["in"]) for o in cluster.ceph("osd", "dump")["osds"]}
            assert states[osd] == (0, 1)
        finally:
            cluster.start_osd(osd)
        started = time.monotonic()
        # About a second here (peering, then the mgr's report); generous for a loaded machine.
        health_when(cluster, lambda health: health["status"] == "HEALTH_OK", 90)
        print(f"HEALTH_OK {time.monotonic() - started:.2f} s after start_osd returned")
        with connect(cluster) as client, client.open_ioctx(pool) as ioctx:
            assert ioctx.read("object") == payload
    finally:
        delete_pool(cluster, pool)


def test_a_start_that_times_out_stops_every_daemon(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minicluster, "START_TIMEOUT", 0.5)  # far too short for the mgr
    with pytest.raises(RuntimeError, match=r"no HEALTH_OK .* after 0.5 s") as raised:
        MiniCluster(tmp_path, osds=1).start()
    assert "--- mon.a.log" in str(raised.value)  # the logs' tails
    assert processes_using(tmp_path) == []
