"""RadosStore on the session's Ceph cluster: two stores on one records object, as the two
controllers have."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import rados
from conftest import leave_out
from pydantic import TypeAdapter
from support import ceph_cluster

from opensan.api.schemas import DiskOut, MappingOut, PoolOut, SnapshotOut, TargetOut, VolumeOut
from opensan.backends.ceph.backend import ensure_pool
from opensan.backends.ceph.config import connect_to
from opensan.domain import views
from opensan.domain.errors import Conflict, InvalidArgument
from opensan.domain.measured import NOT_MEASURED
from opensan.domain.models import SYSTEM, Actor, DiskView, EventLevel
from opensan.service.accounts import password_matches
from opensan.store.rados import LAYOUT_VERSION, RadosStore
from opensan.store.records import VOLUMES, new_object_id


@pytest.fixture
def client() -> Iterator[rados.Rados]:
    cluster = connect_to(ceph_cluster().conf_path)  # with the backend's time-outs
    ensure_pool(cluster, "opensan", "opensan")
    try:
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture
def stores(client: rados.Rados) -> Iterator[tuple[RadosStore, RadosStore]]:
    name = f"opensan.test-{uuid.uuid4().hex[:8]}.records"
    first = RadosStore(client.open_ioctx("opensan"), name)
    second = RadosStore(client.open_ioctx("opensan"), name)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
        with client.open_ioctx("opensan") as ioctx:
            ioctx.remove_object(name)


def test_what_one_commits_the_other_reads_after_refresh(
        stores: tuple[RadosStore, RadosStore]) -> None:
    first, second = stores
    with first.transaction() as tx:
        tx.set_meta("system_name", "array-1")
        tx.add_event(1.0, EventLevel.INFO, "Test", "one", SYSTEM)
    generation = second.generation
    second.refresh()
    assert second.get_meta("system_name") == "array-1" and second.generation == generation + 1
    assert [e.message for e in second.event_page(1, 10).events] == ["one"]
    assert second.wait_for_change(5)  # the commit notified the watchers


def test_an_event_keeps_the_account_and_client_that_made_it(
        stores: tuple[RadosStore, RadosStore]) -> None:
    first, second = stores
    with first.transaction() as tx:
        tx.add_event(1.0, EventLevel.INFO, "Volume", "Volume v1 created.",
                     Actor("ops", "192.0.2.7"))
        tx.add_event(2.0, EventLevel.INFO, "Account", "Login failed.", Actor(None, "192.0.2.8"))
        tx.add_event(3.0, EventLevel.INFO, "Pool", "Pool p is healthy again.", SYSTEM)
    assert [(e.account, e.client) for e in second.event_range(1, 3)] == [
        ("ops", "192.0.2.7"), (None, "192.0.2.8"), ("system", None)]


def test_an_event_range_is_oldest_first_and_ends_at_the_log(
        stores: tuple[RadosStore, RadosStore]) -> None:
    first, _ = stores
    with first.transaction() as tx:
        for i in range(1, 11):
            tx.add_event(float(i), EventLevel.INFO, "Test", f"event {i}", SYSTEM)
    assert [e.id for e in first.event_range(3, 6)] == [3, 4, 5, 6]
    assert [e.message for e in first.event_range(9, 20)] == ["event 9", "event 10"]
    assert first.event_range(11, 20) == ()


def test_a_commit_over_a_change_it_did_not_see_is_refused(
        stores: tuple[RadosStore, RadosStore], client: rados.Rados) -> None:
    """The version check of the commit: what a lease that ran out could let happen."""
    first, second = stores
    with pytest.raises(Conflict), first.transaction() as tx:
        tx.set_meta("system_name", "from-first")
        # Written behind the lock's back, as by a controller whose lease ran out.
        with client.open_ioctx("opensan") as ioctx, rados.WriteOpCtx() as op:
            ioctx.set_omap(op, ("version", "meta/system_name"), (b"99", b'"other"'))
            ioctx.operate_write_op(op, first._object)
    second.refresh()
    assert second.get_meta("system_name") == "other"


def test_changes_wait_for_each_other(stores: tuple[RadosStore, RadosStore]) -> None:
    first, second = stores
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with first.transaction() as tx:
            tx.set_meta("holder", "first")
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    started = time.monotonic()
    threading.Timer(0.5, release.set).start()
    with second.transaction() as tx:  # waits for the first change, then starts from it
        assert tx.get_meta("holder") == "first"
        tx.set_meta("holder", "second")
    holder.join()
    assert time.monotonic() - started >= 0.4
    first.refresh()
    assert first.get_meta("holder") == "second"


# Release 0.1.0's records object opens with everything in it.

RELEASE = Path(__file__).parent / "releases" / "0.1.0-ceph"
MEASURED = ("capacityBytes", "usedBytes", "freeBytes", "snapshotUsedBytes")


def _wire(models: Any) -> Any:
    return json.loads(TypeAdapter(Any).dump_json(models, by_alias=True))


@pytest.fixture
def release_store(client: rados.Rados) -> Iterator[RadosStore]:
    """A records object holding exactly what release 0.1.0 left (no "schema" key then)."""
    name = f"opensan.upgrade-{uuid.uuid4().hex[:8]}.records"
    records: dict[str, str] = json.loads((RELEASE / "records.json").read_text())
    assert "schema" not in records
    with client.open_ioctx("opensan") as ioctx, rados.WriteOpCtx() as op:
        op.new(rados.LIBRADOS_CREATE_EXCLUSIVE)
        ioctx.set_omap(op, tuple(records), tuple(v.encode() for v in records.values()))
        ioctx.operate_write_op(op, name)
    store = RadosStore(client.open_ioctx("opensan"), name)
    try:
        yield store
    finally:
        store.close()
        with client.open_ioctx("opensan") as ioctx:
            ioctx.remove_object(name)


def test_a_0_1_0_records_object_reads_as_that_release_answered(
        release_store: RadosStore) -> None:
    expected = json.loads((RELEASE / "expected.json").read_text())
    state = release_store.load_state()
    volumes = views.volume_views(state, NOT_MEASURED)
    assert leave_out(_wire([VolumeOut.from_domain(v) for v in volumes]), MEASURED) == \
        leave_out(expected["volumes"], MEASURED)
    pools = views.pool_views(state, NOT_MEASURED)
    assert leave_out(_wire([PoolOut.from_domain(p) for p in pools]), MEASURED) == \
        leave_out(expected["pools"], MEASURED)
    disks = sorted(state.disks.values(), key=lambda d: (d.enclosure_id, d.slot))
    assert [DiskOut.from_domain(DiskView(d, None)).model_dump(by_alias=True,
                                                              exclude={"temperature_c"})
            for d in disks] == expected["disks"]
    assert _wire([TargetOut.from_domain(t) for t in views.target_views(state)]) == \
        expected["targets"]
    assert _wire([MappingOut.from_domain(m) for m in views.mapping_views(state)]) == \
        expected["mappings"]
    for volume_id, info in expected["snapshots"].items():
        snapshots = views.snapshots_of(state, NOT_MEASURED, int(volume_id))
        assert leave_out(_wire([SnapshotOut.from_domain(s) for s in snapshots]), MEASURED) == \
            leave_out(info["snapshots"], MEASURED)
    assert all(password_matches(expected["passwords"][name], state.accounts[name].password_hash)
               for name in ("admin", "user"))
    assert state.meta["system_name"] == expected["system"]["systemName"]
    events = release_store.event_page(1, 1000).events
    assert [(e.id, e.level.value, e.source, e.message) for e in reversed(events)][
        :len(expected["events"])] == [(e["id"], e["level"], e["source"], e["message"])
                                      for e in expected["events"]]
    # 0.1.0 did not record who made an event.
    assert {(e.account, e.client) for e in events} == {(None, None)}
    assert state.accounts["admin"].enabled and state.accounts["user"].enabled


def test_a_0_1_0_records_object_is_marked_with_this_layout(
        client: rados.Rados, release_store: RadosStore) -> None:
    """So that a release that reads events of four fields refuses it rather than fail on the
    events this one writes."""
    with release_store.transaction() as tx:
        tx.add_event(1.0, EventLevel.INFO, "Volume", "Volume v1 created.",
                     Actor("ops", "192.0.2.7"))
    with client.open_ioctx("opensan") as ioctx, rados.ReadOpCtx() as op:
        values, _ = ioctx.get_omap_vals_by_keys(op, ("schema",))
        ioctx.operate_read_op(op, release_store._object)
        assert dict(values) == {"schema": str(LAYOUT_VERSION).encode()} and LAYOUT_VERSION == 2
    newest = release_store.event_page(1, 1).events[0]
    assert (newest.message, newest.account, newest.client) == \
        ("Volume v1 created.", "ops", "192.0.2.7")


def test_a_0_1_0_records_object_takes_changes_and_ids_go_on(release_store: RadosStore) -> None:
    state = release_store.load_state()
    volume = next(iter(state.volumes.values()))
    with release_store.transaction() as tx:
        new_id = new_object_id(tx)
        tx.put(VOLUMES, replace(volume, id=new_id, name="after-upgrade"))
    reread = release_store.load_state()
    assert reread.volumes[new_id].name == "after-upgrade"
    issued = {*state.disks, *state.pools, *state.volumes, *state.snapshots}
    assert new_id not in issued and 10**9 <= new_id < 10**10


def test_a_records_object_of_a_later_layout_is_refused(client: rados.Rados) -> None:
    name = f"opensan.later-{uuid.uuid4().hex[:8]}.records"
    with client.open_ioctx("opensan") as ioctx, rados.WriteOpCtx() as op:
        ioctx.set_omap(op, ("version", "events", "schema"),
                       (b"0", b"0", str(LAYOUT_VERSION + 1).encode()))
        ioctx.operate_write_op(op, name)
    try:
        with pytest.raises(InvalidArgument, match="later OpenSAN release"):
            RadosStore(client.open_ioctx("opensan"), name)
    finally:
        with client.open_ioctx("opensan") as ioctx:
            ioctx.remove_object(name)
