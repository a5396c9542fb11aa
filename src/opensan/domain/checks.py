"""Array rules that look at the array's state: room in a pool, a pool or volume that can change.

Each raises the array's error when the rule is broken; the service calls them before it asks a
backend to act, so every backend obeys the same rules.
"""

from __future__ import annotations

from collections.abc import Collection

from opensan.domain import views
from opensan.domain.errors import Conflict, ErrorCode, InsufficientCapacity
from opensan.domain.measured import Usage
from opensan.domain.models import ArrayState, Pool, PoolHealth, Volume
from opensan.domain.rules import GIB


def require_capacity(state: ArrayState, usage: Usage, pool_id: int, wanted_bytes: int) -> None:
    """Raises InsufficientCapacity when the pool has less than wanted_bytes free."""
    free = views.free_bytes(state, usage, pool_id)
    if wanted_bytes > free:
        raise InsufficientCapacity(
            f"Pool {state.pools[pool_id].name} has {free // GIB} GiB free; "
            f"{-(-wanted_bytes // GIB)} GiB needed.")


def require_usable_pool(state: ArrayState, pool: Pool) -> None:
    """Raises Conflict when the pool has failed."""
    if views.pool_health(state, pool) is PoolHealth.FAILED:
        raise Conflict(f"Pool {pool.name} has failed; no changes are possible.")


def require_volume_ready(state: ArrayState, volume: Volume) -> None:
    """Raises Conflict (VOLUME_NOT_READY) when the volume's pool has failed, or while the
    volume is a clone still copying its source."""
    if views.pool_health(state, state.pools[volume.pool_id]) is PoolHealth.FAILED:
        raise Conflict(f"Volume {volume.name} is not ready: its pool has failed.",
                       ErrorCode.VOLUME_NOT_READY)
    if volume.clone_of is not None:
        raise Conflict(f"Volume {volume.name} is not ready: it is still being cloned; try "
                       "again when it is done.", ErrorCode.VOLUME_NOT_READY)


def clones_from(state: ArrayState, volume_id: int,
                snapshot_ids: Collection[int] | None = None) -> list[Volume]:
    """The clones in progress that copy from the volume (any of its snapshots too), or, given
    snapshot_ids, from one of those snapshots."""
    return [v for v in state.volumes.values() if v.clone_of is not None
            and v.clone_of.volume_id == volume_id
            and (snapshot_ids is None or v.clone_of.snapshot_id in snapshot_ids)]


def require_no_clone_from(state: ArrayState, what: str, volume_id: int,
                          snapshot_ids: Collection[int] | None = None) -> None:
    """Raises Conflict (VOLUME_IN_USE) while a clone still copies from the volume or from one
    of the snapshots: the source stays until every clone of it is done."""
    clones = clones_from(state, volume_id, snapshot_ids)
    if clones:
        names = ", ".join(sorted(v.name for v in clones))
        raise Conflict(f"{what} is the source of clone {names}, still copying; try again when "
                       "it is done.", ErrorCode.VOLUME_IN_USE)
