"""Two controllers of a new Ceph array started at the same moment (two servers booting
together): one fills the array, the other finds it filled and joins it as the other controller.

Each store waits at its first transaction until both controllers are there, so both have read
the records without the lock (the one moment that can tell them apart) before either takes it:
the interleaving that luck gives two servers booting together now and then, every round."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import set_passwords
from support import ceph_host, remove_ceph_array

from opensan.array import Array, open_array
from opensan.backends.ceph.config import CephConfig
from opensan.config import Settings
from opensan.store.rados import RadosStore, RadosTransaction

ROUNDS = 3


@contextmanager
def first_transactions_meet(count: int) -> Iterator[None]:
    """Every store opened meanwhile waits at its first transaction until count stores came there."""
    original = RadosStore.transaction
    meeting = threading.Barrier(count, timeout=60)
    arrived: set[int] = set()
    guard = threading.Lock()

    @contextmanager
    def transaction(store: RadosStore) -> Iterator[RadosTransaction]:
        with guard:
            first = id(store) not in arrived
            arrived.add(id(store))
        if first:
            meeting.wait()
        with original(store) as tx:
            yield tx

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RadosStore, "transaction", transaction)
        yield


def test_two_controllers_started_together_fill_a_new_array_once(tmp_path: Path) -> None:
    with ceph_host(tmp_path) as host:
        slots = sorted(osd["osd"] + 1 for osd in host.cluster.ceph("osd", "dump")["osds"])
        records = CephConfig.load(host.configs[0]).records_object
        settings = [Settings(state_dir=tmp_path / f"state{n}", backend="ceph",
                             backend_config=config)
                    for n, config in enumerate(host.configs, start=1)]
        for round_number in range(ROUNDS):
            set_passwords(settings[0])
            arrays: list[Array] = []
            with first_transactions_meet(2), ThreadPoolExecutor(2) as pool:
                starts = [pool.submit(open_array, s) for s in settings]
                errors: list[str] = []
                for start in starts:
                    try:
                        arrays.append(start.result())
                    except Exception as error:  # one that filled the array the other filled
                        errors.append(repr(error))
            try:
                assert errors == [], f"round {round_number}"
                for array in arrays:
                    array.service.uow.refresh()
                one, two = (array.service for array in arrays)
                assert sorted(d.slot for d in one.state.disks.values()) == slots
                assert sorted((t.controller, t.node) for t in one.state.targets.values()) == [
                    (1, 0), (2, 0)]  # the profile, applied once
                events = [e.message for e in one.system.events(1).events]
                assert len([m for m in events if "initialized" in m]) == 1, events
                assert one.state == two.state
                assert events == [e.message for e in two.system.events(1).events]
            finally:
                for array in arrays:
                    array.close()
                remove_ceph_array(host.cluster, host.pool_prefix, records)
