"""ArrayService: the one door through which the array changes, and the reads beside it.

It is a small front. The unit of work (unit_of_work.py) holds the state and runs every change
as one transaction; the operations live in a module per noun (pools, volumes, snapshots, luns,
disks, accounts, simulation, performance), the periodic tick in supervision.py, and the derived figures are
pure functions in domain/views.py. This class composes them and brings the array up: it loads
the records, fills a new array, removes what killed changes left behind, makes the backend
match the records, and reads the hardware before the first request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opensan.backends.base import StorageBackend
from opensan.domain import rules
from opensan.domain.identity import Clock
from opensan.domain.models import ArrayState, EventLevel
from opensan.domain.traits import BackendTraits, Capability
from opensan.service.accounts import Accounts, LoginPolicy
from opensan.service.disks import Disks
from opensan.service.luns import Luns
from opensan.service.parts import Observed, Parts
from opensan.service.performance import PerformanceFigures
from opensan.service.pools import Pools
from opensan.service.simulation import Simulation
from opensan.service.snapshots import Snapshots
from opensan.service.supervision import Supervision
from opensan.service.system import System
from opensan.service.unit_of_work import Change, UnitOfWork
from opensan.service.volumes import Volumes
from opensan.store.base import Store
from opensan.store.records import DISKS, POOLS


class ArrayService:
    def __init__(self, store: Store, backend: StorageBackend, *, clock: Clock | None = None,
                 event_page_size: int = 50, login_policy: LoginPolicy | None = None,
                 server_settings: Mapping[str, Any] | None = None) -> None:
        """server_settings: how the server was started, shown in the service package."""
        self.uow = UnitOfWork(store, clock)
        self._backend = backend
        parts = Parts(self.uow, backend, Observed())
        self.accounts = Accounts(self.uow, login_policy or LoginPolicy())
        self.system = System(parts, event_page_size, server_settings or {})
        self.disks = Disks(parts)
        self.pools = Pools(parts)
        self.volumes = Volumes(parts)
        self.snapshots = Snapshots(parts)
        self.luns = Luns(parts)
        self.supervision = Supervision(parts, self.accounts, self.volumes)
        self.simulation = Simulation(parts, self.supervision)
        self.performance = PerformanceFigures(parts)
        self.observed = parts.observed
        # Settings first: a change's measurement after it must see the clock it set.
        self.uow.after_change(self._follow_settings)
        self.uow.after_change(self.supervision.after_change)
        self.uow.on_reload(backend.reconcile)  # e.g. export the LUNs mapped over there
        self.uow.on_reload(lambda _state: self.supervision.wake())

    @property
    def traits(self) -> BackendTraits:
        return self._backend.traits

    @property
    def state(self) -> ArrayState:
        return self.uow.state

    @property
    def version(self) -> int:
        return self.uow.version

    def load(self) -> None:
        """Read the records into memory; a new array gets QSAN's default accounts."""
        self.uow.load()
        self.accounts.ensure_defaults()

    def start(self, seed: int, system_name: str | None, backend_options: dict[str, Any]) -> bool:
        """Bring the array up after load(); True when this start made it new (then fill it,
        e.g. from a profile, through the operations), False also when the other controller of
        a shared store made it a moment ago (this one joins it). Raises InvalidArgument (the
        system name) and BackendError (the storage cannot be read or made to match the
        records)."""
        new = self._initialize(seed, system_name, backend_options)
        self.uow.exclusively(self._backend.remove_orphans)
        self._apply_settings(self.uow.state)
        self._backend.reconcile(self.uow.state)
        self.accounts.write_back()  # sessions that idled out while the array was down go
        self.supervision.read_hardware()
        self.supervision.measure_usage()
        self.supervision.read_performance()
        self.system.started_at = self.uow.clock.now()
        return new

    def _initialize(self, seed: int, system_name: str | None,
                    backend_options: dict[str, Any]) -> bool:
        """Record a new array's settings, disks and adopted pools; False when it was made
        already. "New" is decided again in the change, under a shared store's lock, so two
        controllers started together cannot both fill it; "made" needs no lock (it stays so)."""
        if "created_at" in self.uow.state.meta:
            return False
        backend = self._backend
        with self.uow.change() as change:
            if "created_at" in change.state.meta:  # the other controller made it meanwhile
                return False
            change.set_meta("seed", seed)
            change.set_meta("backend_options", backend_options)
            change.set_meta("system_name",
                            rules.check_name(system_name or self.system.default_name(), "system"))
            disks = backend.discover_disks(change.now, lambda: change.new_id(DISKS))
            for disk in disks:
                change.put(disk)
            for pool in backend.adopt_pools(change.now, lambda: change.new_id(POOLS), disks):
                change.put(pool)
                change.event(EventLevel.INFO, "Pool",
                             f"Pool {pool.name} ({pool.protection}) taken over from the cluster.")
            change.set_meta("created_at", change.now)
            change.event(EventLevel.INFO, "System", f"Array {backend.model_name()} initialized.")
        return True

    def _follow_settings(self, change: Change, committed: bool) -> None:
        if committed and "meta" in change.touched:
            self._apply_settings(change.state)

    def _apply_settings(self, state: ArrayState) -> None:
        """The clock offset and the simulated latency follow the records."""
        self.uow.clock.offset_seconds = float(state.meta.get("clock_offset", 0.0))
        if Capability.FAULT_INJECTION in self.traits.capabilities:
            self._backend.set_change_latency(float(state.meta.get("change_latency", 0.0)))

    def close(self) -> None:
        self.supervision.stop()
        self._backend.close()
        self.uow.store.close()
