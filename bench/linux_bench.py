"""Benchmark of the Linux backend: snapshot time and LUN throughput against plain tgt.

One run (as root):
  1. makes loop devices over sparse files in a work directory (on the disk of --work-root;
     O_DIRECT like a disk, or through the page cache with --loop-buffered), starts `opensan
     serve --backend linux` on them (passwords set offline, as `opensan passwd` does), and
     builds a thick pool, a target, three volumes and their LUNs;
  2. starts a second, private tgtd serving a plain preallocated file in a plain directory of
     the same work directory (same disk, same file system as the loop files);
  3. writes a 1 GiB and an 8 GiB volume completely through iSCSI, then times POST
     /rest/storage/snapshot on each several times;
  4. writes and reads the whole I/O volume and the plain file alternately, with the same
     `qemu-img bench` command, dropping the page cache before each pass;
  5. prints every figure, its target and PASS/FAIL (exit code 1 when one fails); everything
     is torn down, also on failure, on Ctrl-C and on SIGTERM.

    sudo python bench/linux_bench.py              # about 4 to 5 minutes
    sudo python bench/linux_bench.py --raid 5     # the pool as RAID 5 instead of RAID 0

bench/conformance.py imports the set-up helpers (opensan_array, plain_tgt) from this file.
"""

from __future__ import annotations

import argparse
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
from opensan.service.accounts import set_password_offline
from opensan.store.sqlite import DATABASE_NAME, SqliteStore

GIB = 1024**3
MIB = 1024**2
PASSWORD = "bench-admin-1"
INITIATOR = "iqn.2024-01.org.opensan:bench-initiator"
PLAIN_IQN = "iqn.2024-01.org.opensan:bench-plain"
HOST = "127.0.0.1"

# Targets.
MAX_SNAPSHOT_RATIO = 1.5  # median snapshot time of 8 GiB / 1 GiB: constant time, within noise
MIN_THROUGHPUT_RATIO = 0.9  # OpenSAN LUN MiB/s / plain tgt LUN MiB/s

# The I/O of every throughput pass: sequential, 1 MiB requests, 8 in flight.
REQUEST_BYTES = MIB
QUEUE_DEPTH = 8


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
def opensan_array(work_dir: Path, disks: int, disk_gib: int, raid: str,
                  direct_io: bool = True) -> Iterator[OpenSanArray]:
    """Loop devices, an OpenSAN Linux array on them with a thick pool and a target; all torn
    down on exit: server, its tgtd, mounts under the data dir, loop devices."""
    with ExitStack() as stack:
        devices: list[str] = []
        for index in range(disks):
            device = make_loop(work_dir / f"disk{index}.img", disk_gib * GIB, direct_io)
            stack.callback(quietly, f"losetup -d {device}", run, ["losetup", "-d", device])
            devices.append(device)
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
def plain_tgt(directory: Path, size_bytes: int) -> Iterator[IscsiLun]:
    """A private tgtd serving one preallocated plain file as LUN 1; stopped on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / "plain.img"
    with image.open("wb") as file:
        os.posix_fallocate(file.fileno(), 0, size_bytes)
    portal = f"{HOST}:{free_port()}"
    daemon = TgtDaemon(free_control_port(), portal, directory / "tgtd.log")
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


@dataclass
class Throughput:
    opensan: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)


def measure_throughput(opensan: IscsiLun, plain: IscsiLun, size_bytes: int,
                       repetitions: int) -> dict[str, Throughput]:
    """Alternate OpenSAN and plain passes (the order flips every repetition); drop the page
    cache before each. A first, unmeasured pass writes every block of both, so that no pass
    reads a hole or pays for first allocation."""
    log(f"filling both LUNs ({size_bytes // MIB} MiB each, unmeasured)")
    for lun in (opensan, plain):
        drop_caches()
        qemu_bench(lun, size_bytes, write=True)
    results = {"write": Throughput(), "read": Throughput()}
    for kind, figures in results.items():
        for repetition in range(repetitions):
            order = [("opensan", opensan), ("plain", plain)]
            for name, lun in order if repetition % 2 == 0 else reversed(order):
                drop_caches()
                mib_s = qemu_bench(lun, size_bytes, write=kind == "write")
                getattr(figures, name).append(mib_s)
            log(f"{kind} {repetition + 1}/{repetitions}: OpenSAN {figures.opensan[-1]:.0f} MiB/s, "
                f"plain {figures.plain[-1]:.0f} MiB/s")
    return results


# --- Report ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))


def report(snapshots: list[SnapshotFigures], throughput: dict[str, Throughput],
           args: argparse.Namespace, elapsed_s: float) -> bool:
    print()
    loop_mode = "buffered" if args.loop_buffered else "direct-io"
    print(f"OpenSAN Linux backend benchmark: {args.disks} {loop_mode} loop devices of "
          f"{args.disk_gib} GiB, RAID {args.raid} thick pool; work dir in {args.work_root}")
    print(f"Snapshots: {args.snapshots} per volume, timed one after the other, the first right "
          "after the full write")
    print(f"I/O: qemu-img bench, sequential, {REQUEST_BYTES // MIB} MiB requests, "
          f"queue depth {QUEUE_DEPTH}, {args.io_gib} GiB per pass, page cache dropped before "
          f"each pass; medians of {args.repetitions}")
    print()
    rows: list[tuple[str, ...]] = [("snapshot (POST /rest/storage/snapshot)", "first", "median",
                                    "min", "max", "full write before")]
    for snap in snapshots:
        rows.append((f"{snap.size_gib} GiB volume, fully written", f"{snap.times_s[0] * 1000:.0f} ms",
                     f"{median(snap.times_s) * 1000:.0f} ms", f"{min(snap.times_s) * 1000:.0f} ms",
                     f"{max(snap.times_s) * 1000:.0f} ms", f"{snap.fill_mib_s:.0f} MiB/s"))
    print_table(rows)
    print()
    rows = [("throughput", "OpenSAN MiB/s", "plain tgt MiB/s", "runs OpenSAN", "runs plain")]
    for kind, figures in throughput.items():
        rows.append((f"sequential {kind}", f"{median(figures.opensan):.0f}",
                     f"{median(figures.plain):.0f}",
                     " ".join(f"{v:.0f}" for v in figures.opensan),
                     " ".join(f"{v:.0f}" for v in figures.plain)))
    print_table(rows)
    print()
    small, large = snapshots[0], snapshots[-1]
    snapshot_ratio = median(large.times_s) / median(small.times_s)
    checks = [(f"snapshot time {large.size_gib} GiB / {small.size_gib} GiB (medians)",
               f"{snapshot_ratio:.2f}x", f"<= {MAX_SNAPSHOT_RATIO}x",
               snapshot_ratio <= MAX_SNAPSHOT_RATIO)]
    for kind, figures in throughput.items():
        ratio = median(figures.opensan) / median(figures.plain)
        checks.append((f"sequential {kind}, OpenSAN / plain tgt (medians)", f"{ratio:.2f}x",
                       f">= {MIN_THROUGHPUT_RATIO}x", ratio >= MIN_THROUGHPUT_RATIO))
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
    parser.add_argument("--disk-gib", type=int, default=8, help="size of each loop device")
    parser.add_argument("--raid", default="0", help="pool RAID level: 0, 1, 5, 6 or 10")
    parser.add_argument("--io-gib", type=int, default=4, help="size of the I/O LUNs and of each pass")
    parser.add_argument("--snapshots", type=int, default=10, help="snapshots timed per volume")
    parser.add_argument("--repetitions", type=int, default=5, help="passes per throughput figure")
    parser.add_argument("--loop-buffered", action="store_true",
                        help="loop devices through the page cache instead of O_DIRECT")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    require_root()
    raise_on_sigterm()
    args.load_at_start = os.getloadavg()[0]
    started = time.monotonic()
    with work_directory(args.work_root, args.keep) as work_dir, \
            opensan_array(work_dir, args.disks, args.disk_gib, args.raid,
                          direct_io=not args.loop_buffered) as array:
        log(f"array up in {work_dir}: RAID {args.raid} pool over {args.disks} loop devices")
        one = array.create_volume("snap-1g", 1, snapshot_space_gib=1)
        eight = array.create_volume("snap-8g", 8, snapshot_space_gib=1)
        io = array.create_volume("io", args.io_gib)
        snapshots = [measure_snapshots(array, array.map(one, 0), one, 1, args.snapshots),
                     measure_snapshots(array, array.map(eight, 1), eight, 8, args.snapshots)]
        with plain_tgt(work_dir / "plain", int(io["capacityBytes"])) as plain:
            throughput = measure_throughput(array.map(io, 2), plain, args.io_gib * GIB,
                                            args.repetitions)
        passed = report(snapshots, throughput, args, time.monotonic() - started)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
