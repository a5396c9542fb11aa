"""The array's records in one SQLite file: configuration, accounts, sessions and events.

Each change is one SQLite transaction, so a kill -9 leaves the whole change or none of it.
Configuration objects are kept as JSON documents (one table per kind) because they are always
read whole at start-up and written one object at a time; events get real columns because they are
paged. Event IDs are SQLite rowids of a table that is never deleted from, so they are contiguous
and a page is found by arithmetic on the ID instead of a scan.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from opensan.domain.models import (
    Account,
    ArrayState,
    Disk,
    Event,
    EventLevel,
    EventPage,
    LunMapping,
    Pool,
    Role,
    Session,
    Snapshot,
    Target,
    Volume,
)
from opensan.store.codec import decode, encode, object_id_candidate

T = TypeVar("T")

SCHEMA_VERSION = 1
DATABASE_NAME = "opensan.db"  # the store's file inside a state dir
_OBJECT_TABLES = ("disks", "pools", "volumes", "snapshots", "targets")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
{"".join(f"CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY, data TEXT NOT NULL);"
         for t in _OBJECT_TABLES)}
CREATE TABLE IF NOT EXISTS mappings (
    target_id INTEGER NOT NULL, lun INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (target_id, lun));
CREATE TABLE IF NOT EXISTS issued_ids (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, account TEXT NOT NULL, role TEXT NOT NULL,
    created_at REAL NOT NULL, last_used_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, time REAL NOT NULL, level TEXT NOT NULL,
    source TEXT NOT NULL, message TEXT NOT NULL);
"""

class Transaction:
    """The writes of one change; they reach the file together when the block ends."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def _put(self, table: str, object_id: int, obj: Any) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO {table} (id, data) VALUES (?, ?)", (object_id, encode(obj))
        )

    def _delete(self, table: str, object_id: int) -> None:
        self._db.execute(f"DELETE FROM {table} WHERE id = ?", (object_id,))

    def put_disk(self, disk: Disk) -> None:
        self._put("disks", disk.id, disk)

    def delete_disk(self, disk_id: int) -> None:
        self._delete("disks", disk_id)

    def put_pool(self, pool: Pool) -> None:
        self._put("pools", pool.id, pool)

    def delete_pool(self, pool_id: int) -> None:
        self._delete("pools", pool_id)

    def put_volume(self, volume: Volume) -> None:
        self._put("volumes", volume.id, volume)

    def delete_volume(self, volume_id: int) -> None:
        self._delete("volumes", volume_id)

    def put_snapshot(self, snapshot: Snapshot) -> None:
        self._put("snapshots", snapshot.id, snapshot)

    def delete_snapshot(self, snapshot_id: int) -> None:
        self._delete("snapshots", snapshot_id)

    def put_target(self, target: Target) -> None:
        self._put("targets", target.id, target)

    def delete_target(self, target_id: int) -> None:
        self._delete("targets", target_id)

    def put_mapping(self, mapping: LunMapping) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO mappings (target_id, lun, data) VALUES (?, ?, ?)",
            (mapping.target_id, mapping.lun, encode(mapping)),
        )

    def delete_mapping(self, target_id: int, lun: int) -> None:
        self._db.execute("DELETE FROM mappings WHERE target_id = ? AND lun = ?", (target_id, lun))

    def put_account(self, account: Account) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO accounts (name, data) VALUES (?, ?)",
            (account.name, encode(account)),
        )

    def delete_sessions_of(self, account: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE account = ?", (account,))

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def add_event(self, time: float, level: EventLevel, source: str, message: str) -> int:
        cursor = self._db.execute(
            "INSERT INTO events (time, level, source, message) VALUES (?, ?, ?, ?)",
            (time, level.value, source, message),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def new_object_id(self) -> int:
        """A 10-digit ID that was never issued before, deterministic for the array's seed."""
        seed = self.get_meta("seed", 0)
        counter = int(self.get_meta("id_counter", 0))
        while True:
            counter += 1
            candidate = object_id_candidate(seed, counter)
            taken = self._db.execute("SELECT 1 FROM issued_ids WHERE id = ?", (candidate,))
            if taken.fetchone() is None:
                break
        self._db.execute("INSERT INTO issued_ids (id) VALUES (?)", (candidate,))
        self.set_meta("id_counter", counter)
        return candidate


class SqliteStore:
    """One SQLite file in the state directory; one writer at a time, readers alongside (WAL)."""

    shared = False  # only this server writes the file
    generation = 0

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = self._connect()
        # Reads of events and sessions use their own connection so that they never wait for a
        # change in progress (WAL readers see the last committed state).
        self._reader = self._connect()
        self._write_lock = threading.RLock()
        self._read_lock = threading.Lock()
        with self._write_lock:
            self._writer.executescript(_SCHEMA)
            row = self._writer.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                self._writer.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

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

    def is_new(self) -> bool:
        return self.get_meta("created_at") is None

    def load_state(self) -> ArrayState:
        state = ArrayState()
        with self._read_lock:
            db = self._reader
            state.disks = {d.id: d for d in self._rows(db, "disks", Disk)}
            state.pools = {p.id: p for p in self._rows(db, "pools", Pool)}
            state.volumes = {v.id: v for v in self._rows(db, "volumes", Volume)}
            state.snapshots = {s.id: s for s in self._rows(db, "snapshots", Snapshot)}
            state.targets = {t.id: t for t in self._rows(db, "targets", Target)}
            rows = db.execute("SELECT data FROM mappings ORDER BY target_id, lun")
            mappings = (decode(LunMapping, data) for (data,) in rows)
            state.mappings = {(m.target_id, m.lun): m for m in mappings}
        return state

    @staticmethod
    def _rows(db: sqlite3.Connection, table: str, cls: type[T]) -> Iterable[T]:
        return [decode(cls, data) for (data,) in db.execute(f"SELECT data FROM {table}")]

    # Accounts and sessions

    def accounts(self) -> dict[str, Account]:
        with self._read_lock:
            rows = self._reader.execute("SELECT data FROM accounts").fetchall()
        return {a.name: a for a in (decode(Account, data) for (data,) in rows)}

    def sessions(self) -> list[Session]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT token_hash, account, role, created_at, last_used_at FROM sessions"
            ).fetchall()
        return [Session(t, a, Role(r), c, u) for (t, a, r, c, u) in rows]

    def session(self, token_hash: str) -> Session | None:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT token_hash, account, role, created_at, last_used_at FROM sessions "
                "WHERE token_hash = ?", (token_hash,)).fetchone()
        return None if row is None else Session(row[0], row[1], Role(row[2]), row[3], row[4])

    def put_session(self, session: Session) -> None:
        with self.transaction():
            self._writer.execute(
                "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
                (session.token_hash, session.account, session.role.value,
                 session.created_at, session.last_used_at),
            )

    def delete_sessions(self, token_hashes: Iterable[str]) -> None:
        with self.transaction():
            self._writer.executemany(
                "DELETE FROM sessions WHERE token_hash = ?", [(t,) for t in token_hashes]
            )

    # Events

    def add_event(self, time: float, level: EventLevel, source: str, message: str) -> int:
        with self.transaction() as tx:
            return tx.add_event(time, level, source, message)

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
                "SELECT id, time, level, source, message FROM events "
                "WHERE id <= ? AND id > ? ORDER BY id DESC",
                (newest, newest - page_size),
            ).fetchall()
        events = tuple(Event(i, t, EventLevel(lv), s, m) for (i, t, lv, s, m) in rows)
        return EventPage(page=page, page_size=page_size, total=int(total), events=events)
