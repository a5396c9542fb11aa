"""iSCSI targets through the userspace tgt daemon: tgtadm commands and their `show` output.

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

import os
import re
from dataclasses import dataclass
from pathlib import Path

from opensan.backends.runner import CommandFailed, StrPath, run

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
