"""The codec decodes what it encoded, with every declared type, and shares what repeats."""

from __future__ import annotations

from opensan.domain.models import (
    CacheMode,
    CloneSource,
    Pool,
    Priority,
    Provision,
    Snapshot,
    SnapshotExpose,
    Volume,
    VolumeMetadata,
    VolumeQos,
    VolumeSettings,
)
from opensan.domain.raid import RaidLevel
from opensan.store.codec import decode, encode


def _volume(volume_id: int, **changes: object) -> Volume:
    fields: dict[str, object] = {
        "id": volume_id, "name": f"vol-{volume_id}", "pool_id": 2, "capacity_bytes": 2**30,
        "provision": Provision.THIN, "wwn": f"6001{volume_id:016x}", "created_at": 1.5}
    fields.update(changes)
    return Volume(**fields)  # type: ignore[arg-type]


def test_records_come_back_equal_with_their_types() -> None:
    pool = Pool(2, "P", RaidLevel.RAID6, Provision.THICK, (5, 6, 7), 3.0)
    volume = _volume(
        1, cache_mode=CacheMode.WRITE_THROUGH, clone_of=CloneSource(9, None),
        settings=VolumeSettings(io_priority=Priority.HIGH, qos=VolumeQos(max_iops=500),
                                metadata=VolumeMetadata("s", "t", "YWJj", 7)))
    snapshot = Snapshot(3, 1, "s1", 4.0, used_bytes=10, expose=SnapshotExpose(True, "rw", 5))
    for record in (pool, volume, snapshot):
        back = decode(type(record), encode(record))
        assert back == record
    back_pool = decode(Pool, encode(pool))
    assert isinstance(back_pool.disk_ids, tuple) and back_pool.raid_level is RaidLevel.RAID6
    back_volume = decode(Volume, encode(volume))
    assert back_volume.settings.io_priority is Priority.HIGH
    assert isinstance(back_volume.clone_of, CloneSource)


def test_none_stays_none_for_any_declared_type() -> None:
    back = decode(Volume, encode(_volume(1)))
    assert back.clone_of is None and back.settings.metadata.timestamp is None


def test_equal_nested_records_are_one_instance_and_different_ones_are_not() -> None:
    first, second = (decode(Snapshot, encode(Snapshot(i, 1, f"s{i}", 1.0))) for i in (1, 2))
    exposed = decode(Snapshot, encode(Snapshot(3, 1, "s3", 1.0,
                                               expose=SnapshotExpose(True, "ro", 0))))
    assert first.expose is second.expose
    assert exposed.expose == SnapshotExpose(True, "ro", 0)
    assert exposed.expose is not first.expose


def test_strings_that_repeat_are_held_once() -> None:
    first, second = (decode(Snapshot, encode(Snapshot(i, i, "nightly", 1.0))) for i in (1, 2))
    assert first.name is second.name and first.status is second.status


def test_a_field_missing_from_an_older_record_takes_its_default() -> None:
    text = encode(Snapshot(3, 1, "s", 1.0)).replace(',"in_trash":false', "")
    assert decode(Snapshot, text).in_trash is False


def test_a_value_of_another_type_than_declared_is_kept_as_an_earlier_release_wrote_it() -> None:
    """msgspec refuses 2.5 for an int field; the lenient decoding keeps it, as before msgspec,
    so that a state dir an earlier release wrote still opens."""
    text = encode(Snapshot(3, 1, "s", 1.0)).replace('"used_bytes":0', '"used_bytes":2.5')
    back = decode(Snapshot, text)
    assert back.used_bytes == 2.5 and back.expose == SnapshotExpose()


def test_a_float_that_is_a_whole_number_is_taken_for_an_int_field() -> None:
    text = encode(Snapshot(3, 1, "s", 1.0)).replace('"used_bytes":0', '"used_bytes":7.0')
    back = decode(Snapshot, text)
    assert back.used_bytes == 7 and type(back.used_bytes) is int


def test_a_nested_record_that_is_set_is_shared_too() -> None:
    clone_of = CloneSource(9, 4)
    first, second = (decode(Volume, encode(_volume(i, clone_of=clone_of))) for i in (1, 2))
    assert first.clone_of == clone_of and first.clone_of is second.clone_of
    assert decode(Volume, encode(_volume(3))).clone_of is None
