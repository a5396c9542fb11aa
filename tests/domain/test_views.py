"""Derived figures (domain/views.py): a volume's snapshots, with and without the index."""

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


def test_recorded_snapshots_are_each_volumes_oldest_first() -> None:
    recorded = views.recorded_snapshots(_state())
    assert {vid: [s.name for s in found] for vid, found in recorded.items()} == {
        1: ["a", "b2", "b", "c"], 2: ["x"]}
    assert views.recorded_snapshots(_state(), {2}).keys() == {2}


def test_snapshots_of_answers_the_same_with_the_index_as_by_a_pass() -> None:
    state = _state()
    recorded = views.recorded_snapshots(state)
    for volume_id in (1, 2, 3):
        assert views.snapshots_of(state, NOT_MEASURED, volume_id, recorded) == \
            views.snapshots_of(state, NOT_MEASURED, volume_id)
    assert views.snapshots_of(state, NOT_MEASURED, 3, recorded) == []


def test_measured_use_is_shown_with_the_index_too() -> None:
    state = _state()
    usage = Usage(snapshots={20: 5})
    found = views.snapshots_of(state, usage, 1, views.recorded_snapshots(state))
    assert [s.used_bytes for s in found] == [0, 0, 5, 0]
    assert views.recorded_snapshots(state)[1][2].used_bytes == 0  # the records stay as they are
