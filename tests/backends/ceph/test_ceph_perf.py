"""The Ceph counters' sources as Ceph 16.2 writes them, and counters that only grow across
restarts of their sources (no cluster needed)."""

from __future__ import annotations

import pytest

from opensan.backends.ceph.perf import Monotonic, image_counters, osd_counters
from opensan.domain.measured import NO_IO, IoCounters

# `ceph rbd perf image counters` (as the manager answered on the test cluster)
REPORT = {
    "timestamp": 1796227496.0,
    "counter_descriptors": ["write_ops", "read_ops", "write_bytes", "read_bytes",
                            "write_latency", "read_latency"],
    "pool_descriptors": {"0": "rbdp", "1": "other/ns"},
    "counters": [{"0/img1": [127, 128, 4194304, 8391680, 432636129, 22377747]},
                 {"1/vol-7": [1, 0, 4096, 0, 2000000, 0]}],
}


def latency(sum_seconds: float, count: int = 0) -> dict[str, float]:
    return {"avgcount": count, "sum": sum_seconds, "avgtime": 0.0}


DUMP = {"osd": {
    "op_r": 183, "op_r_out_bytes": 8392815, "op_r_latency": latency(0.028793873, 183),
    "op_w": 796, "op_w_in_bytes": 12582939, "op_w_latency": latency(1.118367519, 796),
    "op_rw": 40, "op_rw_in_bytes": 1000, "op_rw_out_bytes": 50, "op_rw_latency": latency(0.5, 40),
    "subop_w": 10, "subop_w_in_bytes": 40960, "subop_w_latency": latency(0.25, 10),
    "subop_pull": 3,
}}


def test_an_image_report_gives_each_images_counters_by_pool() -> None:
    found = image_counters(REPORT)
    assert found[("rbdp", "img1")] == IoCounters(
        read_ops=128, write_ops=127, read_bytes=8391680, write_bytes=4194304,
        read_seconds=pytest.approx(0.022377747), write_seconds=pytest.approx(0.432636129))
    assert found[("other/ns", "vol-7")].write_seconds == pytest.approx(0.002)
    assert set(found) == {("rbdp", "img1"), ("other/ns", "vol-7")}


def test_an_image_report_in_another_order_is_read_by_its_descriptors() -> None:
    shuffled = {**REPORT, "counter_descriptors": ["read_ops", "write_ops", "read_bytes",
                                                  "write_bytes", "read_latency", "write_latency"]}
    assert image_counters(shuffled)[("rbdp", "img1")].read_ops == 127


def test_a_report_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        image_counters({**REPORT, "counter_descriptors": ["write_ops"]})
    with pytest.raises(KeyError):
        image_counters({"counters": []})


def test_an_osds_writes_include_read_modify_writes_and_replica_writes() -> None:
    counters = osd_counters(DUMP)
    assert (counters.read_ops, counters.read_bytes) == (183, 8392815)
    assert counters.read_seconds == pytest.approx(0.028793873)
    assert (counters.write_ops, counters.write_bytes) == (796 + 40 + 10, 12582939 + 1000 + 40960)
    assert counters.write_seconds == pytest.approx(1.118367519 + 0.5 + 0.25)


def io(ops: int) -> IoCounters:
    """Counters with binary fractions of seconds, so that sums are exact."""
    return IoCounters(read_ops=ops, write_ops=2 * ops, read_bytes=4096 * ops,
                      write_bytes=8192 * ops, read_seconds=ops / 1024, write_seconds=ops / 512)


def test_counters_count_from_the_first_reading_and_keys_new_since_from_zero() -> None:
    counters: Monotonic[str] = Monotonic()
    counters.baseline({"a": io(100)})
    assert counters.total("a") == NO_IO
    counters.add({"a": io(130), "b": io(5)})
    assert counters.total("a") == io(30)
    assert counters.total("b") == io(5)  # new since the start: all it counted is new
    assert counters.total("c") is None


def test_a_source_that_starts_again_at_zero_keeps_the_counters_growing() -> None:
    counters: Monotonic[str] = Monotonic()
    counters.baseline({"a": io(100)})
    counters.add({"a": io(150)})
    counters.add({"a": io(20)})  # the manager restarted: its sums began again
    assert counters.total("a") == io(70)
    counters.add({})  # not in the report (idle, or past the busiest 64): it keeps its total
    assert counters.total("a") == io(70)
    counters.add({"a": io(25)})
    assert counters.total("a") == io(75)


def test_keys_that_are_gone_are_forgotten() -> None:
    counters: Monotonic[str] = Monotonic()
    counters.baseline({"a": io(1), "b": io(1)})
    counters.keep_only(["b"])
    assert counters.total("a") is None and counters.total("b") == NO_IO
    counters.add({"a": io(3)})  # a key that comes back counts from zero
    assert counters.total("a") == io(3)
