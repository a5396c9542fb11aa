"""Benchmark of the Linux backend: snapshot time, and the data path against two references.

One run (as root), for each RAID level of --raid (default RAID 0, then RAID 5), over the same
loop devices (sparse files in a work directory on the disk of --work-root; O_DIRECT like a
disk, or through the page cache with --loop-buffered):
  1. stage "opensan": `opensan serve --backend linux` on the devices (passwords set offline,
     as `opensan passwd` does) with a thick pool, a target, and thick volumes mapped as LUNs;
     a 1 GiB and a --large-gib volume are written completely, then POST /rest/storage/snapshot
     is timed on each several times;
  2. stage "btrfs": the same devices wiped and formatted as one plain btrfs of the same data
     and metadata profiles (mkfs.btrfs -d raid5 -m raid1 ...), default mount options, no
     quota groups, no subvolumes, and a private tgtd serving one preallocated file in it;
  3. in both stages a private tgtd serves a preallocated plain file in a plain directory of
     the work directory (same disk, same file system as the loop files): the plain reference.
     The stage's LUN and the plain LUN are measured alternately with the same commands,
     dropping the page cache before each pass:
       - sequential write and read: `qemu-img bench`, 1 MiB requests, 8 in flight;
       - 4K random read and write IOPS at queue depth 32: fio's nbd engine through
         `qemu-nbd`, whose iSCSI initiator is libiscsi (qemu's iscsi driver), for a fixed time;
         the random write pass ends with a flush, and its IOPS count the flush's time;
       - WriteSame: `qemu-io -c "write -z 0 <size>"`, which qemu's iscsi driver sends as one
         WRITE SAME(16) of a zero block (tgt writes it one block per pwrite);
  4. prints every figure, the ratios OpenSAN / plain btrfs and plain btrfs / plain file, the
     targets and PASS/FAIL (exit code 1 when one fails); everything is torn down, also on
     failure, on Ctrl-C and on SIGTERM: servers, tgtds, qemu-nbd, mounts, loop devices.

    sudo python bench/linux_bench.py              # RAID 0 and RAID 5: 22 minutes at a load of 13-16
    sudo python bench/linux_bench.py --raid 5     # RAID 5 only

Needs fio and qemu-nbd (qemu-utils). bench/conformance.py imports the set-up helpers
(opensan_array, plain_tgt) from this file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from opensan.backends.linux import btrfs
from opensan.backends.tgt.daemon import TgtDaemon
from opensan.backends.tgt.tgtadm import MAX_CONTROL_PORT, SOCKET_DIRECTORY, Tgtadm
from opensan.domain.raid import RaidLevel
from opensan.service.accounts import set_password_offline
from opensan.store.sqlite import DATABASE_NAME, SqliteStore

GIB = 1024**3
MIB = 1024**2
PASSWORD = "bench-admin-1"
INITIATOR = "iqn.2024-01.org.opensan:bench-initiator"
PLAIN_IQN = "iqn.2024-01.org.opensan:bench-plain"
HOST = "127.0.0.1"

# Targets.
MAX_SNAPSHOT_RATIO = 1.5  # median snapshot time of the large / the 1 GiB volume: constant time
MIN_RATIO = 0.95  # OpenSAN / plain btrfs, for MiB/s and IOPS (higher is better)
MAX_WRITESAME_RATIO = 1.2  # OpenSAN / plain btrfs, for the WriteSame time (lower is better)

# The I/O of every sequential pass: 1 MiB requests, 8 in flight.
REQUEST_BYTES = MIB
QUEUE_DEPTH = 8
# The random passes: 4 KiB requests, 32 in flight.
RANDOM_BYTES = 4096
RANDOM_DEPTH = 32


# --- Small helpers ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(argv: list[str], timeout: float = 600) -> str:
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({completed.returncode}): "
                           f"{completed.stderr.strip() or completed.stdout.strip()}")
    return completed.stdout


def quietly(what: str, function: Any, *args: Any) -> None:
    """Run one clean-up step; report and swallow its failure so that the next steps still run."""
    try:
        function(*args)
    except Exception as error:  # clean-up must go on
        print(f"warning: clean-up step '{what}' failed: {error}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def free_control_port() -> int:
    """A tgtd management channel (0-32767, a unix socket per number) that nothing uses."""
    while True:
        port = random.randint(1000, MAX_CONTROL_PORT)
        if not (SOCKET_DIRECTORY / f"socket.{port}").exists() and not Tgtadm(port).ready():
            return port


def drop_caches() -> None:
    """Write back dirty pages, then drop the page cache, dentries and inodes."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- LUNs and I/O ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IscsiLun:
    """A logical unit as an initiator reaches it; `lun` is tgt's (SCSI) LUN number."""

    portal: str
    iqn: str
    lun: int

    @property
    def url(self) -> str:
        return f"iscsi://{self.portal}/{self.iqn}/{self.lun}"

    @property
    def image_opts(self) -> str:
        return (f"driver=iscsi,transport=tcp,portal={self.portal},target={self.iqn},"
                f"lun={self.lun},initiator-name={INITIATOR}")


def qemu_bench(lun: IscsiLun, size_bytes: int, write: bool, pattern: int = 0x5A) -> float:
    """Read or write the first size_bytes of a LUN sequentially; returns MiB/s.

    Timed from the start of `qemu-img bench` to its exit, so it includes the iSCSI login
    (a few ms) and, for writes, the SYNCHRONIZE CACHE qemu sends when it closes the LUN: the
    data written has reached the disk by the time the clock stops.
    """
    count = size_bytes // REQUEST_BYTES
    argv = ["qemu-img", "bench", "-c", str(count), "-d", str(QUEUE_DEPTH),
            "-s", str(REQUEST_BYTES), "-S", str(REQUEST_BYTES)]
    if write:
        argv += ["-w", f"--pattern={pattern}"]
    argv += ["--image-opts", lun.image_opts]
    started = time.perf_counter()
    run(argv)
    elapsed = time.perf_counter() - started
    return size_bytes / MIB / elapsed


@contextmanager
def nbd_bridge(lun: IscsiLun, socket_path: Path) -> Iterator[str]:
    """qemu-nbd serving the LUN on a unix socket, so that fio's nbd engine reaches it through
    qemu's iscsi driver (libiscsi); yields the NBD URI. Stopped on exit."""
    socket_path.unlink(missing_ok=True)
    bridge = subprocess.Popen(["qemu-nbd", "--persistent", "--shared=1", "--cache=none",
                               "--socket", str(socket_path), "--image-opts", lun.image_opts],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if bridge.poll() is not None:
                error = bridge.stderr.read().decode() if bridge.stderr else ""
                raise RuntimeError(f"qemu-nbd exited with {bridge.returncode}: {error}")
            if time.monotonic() > deadline:
                raise RuntimeError("qemu-nbd did not listen in 30 s")
            time.sleep(0.05)
        yield f"nbd+unix:///?socket={socket_path}"
    finally:
        quietly("stop qemu-nbd", stop_server, bridge)
        socket_path.unlink(missing_ok=True)


def random_iops(uri: str, size_bytes: int, write: bool, seconds: float) -> float:
    """4 KiB random reads or writes at queue depth 32 over the first size_bytes for a fixed
    time (fio, nbd engine). A write pass ends with a flush (SYNCHRONIZE CACHE), and the IOPS
    divide by the whole wall time, flush included: what was written has reached the disk."""
    argv = ["fio", "--name=random", "--ioengine=nbd", f"--uri={uri}",
            f"--rw={'randwrite' if write else 'randread'}", f"--bs={RANDOM_BYTES}",
            f"--iodepth={RANDOM_DEPTH}", f"--size={size_bytes}", f"--runtime={seconds}",
            "--time_based", "--output-format=json"]
    if write:
        argv.append("--end_fsync=1")
    started = time.perf_counter()
    output = run(argv)
    elapsed = time.perf_counter() - started
    job = json.loads(output[output.index("{"):])["jobs"][0]  # fio may print notes first
    ios = int(job["write" if write else "read"]["total_ios"])
    return ios / (elapsed if write else job["job_runtime"] / 1000)


def writesame_seconds(lun: IscsiLun, size_bytes: int) -> float:
    """One WRITE SAME(16) of a zero block over the first size_bytes: qemu's iscsi driver sends
    write -z as WRITE SAME (tgt then writes every block with its own pwrite); timed from the
    start of qemu-io to its exit."""
    started = time.perf_counter()
    run(["qemu-io", "--image-opts", lun.image_opts, "-c", f"write -z 0 {size_bytes}"])
    return time.perf_counter() - started


# --- The OpenSAN array -----------------------------------------------------------------------


class Api:
    """Requests as admin; ok() fails loudly with the server's answer."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=600)
        response = self.http.post(f"/rest/login/account/admin/password/{PASSWORD}")
        if response.status_code != 200:
            raise RuntimeError(f"login failed: {response.status_code} {response.text}")
        self.http.headers["Authorization"] = response.json()["accessToken"]

    def ok(self, method: str, path: str) -> Any:
        response = self.http.request(method, path)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def close(self) -> None:
        self.http.close()


@dataclass
class OpenSanArray:
    api: Api
    portal: str
    iqn: str
    pool_id: int
    data_dir: Path
    server_log: Path
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def create_volume(self, name: str, size_gib: int, snapshot_space_gib: int = 0,
                      provision: str = "thick") -> dict[str, Any]:
        volume: dict[str, Any] = self.api.ok(
            "POST", f"/rest/storage/createvolume/poolid/{self.pool_id}/name/{name}/"
                    f"sizegb/{size_gib}/provision/{provision}")
        if snapshot_space_gib:
            self.api.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/"
                                f"sizegb/{snapshot_space_gib}")
        self.volumes[name] = volume
        return volume

    def map(self, volume: dict[str, Any], lun: int) -> IscsiLun:
        """Map a volume to SANOS LUN `lun` of target 0 for every host; tgt serves it as lun + 1."""
        self.api.ok("POST", f"/rest/storage/maplun/targetid/0/lun/{lun}/vdid/{volume['id']}")
        return IscsiLun(self.portal, self.iqn, lun + 1)


def make_loop(image: Path, size_bytes: int, direct_io: bool) -> str:
    """A loop device over a new sparse file. With direct_io the loop device reads and writes
    its file with O_DIRECT, as a disk would: no second copy of the data in the page cache."""
    with image.open("wb") as file:
        file.truncate(size_bytes)
    direct = ["--direct-io=on"] if direct_io else []
    return run(["losetup", "-f", "--show", *direct, str(image)]).strip()


def unmount_under(directory: Path) -> None:
    """Unmount every file system mounted at or below directory, deepest first."""
    mounted = btrfs.parse_mount_points(Path("/proc/self/mountinfo").read_text())
    prefix = os.path.realpath(directory)
    for mountpoint in sorted((m for m in mounted if m == prefix or m.startswith(prefix + "/")),
                             key=len, reverse=True):
        run(["umount", mountpoint])


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def shutdown_tgtd(control_port: int) -> None:
    """Stop a tgtd the server left behind (after a kill), and remove its socket files."""
    tgtadm = Tgtadm(control_port)
    if tgtadm.ready():
        tgtadm.shutdown()
        deadline = time.monotonic() + 10
        while tgtadm.ready() and time.monotonic() < deadline:
            time.sleep(0.1)
    socket_path = SOCKET_DIRECTORY / f"socket.{control_port}"
    for leftover in (socket_path, socket_path.with_name(socket_path.name + ".lock")):
        leftover.unlink(missing_ok=True)


def set_passwords(state_dir: Path) -> None:
    """What `opensan passwd` does before a first start: no default passwords on a real array."""
    for account in ("admin", "user"):
        set_password_offline(SqliteStore(state_dir / DATABASE_NAME), account, PASSWORD,
                             changed_by="bench")


@contextmanager
def loop_devices(work_dir: Path, disks: int, disk_gib: int,
                 direct_io: bool = True) -> Iterator[list[str]]:
    """Loop devices over new sparse files in work_dir; detached on exit."""
    with ExitStack() as stack:
        devices: list[str] = []
        for index in range(disks):
            device = make_loop(work_dir / f"disk{index}.img", disk_gib * GIB, direct_io)
            stack.callback(quietly, f"losetup -d {device}", run, ["losetup", "-d", device])
            devices.append(device)
        yield devices


def wipe(devices: list[str]) -> None:
    """Erase every signature (a previous stage's btrfs), as a new disk would be."""
    for device in devices:
        run(["wipefs", "--all", "--quiet", device])


@contextmanager
def opensan_server(work_dir: Path, devices: list[str], raid: str) -> Iterator[OpenSanArray]:
    """An OpenSAN Linux array on the devices with a thick pool and a target, its state and
    data under work_dir; torn down on exit: server, its tgtd, mounts under the data dir."""
    with ExitStack() as stack:
        work_dir.mkdir(parents=True, exist_ok=True)
        data_dir = work_dir / "data"
        stack.callback(quietly, "unmount pools", unmount_under, data_dir)
        portal = f"{HOST}:{free_port()}"
        control_port = free_control_port()
        stack.callback(quietly, "stop the server's tgtd", shutdown_tgtd, control_port)
        config = work_dir / "linux.toml"
        config.write_text(
            "devices = [" + ", ".join(f'"{d}"' for d in devices) + "]\n"
            f'data_dir = "{data_dir}"\nportal = "{portal}"\ntgtd_control_port = {control_port}\n')
        state_dir = work_dir / "state"
        set_passwords(state_dir)
        port = free_port()
        server_log = work_dir / "server.log"
        with server_log.open("wb") as output:
            # Its own session: a Ctrl-C reaches only this script, which stops the server itself.
            server = subprocess.Popen(
                [sys.executable, "-m", "opensan", "serve", "--backend", "linux",
                 "--config", str(config), "--state-dir", str(state_dir), "--port", str(port),
                 "--log-level", "warning", "--http"],  # the API's own figures, without TLS
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        stack.callback(quietly, "stop the server", stop_server, server)
        base_url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"opensan serve exited with {server.returncode}; "
                                   f"see {server_log}:\n{server_log.read_text()[-2000:]}")
            try:
                httpx.get(f"{base_url}/rest/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"opensan serve did not answer in 60 s; see {server_log}") from None
                time.sleep(0.1)
        api = Api(base_url)
        stack.callback(api.close)
        disk_ids = ",".join(str(d["id"]) for d in api.ok("GET", "/rest/storage/diskinfo"))
        pool = api.ok("POST", f"/rest/storage/createpool/name/bench/raidlevel/{raid}/"
                              f"diskids/{disk_ids}/type/thick")
        targets = api.ok("GET", "/rest/storage/availtarget") or \
            [api.ok("POST", "/rest/storage/createtarget/controller/1")]
        yield OpenSanArray(api, portal, str(targets[0]["iqn"]), int(pool["id"]), data_dir,
                           server_log)


@contextmanager
def opensan_array(work_dir: Path, disks: int, disk_gib: int, raid: str,
                  direct_io: bool = True) -> Iterator[OpenSanArray]:
    """Loop devices and an OpenSAN Linux array on them (opensan_server); all torn down on exit."""
    with loop_devices(work_dir, disks, disk_gib, direct_io) as devices, \
            opensan_server(work_dir, devices, raid) as array:
        yield array


@contextmanager
def plain_btrfs(devices: list[str], raid: str, mountpoint: Path) -> Iterator[Path]:
    """One plain btrfs over the devices with the data and metadata profiles an OpenSAN pool of
    that RAID level gets, mounted with default options: no quota groups, no subvolumes."""
    data, metadata = btrfs.profiles(RaidLevel(f"RAID {raid}"), len(devices))
    run(["mkfs.btrfs", "--force", "-d", data, "-m", metadata, *devices])
    run(["btrfs", "device", "scan"])
    mountpoint.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "btrfs", devices[0], str(mountpoint)])
    try:
        yield mountpoint
    finally:
        quietly("unmount the plain btrfs", run, ["umount", str(mountpoint)])


@contextmanager
def plain_tgt(directory: Path, size_bytes: int,
              log_path: Path | None = None) -> Iterator[IscsiLun]:
    """A private tgtd serving one preallocated plain file in directory as LUN 1 (its log in
    log_path, by default beside the file); stopped on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / "plain.img"
    with image.open("wb") as file:
        os.posix_fallocate(file.fileno(), 0, size_bytes)
    portal = f"{HOST}:{free_port()}"
    daemon = TgtDaemon(free_control_port(), portal, log_path or directory / "tgtd.log")
    try:
        daemon.start()
        daemon.tgtadm.new_target(1, PLAIN_IQN)
        daemon.tgtadm.new_lun(1, 1, image, readonly=False)
        daemon.tgtadm.bind(1, "ALL")
        yield IscsiLun(portal, PLAIN_IQN, 1)
    finally:
        quietly("stop the plain tgtd", daemon.stop)


@contextmanager
def work_directory(root: Path, keep: bool) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="opensan-bench-", dir=root))
    try:
        yield directory
    finally:
        if keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def raise_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so that every finally block cleans up. SIGINT raises
    KeyboardInterrupt even when started in the background, where it is inherited ignored."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("This benchmark needs root (loop devices, mounts, tgtd, drop_caches).")


# --- The measurements ------------------------------------------------------------------------


@dataclass
class SnapshotFigures:
    size_gib: int
    fill_mib_s: float  # the full write through iSCSI before the snapshots
    times_s: list[float]  # the first was taken right after the full write


def measure_snapshots(array: OpenSanArray, lun: IscsiLun, volume: dict[str, Any], size_gib: int,
                      repetitions: int) -> SnapshotFigures:
    log(f"writing the whole {size_gib} GiB volume through iSCSI")
    fill = qemu_bench(lun, size_gib * GIB, write=True, pattern=0xAB)
    times = []
    for index in range(repetitions):
        started = time.perf_counter()
        array.api.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s{index}")
        times.append(time.perf_counter() - started)
    log(f"{size_gib} GiB: snapshots in " + ", ".join(f"{t * 1000:.0f}" for t in times) + " ms")
    return SnapshotFigures(size_gib, fill, times)


# What each figure is: its unit, and whether more is better.
FIGURES: dict[str, tuple[str, bool]] = {
    "sequential write": ("MiB/s", True),
    "sequential read": ("MiB/s", True),
    "4K random read QD32": ("IOPS", True),
    "4K random write QD32": ("IOPS", True),
    "WriteSame": ("s", False),
}


@dataclass
class Stage:
    """One stage's passes: figure -> values, for the stage's LUN and for the plain file."""

    name: str
    lun: dict[str, list[float]] = field(default_factory=dict)
    plain: dict[str, list[float]] = field(default_factory=dict)


def one_pass(figure: str, lun: IscsiLun, uri: str, args: argparse.Namespace) -> float:
    size = args.io_gib * GIB
    if figure.startswith("sequential"):
        return qemu_bench(lun, size, write=figure.endswith("write"))
    if figure.startswith("4K"):
        return random_iops(uri, size, write="write" in figure, seconds=args.random_seconds)
    return writesame_seconds(lun, args.writesame_mib * MIB)


def measure_stage(name: str, lun: IscsiLun, plain: IscsiLun, work_dir: Path,
                  args: argparse.Namespace) -> Stage:
    """Alternate the stage's LUN and the plain LUN on every figure (the order flips every
    repetition), dropping the page cache before each pass. A first, unmeasured pass writes
    every block of both, so that no pass reads a hole or pays for first allocation."""
    size = args.io_gib * GIB
    log(f"{name}: filling both LUNs ({size // MIB} MiB each, unmeasured)")
    for each in (lun, plain):
        drop_caches()
        qemu_bench(each, size, write=True)
    stage = Stage(name)
    with nbd_bridge(lun, work_dir / "lun.nbd") as lun_uri, \
            nbd_bridge(plain, work_dir / "plain.nbd") as plain_uri:
        order = [(stage.lun, lun, lun_uri), (stage.plain, plain, plain_uri)]
        for figure, (unit, _) in FIGURES.items():
            for repetition in range(args.repetitions):
                for values, target, uri in order if repetition % 2 == 0 else reversed(order):
                    drop_caches()
                    values.setdefault(figure, []).append(one_pass(figure, target, uri, args))
                log(f"{name}: {figure} {repetition + 1}/{args.repetitions}: "
                    f"{stage.lun[figure][-1]:.1f} {unit}, plain file {stage.plain[figure][-1]:.1f}")
    return stage


@dataclass
class Level:
    raid: str
    snapshots: list[SnapshotFigures]
    opensan: Stage
    btrfs: Stage


def run_level(raid: str, devices: list[str], work_dir: Path, args: argparse.Namespace) -> Level:
    """Both stages of one RAID level over the same devices: OpenSAN, then plain btrfs."""
    level_dir = work_dir / f"raid{raid}"
    wipe(devices)
    with opensan_server(level_dir / "opensan", devices, raid) as array:
        log(f"RAID {raid}: OpenSAN pool over {len(devices)} loop devices")
        snapshots = []
        if args.snapshots:
            one = array.create_volume("snap-1g", 1, snapshot_space_gib=1)
            large = array.create_volume("snap-large", args.large_gib, snapshot_space_gib=1)
            snapshots = [
                measure_snapshots(array, array.map(one, 0), one, 1, args.snapshots),
                measure_snapshots(array, array.map(large, 1), large, args.large_gib,
                                  args.snapshots)]
        io = array.create_volume("io", args.io_gib)
        with plain_tgt(level_dir / "plain", int(io["capacityBytes"])) as plain:
            opensan = measure_stage(f"RAID {raid} OpenSAN", array.map(io, 2), plain,
                                    level_dir, args)
    wipe(devices)
    with plain_btrfs(devices, raid, level_dir / "btrfs") as mountpoint, \
            plain_tgt(mountpoint, args.io_gib * GIB, level_dir / "btrfs-tgtd.log") as lun, \
            plain_tgt(level_dir / "plain", args.io_gib * GIB) as plain:
        log(f"RAID {raid}: plain btrfs over the same devices")
        plain_fs = measure_stage(f"RAID {raid} plain btrfs", lun, plain, level_dir, args)
    return Level(raid, snapshots, opensan, plain_fs)


# --- Report ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


def figure_text(value: float, unit: str) -> str:
    return f"{value:.1f}" if unit == "s" else f"{value:.0f}"


def report(levels: list[Level], args: argparse.Namespace, elapsed_s: float) -> bool:
    print()
    loop_mode = "buffered" if args.loop_buffered else "direct-io"
    print(f"OpenSAN Linux backend benchmark: {args.disks} {loop_mode} loop devices of "
          f"{args.disk_gib} GiB, thick pools; work dir in {args.work_root}")
    print(f"(a) OpenSAN LUN, (b) plain tgt LUN on a plain file in {args.work_root}, (c) plain "
          "tgt LUN on a file in a plain btrfs of the same profile over the same devices")
    print(f"Sequential: qemu-img bench, {REQUEST_BYTES // MIB} MiB requests, queue depth "
          f"{QUEUE_DEPTH}, {args.io_gib} GiB per pass. Random: fio (nbd engine) through qemu-nbd "
          f"(libiscsi), {RANDOM_BYTES // 1024} KiB, queue depth {RANDOM_DEPTH}, "
          f"{args.random_seconds} s per pass over {args.io_gib} GiB, writes flushed at the end. "
          f"WriteSame: qemu-io write -z of {args.writesame_mib} MiB (seconds). Page cache "
          f"dropped before each pass; medians of {args.repetitions}; (b) is measured in both "
          "stages (its two medians are shown)")
    checks: list[tuple[str, str, str, bool]] = []
    for level in levels:
        print(f"\nRAID {level.raid}")
        if level.snapshots:
            rows: list[tuple[str, ...]] = [("snapshot (POST /rest/storage/snapshot)", "first",
                                            "median", "min", "max", "full write before")]
            for snap in level.snapshots:
                rows.append((f"{snap.size_gib} GiB volume, fully written",
                             f"{snap.times_s[0] * 1000:.0f} ms",
                             f"{median(snap.times_s) * 1000:.0f} ms",
                             f"{min(snap.times_s) * 1000:.0f} ms",
                             f"{max(snap.times_s) * 1000:.0f} ms", f"{snap.fill_mib_s:.0f} MiB/s"))
            print_table(rows)
            small, large = level.snapshots[0], level.snapshots[-1]
            ratio = median(large.times_s) / median(small.times_s)
            checks.append((f"RAID {level.raid} snapshot time {large.size_gib} GiB / "
                           f"{small.size_gib} GiB", f"{ratio:.2f}x", f"<= {MAX_SNAPSHOT_RATIO}x",
                           ratio <= MAX_SNAPSHOT_RATIO))
            print()
        rows = [("figure", "unit", "(a) OpenSAN", "(c) btrfs", "(b) file", "a/c", "c/b",
                 "runs (a)", "runs (c)", "runs (b) with a | with c")]
        for figure, (unit, higher) in FIGURES.items():
            a = median(level.opensan.lun[figure])
            c = median(level.btrfs.lun[figure])
            b_values = level.opensan.plain[figure] + level.btrfs.plain[figure]
            b = median(b_values)
            b_text = (f"{figure_text(median(level.opensan.plain[figure]), unit)} | "
                      f"{figure_text(median(level.btrfs.plain[figure]), unit)}")
            runs = [" ".join(figure_text(v, unit) for v in values) for values in
                    (level.opensan.lun[figure], level.btrfs.lun[figure])]
            b_runs = (" ".join(figure_text(v, unit) for v in level.opensan.plain[figure]) + " | "
                      + " ".join(figure_text(v, unit) for v in level.btrfs.plain[figure]))
            rows.append((figure, unit, figure_text(a, unit), figure_text(c, unit), b_text,
                         f"{a / c:.2f}x", f"{c / b:.2f}x", *runs, b_runs))
            if higher:
                checks.append((f"RAID {level.raid} {figure}, OpenSAN / plain btrfs",
                               f"{a / c:.2f}x", f">= {MIN_RATIO}x", a / c >= MIN_RATIO))
            else:
                checks.append((f"RAID {level.raid} {figure} time, OpenSAN / plain btrfs",
                               f"{a / c:.2f}x", f"<= {MAX_WRITESAME_RATIO}x",
                               a / c <= MAX_WRITESAME_RATIO))
        print_table(rows)
    print()
    rows = [("figure", "measured", "target", "result")]
    rows += [(name, value, target, verdict(ok)) for name, value, target, ok in checks]
    print_table(rows)
    print()
    print(f"total time {elapsed_s:.0f} s; load average (1 min) at the start "
          f"{args.load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return all(ok for *_, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-root", type=Path, default=Path("/var/tmp"),
                        help="where the work directory goes: loop files and the plain file")
    parser.add_argument("--disks", type=int, default=4, help="loop devices in the pool")
    parser.add_argument("--disk-gib", type=int, default=4, help="size of each loop device")
    parser.add_argument("--raid", default="0,5",
                        help="RAID levels, one after the other: 0, 1, 5, 6 or 10, comma-separated")
    parser.add_argument("--io-gib", type=int, default=1, help="size of the I/O LUNs and passes")
    parser.add_argument("--random-seconds", type=float, default=5,
                        help="duration of each random pass")
    parser.add_argument("--writesame-mib", type=int, default=128,
                        help="what each WriteSame pass covers")
    parser.add_argument("--snapshots", type=int, default=10,
                        help="snapshots timed per volume (0: no snapshot figures)")
    parser.add_argument("--large-gib", type=int, default=4,
                        help="size of the large snapshot volume")
    parser.add_argument("--repetitions", type=int, default=3, help="passes per figure")
    parser.add_argument("--loop-buffered", action="store_true",
                        help="loop devices through the page cache instead of O_DIRECT")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    require_root()
    raise_on_sigterm()
    args.load_at_start = os.getloadavg()[0]
    started = time.monotonic()
    with work_directory(args.work_root, args.keep) as work_dir, \
            loop_devices(work_dir, args.disks, args.disk_gib,
                         direct_io=not args.loop_buffered) as devices:
        levels = [run_level(raid.strip(), devices, work_dir, args)
                  for raid in args.raid.split(",") if raid.strip()]
        passed = report(levels, args, time.monotonic() - started)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
