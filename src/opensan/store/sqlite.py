"""The array's records in one SQLite file: its objects, accounts, sessions, settings and events.

A change's writes are kept in memory until it ends, then join the next group commit: changes
that end while one commit is flushing (synchronous=FULL, so an fsync) go into the next SQLite
transaction together, and each waits (durable) until its own commit is on disk. A kill -9
leaves a whole commit or none of it, so every change is whole or absent. What a change reads of
the store (the settings, issued IDs, the next event ID) it reads as the changes staged before
it left it. Each change of a group has its own savepoint: one whose writes fail takes down
itself and those staged after it (they built on it), never those before it; a COMMIT that
fails (the disk) takes down the whole group. Changes that end after a failure start again from
what is on disk (the epoch moves on).

Records are JSON documents in one table keyed by (kind, key), as store/records.py declares them,
because they are always read whole at start-up and written one at a time; events get real
columns because they are paged. Event IDs are SQLite rowids of a table that is never deleted
from, so they are contiguous and a page is found by arithmetic on the ID instead of a scan.

The file carries its schema version (meta "schema"). Opening a file of an earlier release
migrates it in one transaction, step by step (MIGRATIONS); a file of a later release is refused.
Schema 3 gave events the account and client address that made them (NULL in older events).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opensan.domain.errors import InvalidArgument
from opensan.domain.models import (
    Actor,
    ArrayState,
    Event,
    EventLevel,
    EventPage,
    Role,
    Session,
)
from opensan.store.base import STORE_META, StoreFailure, StoreTransaction
from opensan.store.codec import decoder, encode
from opensan.store.records import KINDS, Key, RecordKind, key_text

SCHEMA_VERSION = 3
DATABASE_NAME = "opensan.db"  # the store's file inside a state dir
_TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE records (kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, "
    "PRIMARY KEY (kind, key)) WITHOUT ROWID",
    "CREATE TABLE issued_ids (id INTEGER PRIMARY KEY)",
    "CREATE TABLE events (id INTEGER PRIMARY KEY, time REAL NOT NULL, level TEXT NOT NULL, "
    "source TEXT NOT NULL, message TEXT NOT NULL, account TEXT, client TEXT)",
)
_EVENT_COLUMNS = "id, time, level, source, message, account, client"
_LOAD_BATCH = 4096  # records decoded per fetch at start-up


def _from_schema_1(db: sqlite3.Connection) -> None:
    """Release 0.1.0 kept a table per kind (disks, pools, ..., mappings keyed by target and
    LUN, sessions in columns); schema 2 keeps every record in one table of (kind, key, data)."""
    db.execute(_TABLES[1])
    for table, kind in (("disks", "disk"), ("pools", "pool"), ("volumes", "volume"),
                        ("snapshots", "snapshot"), ("targets", "target")):
        db.execute(f"INSERT INTO records SELECT '{kind}', CAST(id AS TEXT), data FROM {table}")
    db.execute("INSERT INTO records SELECT 'mapping', target_id || '/' || lun, data "
               "FROM mappings")
    db.execute("INSERT INTO records SELECT 'account', name, data FROM accounts")
    rows = db.execute("SELECT token_hash, account, role, created_at, last_used_at FROM sessions")
    db.executemany("INSERT INTO records VALUES ('session', ?, ?)",
                   [(row[0], encode(Session(row[0], row[1], Role(row[2]), row[3], row[4])))
                    for row in rows.fetchall()])
    for table in ("disks", "pools", "volumes", "snapshots", "targets", "mappings", "accounts",
                  "sessions"):
        db.execute(f"DROP TABLE {table}")


def _from_schema_2(db: sqlite3.Connection) -> None:
    """Schema 3 records who made each event; the events before it keep NULL there."""
    db.execute("ALTER TABLE events ADD COLUMN account TEXT")
    db.execute("ALTER TABLE events ADD COLUMN client TEXT")


# MIGRATIONS[n] takes a file from schema n to n + 1.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _from_schema_1,
                                                                2: _from_schema_2}


class Transaction:
    """The writes of one change, kept until they reach the file with the next group commit."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self.epoch = store.epoch  # staged only if no commit failed since it began
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.meta: dict[str, Any] = {}
        self.issued: set[int] = set()
        self.first_event_id = store.first_event_id()
        self.event_count = 0
        # Set once its group commit ended: durable (error None) or not (error the reason).
        self.done = False
        self.error: Exception | None = None

    def put(self, kind: RecordKind, record: Any) -> None:
        self.statements.append(
            ("INSERT OR REPLACE INTO records (kind, key, data) VALUES (?, ?, ?)",
             (kind.name, key_text(kind.key(record)), encode(record))))

    def delete(self, kind: RecordKind, key: Key) -> None:
        self.statements.append(("DELETE FROM records WHERE kind = ? AND key = ?",
                                (kind.name, key_text(key))))

    def set_meta(self, key: str, value: Any) -> None:
        self.meta[key] = value
        self.statements.append(("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                (key, json.dumps(value))))

    def get_meta(self, key: str, default: Any = None) -> Any:
        if key in self.meta:
            return self.meta[key]
        return self._store.staged_meta.get(key, default)

    def add_event(self, time: float, level: EventLevel, source: str, message: str,
                  actor: Actor) -> int:
        event_id = self.first_event_id + self.event_count
        self.event_count += 1
        self.statements.append((
            "INSERT INTO events (id, time, level, source, message, account, client) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event_id, time, level.value, source, message, actor.account, actor.client)))
        return event_id

    def was_issued(self, object_id: int) -> bool:
        return object_id in self.issued or self._store.was_issued(object_id)

    def mark_issued(self, object_id: int) -> None:
        self.issued.add(object_id)
        self.statements.append(("INSERT INTO issued_ids (id) VALUES (?)", (object_id,)))


class SqliteStore:
    """One SQLite file in the state directory; one writer at a time, readers alongside (WAL)."""

    shared = False  # only this server writes the file
    generation = 0
    groups_commits = True  # a change may wait for its commit without the change lock

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = self._connect()
        # Reads use their own connection so that they never wait for a commit in progress
        # (WAL readers see the last committed state).
        self._reader = self._connect()
        self._write_lock = threading.RLock()  # one change's transaction is built at a time
        self._read_lock = threading.Lock()
        # The group commit: transactions staged for the next commit, whether one is flushing.
        self._commits = threading.Condition()
        self._staged: list[Transaction] = []
        self._flushing = False
        self.epoch = 0  # moves on when a commit failed
        try:
            self._prepare_schema()
            self._read_committed()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _prepare_schema(self) -> None:
        """Create the tables of a new file, or migrate a file of an earlier release."""
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            if found is None:
                for statement in _TABLES:
                    db.execute(statement)
                version = SCHEMA_VERSION
            else:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                version = 1 if row is None else int(json.loads(row[0]))
                if version > SCHEMA_VERSION:
                    raise InvalidArgument(
                        f"{self.path} was written by a later OpenSAN release (schema {version}; "
                        f"this one reads up to {SCHEMA_VERSION}).")
                while version < SCHEMA_VERSION:
                    MIGRATIONS[version](db)
                    version += 1
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                       (json.dumps(version),))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _read_committed(self) -> None:
        """What the next transaction starts from when nothing is staged: the file as it is."""
        with self._read_lock:
            meta = self._reader.execute("SELECT key, value FROM meta").fetchall()
            (last_event,) = self._reader.execute(
                "SELECT coalesce(max(id), 0) FROM events").fetchone()
        self.staged_meta = {key: json.loads(value) for key, value in meta}
        self.next_event_id = int(last_event) + 1
        self._issued_staged: set[int] = set()

    def close(self) -> None:
        with self._commits:
            while self._flushing:
                self._commits.wait()
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Everything written inside the block commits together or not at all, and is on disk
        when the block ends."""
        with self.group_transaction() as tx:
            yield tx
        self.durable(tx)

    @contextmanager
    def group_transaction(self) -> Iterator[Transaction]:
        """The block's writes join the next group commit when it ends (a raise drops them);
        durable(tx) then waits until they are on disk."""
        with self._write_lock:
            tx = Transaction(self)
            yield tx
            with self._commits:
                if tx.epoch != self.epoch:
                    raise StoreFailure("An earlier change failed to reach the disk; nothing "
                                       "of this one was written. Try again.")
                self._staged.append(tx)
                self.staged_meta.update(tx.meta)
                self._issued_staged |= tx.issued
                self.next_event_id += tx.event_count

    def outcome(self, tx: StoreTransaction) -> bool | None:
        """True once tx is on disk, False when its commit failed, None while it waits."""
        assert isinstance(tx, Transaction)
        return (tx.error is None) if tx.done else None

    def durable(self, tx: StoreTransaction) -> None:
        """Wait until tx is on disk: the first waiter commits everything staged, and what is
        staged meanwhile waits for the next commit. Raises StoreFailure when it failed."""
        assert isinstance(tx, Transaction)
        with self._commits:
            while not tx.done:
                if self._flushing:
                    self._commits.wait()
                    continue
                group, self._staged = self._staged, []
                self._flushing = True
                self._commits.release()
                try:
                    stored, error = self._commit(group)
                finally:
                    self._commits.acquire()
                    self._flushing = False
                for index, staged in enumerate(group):
                    staged.done = True
                    if index < stored:
                        self._issued_staged -= staged.issued
                    else:
                        staged.error = error
                if error is not None:
                    self._fail_staged(error)
                self._commits.notify_all()
        if tx.error is not None:
            raise StoreFailure(f"Writing the change to {self.path} failed: {tx.error}") \
                from tx.error

    def _commit(self, group: list[Transaction]) -> tuple[int, Exception | None]:
        """One SQLite transaction for the group, each of its transactions in a savepoint: those
        before the first that fails are committed. How many, and the error if one failed."""
        db = self._writer
        stored, failure = 0, None
        try:
            db.execute("BEGIN IMMEDIATE")
            for tx in group:
                db.execute("SAVEPOINT change")
                try:
                    for statement, parameters in tx.statements:
                        db.execute(statement, parameters)
                except sqlite3.Error as error:
                    db.execute("ROLLBACK TO change")
                    failure = error
                    break
                db.execute("RELEASE change")
                stored += 1
            db.execute("COMMIT")
        except Exception as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            return 0, error
        return stored, failure

    def _fail_staged(self, error: Exception) -> None:
        """After a failed commit: what was staged after the failed transaction built on it, so
        it fails too, and the next transaction starts from the file."""
        for staged in self._staged:
            staged.done, staged.error = True, error
        self._staged = []
        self.epoch += 1
        self._read_committed()

    def first_event_id(self) -> int:
        """The ID of a new transaction's first event: after the staged ones, or with nothing
        staged after the last in the file (a tool may have added events, as the benchmarks
        and tests do)."""
        with self._commits:
            if not self._staged and not self._flushing:
                with self._read_lock:
                    (last,) = self._reader.execute(
                        "SELECT coalesce(max(id), 0) FROM events").fetchone()
                self.next_event_id = int(last) + 1
            return self.next_event_id

    def was_issued(self, object_id: int) -> bool:
        if object_id in self._issued_staged:
            return True
        with self._read_lock:
            found = self._reader.execute("SELECT 1 FROM issued_ids WHERE id = ?", (object_id,))
            return found.fetchone() is not None

    def refresh(self) -> None:
        """Nobody else writes the file: it never changes behind this server's back."""

    def wait_for_change(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._read_lock:
            row = self._reader.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def load_state(self) -> ArrayState:
        state = ArrayState()
        # Per kind: its decoder, its key and its dict in the state (looked up once, not per row).
        kinds = {kind.name: (decoder(kind.cls), kind.key, kind.records(state)) for kind in KINDS}
        with self._read_lock:
            # In batches, not fetchall(): the text of 262,144 snapshots is never all in memory
            # at once (row by row costs a tenth more time).
            cursor = self._reader.execute("SELECT kind, data FROM records")
            while rows := cursor.fetchmany(_LOAD_BATCH):
                for kind_name, data in rows:
                    decode, key, table = kinds[kind_name]
                    record = decode(data)
                    table[key(record)] = record
            meta = self._reader.execute("SELECT key, value FROM meta").fetchall()
        for kind in KINDS:  # in key order, as the old tables' primary keys gave them
            table = kind.records(state)
            keys = list(table)
            # The rows come in the order of the keys' text, which is the order of the 10-digit
            # IDs: most tables need no reordering.
            if keys != sorted(keys):
                ordered = sorted(table.items())  # keys are unique: records never compared
                table.clear()
                table.update(ordered)
        state.meta = {key: json.loads(value) for key, value in meta if key not in STORE_META}
        return state

    # Events

    def event_count(self) -> int:
        with self._read_lock:
            (count,) = self._reader.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        return int(count)

    def event_page(self, page: int, page_size: int) -> EventPage:
        """Page 1 holds the newest events; found by ID arithmetic, so every page costs the same."""
        with self._read_lock:
            (total,) = self._reader.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
            newest = total - (page - 1) * page_size
            rows = self._reader.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id <= ? AND id > ? ORDER BY id DESC",
                (newest, newest - page_size),
            ).fetchall()
        return EventPage(page=page, page_size=page_size, total=int(total), events=_events(rows))

    def event_range(self, first_id: int, last_id: int) -> tuple[Event, ...]:
        with self._read_lock:
            rows = self._reader.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id BETWEEN ? AND ? ORDER BY id",
                (first_id, last_id)).fetchall()
        return _events(rows)


def _events(rows: list[tuple[int, float, str, str, str, str | None, str | None]]
            ) -> tuple[Event, ...]:
    """Events from rows of _EVENT_COLUMNS."""
    return tuple(Event(i, t, EventLevel(lv), s, m, a, c) for (i, t, lv, s, m, a, c) in rows)
