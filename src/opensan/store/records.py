"""The table of record kinds: what the array keeps, each kind declared once.

The state (ArrayState), the change (service/unit_of_work.py), both stores and the ID allocator
are driven by this table. Adding a record kind means adding its dataclass and its ArrayState
field to domain/models.py, a line here, and its API; nothing else in the store layer.

A record is stored as its dataclass in JSON (store/codec.py) under its kind's name and its key:
in SQLite as a row (kind, key, data) of the records table, in RADOS as the omap key
"<name>/<key>" of the records object.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from opensan.domain.models import (
    Account,
    ArrayState,
    Disk,
    LunMapping,
    Pool,
    RefreshToken,
    Session,
    Snapshot,
    Target,
    Volume,
)

Key = int | str | tuple[int, int]
Record = (Disk | Pool | Volume | Snapshot | Target | LunMapping | Account | Session
          | RefreshToken)

MIN_OBJECT_ID = 1_000_000_000
MAX_OBJECT_ID = 9_999_999_999


class Ids(Enum):
    """Where a new record's ID comes from."""

    NONE = "none"  # its key is not an ID the array gives out (a name, a target and LUN)
    ARRAY = "array"  # a 10-digit object ID, never issued before, deterministic for the seed
    LOWEST_FREE = "lowest free"  # the smallest number no record of its kind has (targets)


@dataclass(frozen=True)
class RecordKind:
    name: str
    cls: type[Any]
    key: Callable[[Any], Key]
    field: str  # the ArrayState dict that holds them
    ids: Ids = Ids.NONE
    # False for records no configuration read or LUN depends on (accounts, sessions): writing
    # them moves no cached read's version and makes no backend re-apply its layout.
    configuration: bool = True
    # True for what holds data (pools, volumes, snapshots): a change of these moves the use
    # the storage measures, so it is measured again at once.
    holds_data: bool = False

    def records(self, state: ArrayState) -> dict[Any, Any]:
        table: dict[Any, Any] = getattr(state, self.field)
        return table


DISKS = RecordKind("disk", Disk, lambda d: d.id, "disks", Ids.ARRAY)
POOLS = RecordKind("pool", Pool, lambda p: p.id, "pools", Ids.ARRAY, holds_data=True)
VOLUMES = RecordKind("volume", Volume, lambda v: v.id, "volumes", Ids.ARRAY, holds_data=True)
SNAPSHOTS = RecordKind("snapshot", Snapshot, lambda s: s.id, "snapshots", Ids.ARRAY,
                       holds_data=True)
TARGETS = RecordKind("target", Target, lambda t: t.id, "targets", Ids.LOWEST_FREE)
MAPPINGS = RecordKind("mapping", LunMapping, lambda m: (m.target_id, m.lun), "mappings")
ACCOUNTS = RecordKind("account", Account, lambda a: a.name, "accounts", configuration=False)
SESSIONS = RecordKind("session", Session, lambda s: s.token_hash, "sessions",
                      configuration=False)
REFRESH_TOKENS = RecordKind("refresh", RefreshToken, lambda r: r.token_hash, "refresh_tokens",
                            configuration=False)

KINDS = (DISKS, POOLS, VOLUMES, SNAPSHOTS, TARGETS, MAPPINGS, ACCOUNTS, SESSIONS, REFRESH_TOKENS)
_BY_CLASS = {kind.cls: kind for kind in KINDS}
_BY_NAME = {kind.name: kind for kind in KINDS}


def kind_of(record: Record) -> RecordKind:
    return _BY_CLASS[type(record)]


def kind_named(name: str) -> RecordKind:
    return _BY_NAME[name]


def key_text(key: Key) -> str:
    """A key as stored: "1234567890", "admin", or "<target id>/<lun>" for a LUN mapping."""
    return "/".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


def same_configuration(one: ArrayState, other: ArrayState) -> bool:
    """Whether two states hold the same configuration records (accounts, sessions and settings
    aside)."""
    return all(kind.records(one) == kind.records(other) for kind in KINDS if kind.configuration)


class IdLedger(Protocol):
    """What the ID allocator needs of a store transaction."""

    def get_meta(self, key: str, default: Any = None) -> Any: ...
    def set_meta(self, key: str, value: Any) -> None: ...
    def was_issued(self, object_id: int) -> bool: ...
    def mark_issued(self, object_id: int) -> None: ...


def new_object_id(ledger: IdLedger) -> int:
    """A 10-digit object ID that was never issued before. The n-th candidate is a function of
    the array's seed, so that a seeded array is the same every time; an ID once issued is
    never issued again, also after its object is gone."""
    seed = ledger.get_meta("seed", 0)
    counter = int(ledger.get_meta("id_counter", 0))
    while True:
        counter += 1
        candidate = random.Random(f"{seed}:id:{counter}").randint(MIN_OBJECT_ID, MAX_OBJECT_ID)
        if not ledger.was_issued(candidate):
            break
    ledger.mark_issued(candidate)
    ledger.set_meta("id_counter", counter)
    return candidate
