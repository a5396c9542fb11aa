"""The composition root (opensan/array.py): what a start that fails leaves behind, and its
decisions that are not an array's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from opensan.array import open_array, serves_https
from opensan.config import Settings
from opensan.domain.errors import InvalidArgument

PEM = {"tls_cert": Path("cert.pem"), "tls_key": Path("key.pem")}


def test_a_new_array_that_fails_to_open_leaves_no_state_dir(tmp_path: Path) -> None:
    state_dir = tmp_path / "lab" / "state"
    with pytest.raises(InvalidArgument, match="Unknown model"):
        open_array(Settings(state_dir=state_dir, model="XS9999D"))
    assert not (tmp_path / "lab").exists()
    array = open_array(Settings(state_dir=state_dir, model="XS3216S"))  # the mistake mended
    try:
        assert array.service.system.info().hardware.model_name == "XS3216S"
    finally:
        array.close()


def test_a_failed_start_keeps_a_directory_it_did_not_make(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "notes.txt").write_text("mine")
    with pytest.raises(InvalidArgument):
        open_array(Settings(state_dir=state_dir, model="XS9999D"))
    assert (state_dir / "notes.txt").read_text() == "mine"


def test_an_array_that_fails_to_open_again_keeps_its_records(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    open_array(Settings(state_dir=state_dir, model="XS3216S")).close()
    with pytest.raises(InvalidArgument, match="holds a XS3216S array"):
        open_array(Settings(state_dir=state_dir, model="XS5226D"))
    array = open_array(Settings(state_dir=state_dir))
    try:
        assert array.service.system.info().hardware.model_name == "XS3216S"
    finally:
        array.close()


@pytest.mark.parametrize(("settings", "https"), [
    ({"backend": "linux"}, True),  # a real array serves HTTPS from its first start
    ({"backend": "ceph"}, True),
    ({}, False),  # the virtual array: plain HTTP, as its users' tests speak
    ({"backend": "linux", "tls": False}, False),
    ({"backend": "ceph", "tls": False}, False),
    ({"tls": True}, True),  # the virtual array with a certificate of its own
    (PEM, True),  # or a given one
    ({"backend": "linux", **PEM}, True),
])
def test_who_serves_https(settings: dict[str, object], https: bool) -> None:
    assert serves_https(Settings(**settings)) is https  # type: ignore[arg-type]
