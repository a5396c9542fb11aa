"""The array's names: QSAN-style IQNs and NAA 6 WWNs, one builder for every backend."""

from __future__ import annotations

import re

from opensan.domain.identity import Clock, iqn, iqn_prefix, iqn_prefixes, model_family, wwn


def test_a_target_iqn_is_qsans_form_under_the_arrays_prefix() -> None:
    """QSAN's form: iqn.2004-08.com.qsan:xs5312-000d5b3a0:dev2.ctr1, the model family and a
    token of 9 hex digits (the one the volumes' WWNs carry)."""
    name = iqn("XS5226D", "QW2264159B5187258", 3, 2)
    assert re.fullmatch(r"iqn\.2004-08\.com\.qsan:xs5226-[0-9a-f]{9}:dev3\.ctr2", name), name
    token = name.split(":")[1].split("-")[1]
    assert token in wwn("QW2264159B5187258", 1)
    assert name.startswith(iqn_prefix("XS5226D", "QW2264159B5187258"))
    assert not iqn("XS5226D", "OTHER", 3, 2).startswith(iqn_prefix("XS5226D", "QW2264159B5187258"))


def test_the_model_family_drops_the_controller_letter_only() -> None:
    assert [model_family(m) for m in ("XS5226D", "XS1212S", "OPENSAN-LNX", "OPENSAN-CEPH")] \
        == ["xs5226", "xs1212", "opensan-lnx", "opensan-ceph"]


def test_the_targets_0_1_0_made_are_still_the_arrays_own() -> None:
    old = "iqn.2004-08.com.qsan:xs5226d-qw2264159b5187258:dev0.ctr1"
    prefixes = iqn_prefixes("XS5226D", "QW2264159B5187258")
    assert old.startswith(prefixes) and iqn("XS5226D", "QW2264159B5187258", 0, 1).startswith(
        prefixes)
    assert not old.startswith(iqn_prefixes("XS5226D", "QW2264159B5187259"))


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
