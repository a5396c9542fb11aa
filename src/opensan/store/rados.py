"""The array's records in the Ceph cluster: one RADOS object whose omap holds every record.

Both controllers of a Ceph array read and write this object, so it is the one truth they share.
A change runs under the object's exclusive RADOS lock (cls_lock, with a lease so that a
controller killed in the middle of a change does not block the other for ever), starts from the
records as they are in the cluster, and commits as one atomic RADOS write operation that first
compares the record version with the one the change started from: if the lease ran out and the
other controller committed meanwhile, the comparison fails and nothing is written.

Keys: "<kind>/<key>" for each record (store/records.py: "disk/<id>", ..., "mapping/<target
id>/<lun>", "account/<name>", "session/<token hash>"), "meta/<key>", "issued/<id>",
"event/<12-digit id>", two counters: "version" (bumped by every change of the records) and
"events" (the newest event ID; IDs are contiguous, so a page is found by arithmetic), and
"schema", the layout version (LAYOUT_VERSION; an object of a later release is refused). An
event is the JSON list [time, level, source, message, account, client]; layout 1 (0.1.0 wrote
no "schema" key) had only the first four, and an object of layout 1 is marked 2 when opened,
so that a release that reads only four refuses it rather than fail on its new events.
Each server keeps a copy of every record but the events and re-reads it when "version" moved;
`generation` counts those re-reads, so the service knows when to reload its state. A commit that
changed records notifies the object's watchers (RADOS watch/notify), so the other controller
takes the change in at once instead of at its next tick (wait_for_change).
"""

from __future__ import annotations

import errno
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import rados

from opensan.domain.errors import BackendError, Conflict, ErrorCode, InvalidArgument
from opensan.domain.models import Actor, ArrayState, Event, EventLevel, EventPage
from opensan.store.base import STORE_META, StoreTransaction
from opensan.store.codec import decode, encode
from opensan.store.records import KINDS, Key, RecordKind, key_text

log = logging.getLogger("opensan.store")

RECORD_PREFIXES = ("meta/", "issued/", *(f"{kind.name}/" for kind in KINDS))
# The layout of the records object, in its "schema" key (0.1.0 wrote none: layout 1).
LAYOUT_VERSION = 2
LOCK_NAME = "opensan-change"
# How long a change may hold the lock before the other controller may take it over.
LOCK_LEASE_SECONDS = 15.0
# How long a change waits for the other controller's change to finish.
LOCK_WAIT_SECONDS = 45.0
OMAP_PAGE = 1000
# How long a notification waits for the other controller's acknowledgement (it does not block
# the change; closing the store waits for it).
NOTIFY_TIMEOUT_MS = 2000


@contextmanager
def _cluster_errors() -> Iterator[None]:
    """A cluster that does not answer (its OSDs down, a timeout) is the array's error, with the
    contract's body, not an unexpected one."""
    try:
        yield
    except rados.Error as error:
        raise BackendError(f"Reading the records from the cluster failed: {error}") from error


def _event_key(event_id: int) -> str:
    return f"event/{event_id:012d}"


class RadosTransaction:
    """Writes collected for one atomic RADOS write operation; reads see them."""

    def __init__(self, records: dict[str, str], events: int) -> None:
        self._records = records
        self.writes: dict[str, str | None] = {}  # key -> value, None to delete
        self.events = events

    def _get(self, key: str) -> str | None:
        return self.writes[key] if key in self.writes else self._records.get(key)

    def put(self, kind: RecordKind, record: Any) -> None:
        self.writes[f"{kind.name}/{key_text(kind.key(record))}"] = encode(record)

    def delete(self, kind: RecordKind, key: Key) -> None:
        self.writes[f"{kind.name}/{key_text(key)}"] = None

    def set_meta(self, key: str, value: Any) -> None:
        self.writes[f"meta/{key}"] = json.dumps(value)

    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self._get(f"meta/{key}")
        return default if value is None else json.loads(value)

    def add_event(self, time: float, level: EventLevel, source: str, message: str,
                  actor: Actor) -> int:
        self.events += 1
        self.writes[_event_key(self.events)] = json.dumps(
            [time, level.value, source, message, actor.account, actor.client])
        return self.events

    def was_issued(self, object_id: int) -> bool:
        return self._get(f"issued/{object_id}") is not None

    def mark_issued(self, object_id: int) -> None:
        self.writes[f"issued/{object_id}"] = ""

    @property
    def changes_records(self) -> bool:
        """Whether the transaction writes more than events (those do not move "version")."""
        return any(not key.startswith("event/") for key in self.writes)


class RadosStore:
    """The records object of one array in a RADOS pool (and namespace) of the cluster."""

    shared = True
    groups_commits = False  # see group_transaction

    def __init__(self, ioctx: rados.Ioctx, object_name: str,
                 on_close: Callable[[], None] | None = None) -> None:
        self._ioctx = ioctx
        self._object = object_name
        self._on_close = on_close  # e.g. shut the store's own cluster connection down
        self._cookie = uuid.uuid4().hex  # this server's lock cookie
        self._lock = threading.RLock()
        self._records: dict[str, str] = {}
        self._version = -1
        self._events = 0
        self.generation = 0
        self._changed = threading.Event()
        self._notifies: list[rados.Completion] = []  # awaited before closing, or librados crashes
        self._create_object()
        self.refresh()
        self._watch: rados.Watch | None = ioctx.watch(object_name, self._on_notify, self._on_watch_error)

    def _on_notify(self, notify_id: int, notifier_id: str, watch_id: int, data: bytes) -> None:
        self._changed.set()  # librados's thread: no I/O here, the waiter does it

    def _on_watch_error(self, error: int) -> None:
        log.warning("Watch on %s failed (%s); changes are seen at the next tick", self._object,
                    error)
        self._changed.set()

    def wait_for_change(self, timeout: float) -> bool:
        """Whether another server (or this one) committed a change within timeout seconds."""
        fired = self._changed.wait(timeout)
        self._changed.clear()
        return fired

    def _create_object(self) -> None:
        """The records object with its counters, unless it exists (the other controller's)."""
        with rados.WriteOpCtx() as op:
            op.new(rados.LIBRADOS_CREATE_EXCLUSIVE)
            self._ioctx.set_omap(op, ("version", "events", "schema"),
                                 (b"0", b"0", str(LAYOUT_VERSION).encode()))
            with suppress(rados.ObjectExists):
                self._ioctx.operate_write_op(op, self._object)
        layout = int(self._read_keys(("schema",)).get("schema", "1"))
        if layout > LAYOUT_VERSION:
            raise InvalidArgument(
                f"The records object {self._object} was written by a later OpenSAN release "
                f"(layout {layout}; this one reads up to {LAYOUT_VERSION}).")
        if layout < LAYOUT_VERSION:  # what it holds reads as it is; new events are longer
            with _cluster_errors(), rados.WriteOpCtx() as op:
                self._ioctx.set_omap(op, ("schema",), (str(LAYOUT_VERSION).encode(),))
                self._ioctx.operate_write_op(op, self._object)

    def close(self) -> None:
        for notify in self._notifies:
            notify.wait_for_complete_and_cb()
        # The watch is released here, while the cluster is up: left to the interpreter's last
        # garbage collection (it is in a cycle with this store through its callbacks), it is
        # freed after the shutdown and segfaults the exiting process.
        watch, self._watch = self._watch, None
        if watch is not None:
            with suppress(rados.Error):
                watch.close()
            del watch
        self._ioctx.close()
        if self._on_close is not None:
            self._on_close()

    # Reading

    def _read_keys(self, keys: tuple[str, ...]) -> dict[str, str]:
        with _cluster_errors(), rados.ReadOpCtx() as op:
            values, _ = self._ioctx.get_omap_vals_by_keys(op, keys)
            self._ioctx.operate_read_op(op, self._object)
            return {key: (value or b"").decode() for key, value in values}

    def _read_prefix(self, prefix: str) -> dict[str, str]:
        found: dict[str, str] = {}
        after = ""
        while True:
            with _cluster_errors(), rados.ReadOpCtx() as op:
                values, _ = self._ioctx.get_omap_vals(op, after, prefix, OMAP_PAGE)
                self._ioctx.operate_read_op(op, self._object)
                page = [(key, (value or b"").decode()) for key, value in values]
            found.update(page)
            if len(page) < OMAP_PAGE:
                return found
            after = page[-1][0]

    def refresh(self) -> None:
        with self._lock:
            counters = self._read_keys(("version", "events"))
            self._events = int(counters["events"])
            version = int(counters["version"])
            if version == self._version:
                return
            records: dict[str, str] = {}
            for prefix in RECORD_PREFIXES:
                records.update(self._read_prefix(prefix))
            self._records, self._version = records, version
            self.generation += 1

    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self._records.get(f"meta/{key}")
        return default if value is None else json.loads(value)

    def load_state(self) -> ArrayState:
        with self._lock:
            state = ArrayState()
            for kind in KINDS:
                prefix = f"{kind.name}/"
                records = (decode(kind.cls, value) for key, value in self._records.items()
                           if key.startswith(prefix))
                kind.records(state).update(sorted(((kind.key(r), r) for r in records),
                                                  key=lambda item: item[0]))
            state.meta = {key[len("meta/"):]: json.loads(value)
                          for key, value in self._records.items()
                          if key.startswith("meta/") and key[len("meta/"):] not in STORE_META}
            return state

    # Writing

    @contextmanager
    def _cluster_lock(self) -> Iterator[None]:
        """The records object's exclusive lock, waited for while the other controller holds it."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.002
        while True:
            try:
                self._ioctx.lock_exclusive(self._object, LOCK_NAME, self._cookie,
                                           desc="an OpenSAN change", duration=LOCK_LEASE_SECONDS)
                break
            except (rados.ObjectBusy, rados.ObjectExists):
                if time.monotonic() > deadline:
                    raise BackendError("The other controller has held the change lock for "
                                       f"{LOCK_WAIT_SECONDS:.0f} s; try again.") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            # ObjectNotFound: the lease ran out (the commit's version check covered that).
            with suppress(rados.ObjectNotFound):
                self._ioctx.unlock(self._object, LOCK_NAME, self._cookie)

    @contextmanager
    def transaction(self) -> Iterator[RadosTransaction]:
        with self._lock, self._cluster_lock():
            self.refresh()
            tx = RadosTransaction(self._records, self._events)
            yield tx
            self._commit(tx)

    # A commit is made under the cluster lock when the block ends (checked against the version
    # the other controller may have moved), so there is nothing to wait for afterwards.
    group_transaction = transaction

    def durable(self, tx: StoreTransaction) -> None:
        """Stored already: the block's end committed it."""

    def outcome(self, tx: StoreTransaction) -> bool:
        return True

    def _commit(self, tx: RadosTransaction) -> None:
        if not tx.writes:
            return
        version = self._version + 1 if tx.changes_records else self._version
        sets = {key: value for key, value in tx.writes.items() if value is not None}
        sets.update(version=str(version), events=str(tx.events))
        removals = tuple(key for key, value in tx.writes.items() if value is None)
        with rados.WriteOpCtx() as op:
            # Written only if nobody committed since this change read the records.
            op.omap_cmp("version", str(self._version), rados.LIBRADOS_CMPXATTR_OP_EQ)
            op.omap_cmp("events", str(self._events), rados.LIBRADOS_CMPXATTR_OP_EQ)
            self._ioctx.set_omap(op, tuple(sets), tuple(v.encode() for v in sets.values()))
            if removals:
                self._ioctx.remove_omap_keys(op, removals)
            try:
                self._ioctx.operate_write_op(op, self._object)
            except rados.Error as error:
                if getattr(error, "errno", None) == errno.ECANCELED:
                    self._version = -1  # re-read everything next time
                    raise Conflict("The other controller changed the array at the same moment; "
                                   "nothing was changed here. Try again.",
                                   ErrorCode.STATE_CONFLICT) from error
                raise BackendError(f"Writing the records to the cluster failed: {error}") \
                    from error
        for key, value in tx.writes.items():
            if key.startswith("event/"):
                continue
            if value is None:
                self._records.pop(key, None)
            else:
                self._records[key] = value
        self._version, self._events = version, tx.events
        if tx.changes_records:
            self._notifies = [n for n in self._notifies if not n.is_complete()]
            self._notifies.append(self._ioctx.aio_notify(
                self._object, lambda *_: None, msg="changed", timeout_ms=NOTIFY_TIMEOUT_MS))

    # Events

    def event_count(self) -> int:
        return int(self._read_keys(("events",))["events"])

    def event_page(self, page: int, page_size: int) -> EventPage:
        """Page 1 holds the newest events; their IDs are computed, so every page costs the same."""
        total = self.event_count()
        newest = total - (page - 1) * page_size
        ids = range(newest, max(0, newest - page_size), -1)
        return EventPage(page=page, page_size=page_size, total=total,
                         events=self._events_of(ids))

    def event_range(self, first_id: int, last_id: int) -> tuple[Event, ...]:
        return self._events_of(range(first_id, last_id + 1))

    def _events_of(self, ids: range) -> tuple[Event, ...]:
        values = self._read_keys(tuple(_event_key(i) for i in ids)) if ids else {}
        events = []
        for event_id in ids:
            value = values.get(_event_key(event_id))
            if value is not None:
                # Layout 1's events have no account and client.
                time_, level, source, message, *actor = json.loads(value)
                events.append(Event(event_id, time_, EventLevel(level), source, message, *actor))
        return tuple(events)
