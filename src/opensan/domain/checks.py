"""Array rules that look at the array's state: room in a pool, a pool or volume that can change.

Each raises the array's error when the rule is broken; the service calls them before it asks a
backend to act, so every backend obeys the same rules.
"""

from __future__ import annotations

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
    """Raises Conflict (VOLUME_NOT_READY) when the volume's pool has failed."""
    if views.pool_health(state, state.pools[volume.pool_id]) is PoolHealth.FAILED:
        raise Conflict(f"Volume {volume.name} is not ready: its pool has failed.",
                       ErrorCode.VOLUME_NOT_READY)
