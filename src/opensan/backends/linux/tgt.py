"""iSCSI targets through the userspace tgt daemon: tgtadm commands, its `show` output, and a
private tgtd supervised as a child process.

What tgt does here (tgt 1.0.85), and this module relies on:
- LUN 0 of every target is tgt's own controller LU; disk LUNs start at 1. parse_show skips it.
- `--op show --tid N` prints the target's iSCSI parameters, not its LUNs: always read the full
  show and pick the target.
- ACLs are per target. Address ACLs ("ALL", an IP, a subnet) and initiator-name ACLs share one
  "ACL information" section, addresses first. An initiator that matches none does not see
  the target in discovery and cannot log in ("Target not found").
- `--params readonly=1` works only as an update of an existing LUN.
- A target with a session cannot be deleted without --force.
- tgtd did not stop on SIGTERM here, even without targets. It stops on `--op delete --mode
  system`, which is refused ("invalid request") while any target exists.
- If the portal address is taken, tgtd does not fail: it keeps running and listens on
  0.0.0.0:3260 and [::]:3260 instead. TgtDaemon.start checks the portal and refuses that.
- tgtd keeps nothing across restarts: the backend re-applies its targets after one.
- The control "port" is no TCP port but the number in /var/run/tgtd/socket.<n>, 0-32767.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from opensan.backends.linux.runner import CommandFailed, StrPath, run, spawn
from opensan.domain.errors import BackendError, InvalidArgument
from opensan.domain.models import EventLevel, LunMapping, Permission, Target

# tgtd refuses larger -C values. The "port" names the socket /var/run/tgtd/socket.<port>.
MAX_CONTROL_PORT = 32767
SOCKET_DIRECTORY = Path("/var/run/tgtd")


@dataclass(frozen=True)
class TgtLun:
    lun: int
    path: str
    readonly: bool
    # As `show` reports it: whole megabytes by tgt's own rounding, times 10**6. Compare it with
    # reported_size_bytes(exact size), never with the exact size.
    size_bytes: int


def reported_size_bytes(size_bytes: int) -> int:
    """What TgtLun.size_bytes will be for a backing store of size_bytes.

    tgt prints sizes in "MB" with its own formula (print_disksize in usr/target.c); the same
    arithmetic here lets a caller tell whether tgt still serves an old size after a resize.
    """
    sectors = size_bytes // 512
    return (sectors - (sectors // 625 - 974)) // 1950 * 1_000_000


@dataclass(frozen=True)
class TgtTarget:
    tid: int
    iqn: str
    luns: tuple[TgtLun, ...]
    acl: tuple[str, ...]  # "ALL", addresses and initiator names, as tgt shows them


_TARGET = re.compile(r"^Target (\d+): (\S+)\s*$")
_SECTION = re.compile(r"^ {4}(\S.*):\s*$")
_LUN = re.compile(r"^ {8}LUN: (\d+)\s*$")
_FIELD = re.compile(r"^ {12}([^:]+): ?(.*)$")
_ENTRY = re.compile(r"^ {8}(\S.*?)\s*$")
_SIZE = re.compile(r"(\d+) MB")


def _lun(number: int, fields: dict[str, str]) -> TgtLun | None:
    if fields.get("Type") == "controller":
        return None
    size = _SIZE.match(fields.get("Size", ""))
    return TgtLun(
        lun=number,
        path=fields.get("Backing store path", ""),
        readonly=fields.get("Readonly") == "Yes",
        size_bytes=int(size.group(1)) * 1_000_000 if size else 0,
    )


def parse_show(text: str) -> list[TgtTarget]:
    """Targets from `tgtadm --lld iscsi --mode target --op show`, without the controller LUs."""
    targets: list[TgtTarget] = []
    tid, iqn, section = 0, "", ""
    luns: list[tuple[int, dict[str, str]]] = []
    acl: list[str] = []

    def finish() -> None:
        if iqn:
            found = (_lun(number, fields) for number, fields in luns)
            targets.append(TgtTarget(tid, iqn, tuple(lun for lun in found if lun), tuple(acl)))

    for line in text.splitlines():
        if match := _TARGET.match(line):
            finish()
            tid, iqn, section = int(match.group(1)), match.group(2), ""
            luns, acl = [], []
        elif match := _SECTION.match(line):
            section = match.group(1)
        elif section == "LUN information" and (match := _LUN.match(line)):
            luns.append((int(match.group(1)), {}))
        elif section == "LUN information" and luns and (match := _FIELD.match(line)):
            luns[-1][1][match.group(1)] = match.group(2).strip()
        elif section == "ACL information" and (match := _ENTRY.match(line)):
            acl.append(match.group(1))
    finish()
    return targets


def parse_portals(text: str) -> tuple[str, ...]:
    """Portals ("address:port") from `tgtadm --lld iscsi --mode portal --op show`."""
    return tuple(re.findall(r"^Portal: (\S+?),\d+\s*$", text, re.MULTILINE))


def _is_initiator_name(initiator: str) -> bool:
    """iSCSI names start with iqn., eui. or naa.; anything else ("ALL", 10.0.0.0/24) is an address."""
    return initiator.lower().startswith(("iqn.", "eui.", "naa."))


def _acl_option(initiator: str) -> list[str]:
    if _is_initiator_name(initiator):
        return ["--initiator-name", initiator]
    return ["--initiator-address", initiator]


@dataclass(frozen=True)
class Tgtadm:
    """tgtadm commands for the tgtd listening on one control port."""

    control_port: int

    def _run(self, *arguments: str, timeout: float = 30) -> str:
        return run(
            ["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *arguments], timeout=timeout
        )

    def show(self) -> list[TgtTarget]:
        return parse_show(self._run("--mode", "target", "--op", "show"))

    def portals(self) -> tuple[str, ...]:
        return parse_portals(self._run("--mode", "portal", "--op", "show"))

    def new_target(self, tid: int, iqn: str) -> None:
        self._run("--mode", "target", "--op", "new", "--tid", str(tid), "--targetname", iqn)

    def delete_target(self, tid: int) -> None:
        """Delete a target, ending its sessions (--force)."""
        self._run("--mode", "target", "--op", "delete", "--force", "--tid", str(tid))

    def bind(self, tid: int, initiator: str) -> None:
        """Allow an initiator name (iqn./eui./naa.), an address or subnet, or "ALL"."""
        self._run("--mode", "target", "--op", "bind", "--tid", str(tid), *_acl_option(initiator))

    def unbind(self, tid: int, initiator: str) -> None:
        self._run("--mode", "target", "--op", "unbind", "--tid", str(tid), *_acl_option(initiator))

    def new_lun(self, tid: int, lun: int, path: StrPath, readonly: bool,
                store_type: str | None = None, store_options: str | None = None) -> None:
        """Add a LUN backed by a file or block device, or by what store_type (tgt's --bstype,
        e.g. rbd with a "pool/image" path) serves; a read-only one never accepts a write.

        tgt takes readonly only as an update after the LUN exists; if that update fails the
        LUN is deleted again rather than left writable.
        """
        where = ["--tid", str(tid), "--lun", str(lun)]
        store = ["--bstype", store_type] if store_type else []
        if store_options:
            store += ["--bsopts", store_options]
        self._run(
            "--mode", "logicalunit", "--op", "new", *where, *store,
            "--backing-store", os.fspath(path)
        )
        if readonly:
            try:
                self._run(
                    "--mode", "logicalunit", "--op", "update", *where, "--params", "readonly=1"
                )
            except CommandFailed:
                self.delete_lun(tid, lun)
                raise

    def delete_lun(self, tid: int, lun: int) -> None:
        self._run("--mode", "logicalunit", "--op", "delete", "--tid", str(tid), "--lun", str(lun))

    def shutdown(self) -> None:
        """Delete every target (ending sessions), then stop tgtd."""
        for target in self.show():
            self.delete_target(target.tid)
        run(["tgtadm", "-C", str(self.control_port), "--op", "delete", "--mode", "system"])

    def ready(self) -> bool:
        """Whether a tgtd answers on this control port."""
        try:
            self._run("--mode", "target", "--op", "show", timeout=5)
        except CommandFailed:
            return False
        return True


class TgtDaemon:
    """A private tgtd, child of this process, on its own control port and one portal.

    The backend polls is_running() and, after a crash, starts it again and re-applies its
    targets: tgtd keeps nothing across restarts.
    """

    def __init__(self, control_port: int, portal: str, log_path: Path) -> None:
        if not 0 <= control_port <= MAX_CONTROL_PORT:
            raise InvalidArgument(
                f"tgtd control port {control_port} is out of range 0-{MAX_CONTROL_PORT}."
            )
        self.tgtadm = Tgtadm(control_port)
        self.portal = portal
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10) -> None:
        """Start tgtd and return once it answers on the control port and listens on the portal.

        Raises BackendError when another tgtd owns the control port, when tgtd exits, does not
        answer in time, or listens anywhere but on the portal asked for.
        """
        if self.is_running():
            return
        port = self.tgtadm.control_port
        if self.tgtadm.ready():
            raise BackendError(f"Another tgtd already answers on control port {port}.")
        with self.log_path.open("ab") as log:
            self._process = spawn(
                ["tgtd", "-f", "-C", str(port), "--iscsi", f"portal={self.portal}"], output=log
            )
        deadline = time.monotonic() + timeout
        while not self.tgtadm.ready():
            if not self.is_running() or time.monotonic() > deadline:
                self.stop()
                raise BackendError(
                    f"tgtd did not start on control port {port}; see {self.log_path}."
                )
            time.sleep(0.05)
        portals = self.tgtadm.portals()
        if portals != (self.portal,):
            self.stop()
            raise BackendError(
                f"tgtd could not listen on {self.portal} (in use?) and fell back to "
                f"{', '.join(portals) or 'nothing'}; stopped it."
            )

    def stop(self, timeout: float = 10) -> None:
        """Delete all targets and stop tgtd; kill it when it does not stop in time."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self.tgtadm.shutdown()
                process.wait(timeout)
            except (CommandFailed, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        self._process = None
        # tgtd leaves its control socket and lock file behind; a stopped daemon needs neither.
        socket = SOCKET_DIRECTORY / f"socket.{self.tgtadm.control_port}"
        for leftover in (socket, socket.with_name(socket.name + ".lock")):
            leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class Backing:
    """What a LUN serves: a file, or (store_type "rbd") a "pool/image[@snapshot]" spec."""

    path: str
    store_type: str | None = None
    store_options: str | None = None


@dataclass(frozen=True)
class Export:
    target_id: int
    mapping: LunMapping
    backing: Backing


class ExportTable:
    """The targets and LUNs one tgtd should serve, and the code that makes tgtd serve exactly
    that. tgtd forgets everything when it stops, so every change re-applies the whole layout.

    tgt's ACLs are per target, not per LUN. So each SANOS target becomes one tgt target with its
    own IQN holding the LUNs mapped to every host (*), plus one companion target per distinct
    host list, named <iqn>.acl-<digest> and bound to exactly those initiators; an initiator not
    on a list neither discovers that companion nor can log in to it. tgt keeps LUN 0 of every
    target for its controller, so SANOS LUN n is tgt LUN n + 1.
    """

    def __init__(self, tgtadm: Tgtadm, iqn_prefix: str, start_daemon: Callable[[], None],
                 size_of: Callable[[Backing], int]) -> None:
        self.tgtadm = tgtadm
        self._iqn_prefix = iqn_prefix  # targets under it are ours to delete
        self._start_daemon = start_daemon
        self._size_of = size_of
        self.lock = threading.RLock()
        self.targets: dict[int, Target] = {}
        self.exports: dict[tuple[int, int], Export] = {}
        self._suspended: set[int] = set()  # volumes whose LUNs are withdrawn (rollback)
        self._backings: dict[tuple[str, int], Backing] = {}  # (tgt IQN, tgt LUN) -> backing
        self._outage_reported = False

    def replace_all(self, targets: dict[int, Target], exports: list[Export]) -> None:
        with self.lock:
            self.targets = dict(targets)
            self.exports = {(e.target_id, e.mapping.lun): e for e in exports}
            self.sync()

    def put_target(self, target: Target) -> None:
        with self.lock:
            self.targets[target.id] = target
            self.sync()

    def remove_target(self, target_id: int) -> None:
        with self.lock:
            self.targets.pop(target_id, None)
            self.sync()

    def export(self, export: Export) -> None:
        """Serve one more LUN; if tgt refuses it, the layout goes back to what it was."""
        key = (export.target_id, export.mapping.lun)
        with self.lock:
            self.exports[key] = export
            try:
                self.sync()
            except Exception:
                del self.exports[key]
                self.sync()
                raise

    def unexport(self, target_id: int, lun: int) -> None:
        with self.lock:
            self.exports.pop((target_id, lun), None)
            self.sync()

    @contextmanager
    def withdrawn(self, volume_id: int) -> Iterator[None]:
        """The volume's LUNs are gone from tgtd inside the block (tgt holds images open)."""
        with self.lock:
            self._suspended.add(volume_id)
            try:
                self.sync()
                yield
            finally:
                self._suspended.discard(volume_id)
                self.sync()

    def _layout(self) -> list[TgtTarget]:
        """The tgt targets the records call for (tids are filled in by sync)."""
        wanted: list[TgtTarget] = []
        for target in sorted(self.targets.values(), key=lambda t: t.id):
            groups: dict[tuple[str, ...], list[tuple[TgtLun, Backing]]] = {("*",): []}
            for export in self.exports.values():
                if export.target_id != target.id or export.mapping.volume_id in self._suspended:
                    continue
                lun = TgtLun(lun=export.mapping.lun + 1, path=export.backing.path,
                             readonly=export.mapping.permission is Permission.READ_ONLY,
                             size_bytes=reported_size_bytes(self._size_of(export.backing)))
                groups.setdefault(tuple(sorted(export.mapping.hosts)), []).append(
                    (lun, export.backing))
            for hosts, luns in groups.items():
                acl: tuple[str, ...]
                if hosts == ("*",):
                    iqn, acl = target.iqn, ("ALL",)
                else:
                    digest = hashlib.sha256(",".join(hosts).encode()).hexdigest()[:8]
                    iqn, acl = f"{target.iqn}.acl-{digest}", hosts
                self._backings.update({(iqn, lun.lun): backing for lun, backing in luns})
                ordered = tuple(sorted((lun for lun, _ in luns), key=lambda x: x.lun))
                wanted.append(TgtTarget(0, iqn, ordered, acl))
        return wanted

    def sync(self) -> None:
        """Make tgtd's targets, LUNs and ACLs exactly what the records call for."""
        with self.lock:
            if not self.tgtadm.ready():
                self._start_daemon()
            current = {t.iqn: t for t in self.tgtadm.show()}
            self._backings = {}
            wanted = self._layout()
            for target in current.values():
                if target.iqn.startswith(self._iqn_prefix) \
                        and target.iqn not in {w.iqn for w in wanted}:
                    self.tgtadm.delete_target(target.tid)
            used_tids = {t.tid for t in current.values()}
            for want in wanted:
                have = current.get(want.iqn)
                if have is None:
                    tid = min(set(range(1, len(used_tids) + 2)) - used_tids)
                    used_tids.add(tid)
                    self.tgtadm.new_target(tid, want.iqn)
                    have = TgtTarget(tid, want.iqn, (), ())
                self._sync_target(have, want)

    def _sync_target(self, have: TgtTarget, want: TgtTarget) -> None:
        present = {lun.lun: lun for lun in have.luns}
        desired = {lun.lun: lun for lun in want.luns}
        for number, lun in present.items():
            if desired.get(number) != lun:
                self.tgtadm.delete_lun(have.tid, number)
        for number, lun in desired.items():
            if present.get(number) != lun:
                backing = self._backings[(want.iqn, number)]
                self.tgtadm.new_lun(have.tid, number, lun.path, lun.readonly,
                                    backing.store_type, backing.store_options)
        for entry in set(have.acl) - set(want.acl):
            self.tgtadm.unbind(have.tid, entry)
        for entry in set(want.acl) - set(have.acl):
            self.tgtadm.bind(have.tid, entry)

    def check(self) -> list[tuple[EventLevel, str, str]]:
        """Restart a tgtd that died and re-apply every export; one event per outage."""
        with self.lock:
            if self.tgtadm.ready():
                return []
            try:
                self.sync()
            except BackendError as error:
                if self._outage_reported:
                    return []
                self._outage_reported = True
                return [(EventLevel.ERROR, "iSCSI", f"LUNs are offline: {error.message}")]
            self._outage_reported = False
        return [(EventLevel.WARNING, "iSCSI",
                 f"tgtd had stopped; restarted it and re-applied {len(self.exports)} LUNs.")]
