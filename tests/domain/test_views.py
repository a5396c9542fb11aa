"""Derived figures (domain/views.py): a volume's snapshots, oldest first, with measured use."""

from __future__ import annotations

from opensan.domain import views
from opensan.domain.measured import NOT_MEASURED, Usage
from opensan.domain.models import ArrayState, Snapshot


def _state() -> ArrayState:
    state = ArrayState()
    # IDs out of creation order, and two snapshots taken at the same time (the ID decides).
    for snapshot in (Snapshot(30, 1, "c", 3.0), Snapshot(10, 1, "a", 1.0),
                     Snapshot(21, 2, "x", 2.0), Snapshot(20, 1, "b", 2.0),
                     Snapshot(11, 1, "b2", 2.0)):
        state.snapshots[snapshot.id] = snapshot
    return state


def test_snapshots_of_are_each_volumes_oldest_first() -> None:
    state = _state()
    assert [s.name for s in views.snapshots_of(state, NOT_MEASURED, 1)] == ["a", "b2", "b", "c"]
    assert [s.name for s in views.snapshots_of(state, NOT_MEASURED, 2)] == ["x"]
    assert views.snapshots_of(state, NOT_MEASURED, 3) == []


def test_measured_use_is_shown_and_the_records_stay_as_they_are() -> None:
    state = _state()
    found = views.snapshots_of(state, Usage(snapshots={20: 5}), 1)
    assert [s.used_bytes for s in found] == [0, 0, 5, 0]
    assert state.snapshots[20].used_bytes == 0
    assert [s.used_bytes for s in views.snapshots_of(state, NOT_MEASURED, 1)] == [0, 0, 0, 0]
