"""The soak and the crash campaign: 32 clients of mixed changes and reads against `opensan serve`,
kill -9 at random moments, and after every restart a check that every acknowledged change is
there, no object is half made, and accounting and events are exact.

Two phases, each with the same clients:

- **soak**: no kills for `--soak-minutes`; the server's RSS is sampled every second (rss.csv),
  and its growth after `--warmup` seconds is the figure (target: at most 10%).
- **crash**: `--crash-minutes` of the same load with `--kills` kill -9 at seeded random moments,
  each followed by a restart and a full verification; a clean stop and start ends the phase.

Each client owns the volumes whose names start with its prefix (`soak-c07-`) and keeps a model of
them: what it was told was done (acknowledged), what was refused (nothing may change), and at
most one change in flight when the server died (unknown: after the restart it must be there
whole or not at all, and the model follows what is found). The verification compares every
client's model with what the array answers, exactly; checks the pools' and targets' accounting;
and compares the events written since the last verification with the acknowledged changes, one
event per change, no more.

On the Linux backend (`--backend linux`, root) the array runs on loop devices with a private
tgtd, which is killed too (alone, or with the server): after each kill every LUN is read through
a real initiator (qemu-io over iSCSI), the data volumes' blocks are compared with what a writer
wrote and flushed, and the pools' subvolumes and tgtd's LUNs are compared with the records.

Run: `python bench/soak.py` (virtual array, about 21 minutes), `sudo python bench/soak.py
--backend linux` (about 22 minutes). Exit code 1 when a check failed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from linux_bench import (
    GIB,
    MIB,
    IscsiLun,
    free_control_port,
    free_port,
    make_loop,
    quietly,
    raise_on_sigterm,
    require_root,
    run,
    set_passwords,
    shutdown_tgtd,
    unmount_under,
)
from linux_bench import PASSWORD as LINUX_PASSWORD

from opensan.backends.linux.backend import IMAGE
from opensan.backends.tgt.tgtadm import Tgtadm

HOST = "127.0.0.1"
SIMULATED_PASSWORD = "1234"  # the virtual array keeps QSAN's default
TARGET_ID = 0
MAX_VOLUMES_PER_CLIENT = 3
LUNS_PER_CLIENT = 4  # client i maps on SANOS LUNs 8 + 4i .. 8 + 4i + 3 of target 0
CLIENT_LUN_BASE = 8  # below: the profile's LUNs
MAX_SNAPSHOTS = 6
MAX_SIZE_GB = 4
READ_SHARE = 0.5
DATA_VOLUMES = 4  # Linux: volumes a writer fills through iSCSI, verified block by block
DATA_REGIONS = 32  # 1 MiB regions per data volume, each with its own pattern byte
DATA_LUN_BASE = 200
SECTOR = 512


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The model of what each client did -------------------------------------------------------


@dataclass
class Vol:
    """A volume as its client knows it (or as the array shows it, for comparison)."""

    id: int
    size_gb: int
    space_gb: int = 0
    snapshots: dict[str, int] = field(default_factory=dict)  # name -> id
    lun: int | None = None


@dataclass
class Op:
    """One change a client sent, and what came of it."""

    client: int
    kind: str
    volume: str
    value: Any
    path: str
    event: str
    outcome: str = "pending"  # acked, refused, unknown; unknown becomes applied or absent
    status: int | None = None
    code: int | None = None


def applied(op: Op, seen: dict[str, Vol]) -> bool:
    """Whether what the array shows holds op's effect (for a change whose answer was lost)."""
    volume = seen.get(op.volume)
    if op.kind == "create":
        return volume is not None
    if op.kind == "delete":
        return volume is None
    if volume is None:
        return False
    if op.kind == "extend":
        return bool(volume.size_gb == op.value)
    if op.kind == "space":
        return bool(volume.space_gb == op.value)
    if op.kind == "snapshot":
        return bool(op.value in volume.snapshots)
    if op.kind == "delete-snapshot":
        return bool(op.value not in volume.snapshots)
    if op.kind == "map":
        return bool(volume.lun == op.value)
    if op.kind == "rollback":  # the snapshots after op.value[0] go; the client picks one with some
        target, later = op.value
        return target in volume.snapshots and not set(later) & set(volume.snapshots)
    return volume.lun is None  # unmap


def apply(model: dict[str, Vol], op: Op, new_id: int | None) -> None:
    """Change the model as op changed the array; new_id is a created object's ID."""
    if op.kind == "create":
        assert new_id is not None
        model[op.volume] = Vol(new_id, op.value)
        return
    if op.kind == "delete":
        del model[op.volume]
        return
    volume = model[op.volume]
    if op.kind == "extend":
        volume.size_gb = op.value
    elif op.kind == "space":
        volume.space_gb = op.value
    elif op.kind == "snapshot":
        assert new_id is not None
        volume.snapshots[op.value] = new_id
    elif op.kind == "delete-snapshot":
        del volume.snapshots[op.value]
    elif op.kind == "rollback":
        for name in op.value[1]:
            del volume.snapshots[name]
    elif op.kind == "map":
        volume.lun = op.value
    elif op.kind == "unmap":
        volume.lun = None


# --- What the array shows --------------------------------------------------------------------


@dataclass
class Observed:
    """One consistent read of the array, taken while no client sends anything."""

    volumes: list[dict[str, Any]]
    pools: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    mappings: list[dict[str, Any]]
    snapshots: dict[int, dict[str, Any]]

    def owned(self, prefix: str) -> dict[str, Vol]:
        """The volumes whose names start with prefix, in the model's terms."""
        luns = {m["volumeId"]: m["lun"] for m in self.mappings
                if m["targetId"] == TARGET_ID and m["snapshotId"] is None}
        owned = {}
        for volume in self.volumes:
            if volume["name"].startswith(prefix):
                snapshots = self.snapshots[volume["id"]]["snapshots"]
                owned[volume["name"]] = Vol(
                    volume["id"], volume["capacityBytes"] // GIB,
                    volume["snapshotSpaceBytes"] // GIB,
                    {s["name"]: s["id"] for s in snapshots}, luns.get(volume["id"]))
        return owned


def ok(http: httpx.Client, method: str, path: str) -> Any:
    response = http.request(method, path)
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json()


def observe(http: httpx.Client) -> Observed:
    volumes = ok(http, "GET", "/rest/storage/volumeinfo")
    return Observed(
        volumes=volumes,
        pools=ok(http, "GET", "/rest/storage/poolinfo"),
        targets=ok(http, "GET", "/rest/storage/availtarget"),
        mappings=ok(http, "GET", "/rest/storage/lunmappinginfo"),
        snapshots={v["id"]: ok(http, "GET", f"/rest/storage/snapshot/vdid/{v['id']}")
                   for v in volumes})


def accounting_errors(seen: Observed, thick_sum_rule: bool) -> list[str]:
    """Pools, volumes and targets whose figures do not add up."""
    errors = []
    for pool in seen.pools:
        members = [v for v in seen.volumes if v["poolId"] == pool["id"]]
        if pool["volumeCount"] != len(members):
            errors.append(f"pool {pool['name']}: volumeCount {pool['volumeCount']}, "
                          f"{len(members)} volumes listed")
        if pool["usedBytes"] + pool["freeBytes"] != pool["capacityBytes"]:
            errors.append(f"pool {pool['name']}: used + free != capacity")
        if thick_sum_rule and pool["type"] == "Thick":
            allocated = sum(v["capacityBytes"] + v["snapshotSpaceBytes"] for v in members)
            if pool["usedBytes"] != allocated:
                errors.append(f"pool {pool['name']}: used {pool['usedBytes']}, "
                              f"volumes allocate {allocated}")
    mapped = {m["volumeId"] for m in seen.mappings}
    for volume in seen.volumes:
        listed = len(seen.snapshots[volume["id"]]["snapshots"])
        if volume["snapshotCount"] != listed:
            errors.append(f"volume {volume['name']}: snapshotCount {volume['snapshotCount']}, "
                          f"{listed} listed")
        if volume["mapped"] != (volume["id"] in mapped):
            errors.append(f"volume {volume['name']}: mapped is {volume['mapped']}")
    for target in seen.targets:
        luns = sum(1 for m in seen.mappings if m["targetId"] == target["id"])
        if target["lunCount"] != luns:
            errors.append(f"target {target['id']}: lunCount {target['lunCount']}, {luns} mapped")
    return errors


def events_after(http: httpx.Client, last_id: int) -> list[dict[str, Any]]:
    """Every event with an ID above last_id, oldest first (page 1 is the newest)."""
    found: dict[int, dict[str, Any]] = {}
    page = 1
    while True:
        answer = ok(http, "GET", f"/rest/log/list/{page}")
        found.update((e["id"], e) for e in answer["events"] if e["id"] > last_id)
        if not answer["events"] or answer["events"][-1]["id"] <= last_id \
                or page >= answer["totalPages"]:
            return [found[i] for i in sorted(found)]
        page += 1


# --- The clients -----------------------------------------------------------------------------


class Gate:
    """Lets clients run, or holds them all (for a kill and the verification after it)."""

    def __init__(self, clients: int) -> None:
        self._open = threading.Event()
        self._condition = threading.Condition()
        self._held = 0
        self._clients = clients
        self.stopping = False

    def open(self) -> None:
        with self._condition:
            self._held = 0
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def wait_here(self) -> bool:
        """Called by a client between requests: holds it while the gate is closed; whether it
        was held (its connections are then stale)."""
        if self._open.is_set():
            return False
        with self._condition:
            self._held += 1
            self._condition.notify_all()
        self._open.wait()
        return True

    def wait_all_held(self, count: int | None = None, timeout: float = 180) -> None:
        """Wait until count clients (all, by default) are held."""
        wanted = self._clients if count is None else count
        with self._condition:
            if not self._condition.wait_for(lambda: self._held >= wanted, timeout):
                raise RuntimeError(f"only {self._held} of {wanted} clients stopped")


@dataclass
class Tally:
    """What the clients did, by kind and outcome, and what they saw wrong."""

    outcomes: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    reads: int = 0
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[(kind, outcome)] += 1

    def violation(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)
        log(f"VIOLATION: {message}")


class Client:
    """One of the 32: sends a random valid change or read, keeps the model of its volumes."""

    def __init__(self, index: int, seed: int, campaign: Campaign) -> None:
        self.index = index
        self.prefix = f"soak-c{index:02d}-"
        self.rng = random.Random(seed * 1000 + index)
        self.campaign = campaign
        self.model: dict[str, Vol] = {}
        self.in_flight: Op | None = None  # a change whose answer was lost
        self.done: list[Op] = []  # changes that took effect since the last verification
        self.counter = 0
        self.token = ""

    def login(self) -> None:
        with httpx.Client(base_url=self.campaign.base_url, timeout=60) as http:
            self.token = ok(http, "POST", f"/rest/login/account/admin/password/"
                                          f"{self.campaign.password}")["accessToken"]

    def run(self) -> None:
        gate = self.campaign.gate
        http = self._http()
        while not gate.stopping:
            if gate.wait_here():
                http.close()
                http = self._http()
                continue
            try:
                if self.rng.random() < READ_SHARE:
                    self._read(http)
                else:
                    self._change(http)
            except httpx.TransportError:
                # The gate closed before the kill: this client now waits for the verification,
                # which settles the change in flight.
                if not self.campaign.killing.is_set():
                    self.campaign.tally.violation(
                        f"client {self.index}: the server dropped a request with no kill")
                    self.campaign.gate.close()
        http.close()

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self.campaign.base_url, timeout=60,
                            headers={"Authorization": self.token})

    def _read(self, http: httpx.Client) -> None:
        """A monitoring read; reads of its own volumes must show exactly the model."""
        tally = self.campaign.tally
        choice = self.rng.randrange(6)
        if choice == 0 and self.model:
            name = self.rng.choice(sorted(self.model))
            volume = self.model[name]
            answer = ok(http, "GET", f"/rest/storage/snapshot/vdid/{volume.id}")
            names = {s["name"]: s["id"] for s in answer["snapshots"]}
            if names != volume.snapshots or answer["snapshotSpaceBytes"] != volume.space_gb * GIB:
                tally.violation(f"client {self.index}: {name} reads {names}, "
                                f"{answer['snapshotSpaceBytes']} B; model {volume}")
        elif choice == 1:
            seen = {v["name"]: v for v in ok(http, "GET", "/rest/storage/volumeinfo")
                    if v["name"].startswith(self.prefix)}
            sizes = {n: (v["capacityBytes"] // GIB, v["snapshotSpaceBytes"] // GIB)
                     for n, v in seen.items()}
            expected = {n: (v.size_gb, v.space_gb) for n, v in self.model.items()}
            if sizes != expected:
                tally.violation(f"client {self.index}: volumeinfo {sizes}, model {expected}")
        else:
            path = ["/rest/storage/poolinfo", "/rest/log/list/1", "/rest/storage/lunmappinginfo",
                    "/rest/dashboard/systeminfo", "/rest/dashboard/hwmonitor",
                    "/rest/storage/diskinfo"][self.rng.randrange(6)]
            ok(http, "GET", path)
        with tally.lock:
            tally.reads += 1

    def _change(self, http: httpx.Client) -> None:
        op = self._next_op()
        self.in_flight = op
        response = http.post(op.path)  # a TransportError leaves op in flight: unknown
        self.in_flight = None
        op.status = response.status_code
        if response.status_code == 200:
            op.outcome = "acked"
            answer = response.json()
            new_id = answer.get("id") if isinstance(answer, dict) else None
            apply(self.model, op, new_id)
            self.done.append(op)
        else:
            op.outcome = "refused"
            body = response.json()
            op.code = body.get("error", {}).get("code")
            if response.status_code >= 500 and response.status_code not in (503, 507):
                self.campaign.tally.violation(
                    f"client {self.index}: {op.path} answered {response.status_code} "
                    f"{response.text[:200]}")
        self.campaign.tally.count(op.kind, op.outcome)
        self.campaign.journal(op)

    def _next_op(self) -> Op:
        """A change that the array's rules allow for the model, chosen at random."""
        rng = self.rng
        campaign = self.campaign
        choices: list[tuple[str, str]] = []
        if len(self.model) < MAX_VOLUMES_PER_CLIENT:
            choices += [("create", "")] * 3
        for name, volume in self.model.items():
            if volume.size_gb < MAX_SIZE_GB:
                choices.append(("extend", name))
            choices.append(("space", name))
            if volume.space_gb and len(volume.snapshots) < MAX_SNAPSHOTS:
                choices += [("snapshot", name)] * 2
            if volume.snapshots:
                choices.append(("delete-snapshot", name))
            if len(volume.snapshots) > 1:
                choices.append(("rollback", name))
            if volume.lun is None:
                choices.append(("map", name))
                if not volume.snapshots:
                    choices.append(("delete", name))
            else:
                choices.append(("unmap", name))
        kind, name = rng.choice(choices)
        self.counter += 1
        if kind == "create":
            name = f"{self.prefix}v{self.counter}"
            size = rng.randint(1, 2)
            return Op(self.index, kind, name, size,
                      f"/rest/storage/createvolume/poolid/{campaign.pool_id}/name/{name}/"
                      f"sizegb/{size}/provision/thick",
                      f"Volume {name} created in pool {campaign.pool_name}: {size} GiB, Thick.")
        volume = self.model[name]
        if kind == "extend":
            size = volume.size_gb + 1
            return Op(self.index, kind, name, size,
                      f"/rest/storage/extendvolume/vdid/{volume.id}/sizegb/{size}",
                      f"Volume {name} extended to {size} GiB.")
        if kind == "space":
            size = rng.choice([s for s in (1, 2, 3) if s != volume.space_gb])
            return Op(self.index, kind, name, size,
                      f"/rest/storage/snapspace/vdid/{volume.id}/sizegb/{size}",
                      f"Snapshot space of volume {name} set to {size} GiB.")
        if kind == "snapshot":
            snapshot = f"s{self.counter}"
            return Op(self.index, kind, name, snapshot,
                      f"/rest/storage/snapshot/vdid/{volume.id}/name/{snapshot}",
                      f"Snapshot {snapshot} of volume {name} taken.")
        if kind == "delete-snapshot":
            snapshot = rng.choice(sorted(volume.snapshots))
            return Op(self.index, kind, name, snapshot,
                      f"/rest/storage/deletesnapshot/snapid/{volume.snapshots[snapshot]}",
                      f"Snapshot {snapshot} of volume {name} deleted.")
        if kind == "rollback":
            names = list(volume.snapshots)  # oldest first, as they were taken
            target = rng.choice(names[:-1])
            later = names[names.index(target) + 1:]
            return Op(self.index, kind, name, [target, later],
                      f"/rest/storage/rollback/snapid/{volume.snapshots[target]}",
                      f"Volume {name} rolled back to snapshot {target}; later snapshots "
                      f"deleted: {', '.join(later)}.")
        if kind == "map":
            taken = {v.lun for v in self.model.values()}
            first = CLIENT_LUN_BASE + self.index * LUNS_PER_CLIENT
            lun = min(set(range(first, first + LUNS_PER_CLIENT)) - taken)
            return Op(self.index, kind, name, lun,
                      f"/rest/storage/maplun/targetid/{TARGET_ID}/lun/{lun}/vdid/{volume.id}",
                      f"Volume {name} mapped to target {TARGET_ID} ({campaign.target_iqn}) as "
                      f"LUN {lun}, Read-write, hosts *.")
        if kind == "unmap":
            return Op(self.index, kind, name, volume.lun,
                      f"/rest/storage/unmaplun/targetid/{TARGET_ID}/lun/{volume.lun}",
                      f"Volume {name} unmapped from target {TARGET_ID} LUN {volume.lun}.")
        return Op(self.index, "delete", name, None,
                  f"/rest/storage/deletevolume/vdid/{volume.id}", f"Volume {name} deleted.")

    def reconcile(self, seen: dict[str, Vol]) -> list[str]:
        """Settle the change in flight by what the array shows, then compare the whole model."""
        op = self.in_flight
        if op is not None:
            self.in_flight = None
            if applied(op, seen):
                op.outcome = "applied"
                new_id = None
                if op.kind == "create":
                    new_id = seen[op.volume].id
                elif op.kind == "snapshot":
                    new_id = seen[op.volume].snapshots[op.value]
                apply(self.model, op, new_id)
                self.done.append(op)
            else:
                op.outcome = "absent"
            self.campaign.tally.count(op.kind, op.outcome)
            self.campaign.journal(op)
        if seen == self.model:
            return []
        return [f"client {self.index}: the array shows {seen}, the client was told {self.model}"]


# --- The server under test -------------------------------------------------------------------


class Server:
    """`opensan serve` as a child process that the campaign kills and starts again."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.argv[self.argv.index('--port') + 1]}"

    def start(self) -> float:
        """Start it and wait until it answers; returns the seconds that took."""
        started = time.monotonic()
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "opensan", *self.argv],
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"opensan serve exited with {self.process.returncode}; "
                                   f"see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/rest/", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            if time.monotonic() - started > 120:
                raise RuntimeError(f"opensan serve did not answer in 120 s; see {self.log_path}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def rss_kib(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except FileNotFoundError:
            return None
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(match.group(1)) if match else None


# --- The Linux array: loop devices, tgtd, data written through iSCSI -------------------------


INITIATOR = "iqn.2024-01.org.opensan:soak-initiator"


# qemu's iSCSI driver says this when a MODE SENSE meets a unit attention (LUNs were added to or
# removed from the target, as the clients do all the time); the command itself is not affected.
HARMLESS = "Failed MODE_SENSE(6), LUN assumed writable"


def qemu_io(lun: IscsiLun, *commands: str, readonly: bool = False) -> tuple[bool, str]:
    """Run qemu-io commands on a LUN: whether all succeeded and every pattern matched, and the
    output (only the complaining lines, when there are any)."""
    options = (f"driver=iscsi,transport=tcp,portal={lun.portal},target={lun.iqn},"
               f"lun={lun.lun},initiator-name={INITIATOR}")
    argv = ["qemu-io", *(["-r"] if readonly else []), "--image-opts", options]
    for command in commands:
        argv += ["-c", command]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    output = completed.stdout + completed.stderr
    complaints = [line for line in output.splitlines() if HARMLESS not in line
                  and ("failed" in line.lower() or "error" in line.lower())]
    if completed.returncode != 0 or complaints:
        return False, "\n".join(complaints) or output[-300:]
    return True, output


@dataclass
class LinuxRig:
    """What the Linux campaign needs beyond the API: the portal, tgtd and the pool's files."""

    portal: str
    control_port: int
    data_dir: Path

    def tgtd_pids(self) -> list[int]:
        found = subprocess.run(["pgrep", "-f", f"tgtd -f -C {self.control_port} "],
                               capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in found]

    def kill_tgtd(self) -> None:
        for pid in self.tgtd_pids():
            os.kill(pid, signal.SIGKILL)


class DataWriter:
    """Writes 1 MiB regions of the data volumes through iSCSI, each write flushed before it
    counts as acknowledged; verify() reads every region back."""

    def __init__(self, luns: list[IscsiLun], seed: int, campaign: Campaign) -> None:
        self.luns = luns
        self.rng = random.Random(seed)
        self.campaign = campaign
        self.patterns = [[0] * DATA_REGIONS for _ in luns]  # what each region holds
        self.in_flight: tuple[int, int, int] | None = None  # (volume, region, new pattern)
        self.writes = collections.Counter[str]()

    def run(self) -> None:
        gate = self.campaign.gate
        while not gate.stopping:
            gate.wait_here()
            if gate.stopping:
                return
            volume = self.rng.randrange(len(self.luns))
            region = self.rng.randrange(DATA_REGIONS)
            pattern = self.rng.choice([p for p in range(1, 256)
                                       if p != self.patterns[volume][region]])
            self.in_flight = (volume, region, pattern)
            good, output = qemu_io(self.luns[volume], f"write -P {pattern} {region * MIB} 1M",
                                   "flush")
            if good:
                self.patterns[volume][region] = pattern
                self.in_flight = None
                self.writes["acked"] += 1
            else:
                # The LUN went away under the write (tgtd or the server killed): it is unknown
                # until the verification; wait there.
                self.writes["unknown"] += 1
                if not self.campaign.killing.is_set():
                    self.campaign.tally.violation(f"a data write failed with no kill: {output}")
                while not gate.stopping and self.in_flight is not None:
                    gate.wait_here()
                    time.sleep(0.05)

    def verify(self) -> list[str]:
        """Every region holds its last acknowledged pattern; the one in flight at a kill holds,
        sector by sector, either the old or the new pattern."""
        errors = []
        flight = self.in_flight
        for index, lun in enumerate(self.luns):
            commands = [f"read -P {self.patterns[index][region]} {region * MIB} 1M"
                        for region in range(DATA_REGIONS)
                        if flight is None or (index, region) != flight[:2]]
            good, output = qemu_io(lun, *commands, readonly=True)
            if not good:
                errors.append(f"data volume {index}: {output.strip()[:400]}")
        if flight is not None:
            index, region, new = flight
            old = self.patterns[index][region]
            good, output = qemu_io(self.luns[index], f"read -v {region * MIB} 1M", readonly=True)
            sectors = _sector_patterns(output) if good else None
            if sectors is None or any(s not in (old, new) for s in sectors):
                errors.append(f"data volume {index} region {region}: neither {old} nor {new} "
                              "(sector by sector)")
            else:
                self.patterns[index][region] = new if sectors.count(new) == len(sectors) else old
                if 0 < sectors.count(new) < len(sectors):
                    # A torn write that was never acknowledged: make the region whole again.
                    self.patterns[index][region] = old
                    qemu_io(self.luns[index], f"write -P {old} {region * MIB} 1M", "flush")
            self.in_flight = None
        return errors


def _sector_patterns(dump: str) -> list[int] | None:
    """The byte each 512-byte sector of a `qemu-io read -v` dump is filled with, or None for a
    sector of mixed bytes."""
    data = bytearray()
    for line in dump.splitlines():
        match = re.match(r"^[0-9a-f]{8}:\s+((?:[0-9a-f]{2}\s+){1,16})", line)
        if match:
            data += bytes(int(h, 16) for h in match.group(1).split())
    sectors = []
    for start in range(0, len(data), SECTOR):
        sector = data[start:start + SECTOR]
        if sector.count(sector[0]) != len(sector):
            return None
        sectors.append(sector[0])
    return sectors if len(data) == MIB else None


def storage_errors(rig: LinuxRig, seen: Observed, target_iqn: str) -> list[str]:
    """Subvolumes on disk and LUNs in tgtd match the records, and every LUN reads through iSCSI."""
    errors = []
    for pool in seen.pools:
        mountpoint = rig.data_dir / "pools" / str(pool["id"])
        # volumes/<id>, or volumes/<id>.<generation> after rollbacks: one copy per volume
        names = sorted(p.name for p in (mountpoint / "volumes").glob("*"))
        copies = collections.Counter(name.split(".")[0] for name in names)
        records = {str(v["id"]) for v in seen.volumes if v["poolId"] == pool["id"]}
        if set(copies) != records:
            errors.append(f"pool {pool['id']}: volume subvolumes {sorted(set(copies) ^ records)}"
                          " differ from the records")
        for volume_id in (v for v, n in copies.items() if n > 1):
            errors.append(f"pool {pool['id']}: volume {volume_id} has more than one copy: "
                          f"{[n for n in names if n.split('.')[0] == volume_id]}")
        snapshots_on_disk = {p.name for p in (mountpoint / "snapshots").glob("*/*")}
        snapshot_records = {str(s["id"]) for v in seen.volumes if v["poolId"] == pool["id"]
                            for s in seen.snapshots[v["id"]]["snapshots"]}
        if snapshots_on_disk != snapshot_records:
            errors.append(f"pool {pool['id']}: snapshot subvolumes "
                          f"{sorted(snapshots_on_disk ^ snapshot_records)} differ from the records")
    volumes = {v["id"]: v for v in seen.volumes}
    data = {int(p.name.split(".")[0]): p for pool in seen.pools
            for p in (rig.data_dir / "pools" / str(pool["id"]) / "volumes").glob("*")}
    wanted = {m["lun"] + 1: str(data.get(m["volumeId"], "(no subvolume)") / Path(IMAGE))
              for m in seen.mappings if m["targetId"] == TARGET_ID and m["snapshotId"] is None}
    served = {lun.lun: lun.path for target in Tgtadm(rig.control_port).show()
              if target.iqn == target_iqn or target.iqn.startswith(f"{target_iqn}.acl-")
              for lun in target.luns if lun.lun != 0}
    if served != wanted:
        errors.append(f"tgtd serves {len(served)} LUNs, {len(wanted)} are mapped: "
                      f"{sorted(set(served.items()) ^ set(wanted.items()))[:4]}")
    for mapping in seen.mappings:
        name = volumes[mapping["volumeId"]]["name"]
        if mapping["targetId"] != TARGET_ID or not name.startswith("soak-c"):
            continue
        size = volumes[mapping["volumeId"]]["capacityBytes"]
        lun = IscsiLun(rig.portal, target_iqn, mapping["lun"] + 1)
        good, output = qemu_io(lun, "read -P 0 0 1M", f"read -P 0 {size - MIB} 1M", readonly=True)
        if not good:
            errors.append(f"LUN {mapping['lun']} ({name}): {output.strip()[:300]}")
    return errors


# --- The campaign ----------------------------------------------------------------------------


@dataclass
class Life:
    """One run of the server between two starts: when it started, why it ended."""

    started: float
    start_seconds: float
    ended_by: str = ""


class Campaign:
    def __init__(self, args: argparse.Namespace, server: Server, password: str,
                 out_dir: Path, rig: LinuxRig | None) -> None:
        self.args = args
        self.server = server
        self.base_url = server.base_url
        self.password = password
        self.out_dir = out_dir
        self.rig = rig
        self.rng = random.Random(args.seed)
        self.gate = Gate(args.clients + (1 if rig else 0))
        self.killing = threading.Event()
        self.tally = Tally()
        self.pool_id = 0
        self.pool_name = ""
        self.target_iqn = ""
        self.clients: list[Client] = []
        self.writer: DataWriter | None = None
        self.last_event_id = 0
        self.baseline: dict[str, Any] = {}
        self.verifications: list[dict[str, Any]] = []
        self.rss: list[tuple[float, str, int]] = []
        self.phase = "setup"
        self.lives: list[Life] = []
        self.kills: list[str] = []
        self._journal = (out_dir / "journal.jsonl").open("w")
        self._journal_lock = threading.Lock()
        self.admin = httpx.Client(base_url=self.base_url, timeout=120)

    def journal(self, op: Op) -> None:
        with self._journal_lock:
            self._journal.write(json.dumps(op.__dict__) + "\n")

    def login_admin(self) -> None:
        self.admin.headers["Authorization"] = ok(
            self.admin, "POST", f"/rest/login/account/admin/password/{self.password}")["accessToken"]

    def setup(self) -> None:
        """The pool and target the clients use, the data volumes on Linux, the baseline."""
        self.login_admin()
        pools = ok(self.admin, "GET", "/rest/storage/poolinfo")
        if not pools:
            disks = ",".join(str(d["id"]) for d in ok(self.admin, "GET", "/rest/storage/diskinfo"))
            pools = [ok(self.admin, "POST", f"/rest/storage/createpool/name/soak/raidlevel/"
                                            f"{self.args.raid}/diskids/{disks}/type/thick")]
        self.pool_id, self.pool_name = pools[0]["id"], pools[0]["name"]
        targets = [t for t in ok(self.admin, "GET", "/rest/storage/availtarget")
                   if t["id"] == TARGET_ID]
        if not targets:
            targets = [ok(self.admin, "POST", "/rest/storage/createtarget/controller/1")]
        self.target_iqn = targets[0]["iqn"]
        if self.rig is not None:
            for index in range(DATA_VOLUMES):
                volume = ok(self.admin, "POST", f"/rest/storage/createvolume/poolid/"
                                                f"{self.pool_id}/name/soak-data-{index}/sizegb/1")
                # For this initiator only, as a host maps its disks: tgt serves them from a
                # target of their own, which the clients' LUN changes on target 0 do not touch.
                ok(self.admin, "POST", f"/rest/storage/maplun/targetid/{TARGET_ID}/lun/"
                                       f"{DATA_LUN_BASE + index}/vdid/{volume['id']}/"
                                       f"permission/rw/host/{INITIATOR}")
            companion = next(t.iqn for t in Tgtadm(self.rig.control_port).show()
                             if INITIATOR in t.acl)
            luns = [IscsiLun(self.rig.portal, companion, DATA_LUN_BASE + index + 1)
                    for index in range(DATA_VOLUMES)]
            self.writer = DataWriter(luns, self.args.seed, self)
        seen = observe(self.admin)
        self.baseline = self._others(seen)
        self.last_event_id = events_after(self.admin, 0)[-1]["id"]
        self.clients = [Client(i, self.args.seed, self) for i in range(self.args.clients)]
        for client in self.clients:
            client.login()

    @staticmethod
    def _others(seen: Observed) -> dict[str, Any]:
        """What no client touches (the profile's volumes, the data volumes, the targets), less
        the figures that move on their own (use measured or simulated)."""
        kept = ("id", "name", "poolId", "capacityBytes", "snapshotSpaceBytes", "mapped")
        others = [v for v in seen.volumes if not v["name"].startswith("soak-c")]
        return {
            "volumes": [{k: v[k] for k in kept} for v in others],
            "snapshots": {v["id"]: [(s["id"], s["name"])
                                    for s in seen.snapshots[v["id"]]["snapshots"]]
                          for v in others},
            "targets": [{k: v for k, v in t.items() if k != "lunCount"} for t in seen.targets],
        }

    def run(self) -> int:
        threads = [threading.Thread(target=c.run, name=f"client-{c.index}", daemon=True)
                   for c in self.clients]
        if self.writer is not None:
            threads.append(threading.Thread(target=self.writer.run, name="writer", daemon=True))
        sampler = threading.Thread(target=self._sample_rss, daemon=True)
        sampler.start()
        self.gate.open()
        for thread in threads:
            thread.start()
        self.phase = "soak"
        log(f"soak: {self.args.clients} clients, {self.args.soak_minutes} minutes, no kills")
        self._run_for(self.args.soak_minutes * 60)
        self._pause()
        self.verify("end of soak")
        self.phase = "crash"
        kinds = self._kill_plan()
        moments = sorted(self.rng.uniform(5, self.args.crash_minutes * 60 - 5)
                         for _ in kinds)
        log(f"crash: {len(kinds)} kills over {self.args.crash_minutes} minutes "
            f"({collections.Counter(kinds)})")
        elapsed = 0.0
        for moment, kind in zip(moments, kinds, strict=True):
            self.gate.open()
            self._run_for(moment - elapsed)
            elapsed = moment
            self._kill(kind)
            self.verify(f"kill {len(self.verifications)} ({kind})")
        self.gate.open()
        self._run_for(self.args.crash_minutes * 60 - elapsed)
        self._pause()
        self.server.stop()
        self._restart("clean stop")
        self.verify("clean restart")
        self.gate.stopping = True
        self.gate.open()
        for thread in threads:
            thread.join(120)
        return self.report()

    def _kill_plan(self) -> list[str]:
        if self.rig is None:
            return ["server"] * self.args.kills
        kinds = ["server", "both", "tgtd"] * self.args.kills
        return kinds[:self.args.kills]

    def _run_for(self, seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, seconds)
        while time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()) if deadline > time.monotonic() else 0)

    def _pause(self) -> None:
        self.gate.close()
        self.gate.wait_all_held()

    def _kill(self, kind: str) -> None:
        """kill -9 the server, tgtd or both under full load, then bring back what died.

        For a server kill the gate closes first: requests in flight die with the server, and no
        client starts a new one against a dead port (which would only add certain failures)."""
        self.killing.set()
        self.kills.append(kind)
        if kind in ("server", "both"):
            self.gate.close()
        if kind in ("tgtd", "both"):
            assert self.rig is not None
            self.rig.kill_tgtd()
        if kind in ("server", "both"):
            self.server.kill()
            # The API clients stop at once; the data writer's qemu-io waits for tgtd to come
            # back (it reconnects), which it does when the server starts again.
            self.gate.wait_all_held(self.args.clients)
            self._restart(f"kill -9 ({kind})")
            self.gate.wait_all_held()
        else:
            # The server notices on its next tick and starts tgtd again; the load goes on.
            time.sleep(3)
            self._pause()
        self.killing.clear()

    def _restart(self, why: str) -> None:
        self.lives[-1].ended_by = why
        seconds = self.server.start()
        self.lives.append(Life(time.monotonic(), seconds))
        log(f"restarted after {why} in {seconds:.2f} s")

    def verify(self, label: str) -> None:
        """With every client held: the models, accounting, events and (Linux) storage."""
        started = time.monotonic()
        phase, self.phase = self.phase, "verify"  # its reads are not the soak's load
        self.login_admin()
        seen = observe(self.admin)
        errors: list[str] = []
        for client in self.clients:
            errors += client.reconcile(seen.owned(client.prefix))
        if self._others(seen) != self.baseline:
            errors.append("objects no client touches changed")
        errors += accounting_errors(seen, thick_sum_rule=self.rig is None)
        errors += self._event_errors()
        if self.rig is not None:
            errors += storage_errors(self.rig, seen, self.target_iqn)
            assert self.writer is not None
            errors += self.writer.verify()
        changes = sum(len(c.done) for c in self.clients)
        for client in self.clients:
            client.done.clear()
        for error in errors:
            self.tally.violation(f"{label}: {error}")
        self.phase = phase
        seconds = time.monotonic() - started
        self.verifications.append({"label": label, "errors": len(errors), "changes": changes,
                                   "volumes": len(seen.volumes), "seconds": seconds})
        log(f"verified {label}: {changes} changes since the last check, {len(seen.volumes)} "
            f"volumes, {len(errors)} errors ({seconds:.1f} s)")

    def _event_errors(self) -> list[str]:
        """One event for each change that took effect, in order per client, none for others."""
        events = events_after(self.admin, self.last_event_id)
        ids = [e["id"] for e in events]
        errors = []
        if ids and ids != list(range(self.last_event_id + 1, ids[-1] + 1)):
            errors.append(f"event IDs after {self.last_event_id} are not contiguous")
        if ids:
            self.last_event_id = ids[-1]
        written = collections.Counter(e["message"] for e in events if "soak-c" in e["message"])
        expected = collections.Counter(op.event for c in self.clients for op in c.done)
        for message in (written - expected):
            errors.append(f"event without an acknowledged change: {message}")
        for message in (expected - written):
            errors.append(f"no event for: {message}")
        return errors

    def _sample_rss(self) -> None:
        started = time.monotonic()
        with (self.out_dir / "rss.csv").open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["seconds", "phase", "rss_kib"])
            while not self.gate.stopping:
                rss = self.server.rss_kib()
                if rss is not None:
                    moment = time.monotonic() - started
                    self.rss.append((moment, self.phase, rss))
                    writer.writerow([f"{moment:.1f}", self.phase, rss])
                    file.flush()
                time.sleep(1)

    def report(self) -> int:
        args = self.args
        print()
        print(f"== soak report ({args.backend}, seed {args.seed}, {args.clients} clients)")
        kinds = sorted({kind for kind, _ in self.tally.outcomes})
        print(f"{'change':<16}{'acked':>8}{'refused':>9}{'applied':>9}{'absent':>8}")
        for kind in kinds:
            row = [self.tally.outcomes[(kind, o)] for o in ("acked", "refused", "applied", "absent")]
            print(f"{kind:<16}" + "".join(f"{n:>{w}}" for n, w in zip(row, (8, 9, 9, 8),
                                                                          strict=True)))
        acked = sum(n for (_, o), n in self.tally.outcomes.items() if o == "acked")
        print(f"acknowledged changes: {acked}, reads: {self.tally.reads}")
        refusals = collections.Counter(
            (op["status"], op["code"]) for op in map(json.loads, (self.out_dir / "journal.jsonl")
                                                     .read_text().splitlines())
            if op["outcome"] == "refused")
        if refusals:
            print(f"refusals (status, code): {dict(refusals)}")
        if self.writer is not None:
            print(f"data writes through iSCSI: {dict(self.writer.writes)}")
        print(f"kills: {len(self.kills)} ({dict(collections.Counter(self.kills))}); restarts: "
              f"{len(self.lives) - 1}, start times (s): "
              + ", ".join(f"{life.start_seconds:.2f}" for life in self.lives[1:]))
        for check in self.verifications:
            print(f"  {check['label']:<24} {check['changes']:>6} changes  {check['volumes']:>4} "
                  f"volumes  {check['errors']} errors  {check['seconds']:.1f} s")
        rss_ok = self._rss_report()
        violations = len(self.tally.violations)
        print(f"violations: {violations}" + (" (see above)" if violations else ""))
        enough_kills = len(self.kills) >= args.kills
        verdict = not violations and rss_ok and enough_kills
        print("RESULT:", "PASS" if verdict else "FAIL")
        print(f"output: {self.out_dir} (journal.jsonl, rss.csv, server.log)")
        return 0 if verdict else 1

    def _rss_report(self) -> bool:
        """RSS over the soak phase after the warm-up: growth of the last minute's median over
        the first minute's, and the peak; target growth at most 10%."""
        soak = [(t, r) for t, phase, r in self.rss if phase == "soak"]
        if not soak:
            print("RSS: no samples")
            return False
        start = soak[0][0] + self.args.warmup
        after = [(t, r) for t, r in soak if t >= start]
        if len(after) < 120:
            print(f"RSS: only {len(after)} samples after the warm-up; run a longer soak")
            return False
        first = statistics.median(r for t, r in after if t < start + 60)
        last = statistics.median(r for t, r in after if t >= after[-1][0] - 60)
        peak = max(r for _, r in after)
        growth = last / first - 1
        print(f"RSS after {self.args.warmup} s warm-up: first minute {first / 1024:.1f} MiB, "
              f"last minute {last / 1024:.1f} MiB ({growth:+.1%}), peak {peak / 1024:.1f} MiB "
              f"({peak / first - 1:+.1%}); before warm-up {soak[0][1] / 1024:.1f} MiB")
        verifying = [r for _, phase, r in self.rss if phase == "verify"]
        if verifying:
            print(f"RSS while verifying (every event page read back): peak "
                  f"{max(verifying) / 1024:.1f} MiB")
        crash = [r for _, phase, r in self.rss if phase == "crash"]
        if crash:
            print(f"RSS during the crash phase: median {statistics.median(crash) / 1024:.1f} MiB, "
                  f"peak {max(crash) / 1024:.1f} MiB")
        return growth <= 0.10


# --- Setting up --------------------------------------------------------------------------------


@contextmanager
def simulated_server(work_dir: Path) -> Iterator[tuple[Server, str, LinuxRig | None]]:
    server = Server(["serve", "--state-dir", str(work_dir / "state"), "--port", str(free_port()),
                     "--log-level", "warning", "--seed", "7"], work_dir / "server.log")
    try:
        yield server, SIMULATED_PASSWORD, None
    finally:
        server.stop()


@contextmanager
def linux_server(work_dir: Path, args: argparse.Namespace
                 ) -> Iterator[tuple[Server, str, LinuxRig | None]]:
    """Loop devices and a Linux-backend server on them; everything torn down on exit."""
    with ExitStack() as stack:
        devices = []
        for index in range(args.disks):
            image = work_dir / f"disk{index}.img"
            stack.callback(image.unlink, missing_ok=True)  # the logs and the journal stay
            device = make_loop(image, args.disk_gib * GIB, True)
            stack.callback(quietly, f"losetup -d {device}", run, ["losetup", "-d", device])
            devices.append(device)
        data_dir = work_dir / "data"
        stack.callback(quietly, "unmount pools", unmount_under, data_dir)
        rig = LinuxRig(f"{HOST}:{free_port()}", free_control_port(), data_dir)
        stack.callback(quietly, "stop tgtd", shutdown_tgtd, rig.control_port)
        config = work_dir / "linux.toml"
        config.write_text(
            "devices = [" + ", ".join(f'"{d}"' for d in devices) + "]\n"
            f'data_dir = "{data_dir}"\nportal = "{rig.portal}"\n'
            f"tgtd_control_port = {rig.control_port}\n")
        state_dir = work_dir / "state"
        set_passwords(state_dir)
        server = Server(["serve", "--backend", "linux", "--config", str(config),
                         "--state-dir", str(state_dir), "--port", str(free_port()),
                         "--log-level", "warning", "--http"],  # on loopback, as the virtual one
                        work_dir / "server.log")
        stack.callback(server.stop)
        yield server, LINUX_PASSWORD, rig


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("simulated", "linux"), default="simulated")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--soak-minutes", type=float, default=10)
    parser.add_argument("--crash-minutes", type=float, default=10)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--warmup", type=float, default=60, help="seconds before RSS counts")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--disks", type=int, default=4, help="Linux: loop devices")
    parser.add_argument("--disk-gib", type=int, default=256, help="Linux: size of each (sparse)")
    parser.add_argument("--raid", default="5", help="Linux: the pool's RAID level")
    parser.add_argument("--work-root", type=Path, default=Path("/var/tmp"))
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    raise_on_sigterm()
    if args.backend == "linux":
        require_root()
    work_dir = Path(tempfile.mkdtemp(prefix="opensan-soak-", dir=args.work_root))
    log(f"work directory {work_dir}")
    setup = linux_server(work_dir, args) if args.backend == "linux" else simulated_server(work_dir)
    with setup as (server, password, rig):
        campaign = Campaign(args, server, password, work_dir, rig)
        campaign.lives.append(Life(time.monotonic(), server.start()))
        campaign.setup()
        return campaign.run()


if __name__ == "__main__":
    sys.exit(main())
