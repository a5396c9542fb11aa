"""The exporter's state words are OpenSAN's, and a word it does not know is not lost."""

from __future__ import annotations

from enum import StrEnum

import pytest

from opensan.domain import models
from opensan.exporter import families


@pytest.mark.parametrize(("words", "enum"), [
    (families.SYSTEM_HEALTH, models.SystemHealth), (families.SENSOR_STATUS, models.SensorStatus),
    (families.DISK_HEALTH, models.DiskHealth), (families.DISK_STATUS, models.DiskStatus),
    (families.DISK_USAGE, models.DiskUsage), (families.POOL_HEALTH, models.PoolHealth),
    (families.POOL_STATUS, models.PoolStatus), (families.VOLUME_HEALTH, models.VolumeHealth),
    (families.VOLUME_STATUS, models.VolumeStatus), (families.EVENT_LEVELS, models.EventLevel),
])
def test_the_state_words_are_the_servers(words: tuple[str, ...], enum: type[StrEnum]) -> None:
    assert words == tuple(word.value for word in enum)


def test_a_state_the_exporter_does_not_know_gets_a_sample_of_its_own() -> None:
    family = families.states("opensan_pool_health", "h", ["pool_id"], families.POOL_HEALTH,
                             [(["1"], "Good"), (["2"], "Migrating")])
    by_pool = {(s.labels["pool_id"], s.labels["state"]): s.value for s in family.samples}
    assert by_pool == {("1", "Good"): 1, ("1", "Degraded"): 0, ("1", "Failed"): 0,
                       ("2", "Good"): 0, ("2", "Degraded"): 0, ("2", "Failed"): 0,
                       ("2", "Migrating"): 1}


def test_events_of_every_level_are_served_also_before_any_came() -> None:
    (family,) = families.events({"WARNING": 2, "NOTICE": 1})
    assert {s.labels["level"]: s.value for s in family.samples} == {
        "INFO": 0, "WARNING": 2, "ERROR": 0, "NOTICE": 1}
