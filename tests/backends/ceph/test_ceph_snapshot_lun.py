"""What the Ceph backend does around Ceph 16.2's client crashes (docs/ceph.md), in this process:
a snapshot's LUN has its size from the image's snapshot list, and no image is ever opened at a
snapshot (librbd crashed CI's test process doing that); a failed `rbd du` keeps the last
figures."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rbd
from conftest import CEPH_PROFILE, LINUX_PASSWORD, Api, set_passwords
from data_path import eventually
from fastapi.testclient import TestClient
from support import ceph_host

from opensan.api.app import create_app
from opensan.array import Array, open_array
from opensan.backends.ceph import backend as ceph_backend
from opensan.backends.runner import CommandFailed
from opensan.config import Settings

HOST = "iqn.1994-05.com.redhat:ceph-host"


@pytest.fixture
def never_at_a_snapshot(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """rbd.Image as the backend sees it, refusing (and noting) an open at a snapshot."""
    opened_at_a_snapshot: list[dict[str, Any]] = []
    real_image = rbd.Image

    def image(*args: Any, **options: Any) -> Any:
        if options.get("snapshot") is not None or len(args) > 2:
            opened_at_a_snapshot.append(options)
            raise AssertionError("an image opened at a snapshot")
        return real_image(*args, **options)

    monkeypatch.setattr(ceph_backend.rbd, "Image", image)
    return opened_at_a_snapshot


@dataclass
class CephApi:
    api: Api
    array: Array
    portal: str  # controller 1's

    def qemu_io(self, iqn: str, lun: int, command: str, readonly: bool = False) -> str:
        """qemu-io's output of command on SANOS LUN `lun` (tgt's lun + 1) of iqn."""
        options = (f"driver=iscsi,transport=tcp,portal={self.portal},target={iqn},"
                   f"lun={lun + 1},initiator-name={HOST}")
        argv = ["qemu-io", *(["-r"] if readonly else []), "--image-opts", options, "-c", command]
        return subprocess.run(argv,
                              capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.fixture
def ceph(tmp_path: Path) -> Iterator[CephApi]:
    """A new Ceph array served in this process, logged in as admin."""
    with ceph_host(tmp_path) as host:
        settings = Settings(state_dir=tmp_path / "state", backend="ceph",
                            backend_config=host.configs[0], profile=CEPH_PROFILE)
        set_passwords(settings)
        array = open_array(settings)
        try:
            with TestClient(create_app(array.service)) as http:
                yield CephApi(Api(http).login("admin", LINUX_PASSWORD), array, host.portals[0])
        finally:
            array.close()


def mapped_volume(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new 1 GB volume with snapshot space, mapped as LUN 30 of controller 1's node 0
    target; the volume and the target."""
    disks = ",".join(str(d["id"]) for d in api.ok("GET", "/rest/storage/diskinfo"))
    pool = api.ok("POST", f"/rest/storage/createpool/name/p1/raidlevel/5/diskids/{disks}")
    volume = api.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/v1/sizegb/1")
    api.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    target = next((t for t in api.ok("GET", "/rest/storage/availtarget")
                   if t["controller"] == 1 and t["node"] == 0), None) \
        or api.ok("POST", "/rest/storage/createtarget/controller/1/node/0")
    api.ok("POST", f"/rest/storage/maplun/targetid/{target['id']}/lun/30/vdid/{volume['id']}/"
                   "permission/rw")
    return volume, target


def test_a_snapshot_lun_has_the_snapshots_size_read_without_opening_it(
        never_at_a_snapshot: list[dict[str, Any]], ceph: CephApi) -> None:
    api = ceph.api
    volume, target = mapped_volume(api)
    snapshot = api.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/before")
    api.ok("POST", f"/rest/storage/extendvolume/vdid/{volume['id']}/sizegb/2")
    api.ok("POST", f"/rest/storage/mapsnapshot/targetid/{target['id']}/lun/31/"
                   f"snapid/{snapshot['id']}")
    # The snapshot keeps the size the volume had when it was taken; the volume has its own.
    assert "1 GiB" in ceph.qemu_io(target["iqn"], 31, "length", readonly=True)
    assert "2 GiB" in ceph.qemu_io(target["iqn"], 30, "length", readonly=True)
    assert never_at_a_snapshot == []


def test_a_failed_rbd_du_keeps_the_last_figures(ceph: CephApi,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    api = ceph.api
    volume, target = mapped_volume(api)
    ceph.qemu_io(target["iqn"], 30, "write -P 0xab 0 8M")

    def used() -> int:
        return next(int(v["usedBytes"]) for v in api.ok("GET", "/rest/storage/volumeinfo")
                    if v["id"] == volume["id"])

    eventually(lambda: used() >= 8 * 1024**2, 30, "the written 8 MiB are measured")
    measured = used()
    assert measured >= 8 * 1024**2
    real_run = ceph_backend.run
    failed: list[Sequence[str]] = []

    def run(argv: Sequence[str], **options: Any) -> str:
        if "du" in argv:
            failed.append(argv)
            raise CommandFailed(argv, -6, "terminate called after throwing an instance of ...")
        return real_run(argv, **options)

    monkeypatch.setattr(ceph_backend, "run", run)
    ceph.array.service.supervision.measure_usage()
    assert failed  # the measurement ran rbd du, which failed
    assert used() == measured
