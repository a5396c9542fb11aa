"""The unit of work: the array's state in memory, and the one way to change it.

Every change takes the lock, starts a store transaction from the records as they are (a shared
store's transaction first takes in what the other controller committed), works on a draft of
the state, and writes each record to the draft and to the transaction together. The draft
shares the state's dicts and copies a dict only before it first writes it, so a change costs
what it touches, not what the array holds. Readers never take the lock and see only states
whose changes are stored: a change's draft becomes the state (and the version moves on) once
its commit is on disk, and a failure anywhere leaves everything as it was.

Group commit (a store that groups_commits, SQLite): once its block ends, a change's writes are
staged and it gives up the lock while it waits for its commit, so the next change runs its
rules and backend steps meanwhile (they stay one at a time, in order) and the changes that end
while one commit is flushing share the next. A change builds on the head: the state with every
change staged before it, stored or not. When a commit fails, the changes in it and those staged
after it fail, and the head goes back to what is stored. A change with steps for after its
commit (on_commit) waits with the lock held, so that no change runs before those steps ran.

What the storage cannot take back (deleting a volume's data) waits for the commit: a change
registers it with on_commit(), and it runs once the records say the object is gone. A kill
before the commit leaves the object whole; one after it leaves only storage that no record
names, which the backend removes at the next start (the records are the truth).

Every event names who made its change (domain/models.py, Actor): the API sets the account and
client address of each request with acting_as() around the call, and a change takes the actor
of the thread (or task) that opens it into every event it writes. Whatever runs without one,
the periodic tick above all, is the array itself (SYSTEM).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opensan.domain import indexes
from opensan.domain.identity import Clock
from opensan.domain.models import SYSTEM, Actor, ArrayState, Event, EventLevel
from opensan.store.base import Store, StoreTransaction
from opensan.store.records import (
    KINDS,
    Ids,
    Record,
    RecordKind,
    kind_of,
    new_object_id,
    same_configuration,
)

log = logging.getLogger("opensan.service")
# Writing these moves no cached read (accounts, sessions): all other kinds and settings do.
_NOT_CONFIGURATION = frozenset(kind.name for kind in KINDS if not kind.configuration)
_HOLDING_DATA = frozenset(kind.name for kind in KINDS if kind.holds_data)
# How long a request's read waits for a refresh in progress (never for a change).
REFRESH_WAIT_SECONDS = 2.0
# Called after every change, committed or not (committed tells which), under the lock.
AfterChange = Callable[["Change", bool], None]
# Called when the state was reloaded with another controller's configuration changes.
OnReload = Callable[[ArrayState], None]
# Who the current request acts for; a context variable, so that each request (an asyncio task,
# and the worker thread it hands its call to, which gets a copy of its context) has its own,
# and a thread of the array's own starts with SYSTEM.
_ACTOR: ContextVar[Actor] = ContextVar("opensan_actor", default=SYSTEM)


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def current_actor() -> Actor:
    return _ACTOR.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """The changes made inside the block are actor's: their events name it."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


class Change:
    """The draft state and the store transaction of one change, written together."""

    def __init__(self, tx: StoreTransaction, base: ArrayState, now: float,
                 actor: Actor = SYSTEM) -> None:
        self.tx = tx
        self.state = base.share()
        self.now = now
        self.actor = actor
        self.touched: set[str] = set()  # the record kinds (and "meta") written
        # Each record written, as it was before the change (None: new), by (kind name, key).
        self.before: dict[tuple[str, Any], Record | None] = {}
        self.commit_actions: list[Callable[[], None]] = []
        # The events this change writes, as the log will hold them once it commits.
        self.events: list[Event] = []
        self._own: set[str] = set()  # the draft's dicts copied from the state's already

    def _writable(self, field: str) -> dict[Any, Any]:
        """The draft's own copy of one dict of the state, made at the first write."""
        if field not in self._own:
            setattr(self.state, field, dict(getattr(self.state, field)))
            self._own.add(field)
        table: dict[Any, Any] = getattr(self.state, field)
        return table

    def put(self, record: Record) -> None:
        kind = kind_of(record)
        key = kind.key(record)
        table = self._writable(kind.field)
        self._wrote(kind, key, table.get(key), record)
        table[key] = record
        self.tx.put(kind, record)

    def delete(self, record: Record) -> None:
        kind = kind_of(record)
        key = kind.key(record)
        table = self._writable(kind.field)
        self._wrote(kind, key, table.pop(key), None)
        self.tx.delete(kind, key)

    def _wrote(self, kind: RecordKind, key: Any, old: Record | None,
               new: Record | None) -> None:
        indexes.wrote(self.state, old, new)
        self.before.setdefault((kind.name, key), old)
        self.touched.add(kind.name)

    def new_id(self, kind: RecordKind) -> int:
        """An ID for a new record of this kind, as the table of record kinds says."""
        if kind.ids is Ids.ARRAY:
            return self.new_object_id()
        if kind.ids is Ids.LOWEST_FREE:
            taken = kind.records(self.state)
            return min(set(range(len(taken) + 1)) - set(taken))
        raise ValueError(f"{kind.name} records are not given IDs")

    def new_object_id(self) -> int:
        """A 10-digit ID never issued before, for any object (a mapping's own ID too)."""
        return new_object_id(self.tx)

    def set_meta(self, key: str, value: Any) -> None:
        self._writable("meta")[key] = value
        self.tx.set_meta(key, value)
        self.touched.add("meta")

    def event(self, level: EventLevel, source: str, message: str) -> None:
        event_id = self.tx.add_event(self.now, level, source, message, self.actor)
        self.events.append(Event(event_id, self.now, level, source, message,
                                 self.actor.account, self.actor.client))

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run action (a step the storage cannot undo) once this change has committed."""
        self.commit_actions.append(action)

    @property
    def moves_data(self) -> bool:
        """Whether the change may have moved the use the storage measures."""
        return bool(self.touched & _HOLDING_DATA)

    @property
    def moves_configuration(self) -> bool:
        """Whether cached reads of the configuration are out of date after this change."""
        return bool(self.touched - _NOT_CONFIGURATION)


class UnitOfWork:
    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.state = ArrayState()  # stored: what readers see
        # The state with every staged change in, stored or not: what the next change builds
        # on; and the staged changes not yet published, oldest first (group commit).
        self._head = self.state
        self._pending: deque[Change] = deque()
        # Bumped whenever the configuration moved (a change, or another controller's); the
        # API caches serialized reads per version.
        self.version = 0
        # The store generation the state was loaded at (a shared store moves it on when the
        # other controller changed the records).
        self._generation = store.generation
        self._changing = False  # a change holds the lock (not only a refresh)
        self._after_change: list[AfterChange] = []
        self._on_reload: list[OnReload] = []
        # Events this server recorded since it started, by level (for monitoring).
        self.events_recorded: Counter[EventLevel] = Counter({level: 0 for level in EventLevel})

    def after_change(self, hook: AfterChange) -> None:
        self._after_change.append(hook)

    def on_reload(self, hook: OnReload) -> None:
        self._on_reload.append(hook)

    def load(self) -> None:
        """Read every record into memory. The cyclic garbage collector waits meanwhile: the
        records hold no cycles, and its passes over the growing heap cost a sixth of the load
        at an XCubeSAN's full scale."""
        with self.lock, _collector_paused():
            self.state = self._head = self.store.load_state()
            self._generation = self.store.generation
            self.version += 1

    def exclusively(self, action: Callable[[ArrayState], None]) -> None:
        """Run action on the records as they are, with every other writer of a shared store
        kept out (another controller's change cannot be half-way), writing nothing."""
        with self.lock:
            for change in tuple(self._pending):  # what the action sees is stored
                self._wait_stored(change)
            self._publish()
            with self.store.transaction():
                if self.store.generation != self._generation:  # the other controller's commits
                    self.state = self._head = self.store.load_state()
                    self._generation = self.store.generation
                    self.version += 1
                action(self.state)

    @contextmanager
    def change(self) -> Iterator[Change]:
        """The block's writes commit together, then become the state; a raise undoes them.
        Returns once the change is stored (and published), raises StoreFailure if it was not."""
        self.lock.acquire()
        locked, committed, staged = True, False, False
        change: Change | None = None
        self._changing = True
        try:
            self._publish()
            with self.store.group_transaction() as tx:
                self._catch_up()  # a shared store's transaction starts from the records now
                change = Change(tx, self._head, self.clock.now(), current_actor())
                yield change
            staged = True
            self._pending.append(change)
            self._head = change.state
            if self.store.groups_commits and not change.commit_actions:
                self._changing = False
                self.lock.release()  # the next change runs while this one's commit flushes
                locked = False
            self.store.durable(tx)
            if not locked:
                self.lock.acquire()
                locked, self._changing = True, True
            self._publish()
            committed = True
            self._run_commit_actions(change)
        finally:
            if not locked:
                self.lock.acquire()
                self._changing = True
            try:
                if staged and not committed:
                    self._publish()  # drops the failed changes; the head is what is stored
                if change is not None:
                    self._run_after_change(change, committed)
            finally:
                self._changing = False
                self.lock.release()

    def _wait_stored(self, change: Change) -> None:
        try:
            self.store.durable(change.tx)
        except Exception:
            log.exception("A change failed to reach the store")

    def _publish(self) -> None:
        """Under the lock: make the newest stored change the state readers see (its version
        moves on), drop the failed ones, and build the next change on the last one staged."""
        moved = False
        while self._pending:
            outcome = self.store.outcome(self._pending[0].tx)
            if outcome is None:
                break
            change = self._pending.popleft()
            if outcome:
                self.state = change.state
                self.events_recorded.update(event.level for event in change.events)
                moved = moved or change.moves_configuration
        self._head = self._pending[-1].state if self._pending else self.state
        if moved:
            self.version += 1

    @staticmethod
    def _run_commit_actions(change: Change) -> None:
        """The change is stored, so it is answered as done whatever happens here: a failed step
        is logged, and what it left is an orphan the backend removes at the next start."""
        for action in change.commit_actions:
            try:
                action()
            except Exception:
                log.exception("A storage step after a committed change failed; what it left "
                              "is removed at the next start.")

    def _run_after_change(self, change: Change, committed: bool) -> None:
        """A hook's failure is logged, never raised: a committed change is answered as done
        (never a 500 for what is stored), and a failed one with its own error."""
        for hook in self._after_change:
            try:
                hook(change, committed)
            except Exception:
                log.exception("A step after a change failed; the change %s.",
                              "is committed" if committed else "was undone")

    def record_event(self, level: EventLevel, source: str, message: str) -> None:
        """An event that is not part of a change of records (a login, a restarted daemon)."""
        with self.change() as change:
            change.event(level, source, message)

    def refresh(self, wait: bool = True) -> None:
        """Take in what the other controller changed (a shared store only), so that a change
        made there is seen here at once. With wait False (a request's read) it never waits for
        a change of this server's (that change takes everything in itself), and waits for
        another refresh at most REFRESH_WAIT_SECONDS."""
        if not self.store.shared:
            return
        if wait:
            acquired = self.lock.acquire()
        else:
            acquired = self.lock.acquire(blocking=False) or (
                not self._changing and self.lock.acquire(timeout=REFRESH_WAIT_SECONDS))
        if not acquired:
            return
        try:
            self.store.refresh()
            self._catch_up()
        finally:
            self.lock.release()

    def _catch_up(self) -> None:
        if self.store.generation == self._generation:
            return
        state = self.store.load_state()
        self._generation = self.store.generation
        moved = not same_configuration(state, self.state)
        self.state = self._head = state
        self.version += 1
        if moved:  # not only accounts, sessions or settings changed
            for hook in self._on_reload:
                hook(state)
