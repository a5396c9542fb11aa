"""Benchmark of the Ceph backend: snapshot time, LUN throughput against tgt's rbd store set up by
hand, and how soon a change made through one controller is seen through the other.

One run (as root):
  1. starts a throwaway single-node Ceph cluster (MiniCluster: memstore OSDs, so the data lives
     in RAM), sets the passwords offline and starts `opensan serve --backend ceph` twice, as
     controller 1 and controller 2 of one array; through controller 1 it builds a RAID 0 (one
     replica) thin pool, and it uses the target a new array has on controller 1;
  2. writes a 1 GiB and an 8 GiB volume completely through iSCSI, then times POST
     /rest/storage/snapshot on each several times;
  3. writes and reads a volume alternately through its OpenSAN LUN and through a private tgtd
     whose rbd LUN over the same image is made by hand with tgtadm, with the same `qemu-img
     bench` command as linux_bench.py;
  4. creates volumes through controller 1 and polls controller 2's volumeinfo until each shows;
     maps a volume to a target of controller 2 through controller 1 and polls controller 2's
     tgtd until it serves the LUN;
  5. prints the figures next to their targets, without judging them (exit code 0 when the run
     completes); everything is torn down, also on failure, on Ctrl-C and on SIGTERM.

    sudo python bench/ceph_bench.py      # about 3 to 5 minutes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from linux_bench import (
    GIB,
    HOST,
    MIB,
    PASSWORD,
    QUEUE_DEPTH,
    REQUEST_BYTES,
    Api,
    IscsiLun,
    SnapshotFigures,
    free_control_port,
    free_port,
    log,
    median,
    print_table,
    qemu_bench,
    quietly,
    raise_on_sigterm,
    run,
    shutdown_tgtd,
    stop_server,
    work_directory,
)

from opensan.array import open_store
from opensan.backends.ceph.minicluster import MiniCluster
from opensan.backends.runner import CommandFailed
from opensan.backends.tgt.daemon import TgtDaemon
from opensan.backends.tgt.tgtadm import Tgtadm
from opensan.config import Settings
from opensan.service.accounts import set_password_offline

HAND_IQN = "iqn.2024-01.org.opensan:bench-hand-rbd"
SMALL_GIB = 1
POOL = "bench"
# RAM left to everything else (mon, mgr, OSDs' overhead, tgtds, servers, other jobs) besides
# the memstore data of the snapshot volumes.
MEMORY_MARGIN_GIB = 6
# An OSD warns (HEALTH_WARN) at 85% full; stay below with room to spare.
OSD_FILL = 0.75
# Between two looks at controller 2's tgtd: each is a tgtadm process, and the CPUs are shared.
TGTADM_POLL_S = 0.01


# --- The cluster and the two controllers -----------------------------------------------------


def available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024**2
    raise RuntimeError("no MemAvailable in /proc/meminfo")


@dataclass
class Controller:
    number: int
    config: Path
    control_port: int


@dataclass
class CephArray:
    """Both controllers of one array; the pool and target are controller 1's."""

    cluster: MiniCluster
    ctr1: Api
    ctr2: Api
    ctr2_tgtadm: Tgtadm
    pool_id: int
    ceph_pool: str
    portal: str
    iqn: str
    target_id: int

    def create_volume(self, name: str, size_gib: int) -> dict[str, Any]:
        volume: dict[str, Any] = self.ctr1.ok(
            "POST", f"/rest/storage/createvolume/poolid/{self.pool_id}/name/{name}/sizegb/{size_gib}")
        return volume

    def map(self, volume: dict[str, Any], lun: int) -> IscsiLun:
        """Map to SANOS LUN `lun` of controller 1's target; its tgtd serves it as lun + 1."""
        self.ctr1.ok("POST", f"/rest/storage/maplun/targetid/{self.target_id}/lun/{lun}/"
                             f"vdid/{volume['id']}/permission/rw")
        return IscsiLun(self.portal, self.iqn, lun + 1)

    def remove(self, volume: dict[str, Any], lun: int) -> None:
        """Unmap, delete the snapshots, delete the volume: memstore frees its RAM."""
        self.ctr1.ok("POST", f"/rest/storage/unmaplun/targetid/{self.target_id}/lun/{lun}")
        for snapshot in self.ctr1.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")[
                "snapshots"]:
            self.ctr1.ok("POST", f"/rest/storage/deletesnapshot/snapid/{snapshot['id']}")
        self.ctr1.ok("POST", f"/rest/storage/deletevolume/vdid/{volume['id']}")

    def image(self, volume: dict[str, Any]) -> str:
        """The volume's RBD image, named as the backend names it."""
        return f"{self.ceph_pool}/vol-{volume['id']}"


def write_configs(work_dir: Path, cluster: MiniCluster) -> tuple[list[Controller], list[str], str]:
    """One config file per controller; they differ in `controller` and the tgtd control port."""
    name = f"bench{os.getpid()}"
    portals = [f"{HOST}:{free_port()}", f"{HOST}:{free_port()}"]
    controllers = []
    for number in (1, 2):
        port = free_control_port()
        config = work_dir / f"ceph-ctr{number}.toml"
        config.write_text(
            f"ceph_conf = {json.dumps(str(cluster.conf_path))}\n"
            f'array_name = "{name}"\npool_prefix = "{name}-"\nfailure_domain = "osd"\n'
            f"controller = {number}\nportals = {json.dumps(portals)}\n"
            f"tgtd_control_port = {port}\nlog_dir = {json.dumps(str(work_dir / 'log'))}\n")
        controllers.append(Controller(number, config, port))
    return controllers, portals, f"{name}-"


def start_server(controller: Controller, work_dir: Path, stack: ExitStack) -> str:
    """`opensan serve` for one controller, in its own session (a Ctrl-C reaches only this
    script, which stops it); returns its base URL once it answers."""
    port = free_port()
    server_log = work_dir / f"server-{controller.number}.log"
    with server_log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "opensan", "serve", "--backend", "ceph",
             "--config", str(controller.config), "--state-dir",
             str(work_dir / f"state-{controller.number}"), "--port", str(port),
             "--log-level", "warning", "--http"],  # the API's own figures, without TLS
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    stack.callback(quietly, f"stop controller {controller.number}", stop_server, server)
    base_url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"controller {controller.number} exited with {server.returncode}:"
                               f"\n{server_log.read_text()[-2000:]}")
        try:
            httpx.get(f"{base_url}/rest/", timeout=1)
            return base_url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"controller {controller.number} did not answer in 120 s; "
                                   f"see {server_log}") from None
            time.sleep(0.1)


def target_of(api: Api, controller: int) -> dict[str, Any]:
    """The controller's first target; a new array may already have one, else it is created."""
    for target in api.ok("GET", "/rest/storage/availtarget"):
        if target["controller"] == controller:
            return dict(target)
    return dict(api.ok("POST", f"/rest/storage/createtarget/controller/{controller}"))


@contextmanager
def ceph_array(work_dir: Path, osds: int, osd_bytes: int) -> Iterator[CephArray]:
    """A MiniCluster and both controllers of an array on it, with a RAID 0 thin pool over every
    OSD and a target on controller 1; torn down on exit: servers, their tgtds, the cluster."""
    with ExitStack() as stack:
        cluster_dir = work_dir / "ceph"
        cluster_dir.mkdir()
        cluster = stack.enter_context(MiniCluster(cluster_dir, osds=osds, osd_bytes=osd_bytes))
        controllers, portals, pool_prefix = write_configs(work_dir, cluster)
        for controller in controllers:
            stack.callback(quietly, f"stop controller {controller.number}'s tgtd", shutdown_tgtd,
                           controller.control_port)
        settings = Settings(state_dir=work_dir / "state-1", backend="ceph",
                            backend_config=controllers[0].config)
        for account in ("admin", "user"):
            set_password_offline(open_store(settings), account, PASSWORD, changed_by="bench")
        # Controller 1 first: it makes the array's records; controller 2 then finds them.
        apis = []
        for controller in controllers:
            api = Api(start_server(controller, work_dir, stack))
            stack.callback(api.close)
            apis.append(api)
        ctr1, ctr2 = apis
        disk_ids = ",".join(str(d["id"]) for d in ctr1.ok("GET", "/rest/storage/diskinfo"))
        pool = ctr1.ok("POST", f"/rest/storage/createpool/name/{POOL}/raidlevel/0/"
                               f"diskids/{disk_ids}/type/thin")
        target = target_of(ctr1, 1)
        yield CephArray(cluster, ctr1, ctr2, Tgtadm(controllers[1].control_port),
                        int(pool["id"]), pool_prefix + POOL, portals[0], str(target["iqn"]),
                        int(target["id"]))


@contextmanager
def hand_made_tgt(work_dir: Path, ceph_conf: Path, image: str) -> Iterator[IscsiLun]:
    """A private tgtd whose LUN 1 is tgt's own rbd backing store over image, set up with
    plain tgtadm commands, as an administrator would without OpenSAN; stopped on exit."""
    portal = f"{HOST}:{free_port()}"
    daemon = TgtDaemon(free_control_port(), portal, work_dir / "tgtd-hand.log")
    tgtadm = ["tgtadm", "-C", str(daemon.tgtadm.control_port), "--lld", "iscsi"]
    try:
        daemon.start()
        run([*tgtadm, "--mode", "target", "--op", "new", "--tid", "1", "--targetname", HAND_IQN])
        run([*tgtadm, "--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1",
             "--bstype", "rbd", "--backing-store", image, "--bsopts", f"conf={ceph_conf};id=admin"])
        run([*tgtadm, "--mode", "target", "--op", "bind", "--tid", "1", "--initiator-address",
             "ALL"])
        yield IscsiLun(portal, HAND_IQN, 1)
    finally:  # deletes the target with --force, then `--op delete --mode system`
        quietly("stop the hand-made tgtd", daemon.stop)


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("This benchmark needs root (Ceph daemons, tgtd).")


# --- The measurements ------------------------------------------------------------------------


def measure_snapshots(array: CephArray, size_gib: int, lun: int,
                      repetitions: int) -> SnapshotFigures:
    """Fill a new volume through its LUN, time the snapshots, then remove it again (its data
    takes RAM in memstore). Nothing is written between the snapshots, so 1 GiB of snapshot
    space keeps them all."""
    volume = array.create_volume(f"snap-{size_gib}g", size_gib)
    array.ctr1.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    iscsi = array.map(volume, lun)
    log(f"writing the whole {size_gib} GiB volume through iSCSI")
    fill = qemu_bench(iscsi, size_gib * GIB, write=True, pattern=0xAB)
    times = []
    for index in range(repetitions):
        started = time.perf_counter()
        array.ctr1.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s{index}")
        times.append(time.perf_counter() - started)
    log(f"{size_gib} GiB: snapshots in " + ", ".join(f"{t * 1000:.0f}" for t in times) + " ms")
    array.remove(volume, lun)
    return SnapshotFigures(size_gib, fill, times)


@dataclass
class Throughput:
    opensan: list[float] = field(default_factory=list)
    hand: list[float] = field(default_factory=list)


def measure_throughput(opensan: IscsiLun, hand: IscsiLun, size_bytes: int,
                       repetitions: int) -> dict[str, Throughput]:
    """Alternate OpenSAN and hand-made passes over the same image (the order flips every
    repetition). A first, unmeasured pass writes every block, so that no pass reads a hole or
    pays for creating RADOS objects. Nothing in the path has a page cache to drop: tgt's rbd
    store goes through librbd with the image's cache off, and memstore holds the data."""
    log(f"filling the image ({size_bytes // MIB} MiB, unmeasured)")
    qemu_bench(opensan, size_bytes, write=True)
    results = {"write": Throughput(), "read": Throughput()}
    for kind, figures in results.items():
        for repetition in range(repetitions):
            order = [("opensan", opensan), ("hand", hand)]
            for name, lun in order if repetition % 2 == 0 else reversed(order):
                getattr(figures, name).append(qemu_bench(lun, size_bytes, write=kind == "write"))
            log(f"{kind} {repetition + 1}/{repetitions}: OpenSAN {figures.opensan[-1]:.0f} MiB/s, "
                f"hand-made {figures.hand[-1]:.0f} MiB/s")
    return results


@dataclass
class Visibility:
    what: str
    change_s: list[float] = field(default_factory=list)  # the POST to controller 1
    seen_s: list[float] = field(default_factory=list)  # from its answer until controller 2 shows it
    polls: list[int] = field(default_factory=list)
    # The same GET once more right after, with nothing changed: what the question itself costs.
    again_s: list[float] = field(default_factory=list)


def poll_until(shown: Callable[[], bool], interval: float = 0.0,
               timeout: float = 30) -> tuple[float, int]:
    """Ask until shown() is true, `interval` apart: seconds taken and questions asked."""
    started = time.perf_counter()
    polls = 0
    while True:
        polls += 1
        if shown():
            return time.perf_counter() - started, polls
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"not seen through the other controller after {timeout:.0f} s")
        time.sleep(interval)


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def lists_volume(api: Api, name: str) -> bool:
    return any(v["name"] == name for v in api.ok("GET", "/rest/storage/volumeinfo"))


def measure_visibility(array: CephArray, repetitions: int) -> list[Visibility]:
    """Two kinds of change made through controller 1: a new volume, which controller 2's API
    must list, and a LUN mapped on a target of controller 2, which controller 2's tgtd must
    serve (only controller 2's server exports it)."""
    volumes = Visibility("new volume: listed by GET volumeinfo on controller 2")
    for index in range(repetitions):
        name = f"vis-{index}"
        volumes.change_s.append(timed(partial(array.create_volume, name, 1)))
        seen, polls = poll_until(partial(lists_volume, array.ctr2, name))
        volumes.seen_s.append(seen)
        volumes.polls.append(polls)
        volumes.again_s.append(timed(lambda: array.ctr2.ok("GET", "/rest/storage/volumeinfo")))
    log("new volumes seen after " + ", ".join(f"{t * 1000:.0f}" for t in volumes.seen_s) + " ms")

    target = target_of(array.ctr1, 2)
    volume = array.create_volume("vis-lun", 1)
    mapping = Visibility("LUN mapped on a controller 2 target: served by controller 2's tgtd")

    def served() -> bool:
        try:
            return any(t.iqn == target["iqn"] and t.luns for t in array.ctr2_tgtadm.show())
        except CommandFailed:  # controller 2 starts its tgtd when it takes in its first target
            return False

    for _ in range(repetitions):
        # Controller 2 takes in the other's changes on its tick (every second) when no request
        # comes; a random pause keeps the changes from falling in step with the tick.
        time.sleep(random.uniform(0, 1))
        mapping.change_s.append(timed(lambda: array.ctr1.ok(
            "POST", f"/rest/storage/maplun/targetid/{target['id']}/lun/0/vdid/{volume['id']}")))
        seen, polls = poll_until(served, interval=TGTADM_POLL_S)
        mapping.seen_s.append(seen)
        mapping.polls.append(polls)
        array.ctr1.ok("POST", f"/rest/storage/unmaplun/targetid/{target['id']}/lun/0")
        poll_until(lambda: not served(), interval=TGTADM_POLL_S)
    log("LUNs served after " + ", ".join(f"{t * 1000:.0f}" for t in mapping.seen_s) + " ms")
    return [volumes, mapping]


# --- Report ----------------------------------------------------------------------------------


def report(snapshots: list[SnapshotFigures], throughput: dict[str, Throughput],
           visibility: list[Visibility], args: argparse.Namespace, elapsed_s: float) -> None:
    ms = 1000
    print()
    print(f"OpenSAN Ceph backend benchmark, {time.strftime('%Y-%m-%d %H:%M')}: MiniCluster of "
          f"{args.osds} memstore OSDs ({args.osd_gib} GiB cap each, data in RAM), one RAID 0 "
          "(1 replica) thin pool")
    if args.note:
        print(f"NOTE: {args.note}")
    print(f"Snapshots: {args.snapshots} per volume, timed one after the other, the first right "
          "after the full write")
    print(f"I/O: qemu-img bench, sequential, {REQUEST_BYTES // MIB} MiB requests, "
          f"queue depth {QUEUE_DEPTH}, {args.io_gib} GiB per pass; medians of {args.repetitions}")
    print()
    rows: list[tuple[str, ...]] = [("snapshot (POST /rest/storage/snapshot)", "first", "median",
                                    "min", "max", "full write before")]
    for snap in snapshots:
        rows.append((f"{snap.size_gib} GiB volume, fully written",
                     f"{snap.times_s[0] * ms:.0f} ms", f"{median(snap.times_s) * ms:.0f} ms",
                     f"{min(snap.times_s) * ms:.0f} ms", f"{max(snap.times_s) * ms:.0f} ms",
                     f"{snap.fill_mib_s:.0f} MiB/s"))
    small, large = snapshots
    rows.append((f"ratio {large.size_gib} GiB / {small.size_gib} GiB (target: close to 1)", "",
                 f"{median(large.times_s) / median(small.times_s):.2f}x", "", "", ""))
    print_table(rows)
    print()
    rows = [("throughput", "OpenSAN MiB/s", "hand-made MiB/s", "ratio (target >= 0.95x)",
             "runs OpenSAN", "runs hand-made")]
    for kind, figures in throughput.items():
        rows.append((f"sequential {kind}", f"{median(figures.opensan):.0f}",
                     f"{median(figures.hand):.0f}",
                     f"{median(figures.opensan) / median(figures.hand):.2f}x",
                     " ".join(f"{v:.0f}" for v in figures.opensan),
                     " ".join(f"{v:.0f}" for v in figures.hand)))
    print_table(rows)
    print()
    rows = [("change through controller 1", "POST median", "seen median", "seen max",
             "polls median", "next GET median")]
    for change in visibility:
        again = f"{median(change.again_s) * ms:.0f} ms" if change.again_s else "-"
        rows.append((change.what, f"{median(change.change_s) * ms:.0f} ms",
                     f"{median(change.seen_s) * ms:.0f} ms", f"{max(change.seen_s) * ms:.0f} ms",
                     f"{statistics.median(change.polls):.0f}", again))
    print_table(rows)
    print("(seen: from the POST's answer until controller 2 shows the change; volumeinfo polled "
          "back to back, tgtd every 10 ms.\n next GET: volumeinfo again at once, nothing changed)")
    print()
    print(f"total time {elapsed_s:.0f} s; load average (1 min) at the start "
          f"{args.load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def size_the_cluster(args: argparse.Namespace) -> None:
    """Shrink the large volume when memstore could not hold it next to the small one, and cap
    the OSDs so that one can hold both: a pool gets the MiniCluster's default of one placement
    group, so all of its data lands on a single OSD."""
    args.note = ""
    room = math.floor(available_gib() - MEMORY_MARGIN_GIB) - SMALL_GIB
    if args.large_gib > room:
        if room < 2:
            sys.exit(f"Too little free memory for memstore ({available_gib():.1f} GiB available).")
        args.note = (f"the large volume is {room} GiB, not {args.large_gib}: memstore keeps data "
                     f"in RAM and only {available_gib():.1f} GiB were available")
        args.large_gib = room
    peak = max(SMALL_GIB + args.large_gib, args.io_gib)
    args.osd_gib = math.ceil(peak / OSD_FILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-root", type=Path, default=Path("/var/tmp"),
                        help="where the work directory goes (configs, logs, the cluster's files)")
    parser.add_argument("--osds", type=int, default=3, help="memstore OSDs of the cluster")
    parser.add_argument("--large-gib", type=int, default=8, help="size of the large snapshot volume")
    parser.add_argument("--io-gib", type=int, default=4, help="size of the I/O volume and each pass")
    parser.add_argument("--snapshots", type=int, default=10, help="snapshots timed per volume")
    parser.add_argument("--repetitions", type=int, default=5, help="passes per throughput figure")
    parser.add_argument("--changes", type=int, default=20,
                        help="changes timed per kind for the cross-controller figure")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args()
    require_root()
    raise_on_sigterm()
    size_the_cluster(args)
    args.load_at_start = os.getloadavg()[0]
    started = time.monotonic()
    with work_directory(args.work_root, args.keep) as work_dir, \
            ceph_array(work_dir, args.osds, args.osd_gib * GIB) as array:
        log(f"cluster and both controllers up in {work_dir}")
        snapshots = [measure_snapshots(array, SMALL_GIB, 0, args.snapshots),
                     measure_snapshots(array, args.large_gib, 1, args.snapshots)]
        io = array.create_volume("io", args.io_gib)
        with hand_made_tgt(work_dir, array.cluster.conf_path, array.image(io)) as hand:
            throughput = measure_throughput(array.map(io, 0), hand, args.io_gib * GIB,
                                            args.repetitions)
        visibility = measure_visibility(array, args.changes)
        report(snapshots, throughput, visibility, args, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
