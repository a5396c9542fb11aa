"""The array's names: QSAN-style IQNs and NAA 6 WWNs, one builder for every backend."""

from __future__ import annotations

from opensan.domain.identity import Clock, iqn, iqn_prefix, wwn


def test_a_target_iqn_is_qsans_form_under_the_arrays_prefix() -> None:
    name = iqn("XS5226D", "QW2264159B5187258", 3, 2)
    assert name == "iqn.2004-08.com.qsan:xs5226d-qw2264159b5187258:dev3.ctr2"
    assert name.startswith(iqn_prefix("XS5226D", "QW2264159B5187258"))
    assert not iqn("XS5226D", "OTHER", 3, 2).startswith(iqn_prefix("XS5226D", "QW2264159B5187258"))


def test_a_volume_wwn_is_naa_6_under_qsans_oui() -> None:
    name = wwn("QW2264159B5187258", 1234567890)
    assert name.startswith("6001378") and len(name) == 1 + 6 + 9 + 16
    assert name.endswith(f"{1234567890:016x}")
    assert int(name, 16) and wwn("QW2264159B5187258", 1234567891) != name


def test_the_clock_moves_by_its_offset() -> None:
    clock = Clock()
    before = clock.now()
    clock.offset_seconds = 3600
    assert 3600 <= clock.now() - before < 3700
