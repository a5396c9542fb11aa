"""The unit of work: one transaction per change, the version, IDs, and the records across a
restart (service/unit_of_work.py, opensan/array.py)."""

from __future__ import annotations

import contextlib
import copy
import gc
import sqlite3
import threading

import pytest

from opensan.array import open_array
from opensan.backends.simulated.backend import SimulatedBackend
from opensan.config import Settings
from opensan.domain.errors import BackendError, ErrorCode
from opensan.domain.models import (
    SYSTEM,
    Actor,
    DiskType,
    Permission,
    Pool,
    Priority,
    Role,
    SensorStatus,
)
from opensan.domain.raid import RaidLevel
from opensan.service.unit_of_work import acting_as, current_actor
from opensan.service.volumes import VolumeChanges
from opensan.store.base import StoreFailure
from opensan.store.records import KINDS, POOLS, Ids

from .helpers import (
    INFO,
    SEED,
    assert_unchanged,
    before,
    pool_named,
    refused,
    snapshot_named,
    volume_named,
)


class FailingBackend(SimulatedBackend):
    """Fails to create volumes once told to, as a backend whose storage is gone does."""

    failing = False

    def create_volume(self, volume):
        if self.failing:
            raise BackendError("The storage did not answer.")
        super().create_volume(volume)


def test_a_raise_inside_a_change_leaves_state_version_and_store_untouched(service):
    then = before(service)
    state = service.state
    id_counter = service.uow.store.get_meta("id_counter")
    backup = volume_named(service, "vol-backup").volume
    with pytest.raises(RuntimeError), service.uow.change() as change:
        change.delete(backup)
        change.put(Pool(change.new_id(POOLS), "ghost", RaidLevel.RAID0, backup.provision, (),
                        change.now))
        change.set_meta("system_name", "elsewhere")
        change.event(INFO, "Test", "never written")
        raise RuntimeError("the change fails half-way")
    assert service.state is state
    assert_unchanged(service, then)
    assert service.uow.store.get_meta("id_counter") == id_counter


def test_readers_see_the_committed_state_until_the_change_commits(service):
    backup = volume_named(service, "vol-backup").volume
    version = service.version
    with service.uow.change() as change:
        change.delete(backup)
        assert backup.id not in change.state.volumes
        assert backup.id in service.state.volumes
        assert service.version == version
    assert backup.id not in service.state.volumes
    assert backup.id not in service.uow.store.load_state().volumes
    assert service.version == version + 1


def test_after_change_hooks_learn_whether_the_change_committed(service):
    seen = []
    service.uow.after_change(lambda change, committed: seen.append(committed))
    with service.uow.change() as change:
        change.event(INFO, "Test", "written")
    with pytest.raises(RuntimeError), service.uow.change():
        raise RuntimeError("not written")
    assert seen == [True, False]


def test_a_failing_hook_after_a_commit_never_turns_the_change_into_an_error(service, caplog):
    """A change is answered only once committed; what fails after that is logged, not raised
    (the audit saw a 500 for a snapshot that was committed with its event)."""

    def failing(change, committed):
        raise RuntimeError("a step after the change")

    service.uow.after_change(failing)
    with service.uow.change() as change:
        change.event(INFO, "Test", "written")
    assert "a step after the change" in caplog.text
    with pytest.raises(ValueError, match="its own error"), service.uow.change():
        raise ValueError("its own error")


def test_a_backend_failure_during_a_change_leaves_nothing_behind(make_service):
    backend = FailingBackend(seed=SEED)
    service = make_service(backend)
    backend.failing = True
    with refused(service, BackendError, ErrorCode.BACKEND_ERROR):
        service.volumes.create(pool_named(service).pool.id, "lost", 10)


class RecordingBackend(SimulatedBackend):
    """Notes every deletion it is asked to make, with whether the records already lack it."""

    def __init__(self, seed):
        super().__init__(seed=seed)
        self.deleted = []
        self.service = None

    def delete_snapshot(self, volume, snapshot):
        stored = self.service.uow.store.load_state().snapshots
        self.deleted.append((snapshot.name, snapshot.id in stored))
        super().delete_snapshot(volume, snapshot)

    def delete_volume(self, volume):
        stored = self.service.uow.store.load_state().volumes
        self.deleted.append((volume.name, volume.id in stored))
        super().delete_volume(volume)


@pytest.fixture
def recording(make_service):
    backend = RecordingBackend(SEED)
    backend.service = make_service(backend)
    return backend


def commit_fails(service, monkeypatch):
    """From now on every change fails at its commit, as when the server is killed there."""
    real = service.uow.store.group_transaction

    @contextlib.contextmanager
    def failing():
        with real() as tx:
            yield tx
            raise OSError("killed at the commit")

    monkeypatch.setattr(service.uow.store, "group_transaction", failing)


def test_storage_is_deleted_only_once_the_records_say_the_object_is_gone(recording):
    """The soak found a snapshot whose subvolume was deleted by a change killed before its
    commit: the records kept the snapshot, its data was gone, and every delete then failed."""
    service = recording.service
    volume = volume_named(service, "vol-db").volume
    later = snapshot_named(service, "vol-db", "daily-2")
    service.snapshots.rollback(snapshot_named(service, "vol-db", "daily-1").id)
    service.snapshots.delete(snapshot_named(service, "vol-db", "daily-1").id)
    service.luns.unmap(0, 0)
    service.luns.unmap(1, 0)
    service.volumes.delete(volume.id)
    assert recording.deleted == [(later.name, False), ("daily-1", False), ("vol-db", False)]


def test_a_change_that_fails_at_its_commit_deletes_no_storage(recording, monkeypatch):
    service = recording.service
    snapshot = snapshot_named(service, "vol-db", "daily-2")
    backup = volume_named(service, "vol-backup").volume
    commit_fails(service, monkeypatch)
    with pytest.raises(OSError):
        service.snapshots.delete(snapshot.id)
    with pytest.raises(OSError):
        service.snapshots.rollback(snapshot_named(service, "vol-db", "daily-1").id)
    with pytest.raises(OSError):
        service.volumes.delete(backup.id)
    assert recording.deleted == []
    assert snapshot.id in service.state.snapshots and backup.id in service.state.volumes


def test_a_failed_storage_step_after_the_commit_is_logged_and_the_change_stands(service, caplog):
    def gone():
        raise BackendError("The storage did not answer.")

    with service.uow.change() as change:
        change.event(INFO, "Test", "committed")
        change.on_commit(gone)
    assert "removed at the next start" in caplog.text
    assert service.system.events(1).events[0].message == "committed"


def test_the_version_moves_for_configuration_changes_only(service):
    version = service.version
    token, admin = service.accounts.login("admin", "1234", "10.0.0.1")
    service.accounts.authenticate(token)
    service.uow.record_event(INFO, "Test", "an event alone")
    service.accounts.set_password("user", "n3w-secret", admin)
    service.accounts.logout(admin)
    assert service.version == version
    service.volumes.create(pool_named(service).pool.id, "v", 1)
    assert service.version == version + 1
    service.simulation.set_sensor_status("psu-1", SensorStatus.WARNING)  # a setting
    assert service.version == version + 2


def test_object_ids_have_ten_digits_and_are_never_issued_again(service):
    backup = volume_named(service, "vol-backup").volume
    service.volumes.delete(backup.id)
    again = service.volumes.create(pool_named(service).pool.id, "vol-backup", 10).volume
    assert again.id != backup.id
    for kind in KINDS:
        if kind.ids is Ids.ARRAY:
            assert all(10**9 <= key < 10**10 for key in kind.records(service.state)), kind.name


def test_a_seeded_array_is_the_same_every_time(service, tmp_path):
    other = open_array(Settings(state_dir=tmp_path / "other", seed=SEED, backend="simulated"))
    try:
        for kind in KINDS:
            if kind.name not in ("account", "session"):
                assert set(kind.records(other.service.state)) == \
                    set(kind.records(service.state)), kind.name
        assert sorted((d.id, d.serial_number) for d in other.service.state.disks.values()) == \
            sorted((d.id, d.serial_number) for d in service.state.disks.values())
        assert {v.wwn for v in other.service.state.volumes.values()} == \
            {v.wwn for v in service.state.volumes.values()}
    finally:
        other.close()


def test_every_record_kind_and_the_settings_survive_a_restart(service, restart):
    token, _session, _refresh = service.accounts.login_renewable("admin", "1234", "10.0.0.1")
    volume = volume_named(service, "vol-db").volume
    service.volumes.modify(volume.id, VolumeChanges(io_priority=Priority.HIGH, max_iops=500,
                                                    metadata_content=b"\x00\xff", stamp_now=True))
    service.luns.map_snapshot(0, 1, snapshot_named(service, "vol-db", "daily-1").id,
                              hosts=("iqn.1994-05.com.redhat:host1",))
    service.simulation.set_sensor_status("fan-1", SensorStatus.FAILED)
    service.simulation.advance_clock(600)
    state = copy.deepcopy(service.state)
    events = service.uow.store.event_count()
    for kind in KINDS:
        assert kind.records(state), f"no {kind.name} records to round-trip"

    again = restart()
    assert again.state == state
    assert again.uow.store.event_count() == events  # a restart writes none, fills nothing
    assert again.uow.clock.offset_seconds == 600
    assert again.accounts.authenticate(token).account == "admin"
    pool = pool_named(again).pool
    assert (type(pool.raid_level), type(pool.disk_ids)) == (RaidLevel, tuple)
    assert all(type(d.type) is DiskType for d in again.state.disks.values())
    assert all(type(key) is tuple for key in again.state.mappings)
    mapping = again.state.mappings[(0, 1)]
    assert (type(mapping.permission), type(mapping.hosts)) == (Permission, tuple)
    assert {type(a.role) for a in again.state.accounts.values()} == {Role}
    settings = again.state.volumes[volume.id].settings
    assert type(settings.io_priority) is Priority and settings.qos.max_iops == 500
    assert type(settings.metadata.timestamp) is int


def test_sessions_that_idled_out_while_the_array_was_down_are_gone_after_a_restart(
        service, restart):
    service.accounts.login("admin", "1234", "10.0.0.1")
    with service.uow.change() as change:  # the recorded clock moves on; no tick runs
        change.set_meta("clock_offset", 1801.0)
    assert service.state.sessions
    again = restart()
    assert again.state.sessions == {}
    assert again.uow.store.load_state().sessions == {}


def test_a_new_array_is_filled_from_the_profile_through_the_operations(tmp_path):
    array = open_array(Settings(state_dir=tmp_path / "new", seed=SEED, backend="simulated"))
    try:
        service = array.service
        iqn = service.state.targets[0].iqn[:-len("dev0.ctr1")]
        assert [(e.level, e.source, e.message)
                for e in reversed(service.system.events(1).events)] == [
            (INFO, "System", "Array XS5226D initialized."),
            (INFO, "Pool", "Pool Pool-1 created: RAID 6, Thick, 8 disks."),
            (INFO, "Disk", "Disks in slots 9 set to Global Spare."),
            (INFO, "Volume", "Volume vol-db created in pool Pool-1: 2048 GiB, Thick."),
            (INFO, "Snapshot", "Snapshot space of volume vol-db set to 512 GiB."),
            (INFO, "Snapshot", "Snapshot daily-1 of volume vol-db taken."),
            (INFO, "Snapshot", "Snapshot daily-2 of volume vol-db taken."),
            (INFO, "Volume", "Hosts wrote 40 GiB to volume vol-db."),
            (INFO, "Volume", "Volume vol-backup created in pool Pool-1: 4096 GiB, Thick."),
            (INFO, "Target", f"iSCSI target 0 ({iqn}dev0.ctr1) created."),
            (INFO, "Target", f"iSCSI target 1 ({iqn}dev0.ctr2) created."),
            (INFO, "LUN", f"Volume vol-db mapped to target 0 ({iqn}dev0.ctr1) as LUN 0, "
                          "Read-write, hosts *."),
            (INFO, "LUN", f"Volume vol-db mapped to target 1 ({iqn}dev0.ctr2) as LUN 0, "
                          "Read-write, hosts *."),
        ]
        assert service.state.meta["system_name"] == service.system.default_name()
        assert service.accounts.with_default_password() == ["admin", "user"]
    finally:
        array.close()


# Who made each change

def test_each_event_names_the_actor_the_change_was_made_for(service):
    first = service.uow.store.event_count() + 1
    with acting_as(Actor("ops", "192.0.2.7")):
        service.volumes.create(pool_named(service).pool.id, "vol-new", 1)
    service.volumes.delete(volume_named(service, "vol-new").volume.id)  # no actor: the array
    found = service.uow.store.event_range(first, first + 1)
    assert [(e.message, e.account, e.client) for e in found] == [
        ("Volume vol-new created in pool Pool-1: 1 GiB, Thick.", "ops", "192.0.2.7"),
        ("Volume vol-new deleted.", "system", None)]


def test_a_thread_of_the_array_acts_as_the_array_whatever_its_starter_acts_as(service):
    seen = []
    with acting_as(Actor("ops", "192.0.2.7")):
        thread = threading.Thread(target=lambda: seen.append(current_actor()))
        thread.start()
        thread.join()
        seen.append(current_actor())
    assert seen == [SYSTEM, Actor("ops", "192.0.2.7")] and current_actor() == SYSTEM


def test_what_the_tick_records_is_the_arrays_even_when_a_request_moved_the_clock(service):
    """The clock move is the administrator's; the rebuild it lets finish is the array's."""
    with acting_as(Actor("admin", "192.0.2.7")):
        service.simulation.fail_disk(pool_named(service).pool.disk_ids[0])
        first = service.uow.store.event_count() + 1
        for _ in range(10):  # a 4 TB disk rebuilds in about 8000 s
            service.simulation.advance_clock(1500)
    found = service.uow.store.event_range(first, service.uow.store.event_count())
    assert [(e.message, e.account, e.client) for e in found] == [
        ("Pool Pool-1 finished rebuilding onto slot 9.", "system", None),
        ("Pool Pool-1 is healthy again.", "system", None)]


# Group commit (store/sqlite.py): changes share commits, each answered once it is stored.

class HeldCommits:
    """Wraps the store's commit: notes each group's size, and holds the first commit until
    released, as a slow fsync would."""

    def __init__(self, store, monkeypatch):
        self.store, self.sizes = store, []
        self.flushing, self.release = threading.Event(), threading.Event()
        real = store._commit

        def commit(group):
            self.sizes.append(len(group))
            self.flushing.set()
            assert self.release.wait(10)
            return real(group)

        monkeypatch.setattr(store, "_commit", commit)

    def staged(self, count):
        """Wait until count transactions wait for the next commit."""
        for _ in range(1000):
            if len(self.store._staged) == count:
                return
            threading.Event().wait(0.01)
        raise AssertionError(f"{len(self.store._staged)} staged, not {count}")


def setting(service, key, value):
    with service.uow.change() as change:
        change.set_meta(key, value)
        change.event(INFO, "Test", f"{key} set to {value}")


def test_changes_that_end_while_a_commit_flushes_share_the_next_one(service, monkeypatch):
    commits = HeldCommits(service.uow.store, monkeypatch)
    version = service.version
    first = threading.Thread(target=setting, args=(service, "a", 1))
    others = [threading.Thread(target=setting, args=(service, key, 1)) for key in ("b", "c")]
    try:
        first.start()
        assert commits.flushing.wait(10)
        # The first change waits for its commit without the change lock: these run meanwhile.
        for thread in others:
            thread.start()
        commits.staged(2)
        # Readers see only what is stored: none of the three yet.
        assert not {"a", "b", "c"} & set(service.state.meta) and service.version == version
    finally:
        commits.release.set()
        for thread in (first, *others):
            if thread.is_alive():
                thread.join(10)
    assert commits.sizes == [1, 2]
    assert all(service.state.meta[key] == 1 for key in ("a", "b", "c"))
    assert all(service.uow.store.load_state().meta[key] == 1 for key in ("a", "b", "c"))
    assert service.version > version


def test_a_change_with_storage_steps_after_its_commit_keeps_the_lock_until_they_ran(
        service, monkeypatch):
    commits = HeldCommits(service.uow.store, monkeypatch)
    ran = []

    def delete_something():
        with service.uow.change() as change:
            change.event(INFO, "Test", "deleted")
            change.on_commit(lambda: ran.append("the storage step"))

    worker = threading.Thread(target=delete_something)
    worker.start()
    try:
        assert commits.flushing.wait(10)
        free = service.uow.lock.acquire(timeout=0.2)
        if free:
            service.uow.lock.release()
        assert not free  # no other change runs before the step
    finally:
        commits.release.set()
        worker.join(10)
    assert ran == ["the storage step"]


def test_concurrent_changes_are_each_stored_when_they_return_and_failed_ones_leave_nothing(
        service):
    then = before(service)
    problems = []

    def succeed(thread):
        for i in range(15):
            setting(service, f"t{thread}", i)
            if service.uow.store.load_state().meta.get(f"t{thread}") != i:
                problems.append(f"t{thread}={i} answered before it was stored")
            if service.state.meta.get(f"t{thread}") != i:
                problems.append(f"t{thread}={i} answered before readers saw it")

    def fail():
        for i in range(15):
            with contextlib.suppress(RuntimeError), service.uow.change() as change:
                change.put(Pool(change.new_id(POOLS), f"ghost{i}", RaidLevel.RAID0,
                                then.state.pools[next(iter(then.state.pools))].provision, (),
                                change.now))
                change.set_meta("ghost", i)
                change.event(INFO, "Test", "never written")
                raise RuntimeError("the change fails half-way")

    threads = [threading.Thread(target=succeed, args=(n,)) for n in range(6)]
    threads.append(threading.Thread(target=fail))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert problems == []
    stored = service.uow.store.load_state()
    assert stored == service.state and stored.pools == then.state.pools
    assert "ghost" not in stored.meta and all(stored.meta[f"t{n}"] == 14 for n in range(6))
    events = service.uow.store.event_range(then.event_count + 1, then.event_count + 200)
    assert [e.id for e in events] == list(range(then.event_count + 1, then.event_count + 91))
    assert not any(e.message == "never written" for e in events)


def test_a_change_whose_commit_fails_is_not_made_and_the_next_starts_from_the_store(service):
    db = sqlite3.connect(service.uow.store.path)
    db.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.message = 'poison' "
               "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
    db.close()
    then = before(service)
    seen = []
    service.uow.after_change(lambda change, committed: seen.append(committed))
    with pytest.raises(StoreFailure), service.uow.change() as change:
        change.set_meta("system_name", "elsewhere")
        change.event(INFO, "Test", "poison")
    assert seen == [False]
    assert_unchanged(service, then)
    setting(service, "after", 1)
    assert service.state.meta["after"] == 1 and "elsewhere" not in service.state.meta.values()
    assert service.system.events(1).events[0].id == then.event_count + 1


def test_the_cyclic_collector_waits_while_the_records_load_and_runs_again_after(
        service, monkeypatch):
    store = service.uow.store
    load_state = store.load_state
    collecting = []

    def watched():
        collecting.append(gc.isenabled())
        return load_state()

    monkeypatch.setattr(store, "load_state", watched)
    service.uow.load()
    assert collecting == [False] and gc.isenabled()

    def failing():
        raise sqlite3.DatabaseError("the file is damaged")

    monkeypatch.setattr(store, "load_state", failing)
    with pytest.raises(sqlite3.DatabaseError):
        service.uow.load()
    assert gc.isenabled()
