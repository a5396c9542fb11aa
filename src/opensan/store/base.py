"""What the unit of work needs from a store of the array's records.

Two stores implement it: SqliteStore (one file in the state dir, this server alone) and
RadosStore (records in the Ceph cluster, shared by the two controllers of a Ceph array). Both
are generic over the table of record kinds (store/records.py). Only the unit of work
(service/unit_of_work.py) writes to a store, and the composition root (opensan/array.py) opens
one; nothing else touches it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from opensan.domain.errors import SanError
from opensan.domain.models import Actor, ArrayState, Event, EventLevel, EventPage
from opensan.store.records import Key, RecordKind


class StoreFailure(SanError):
    """A commit did not reach the store (a full or failing disk): the change is not made."""


class StoreTransaction(Protocol):
    """The writes of one change; they reach the store together when the block ends."""

    def put(self, kind: RecordKind, record: Any) -> None: ...
    def delete(self, kind: RecordKind, key: Key) -> None: ...
    def set_meta(self, key: str, value: Any) -> None: ...
    def get_meta(self, key: str, default: Any = None) -> Any: ...
    def add_event(self, time: float, level: EventLevel, source: str, message: str,
                  actor: Actor) -> int: ...
    def was_issued(self, object_id: int) -> bool: ...
    def mark_issued(self, object_id: int) -> None: ...


class Store(Protocol):
    # True when other servers write the same records (the second controller of a Ceph array).
    shared: bool
    # Moves on whenever records written by another server were read in (see refresh).
    generation: int
    # True when a change may wait for durable() without holding the change lock, so that the
    # changes behind it share its commit (SQLite's group commit); False when the commit is
    # made when the block ends (RADOS: under the cluster lock, checked against its version).
    groups_commits: bool

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """Everything written inside the block commits together or not at all, and is stored
        when the block ends; a shared store also keeps every other writer out until then."""

    def group_transaction(self) -> AbstractContextManager[StoreTransaction]:
        """As transaction(), but the block's writes may only be staged when it ends, each
        transaction after those staged before it; durable(tx) waits until they are stored."""

    def durable(self, tx: StoreTransaction) -> None:
        """Return once tx is stored; raise StoreFailure when its commit failed."""

    def outcome(self, tx: StoreTransaction) -> bool | None:
        """True once tx is stored, False when its commit failed, None while it waits."""

    def refresh(self) -> None:
        """Read in what another server changed since this one last read or wrote the records
        (a transaction does this first, under its lock); generation then moves on."""

    def wait_for_change(self, timeout: float) -> bool:
        """Block until another server may have changed the records (True), or timeout (False);
        a store nobody else writes just waits."""

    def get_meta(self, key: str, default: Any = None) -> Any: ...

    def load_state(self) -> ArrayState:
        """Every record of every kind, and the settings (meta) but those the store keeps for
        itself (its schema version and the ID counter)."""

    def event_count(self) -> int: ...
    def event_page(self, page: int, page_size: int) -> EventPage: ...

    def event_range(self, first_id: int, last_id: int) -> tuple[Event, ...]:
        """The events with IDs first_id to last_id, oldest first: the whole log is read in
        such slices (the service package), never all at once."""

    def close(self) -> None: ...


# Meta keys a store manages itself: never part of ArrayState.meta.
STORE_META = frozenset({"schema", "id_counter"})
