"""Reproduces the librbd 16.2 crash that made the Ceph backend stop opening images at a snapshot.

The Ceph backend reads a mapped snapshot's size. Opening the image at the snapshot
(`rbd.Image(..., snapshot=name, read_only=True)`) crashed CI's whole test process now and then
(SIGABRT from a librbd thread). This script loops through what the backend does to images and
reads the snapshot's size one of two ways, beside an `rbd du` of the pool (as the tick runs;
--no-du leaves it out):

  --way at-snapshot     opens the image at the snapshot (what the backend did)
  --way snapshot-list   opens the image itself read-only and reads its snapshot list (what it
                        does now)

On this machine (2 CPUs, a single-node memstore cluster), in one session's runs of this loop:
`at-snapshot` killed the process every time: SIGABRT ("terminate called after throwing an
instance of 'std::system_error'", from a librbd thread) after about 6,000 opens with 3
workers and `rbd du` beside them, SIGSEGV after about 3,000 with one worker, SIGABRT after
about 6,100 with one worker and no `rbd du`; `snapshot-list` read 26,990 sizes in 15 minutes
(3 workers, `rbd du` beside them) and survived. A crash kills this process: its exit status
says which signal (134 SIGABRT, 139 SIGSEGV); a run that lasts exits 0. Nothing runs after
such a signal, so a crash leaves the cluster's daemons running: `pkill -f opensan-rbd-stress-`
stops them.

    sudo python scripts/ceph_rbd_stress.py --way at-snapshot --seconds 600
"""

from __future__ import annotations

import argparse
import faulthandler
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import rados
import rbd

from opensan.backends.ceph.backend import FEATURES
from opensan.backends.ceph.minicluster import MiniCluster

POOL = "stress"
GIB = 1 << 30


def snapshot_size(ioctx: rados.Ioctx, image: str, snapshot: str, way: str) -> int:
    if way == "at-snapshot":
        with rbd.Image(ioctx, image, snapshot=snapshot, read_only=True) as opened:
            return int(opened.size())
    with rbd.Image(ioctx, image, read_only=True) as opened:
        return next(int(s["size"]) for s in opened.list_snaps() if s["name"] == snapshot)


def work(ioctx: rados.Ioctx, worker: int, way: str, stop: threading.Event,
         counts: list[int]) -> None:
    """Images through the backend's life: created, snapshotted, the snapshot's size read
    five times, resized, snapshotted again, the snapshots removed, the image removed."""
    number = 0
    while not stop.is_set():
        number += 1
        name = f"vol-{worker}-{number}"
        rbd.RBD().create(ioctx, name, GIB, old_format=False, features=FEATURES)
        with rbd.Image(ioctx, name) as image:
            image.create_snap("snap-1")
        for _ in range(5):
            assert snapshot_size(ioctx, name, "snap-1", way) == GIB
            counts[0] += 1
        with rbd.Image(ioctx, name) as image:
            image.resize(2 * GIB)
            image.create_snap("snap-2")
            image.remove_snap("snap-1")
            image.remove_snap("snap-2")
        rbd.RBD().remove(ioctx, name)
        counts[1] += 1


def measure(conf: Path, stop: threading.Event) -> None:
    """`rbd du` of the pool over and over, as the backend's tick measures use; it fails (exit
    2) when an image goes while it reads, which is not what this script looks for."""
    while not stop.is_set():
        subprocess.run(["rbd", "-c", str(conf), "du", "--format", "json", "-p", POOL],
                       capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--way", choices=("at-snapshot", "snapshot-list"), default="at-snapshot")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--no-du", action="store_true", help="no `rbd du` beside the workers")
    args = parser.parse_args()
    faulthandler.enable()
    with MiniCluster(Path(tempfile.mkdtemp(prefix="opensan-rbd-stress-")), osds=1) as cluster:
        cluster.ceph("osd", "pool", "create", POOL, "1")
        subprocess.run(["rbd", "-c", str(cluster.conf_path), "pool", "init", POOL], check=True)
        client = rados.Rados(conffile=str(cluster.conf_path), name="client.admin")
        client.connect(timeout=15)
        ioctx = client.open_ioctx(POOL)
        stop, counts = threading.Event(), [0, 0]
        threads = [threading.Thread(target=work, args=(ioctx, w, args.way, stop, counts))
                   for w in range(args.workers)]
        if not args.no_du:
            threads.append(threading.Thread(target=measure, args=(cluster.conf_path, stop)))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and all(t.is_alive() for t in threads):
            time.sleep(10)
            print(f"{time.strftime('%H:%M:%S')} {args.way}: {counts[0]} snapshot sizes read, "
                  f"{counts[1]} images made and removed", flush=True)
        stop.set()
        for thread in threads:
            thread.join()
        ioctx.close()
        client.shutdown()
    print(f"survived {args.seconds:.0f} s: {counts[0]} snapshot sizes read ({args.way})")


if __name__ == "__main__":
    main()
