"""The array's records in one SQLite file: its objects, accounts, sessions, settings and events.

Each change is one SQLite transaction, so a kill -9 leaves the whole change or none of it.
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
from opensan.store.base import STORE_META
from opensan.store.codec import decode, encode
from opensan.store.records import KINDS, Key, RecordKind, key_text, kind_named

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
    """The writes of one change; they reach the file together when the block ends."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def put(self, kind: RecordKind, record: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO records (kind, key, data) VALUES (?, ?, ?)",
                         (kind.name, key_text(kind.key(record)), encode(record)))

    def delete(self, kind: RecordKind, key: Key) -> None:
        self._db.execute("DELETE FROM records WHERE kind = ? AND key = ?",
                         (kind.name, key_text(key)))

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def add_event(self, time: float, level: EventLevel, source: str, message: str,
                  actor: Actor) -> int:
        cursor = self._db.execute(
            "INSERT INTO events (time, level, source, message, account, client) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (time, level.value, source, message, actor.account, actor.client),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def was_issued(self, object_id: int) -> bool:
        found = self._db.execute("SELECT 1 FROM issued_ids WHERE id = ?", (object_id,))
        return found.fetchone() is not None

    def mark_issued(self, object_id: int) -> None:
        self._db.execute("INSERT INTO issued_ids (id) VALUES (?)", (object_id,))


class SqliteStore:
    """One SQLite file in the state directory; one writer at a time, readers alongside (WAL)."""

    shared = False  # only this server writes the file
    generation = 0

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = self._connect()
        # Reads of events use their own connection so that they never wait for a change in
        # progress (WAL readers see the last committed state).
        self._reader = self._connect()
        self._write_lock = threading.RLock()
        self._read_lock = threading.Lock()
        try:
            self._prepare_schema()
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
        with self.transaction() as tx:
            found = self._writer.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            if found is None:
                for statement in _TABLES:
                    self._writer.execute(statement)
                tx.set_meta("schema", SCHEMA_VERSION)
                return
            version = int(tx.get_meta("schema", 1))
            if version > SCHEMA_VERSION:
                raise InvalidArgument(
                    f"{self.path} was written by a later OpenSAN release (schema {version}; "
                    f"this one reads up to {SCHEMA_VERSION}).")
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](self._writer)
                version += 1
            tx.set_meta("schema", version)

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Everything written inside the block commits together or not at all."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def refresh(self) -> None:
        """Nobody else writes the file: it never changes behind this server's back."""

    def wait_for_change(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._read_lock:
            return Transaction(self._reader).get_meta(key, default)

    def load_state(self) -> ArrayState:
        state = ArrayState()
        with self._read_lock:
            # In batches, not fetchall(): the text of 262,144 snapshots is never all in memory
            # at once (row by row costs a tenth more time).
            cursor = self._reader.execute("SELECT kind, data FROM records")
            while rows := cursor.fetchmany(_LOAD_BATCH):
                for kind_name, data in rows:
                    kind = kind_named(kind_name)
                    record = decode(kind.cls, data)
                    kind.records(state)[kind.key(record)] = record
            meta = self._reader.execute("SELECT key, value FROM meta").fetchall()
        for kind in KINDS:  # in key order, as the old tables' primary keys gave them
            table = kind.records(state)
            ordered = sorted(table.items())  # by key: keys are unique, records never compared
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
