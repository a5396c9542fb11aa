"""The exporter's /metrics: both formats from prometheus-client, promtool's check, the bearer
token when one is set."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, LiveServer
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from opensan.exporter.http import create_app
from opensan.exporter.scraper import Scraper
from opensan.exporter.source import SanosSource

TOKEN = "a-scrape-token-of-some-length"


@pytest.fixture
def scraper(live_server: LiveServer) -> Iterator[Scraper]:
    scraper = Scraper(SanosSource(live_server.url, "user", PASSWORD), deadline=5, concurrency=4)
    yield scraper
    scraper.close()


def client(scraper: Scraper, token: str | None = None) -> Any:
    return TestClient(create_app(scraper, token))


def test_prometheus_text_that_promtool_passes(scraper: Scraper) -> None:
    answer = client(scraper).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (see .ci/run)"
    checked = subprocess.run([promtool, "check", "metrics"], input=answer.text,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_openmetrics_when_the_scraper_asks(scraper: Scraper) -> None:
    answer = client(scraper).get("/metrics", headers={
        "Accept": "application/openmetrics-text; version=1.0.0"})
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    names = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert names["opensan_volume_capacity_bytes"].unit == "bytes"
    assert names["opensan_volume"].type == "info"
    assert names["opensan_exporter_up"].samples[0].value == 1


def test_a_bearer_token_when_one_is_set(scraper: Scraper) -> None:
    http = client(scraper, TOKEN)
    assert http.get("/metrics").status_code == 401
    assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    answer = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and "opensan_exporter_up 1.0" in answer.text


def test_every_family_of_the_exporters_own_is_in_the_docs(scraper: Scraper) -> None:
    docs = (Path(__file__).parent.parent.parent / "docs" / "monitoring.md").read_text()
    section = docs[docs.index("## The exporter"):]
    answer = client(scraper).get("/metrics", headers={
        "Accept": "application/openmetrics-text; version=1.0.0"})
    own = {f.name for f in text_string_to_metric_families(answer.text)
           if f.name.startswith("opensan_exporter_")}
    assert len(own) == 8
    for name in own:
        assert f"`{name}" in section, name
