"""3.3 Dashboard (api/routes/dashboard.py): what the system information adds to the manual's."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import Api, local_array
from fastapi.testclient import TestClient

from opensan.api.app import create_app

FINGERPRINT = ":".join(["AB"] * 32)


@pytest.mark.parametrize("fingerprint", [FINGERPRINT, None], ids=["https", "http"])
def test_systeminfo_shows_the_fingerprint_of_the_certificate_it_is_served_with(
        tmp_path: Path, fingerprint: str | None) -> None:
    """The server's fingerprint (opensan serve over HTTPS), null over plain HTTP; the service
    package's systeminfo.json is the same answer."""
    with local_array(tmp_path) as array, \
            TestClient(create_app(array.service, tls_fingerprint=fingerprint)) as http:
        admin = Api(http).login("admin")
        info = admin.ok("GET", "/rest/dashboard/systeminfo")
        assert "tlsFingerprint" in info and info["tlsFingerprint"] == fingerprint
        package = admin.get("/rest/system/servicepackage")
        assert package.status_code == 200
        packaged = json.loads(zipfile.ZipFile(io.BytesIO(package.content)).read("systeminfo.json"))
        assert packaged["tlsFingerprint"] == fingerprint
