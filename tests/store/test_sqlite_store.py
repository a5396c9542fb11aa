from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from opensan.domain.models import (
    SYSTEM,
    Account,
    Actor,
    Disk,
    DiskType,
    DiskUsage,
    Event,
    EventLevel,
    LunMapping,
    Permission,
    Pool,
    Provision,
    Role,
    Target,
    TargetType,
)
from opensan.domain.raid import RaidLevel
from opensan.store.base import StoreFailure, StoreTransaction
from opensan.store.codec import encode
from opensan.store.records import DISKS, MAPPINGS, POOLS, TARGETS, new_object_id
from opensan.store.sqlite import SCHEMA_VERSION, SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "s.db")
    with store.transaction() as tx:
        tx.set_meta("seed", 42)
    return store


def test_objects_round_trip_with_their_types(store: SqliteStore) -> None:
    disk = Disk(1234567890, 0, 3, 10**12, DiskType.SAS_SSD, "SEAGATE", "XS1920", "S1", "0104",
                "12.0Gb/s", usage=DiskUsage.RAID, pool_id=2345678901)
    pool = Pool(2345678901, "p", RaidLevel.RAID10, Provision.THIN, (1, 2, 3, 4), 1.5)
    mapping = LunMapping(0, 7, 3456789012, Permission.READ_ONLY, ("iqn.1994-05.com.x:y",))
    with store.transaction() as tx:
        tx.put(DISKS, disk)
        tx.put(POOLS, pool)
        tx.put(MAPPINGS, mapping)
    state = store.load_state()
    assert state.disks == {disk.id: disk}
    assert state.pools == {pool.id: pool}
    assert state.mappings == {(0, 7): mapping}
    assert isinstance(state.pools[pool.id].raid_level, RaidLevel)
    assert isinstance(state.pools[pool.id].disk_ids, tuple)


def test_a_failed_transaction_writes_nothing(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.add_event(1.0, EventLevel.INFO, "Test", "half", SYSTEM)
        tx.set_meta("x", 1)
        raise RuntimeError("boom")
    assert store.event_count() == 0 and store.get_meta("x") is None


def test_ids_are_ten_digit_unique_and_deterministic(tmp_path: Path) -> None:
    def issue(path: Path) -> list[int]:
        store = SqliteStore(path)
        with store.transaction() as tx:
            tx.set_meta("seed", 7)
            ids = [new_object_id(tx) for _ in range(2000)]
        store.close()
        return ids

    first = issue(tmp_path / "a.db")
    assert len(set(first)) == 2000 and all(10**9 <= i < 10**10 for i in first)
    assert issue(tmp_path / "b.db") == first


def test_event_pages_are_newest_first_without_gaps(store: SqliteStore) -> None:
    with store.transaction() as tx:
        for i in range(1, 106):
            tx.add_event(float(i), EventLevel.INFO, "Test", f"event {i}", SYSTEM)
    first = store.event_page(1, 50)
    assert first.total == 105 and first.total_pages == 3
    assert [e.id for e in first.events] == list(range(105, 55, -1))
    last = store.event_page(3, 50)
    assert [e.id for e in last.events] == [5, 4, 3, 2, 1]
    assert store.event_page(4, 50).events == ()
    assert store.event_page(10**9, 50).events == ()


def test_an_event_range_is_oldest_first_and_ends_at_the_log(store: SqliteStore) -> None:
    with store.transaction() as tx:
        for i in range(1, 11):
            tx.add_event(float(i), EventLevel.INFO, "Test", f"event {i}", SYSTEM)
    assert [e.id for e in store.event_range(3, 6)] == [3, 4, 5, 6]
    assert [e.message for e in store.event_range(9, 20)] == ["event 9", "event 10"]
    assert store.event_range(11, 20) == ()


def test_an_event_keeps_the_account_and_client_that_made_it(store: SqliteStore) -> None:
    with store.transaction() as tx:
        tx.add_event(1.0, EventLevel.INFO, "Volume", "Volume v1 created.",
                     Actor("ops", "192.0.2.7"))
        tx.add_event(2.0, EventLevel.INFO, "Account", "Login failed.", Actor(None, "192.0.2.8"))
        tx.add_event(3.0, EventLevel.INFO, "Pool", "Pool p is healthy again.", SYSTEM)
    assert [(e.account, e.client) for e in store.event_range(1, 3)] == [
        ("ops", "192.0.2.7"), (None, "192.0.2.8"), ("system", None)]
    assert store.event_page(1, 50).events[0] == Event(3, 3.0, EventLevel.INFO, "Pool",
                                                      "Pool p is healthy again.", "system", None)


# Schema 2 (the records table, events without who made them), as the release before this
# one created it.
_SCHEMA_2 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE records (kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, "
    "PRIMARY KEY (kind, key)) WITHOUT ROWID",
    "CREATE TABLE issued_ids (id INTEGER PRIMARY KEY)",
    "CREATE TABLE events (id INTEGER PRIMARY KEY, time REAL NOT NULL, level TEXT NOT NULL, "
    "source TEXT NOT NULL, message TEXT NOT NULL)",
)


def test_a_schema_2_file_keeps_its_events_and_accounts_and_records_who_from_now_on(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for statement in _SCHEMA_2:
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema', '2')")
        db.execute("INSERT INTO events (time, level, source, message) "
                   "VALUES (1.0, 'INFO', 'Volume', 'Volume v1 created.')")
        # An account as schema 2 wrote it: no enabled field.
        old = json.loads(encode(Account("ops", Role.ADMIN, "scrypt$00$00")))
        del old["enabled"]
        db.execute("INSERT INTO records VALUES ('account', 'ops', ?)", (json.dumps(old),))
    db.close()
    store = SqliteStore(path)
    try:
        assert store.event_range(1, 1) == (
            Event(1, 1.0, EventLevel.INFO, "Volume", "Volume v1 created."),)
        assert store.load_state().accounts["ops"].enabled
        with store.transaction() as tx:
            tx.add_event(2.0, EventLevel.INFO, "Volume", "Volume v2 created.",
                         Actor("ops", "192.0.2.7"))
        assert [(e.account, e.client) for e in store.event_range(1, 2)] == [
            (None, None), ("ops", "192.0.2.7")]
        assert store.get_meta("schema") == SCHEMA_VERSION == 3
    finally:
        store.close()


# Group commit

def on_disk(store: SqliteStore) -> tuple[dict[str, Any], list[str]]:
    """The settings and event messages in the file, read by a connection of its own."""
    db = sqlite3.connect(store.path)
    try:
        meta = {key: json.loads(value) for key, value in db.execute("SELECT key, value FROM meta")}
        events = [message for (message,) in db.execute("SELECT message FROM events ORDER BY id")]
    finally:
        db.close()
    return meta, events


def staged(store: SqliteStore, message: str, **meta: Any) -> StoreTransaction:
    with store.group_transaction() as tx:
        tx.add_event(1.0, EventLevel.INFO, "Test", message, SYSTEM)
        for key, value in meta.items():
            tx.set_meta(key, value)
    return tx


def test_staged_transactions_reach_the_disk_together_and_each_reads_those_before_it(
        store: SqliteStore) -> None:
    first = staged(store, "one", x=1)
    with store.group_transaction() as second:
        assert second.get_meta("x") == 1  # staged, not yet on disk
        assert second.add_event(2.0, EventLevel.INFO, "Test", "two", SYSTEM) == 2
        second.set_meta("x", 2)
    third = staged(store, "three")
    assert on_disk(store)[1] == [] and store.get_meta("x") is None
    assert [store.outcome(tx) for tx in (first, second, third)] == [None, None, None]
    store.durable(third)  # one commit for all three
    assert [store.outcome(tx) for tx in (first, second, third)] == [True, True, True]
    meta, events = on_disk(store)
    assert events == ["one", "two", "three"] and meta["x"] == 2
    store.durable(first)  # stored already: returns at once


def poison(store: SqliteStore) -> None:
    """Make SQLite refuse the event "poison" when a commit writes it."""
    db = sqlite3.connect(store.path)
    db.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.message = 'poison' "
               "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
    db.close()


def test_a_transaction_that_fails_in_a_group_takes_down_those_after_it_only(
        store: SqliteStore) -> None:
    poison(store)
    before = staged(store, "before", x=1)
    failing = staged(store, "poison", x=2)
    after = staged(store, "after", x=3)
    with pytest.raises(StoreFailure, match="poisoned"):
        store.durable(after)
    assert [store.outcome(tx) for tx in (before, failing, after)] == [True, False, False]
    with pytest.raises(StoreFailure):
        store.durable(failing)
    store.durable(before)
    meta, events = on_disk(store)
    assert events == ["before"] and meta["x"] == 1
    # The next transaction starts from the file: the setting and the next event ID.
    with store.group_transaction() as tx:
        assert tx.get_meta("x") == 1
        assert tx.add_event(3.0, EventLevel.INFO, "Test", "next", SYSTEM) == 2
    store.durable(tx)
    assert on_disk(store)[1] == ["before", "next"]


def test_a_transaction_begun_before_a_failed_commit_is_refused(store: SqliteStore) -> None:
    poison(store)
    failing = staged(store, "poison")
    with pytest.raises(StoreFailure, match="earlier change"), store.group_transaction() as tx:
        tx.set_meta("y", 1)
        with pytest.raises(StoreFailure):
            store.durable(failing)
    assert store.get_meta("y") is None and on_disk(store)[1] == []


def test_concurrent_transactions_are_each_on_disk_when_they_return(store: SqliteStore) -> None:
    missing: list[str] = []

    def write(thread: int) -> None:
        for i in range(25):
            message = f"{thread}-{i}"
            with store.transaction() as tx:
                tx.add_event(1.0, EventLevel.INFO, "Test", message, SYSTEM)
            if message not in on_disk(store)[1]:
                missing.append(message)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert missing == []
    events = store.event_range(1, 200)
    assert [e.id for e in events] == list(range(1, 201))
    assert sorted(e.message for e in events) == sorted(f"{t}-{i}" for t in range(8)
                                                       for i in range(25))


def test_records_load_in_the_order_of_their_keys_not_of_the_keys_text(store: SqliteStore) -> None:
    """Targets are numbered from 0: their keys' text ("10" before "2") is not their order."""
    with store.transaction() as tx:
        for target_id in (12, 2, 0, 10, 1):
            tx.put(TARGETS, Target(target_id, TargetType.ISCSI, 0, 0, f"iqn.x:{target_id}",
                                   f"t{target_id}", ("10.0.0.1:3260",)))
    assert list(store.load_state().targets) == [0, 1, 2, 10, 12]
