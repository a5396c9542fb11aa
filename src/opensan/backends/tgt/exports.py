"""The targets and LUNs one tgtd should serve, and the code that makes tgtd serve exactly that."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from opensan.backends.tgt.tgtadm import Tgtadm, TgtLun, TgtTarget, reported_size_bytes
from opensan.domain.errors import BackendError
from opensan.domain.models import EventLevel, LunMapping, Permission, Target


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

    def __init__(self, tgtadm: Tgtadm, iqn_prefix: str | tuple[str, ...], start_daemon: Callable[[], None],
                 size_of: Callable[[Backing], int]) -> None:
        self.tgtadm = tgtadm
        self._iqn_prefix = iqn_prefix  # targets under it (or them) are ours to delete
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

    def rebind(self, volume_id: int, backing: Backing) -> None:
        """Serve the volume's LUNs (not its snapshots') from another file: a rollback's copy."""
        with self.lock:
            for key, export in list(self.exports.items()):
                if export.mapping.volume_id == volume_id and export.mapping.snapshot_id is None:
                    self.exports[key] = replace(export, backing=backing)
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
