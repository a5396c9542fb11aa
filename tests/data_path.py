"""What the Linux and Ceph backends' tests check alike through a real initiator (qemu-io): its
answers read as passed or failed, waiting for tgtd, and the XEVO data-path scenario."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
from conftest import LINUX_PASSWORD, Api

XEVO_VOLUMES = "/rest/v2/storage/block/volumes"
XEVO_TARGETS = "/rest/v2/dataTransfer/targets"
# qemu-io against (IQN, LUN number) with one of its commands ("read -P 0xab 0 4M").
QemuIo = Callable[[str, int, str], subprocess.CompletedProcess[str]]


def pattern_ok(result: subprocess.CompletedProcess[str]) -> bool:
    """qemu-io did it: exit status 0 and no failed command or pattern (it exits 0 for those)."""
    output = (result.stdout + result.stderr).lower()
    return result.returncode == 0 and "failed" not in output and "error" not in output


def eventually(check: Callable[[], bool], seconds: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.25)


def xevo_lun_and_clones_reach_an_initiator(http: httpx.Client, pool_id: int,
                                           qemu_io: QemuIo) -> None:
    """QSAN's current API (XEVO) alone makes the volume, its snapshot, two clones (of the
    volume, of the snapshot), the target and the LUNs (only the pool is SANOS's: XEVO has no
    pool creation); tgtd serves them, the initiator reads each clone's copy, and an unmap
    through XEVO takes the LUN out of tgtd while the clones' LUNs stay."""
    login = http.post("/auth/get", data={"user": "admin", "password": LINUX_PASSWORD,
                                         "offlineAccess": "true"})
    assert login.status_code == 200, login.text
    xevo = Api(http, login.json()["accessToken"])

    def send(method: str, path: str, body: dict[str, Any]) -> Any:
        return xevo.ok(method, path, content=json.dumps(body))

    volume = send("POST", XEVO_VOLUMES, {"name": "xv", "totalSize": 1024, "blockSize": 512,
                                         "poolId": str(pool_id)})
    send("PATCH", f"/rest/v2/backup/snapshot/targets/{volume['id']}", {"totalSize": 1024})
    target = send("POST", XEVO_TARGETS, {"name": "xt", "type": "iSCSI"})
    iqn = target["iscsi"][0]["iqn"]
    luns = f"{XEVO_TARGETS}/{target['id']}/luns"

    def map_lun(number: int, volume_id: str) -> Any:
        return send("POST", luns, {"name": str(number), "volumeId": volume_id,
                                   "hosts": [{"name": "*"}]})

    source_lun = map_lun(0, volume["id"])
    assert xevo.ok("GET", f"{XEVO_VOLUMES}/{volume['id']}")["lunId"] == source_lun["id"]
    eventually(lambda: pattern_ok(qemu_io(iqn, 0, "write -P 0xab 0 4M")), 30,
               "tgtd serves the LUN")
    assert pattern_ok(qemu_io(iqn, 0, "read -P 0xab 0 4M"))
    send("POST", f"/rest/v2/backup/snapshot/targets/{volume['id']}/snapshots", {"name": "s1"})
    assert pattern_ok(qemu_io(iqn, 0, "write -P 0xcd 0 4M"))
    clone = send("POST", f"{XEVO_VOLUMES}/{volume['id']}/clone",
                 {"poolId": volume["poolId"], "volumeName": "xc1"})
    from_snapshot = send("POST", f"{XEVO_VOLUMES}/{volume['id']}/clone",
                         {"poolId": volume["poolId"], "volumeName": "xc2", "snapshotId": "s1"})

    def copied() -> bool:
        states = [xevo.ok("GET", f"{XEVO_VOLUMES}/{made['id']}")["state"]
                  for made in (clone, from_snapshot)]
        assert set(states) <= {"CLONING", "ONLINE"}, states
        return states == ["ONLINE", "ONLINE"]

    eventually(copied, 60, "both clones are copied")
    for number, made in enumerate((clone, from_snapshot), start=1):
        map_lun(number, made["id"])
    eventually(lambda: pattern_ok(qemu_io(iqn, 1, "read -P 0xcd 0 4M")), 30,
               "the clone's LUN holds the source's data")
    assert pattern_ok(qemu_io(iqn, 2, "read -P 0xab 0 4M"))
    assert xevo.ok("DELETE", f"{luns}/{source_lun['id']}") == []
    assert xevo.ok("GET", f"{XEVO_VOLUMES}/{volume['id']}")["lunId"] == ""

    def gone() -> bool:
        result = qemu_io(iqn, 0, "read 0 4k")
        return result.returncode != 0 or "failed" in (result.stdout + result.stderr).lower()

    eventually(gone, 30, "tgtd no longer serves the unmapped LUN")
    assert pattern_ok(qemu_io(iqn, 1, "read -P 0xcd 0 4M"))
