"""What the tests of the real backends stand on: loop devices, a private tgtd, a Linux host
for an array, and the throwaway Ceph cluster with an array's hosts on it.

Every context manager here releases what it set up, also when a test fails: tgtd is stopped
before the pools are unmounted, and those before their loop devices are detached. The pytest
fixtures built on these are in conftest.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import socket
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opensan.backends.ceph.minicluster import MiniCluster
from opensan.backends.linux import btrfs
from opensan.backends.runner import run
from opensan.backends.tgt.tgtadm import MAX_CONTROL_PORT, SOCKET_DIRECTORY, Tgtadm

GIB = 1024**3
# A Linux test array: sparse loop devices (nothing is written to most of them), enough for the
# profile's pool and spare plus the six free disks the pool tests use, and large enough for the
# sizes the tests ask for (pools of more than 100 GiB, as on the virtual array).
LINUX_DISKS = 10
LINUX_DISK_BYTES = 64 * GIB
CEPH_OSDS = 3
# memstore keeps data in RAM but takes this as its size: the pools are larger than 100 GiB, as
# on the virtual array, while the tests write a few MiB.
CEPH_OSD_BYTES = 100 * GIB

# The ports the tests' servers and portals listen on: below the kernel's ephemeral range, from
# which every outgoing connection takes its local port. A port the kernel hands out for bind(0)
# comes from that range, and once released any connection may take it before the server binds
# it: with suites side by side (.ci/run) a tgtd once lost its portal that way.
_EPHEMERAL_START = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
TEST_PORTS = range(10000, _EPHEMERAL_START)


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on, outside the ephemeral range (TEST_PORTS)."""
    while True:
        port = random.choice(TEST_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use
                continue
        return port


def free_control_port() -> int:
    """A tgtd management channel (0-32767, a unix socket per number) that nothing uses."""
    while True:
        port = random.randint(1000, MAX_CONTROL_PORT)
        if not (SOCKET_DIRECTORY / f"socket.{port}").exists():
            return port


# The Linux backend's tooling


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("Linux backend tests need root (loop devices, mounts, tgtd).")


@contextmanager
def loop_device(image: Path, size_bytes: int) -> Iterator[str]:
    """/dev/loopN over a new sparse file; detached and the file deleted on exit (sparse, but
    it holds what was written: a pool's balance writes gigabytes)."""
    with image.open("wb") as file:
        file.truncate(size_bytes)
    device = run(["losetup", "-f", "--show", image]).strip()
    try:
        yield device
    finally:
        run(["losetup", "-d", device])
        image.unlink()


@dataclass(frozen=True)
class LinuxHost:
    """Where a Linux array keeps its pools, its portal and tgtd control port, and the backend
    config file that names them and the array's loop devices."""

    data_dir: Path
    portal: str
    control_port: int
    config: Path


def stop_tgtd(control_port: int) -> None:
    """Stop a tgtd left behind on this control port (a killed server's), and its socket."""
    tgtadm = Tgtadm(control_port)
    if tgtadm.ready():
        tgtadm.shutdown()
    channel = SOCKET_DIRECTORY / f"socket.{control_port}"
    for leftover in (channel, channel.with_name(channel.name + ".lock")):
        leftover.unlink(missing_ok=True)


def unmount_pools(data_dir: Path) -> None:
    for mountpoint in (data_dir / "pools").glob("*"):
        if btrfs.is_mounted(mountpoint):
            btrfs.unmount(mountpoint)


@contextmanager
def linux_host(workdir: Path, disks: int = LINUX_DISKS,
               disk_bytes: int = LINUX_DISK_BYTES) -> Iterator[LinuxHost]:
    """Loop devices and a config for a Linux array in workdir. On exit a tgtd still on the
    control port is stopped, the pools are unmounted and the loop devices detached."""
    require_root()
    with ExitStack() as stack:
        devices = [stack.enter_context(loop_device(workdir / f"disk{i}.img", disk_bytes))
                   for i in range(disks)]
        host = LinuxHost(workdir / "data", f"127.0.0.1:{free_port()}", free_control_port(),
                         workdir / "linux.toml")
        # JSON arrays and strings are TOML too.
        host.config.write_text(
            f"devices = {json.dumps(devices)}\ndata_dir = {json.dumps(str(host.data_dir))}\n"
            f"portal = {json.dumps(host.portal)}\ntgtd_control_port = {host.control_port}\n")
        stack.callback(unmount_pools, host.data_dir)
        stack.callback(stop_tgtd, host.control_port)
        yield host


# The Ceph backend's tooling: one cluster for the whole session, started on first use, and a
# librados client of it for the clean-up after each array (the ceph and rados CLIs would cost a
# Python start and a connection each time, about 0.3 s).
_CEPH_CLUSTER: list[MiniCluster] = []
# rados.Rados per cluster config: Ceph's bindings are imported only when used.
_CEPH_CLIENTS: dict[Path, Any] = {}
_CEPH_ARRAYS = itertools.count(1)


def ceph_cluster() -> MiniCluster:
    require_root()
    if not _CEPH_CLUSTER:
        workdir = Path(tempfile.mkdtemp(prefix="opensan-ceph-"))
        cluster = MiniCluster(workdir, osds=CEPH_OSDS, osd_bytes=CEPH_OSD_BYTES)
        cluster.start()
        _CEPH_CLUSTER.append(cluster)
    return _CEPH_CLUSTER[0]


def _ceph_client(cluster: MiniCluster) -> Any:
    """The session's client of the cluster, with the backend's own timeouts (a cluster that
    cannot answer fails the clean-up instead of hanging it)."""
    from opensan.backends.ceph.config import connect_to

    if cluster.conf_path not in _CEPH_CLIENTS:
        _CEPH_CLIENTS[cluster.conf_path] = connect_to(cluster.conf_path)
    return _CEPH_CLIENTS[cluster.conf_path]


@dataclass(frozen=True)
class CephHost:
    """One array on the session's cluster: a config file per controller."""

    cluster: MiniCluster
    pool_prefix: str
    portals: tuple[str, str]
    control_ports: tuple[int, int]
    configs: tuple[Path, Path]


def remove_ceph_array(cluster: MiniCluster, pool_prefix: str, records_object: str) -> None:
    """Delete an array's Ceph pools and its records object."""
    import rados

    client = _ceph_client(cluster)
    for name in client.list_pools():
        if name.startswith(pool_prefix):
            client.delete_pool(name)
    if client.pool_exists("opensan"):
        with client.open_ioctx("opensan") as ioctx, \
                contextlib.suppress(rados.ObjectNotFound):  # a test that never opened the array
            ioctx.remove_object(records_object)


@contextmanager
def ceph_host(workdir: Path) -> Iterator[CephHost]:
    """Configs of a new array of both controllers on the session's cluster. On exit the
    controllers' tgtds still running are stopped and the array's pools and records deleted."""
    cluster = ceph_cluster()
    number = next(_CEPH_ARRAYS)
    name, prefix = f"t{os.getpid()}-{number}", f"t{os.getpid()}-{number}-"
    portals = (f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}")
    ports = (free_control_port(), free_control_port())
    configs = (workdir / "ceph-ctr1.toml", workdir / "ceph-ctr2.toml")
    for controller, config in enumerate(configs, start=1):
        config.write_text(
            f"ceph_conf = {json.dumps(str(cluster.conf_path))}\narray_name = {json.dumps(name)}\n"
            f"pool_prefix = {json.dumps(prefix)}\nfailure_domain = \"osd\"\npg_num = 1\n"
            f"controller = {controller}\nportals = {json.dumps(list(portals))}\n"
            f"tgtd_control_port = {ports[controller - 1]}\n"
            f"log_dir = {json.dumps(str(workdir / 'log'))}\n")
    try:
        yield CephHost(cluster, prefix, portals, ports, configs)
    finally:
        for port in ports:
            stop_tgtd(port)
        remove_ceph_array(cluster, prefix, f"opensan.{name}.records")




def stop_ceph_cluster() -> None:
    """At the end of the session: the cluster, if one was started."""
    while _CEPH_CLIENTS:
        _CEPH_CLIENTS.popitem()[1].shutdown()
    if _CEPH_CLUSTER:
        _CEPH_CLUSTER.pop().stop()
