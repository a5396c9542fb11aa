"""The composition root's decisions that are not an array's rules (opensan/array.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opensan.array import serves_https
from opensan.config import Settings

PEM = {"tls_cert": Path("cert.pem"), "tls_key": Path("key.pem")}


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
