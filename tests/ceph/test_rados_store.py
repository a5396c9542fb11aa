"""RadosStore on the session's Ceph cluster: two stores on one records object, as the two
controllers have."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import rados
from conftest import ceph_cluster

from opensan.backends.ceph.backend import ensure_pool
from opensan.domain.errors import Conflict
from opensan.domain.models import EventLevel
from opensan.store.rados import RadosStore


@pytest.fixture
def client() -> Iterator[rados.Rados]:
    cluster = rados.Rados(conffile=str(ceph_cluster().conf_path))
    cluster.connect()
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
        tx.add_event(1.0, EventLevel.INFO, "Test", "one")
    generation = second.generation
    second.refresh()
    assert second.get_meta("system_name") == "array-1" and second.generation == generation + 1
    assert [e.message for e in second.event_page(1, 10).events] == ["one"]
    assert second.wait_for_change(5)  # the commit notified the watchers


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
