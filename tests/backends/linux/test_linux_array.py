"""The Linux backend end to end: `opensan serve --backend linux` on loop devices with its own
tgtd, driven through the API, checked with real iSCSI initiators (qemu-io, iscsi-ls)."""

from __future__ import annotations

import os
import signal
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import (
    GIB,
    LINUX_PASSWORD,
    Api,
    LiveServer,
    array_state,
    assert_error,
    served,
    set_passwords,
)
from cryptography import x509
from data_path import pattern_ok, xevo_lun_and_clones_reach_an_initiator
from support import free_port, linux_host

import opensan.tls as tls
from opensan.backends.linux import btrfs
from opensan.config import Settings
from opensan.tls import KEY_FILE

pytestmark = pytest.mark.linux
HOST_A = "iqn.1994-05.com.redhat:host-a"
HOST_B = "iqn.1994-05.com.redhat:host-b"


@dataclass
class LinuxArray:
    server: LiveServer
    portal: str
    control_port: int
    data_dir: Path
    http: httpx.Client
    admin: Api

    def restart(self) -> None:
        self.http.close()
        self.server.stop()
        self.server.start()
        self.http = self.server.client(timeout=60)
        self.admin = Api(self.http).login("admin", LINUX_PASSWORD)

    def qemu_io(self, iqn: str, lun: int, command: str, initiator: str = HOST_A,
                readonly: bool = False) -> subprocess.CompletedProcess[str]:
        """qemu-io against SANOS LUN `lun` (tgt's LUN lun + 1: tgt keeps LUN 0 for itself)."""
        options = (f"driver=iscsi,transport=tcp,portal={self.portal},target={iqn},"
                   f"lun={lun + 1},initiator-name={initiator}")
        argv = ["qemu-io", *(["-r"] if readonly else []), "--image-opts", options, "-c", command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def discovered(self, initiator: str) -> str:
        return subprocess.run(["iscsi-ls", "-s", "-i", initiator, f"iscsi://{self.portal}"],
                              capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def linux_array(tmp_path: Path) -> Iterator[LinuxArray]:
    """A live server on four 2 GiB loop devices, without a profile: it starts empty."""
    with linux_host(tmp_path, disks=4, disk_bytes=2 * GIB) as host:
        settings = Settings(state_dir=tmp_path / "state", backend="linux",
                            backend_config=host.config)
        set_passwords(settings)
        with served(settings) as server:
            http = server.client(timeout=60)
            array = LinuxArray(server, host.portal, host.control_port, host.data_dir, http,
                               Api(http).login("admin", LINUX_PASSWORD))
            try:
                yield array
            finally:
                array.http.close()


def make_volume(array: LinuxArray, size_gb: int = 1, space_gb: int = 1,
                provision: str = "thick") -> dict[str, Any]:
    disks = array.admin.ok("GET", "/rest/storage/diskinfo")
    ids = ",".join(str(d["id"]) for d in disks[:3])
    pool = array.admin.ok("POST", f"/rest/storage/createpool/name/p1/raidlevel/5/diskids/{ids}/"
                          f"type/{provision}")
    volume = array.admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/"
                            f"sizegb/{size_gb}")
    if space_gb:
        array.admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/{space_gb}")
    return volume


MEASURED = ("capacityBytes", "usedBytes", "freeBytes", "snapshotUsedBytes")


def configuration(api: Api) -> dict[str, Any]:
    """array_state without the figures the file system measures (they move as data settles)."""
    return array_state(api, MEASURED)


def target_iqn(array: LinuxArray) -> str:
    targets = array.admin.ok("GET", "/rest/storage/availtarget")
    if not targets:
        targets = [array.admin.ok("POST", "/rest/storage/createtarget/controller/1")]
    return str(targets[0]["iqn"])


def test_disks_are_the_configured_devices_without_invented_smart(linux_array: LinuxArray) -> None:
    disks = linux_array.admin.ok("GET", "/rest/storage/diskinfo")
    assert len(disks) == 4
    assert {d["type"] for d in disks} == {"Virtual Disk"}
    assert all(d["capacityBytes"] == 2 * GIB and d["temperatureC"] is None for d in disks)
    smart = linux_array.admin.ok("GET", "/rest/storage/disksmart")
    assert all(not s["supported"] and s["attributes"] == [] and s["note"] for s in smart)
    info = linux_array.admin.ok("GET", "/rest/dashboard/systeminfo")
    assert info["modelName"] == "OPENSAN-LNX" and len(info["controllers"]) == 1
    assert "sim" not in " ".join(h["path"] for h in linux_array.admin.ok("GET", "/rest/"))


def test_pool_is_btrfs_raid_with_measured_capacity(linux_array: LinuxArray) -> None:
    volume = make_volume(linux_array, space_gb=0, provision="thin")
    pool = linux_array.admin.ok("GET", "/rest/storage/poolinfo")[0]
    mountpoint = linux_array.data_dir / "pools" / str(pool["id"])
    assert btrfs.is_mounted(mountpoint)
    measured = btrfs.usage(mountpoint)
    # btrfs RAID 5 over three 2 GiB devices offers about 4 GiB; the API reports btrfs' figures
    # less the 1 GiB kept back for chunk allocation and metadata.
    assert 3 * GIB < measured.size_bytes <= 4 * GIB
    assert abs(pool["capacityBytes"] - (measured.size_bytes - GIB)) < 64 * 1024**2
    assert pool["raidLevel"] == "RAID 5" and pool["health"] == "Good"
    assert volume["usedBytes"] < 16 * 1024**2  # thin: nothing written yet


def test_refuses_a_device_with_a_file_system_unless_forced(linux_array: LinuxArray,
                                                            tmp_path: Path) -> None:
    disks = linux_array.admin.ok("GET", "/rest/storage/diskinfo")
    ids = ",".join(str(d["id"]) for d in disks[:2])
    # A pool's own file system is erased when the pool is deleted: its disks are free again.
    pool = linux_array.admin.ok("POST", f"/rest/storage/createpool/name/a/raidlevel/1/diskids/{ids}")
    linux_array.admin.ok("POST", f"/rest/storage/deletepool/poolid/{pool['id']}")
    pool = linux_array.admin.ok("POST", f"/rest/storage/createpool/name/a/raidlevel/1/diskids/{ids}")
    linux_array.admin.ok("POST", f"/rest/storage/deletepool/poolid/{pool['id']}")
    # Someone else's file system is not erased without force.
    device = next(line.split(":")[0] for line in subprocess.run(
        ["losetup", "-a"], capture_output=True, text=True).stdout.splitlines()
        if str(tmp_path) in line and "disk0.img" in line)
    subprocess.run(["mkfs.btrfs", "-q", "-f", device], check=True)
    before = array_state(linux_array.admin)
    assert_error(linux_array.admin.post(f"/rest/storage/createpool/name/b/raidlevel/1/diskids/"
                                        f"{ids}"), 409)
    assert array_state(linux_array.admin) == before
    linux_array.admin.ok("POST", f"/rest/storage/createpool/name/b/raidlevel/1/diskids/{ids}/"
                         "force/yes")


def test_snapshot_keeps_the_past_and_rollback_restores_it(linux_array: LinuxArray) -> None:
    volume = make_volume(linux_array)
    iqn = target_iqn(linux_array)
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0xab 0 4M"))
    started = time.monotonic()
    snapshot = linux_array.admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
    assert time.monotonic() - started < 10
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0xcd 0 4M"))
    linux_array.admin.ok("POST", f"/rest/storage/mapsnapshot/targetid/0/lun/1/snapid/"
                         f"{snapshot['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 1, "read -P 0xab 0 4M", readonly=True))
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0xcd 0 4M"))
    refused = linux_array.qemu_io(iqn, 1, "write -P 0xee 0 1M")
    assert not pattern_ok(refused) and "write protected" in refused.stderr + refused.stdout
    time.sleep(2.5)  # measured use is refreshed every 2 s
    info = linux_array.admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert info["snapshotUsedBytes"] >= 4 * 1024**2  # the overwritten blocks
    linux_array.admin.ok("POST", "/rest/storage/unmaplun/targetid/0/lun/1")
    linux_array.admin.ok("POST", f"/rest/storage/rollback/snapid/{snapshot['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0xab 0 4M"))


def test_host_list_hides_the_lun_from_other_initiators(linux_array: LinuxArray) -> None:
    volume = make_volume(linux_array, space_gb=0)
    iqn = target_iqn(linux_array)
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/2/vdid/{volume['id']}/"
                         f"host/{HOST_A}")
    companion = next(line.split()[0].removeprefix("Target:")
                     for line in linux_array.discovered(HOST_A).splitlines()
                     if line.startswith("Target:") and ".acl-" in line)
    assert companion.startswith(iqn)
    assert ".acl-" not in linux_array.discovered(HOST_B)
    assert pattern_ok(linux_array.qemu_io(companion, 2, "write -P 0x11 0 1M", initiator=HOST_A))
    refused = linux_array.qemu_io(companion, 2, "read -P 0x11 0 1M", initiator=HOST_B)
    assert refused.returncode != 0 or "failed" in (refused.stdout + refused.stderr).lower()


def test_lun_comes_back_after_tgtd_dies_and_state_after_a_restart(linux_array: LinuxArray) -> None:
    volume = make_volume(linux_array)
    iqn = target_iqn(linux_array)
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x5a 0 2M"))
    pids = subprocess.run(["pgrep", "-f", f"tgtd -f -C {linux_array.control_port} "],
                          capture_output=True, text=True).stdout.split()
    assert len(pids) == 1
    os.kill(int(pids[0]), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not pattern_ok(
            linux_array.qemu_io(iqn, 0, "read -P 0x5a 0 2M")):
        time.sleep(0.5)
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x5a 0 2M"))
    events = linux_array.admin.ok("GET", "/rest/log/list/1")["events"]
    assert any(e["level"] == "WARNING" and "tgtd" in e["message"] for e in events)
    before = configuration(linux_array.admin)
    linux_array.restart()
    assert configuration(linux_array.admin) == before
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x5a 0 2M"))


def test_the_array_serves_https_with_the_certificate_it_made_at_its_first_start(
        linux_array: LinuxArray) -> None:
    """A real array serves HTTPS by default; its certificate stays across restarts."""
    server = linux_array.server
    assert server.url.startswith("https://")
    assert stat.S_IMODE((server.state_dir / KEY_FILE).stat().st_mode) == 0o600
    presented = ssl.get_server_certificate(("127.0.0.1", server.port))
    served = tls.fingerprint(x509.load_pem_x509_certificate(presented.encode()))
    assert linux_array.admin.ok("GET", "/rest/dashboard/systeminfo")["tlsFingerprint"] == served
    assert f"SHA-256 fingerprint {served}" in server.log_path.read_text()
    linux_array.restart()
    assert linux_array.admin.ok("GET", "/rest/dashboard/systeminfo")["tlsFingerprint"] == served
    assert f"SHA-256 fingerprint {served}" in server.log_path.read_text()


def test_default_passwords_are_refused(tmp_path: Path) -> None:
    with linux_host(tmp_path, disks=1, disk_bytes=GIB) as host:
        result = subprocess.run(
            [sys.executable, "-m", "opensan", "serve", "--backend", "linux",
             "--config", str(host.config), "--state-dir", str(tmp_path / "s"),
             "--port", str(free_port())],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "default password" in result.stderr and "opensan passwd" in result.stderr


def test_snapshot_space_stops_growth_at_its_limit(linux_array: LinuxArray) -> None:
    """Each snapshot keeps the blocks rewritten after it; once they fill the snapshot space
    (1 GiB here) of a thick volume, writes to the volume fail instead of eating the pool."""
    volume = make_volume(linux_array, provision="thick")
    iqn = target_iqn(linux_array)
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x01 0 256M"))
    refused = None
    for round_number in range(2, 12):
        linux_array.admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/"
                             f"s{round_number}")
        result = linux_array.qemu_io(iqn, 0, f"write -P {round_number} 0 256M")
        if not pattern_ok(result):
            refused = round_number
            break
    # 1 GiB of snapshot space (plus 64 MiB of slack) holds four rewrites of 256 MiB.
    assert refused in (5, 6), refused
    time.sleep(2.5)
    info = linux_array.admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert 900 * 1024**2 <= info["snapshotUsedBytes"] <= GIB + 64 * 1024**2
    # Deleting the oldest snapshot gives room back.
    oldest = info["snapshots"][0]
    linux_array.admin.ok("POST", f"/rest/storage/deletesnapshot/snapid/{oldest['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x77 0 64M"))


def test_restart_removes_what_an_interrupted_change_left(linux_array: LinuxArray) -> None:
    volume = make_volume(linux_array, space_gb=0)
    pool = linux_array.admin.ok("GET", "/rest/storage/poolinfo")[0]
    mountpoint = linux_array.data_dir / "pools" / str(pool["id"])
    orphan = mountpoint / "volumes" / "1234567890"  # as a create killed before its commit
    btrfs.create_subvolume(orphan)
    linux_array.restart()
    assert not orphan.exists()
    assert (mountpoint / "volumes" / str(volume["id"]) / "lun.img").exists()


def test_a_quota_group_btrfs_refuses_to_destroy_goes_at_a_later_tick(
        linux_array: LinuxArray) -> None:
    """btrfs refuses (EBUSY) to destroy a quota group that still has a member, as it often does
    for a moment after a volume's subvolume was deleted. Such a group must go once btrfs lets
    it, not only at the next start: under load they piled up (hundreds in a 10-minute soak),
    and every measurement of use read all of them."""
    volume = make_volume(linux_array, space_gb=0)
    pool = linux_array.admin.ok("GET", "/rest/storage/poolinfo")[0]
    mountpoint = linux_array.data_dir / "pools" / str(pool["id"])
    group = f"1/{volume['id']}"
    member = mountpoint / "member"  # keeps the group busy, as a deleted subvolume's group does
    btrfs.create_subvolume(member, qgroup=group)
    linux_array.admin.ok("POST", f"/rest/storage/deletevolume/vdid/{volume['id']}")
    time.sleep(2.5)  # ticks that find the group still busy
    assert group in btrfs.qgroups(mountpoint)
    btrfs.delete_subvolume(member)
    btrfs.sync_subvolumes(mountpoint)
    deadline = time.monotonic() + 10
    while group in btrfs.qgroups(mountpoint) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group not in btrfs.qgroups(mountpoint)


def test_a_rollback_moves_the_volume_to_a_new_copy_only_when_it_commits(
        linux_array: LinuxArray) -> None:
    """The copy a rollback makes sits beside the live data until the change commits: a kill
    before that (here: the copy made by hand, as such a kill leaves it) loses nothing, and the
    next start removes the copy. Before, the rollback deleted the live subvolume first."""
    volume = make_volume(linux_array)
    iqn = target_iqn(linux_array)
    pool = linux_array.admin.ok("GET", "/rest/storage/poolinfo")[0]
    volumes = linux_array.data_dir / "pools" / str(pool["id"]) / "volumes"
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x11 0 1M"))
    snapshot = linux_array.admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x22 0 1M"))
    interrupted = volumes / f"{volume['id']}.1"
    btrfs.snapshot(volumes.parent / "snapshots" / str(volume["id"]) / str(snapshot["id"]),
                   interrupted, readonly=False)
    linux_array.restart()
    assert not interrupted.exists()
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x22 0 1M"))
    linux_array.admin.ok("POST", f"/rest/storage/rollback/snapid/{snapshot['id']}")
    assert sorted(p.name for p in volumes.iterdir()) == [f"{volume['id']}.1"]
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x11 0 1M"))
    linux_array.restart()
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x11 0 1M"))
    linux_array.admin.ok("POST", f"/rest/storage/rollback/snapid/{snapshot['id']}")
    assert sorted(p.name for p in volumes.iterdir()) == [f"{volume['id']}.2"]


def test_a_rollback_to_a_snapshot_from_before_an_extend_keeps_the_volume_size(
        linux_array: LinuxArray) -> None:
    """The soak found LUNs that failed reads near their end: the snapshot's copy held the
    image as it was before the extend, while the volume kept its new size. Thick: the part
    grown back is allocated in both copies until the change commits, which the volume's quota
    must allow (it refused such rollbacks with 507 and left the copy behind)."""
    admin = linux_array.admin
    ids = ",".join(str(d["id"]) for d in admin.ok("GET", "/rest/storage/diskinfo"))
    pool = admin.ok("POST", f"/rest/storage/createpool/name/p1/raidlevel/0/diskids/{ids}/"
                    "type/thick")
    volume = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/sizegb/1")
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    iqn = target_iqn(linux_array)
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x33 0 1M"))
    snapshot = linux_array.admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
    linux_array.admin.ok("POST", f"/rest/storage/extendvolume/vdid/{volume['id']}/sizegb/3")
    linux_array.admin.ok("POST", f"/rest/storage/rollback/snapid/{snapshot['id']}")
    assert "3 GiB" in linux_array.qemu_io(iqn, 0, "length").stdout
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x33 0 1M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 0, f"read -P 0 {3 * GIB - 1024**2} 1M"))
    volumes = linux_array.data_dir / "pools" / str(pool["id"]) / "volumes"
    assert [p.name for p in volumes.iterdir()] == [f"{volume['id']}.1"]


def test_extending_a_mapped_volume_grows_the_lun(linux_array: LinuxArray) -> None:
    volume = make_volume(linux_array, space_gb=0, provision="thin")
    iqn = target_iqn(linux_array)
    linux_array.admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x42 0 1M"))

    def capacity() -> int:
        output = subprocess.run(
            ["iscsi-readcapacity16", "-s", "-i", HOST_A, f"iscsi://{linux_array.portal}/{iqn}/1"],
            capture_output=True, text=True, timeout=60).stdout
        return int(output.strip())

    assert capacity() == GIB
    grown = linux_array.admin.ok("POST", f"/rest/storage/extendvolume/vdid/{volume['id']}/"
                                 "sizegb/2")
    assert grown["capacityBytes"] == 2 * GIB
    assert capacity() == 2 * GIB
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0x42 0 1M"))


def test_a_clone_holds_its_sources_data_read_through_a_lun_and_stands_alone(
        linux_array: LinuxArray) -> None:
    """Clones of a volume and of its snapshot in its pool (reflinks), and of the volume into
    another pool (a copy), read back by an initiator; the source can go once they are made."""
    admin = linux_array.admin
    volume = make_volume(linux_array, provision="thin")
    iqn = target_iqn(linux_array)
    admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0xab 0 4M"))
    snapshot = admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0xcd 0 4M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x5a 512M 1M"))
    same_pool = admin.ok("POST", f"/rest/storage/clonevolume/vdid/{volume['id']}/name/c1")
    assert same_pool["status"] == "Online"  # the reflink is made within the change
    from_snapshot = admin.ok("POST", f"/rest/storage/clonevolume/vdid/{volume['id']}/name/c2/"
                             f"snapid/{snapshot['id']}")
    free = next(d for d in admin.ok("GET", "/rest/storage/diskinfo") if d["poolId"] is None)
    other = admin.ok("POST", f"/rest/storage/createpool/name/p2/raidlevel/0/diskids/"
                     f"{free['id']}/type/thin")
    across = admin.ok("POST", f"/rest/storage/clonevolume/vdid/{volume['id']}/name/c3/"
                      f"poolid/{other['id']}")
    assert (across["poolId"], across["capacityBytes"]) == (other["id"], volume["capacityBytes"])
    for lun, clone in enumerate((same_pool, from_snapshot, across), start=1):
        admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/{lun}/vdid/{clone['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 1, "read -P 0xcd 0 4M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 1, "read -P 0x5a 512M 1M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 2, "read -P 0xab 0 4M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 2, "read -P 0 512M 1M"))  # not written then
    assert pattern_ok(linux_array.qemu_io(iqn, 3, "read -P 0xcd 0 4M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 3, "read -P 0x5a 512M 1M"))
    # Writing a clone leaves its source as it was, and the other way round.
    assert pattern_ok(linux_array.qemu_io(iqn, 1, "write -P 0xee 0 1M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "write -P 0x11 1M 1M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 0, "read -P 0xcd 0 1M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 1, "read -P 0xcd 1M 1M"))
    admin.ok("POST", "/rest/storage/unmaplun/targetid/0/lun/0")
    admin.ok("POST", f"/rest/storage/deletesnapshot/snapid/{snapshot['id']}")
    admin.ok("POST", f"/rest/storage/deletevolume/vdid/{volume['id']}")
    assert pattern_ok(linux_array.qemu_io(iqn, 1, "read -P 0xee 0 1M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 2, "read -P 0xab 0 4M"))
    assert pattern_ok(linux_array.qemu_io(iqn, 3, "read -P 0xcd 0 4M"))


def test_through_xevo_alone_a_lun_and_its_clones_reach_an_initiator(
        linux_array: LinuxArray) -> None:
    """The XEVO data path (tests/data_path.py) on reflinked clones in a RAID 5 pool."""
    disks = linux_array.admin.ok("GET", "/rest/storage/diskinfo")
    ids = ",".join(str(d["id"]) for d in disks[:3])
    pool = linux_array.admin.ok("POST", f"/rest/storage/createpool/name/p1/raidlevel/5/"
                                f"diskids/{ids}/type/thin")
    xevo_lun_and_clones_reach_an_initiator(linux_array.http, pool["id"], linux_array.qemu_io)
