"""packaging/monitoring: the Prometheus rules and the Grafana dashboard, checked by Prometheus's
own tools and against a real scrape.

- `promtool check rules`, and `promtool test rules` on tests/packaging/monitoring/: every alert
  fires where it should and stays quiet where it should not; a mutant of each alert (one that
  never fires, one without its comparisons) must fail those cases, so they can fail.
- A real Prometheus (Debian's, the one promtool comes with) scrapes a live virtual array and
  loads the rules: every metric name the rules and the dashboard use is in the scrape, every
  alert's expression without its comparisons finds series, no alert fires on the healthy array
  and a failed disk and a failed sensor raise theirs, and every dashboard query (Grafana's
  variables filled in) parses and returns data. Grafana itself is not here: promtool cannot
  check a dashboard, and Prometheus evaluating each query is the check that counts (a wrong
  name, label or syntax gives an error or nothing).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import DEFAULT_PASSWORD, LiveServer, free_port

ROOT = Path(__file__).parent.parent.parent
RULES = ROOT / "packaging" / "monitoring" / "prometheus" / "opensan-rules.yml"
DASHBOARD = ROOT / "packaging" / "monitoring" / "grafana" / "opensan-dashboard.json"
RULE_TESTS = Path(__file__).parent / "monitoring" / "opensan-rules.test.yml"
# Names that are not the server's: Prometheus's own, and `opensan exporter`'s.
NOT_THE_SERVERS = {"up", "opensan_exporter_up"}
SCRAPE_TOKEN = "monitoring-test-token-0123"
# A comparison with a number, as the alerts filter (`> 0.8`, `== 1`, `>= 1`).
COMPARISON = re.compile(r"\s*(?:==|!=|>=|<=|>|<)\s*[0-9.]+")
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install prometheus (see .ci/run)"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def rules() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(RULES.read_text())
    return loaded


def alerts() -> dict[str, str]:
    """Each alert's name and expression."""
    return {rule["alert"]: rule["expr"] for group in rules()["groups"] for rule in group["rules"]}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: names outside strings that are not PromQL's own
    words, label names (before = or inside by/on/group_left()) or durations."""
    bare = QUOTED.sub('""', expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # range durations
    names = set()
    for match in NAME.finditer(bare):
        after = bare[match.end():].lstrip()
        if after.startswith("("):  # a function or an aggregation
            continue
        if match.group() in {"and", "or", "unless", "bool", "offset", "inf", "nan"}:
            continue
        names.add(match.group())
    return names


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    found = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    found += [re.sub(r"^label_values\((.*), *\w+\)$", r"\1", variable["definition"])
              for variable in board["templating"]["list"] if variable["type"] == "query"]
    return found


# The rules, by promtool


def test_promtool_checks_the_rules() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in checked.stdout


def test_the_unit_tests_pass() -> None:
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_does_not() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    checks = [check for case in cases for check in case["alert_rule_test"]]
    for name in alerts():
        mine = [check for check in checks if check["alertname"] == name]
        assert any(check["exp_alerts"] for check in mine), f"{name} is never expected to fire"
        assert any(not check["exp_alerts"] for check in mine), f"{name} is never expected quiet"


def test_every_alert_has_a_severity_and_names_its_object() -> None:
    for group in rules()["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert "{{ $labels." in rule["annotations"]["summary"], rule["alert"]
            assert "{{ $labels." in rule["annotations"]["description"], rule["alert"]


def _mutant(tmp_path: Path, alert: str, expr: str) -> subprocess.CompletedProcess[str]:
    """promtool's unit tests run on the rules with one alert's expression replaced."""
    changed = rules()
    for group in changed["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = expr
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(changed, sort_keys=False))
    cases = yaml.safe_load(RULE_TESTS.read_text())
    cases["rule_files"] = ["rules.yml"]
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(cases, sort_keys=False))
    return promtool("test", "rules", "tests.yml", cwd=tmp_path)


@pytest.mark.parametrize("alert", sorted(alerts()))
def test_a_broken_alert_fails_the_unit_tests(alert: str, tmp_path: Path) -> None:
    expr = alerts()[alert]
    never = _mutant(tmp_path, alert, "vector(1) == 0")
    assert never.returncode != 0 and f"alertname: {alert}," in never.stderr, never.stderr
    loosened = COMPARISON.sub("", expr)
    assert loosened != expr
    too_wide = _mutant(tmp_path, alert, loosened)
    assert too_wide.returncode != 0 and f"alertname: {alert}," in too_wide.stderr, too_wide.stderr


def test_metric_names_are_read_from_expressions() -> None:
    """The tokenizer the scrape checks below rely on."""
    assert metric_names('rate(a_total{x="b_c"}[5m]) / on (d) group_left (e) max by (f) (g) > 1'
                        ) == {"a_total", "g"}
    assert metric_names(alerts()["OpenSANDiskFailed"]) == {"opensan_disk_health",
                                                          "opensan_disk_info"}


# A real Prometheus scraping a live virtual array


@dataclass
class Monitored:
    server: LiveServer
    prometheus: str  # its base URL
    scraped: set[str]  # the sample names of a scrape of the server

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=30)
        assert answer.status_code == 200, f"{expr}: {answer.text}"
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.prometheus}/api/v1/alerts", timeout=30)
        found: list[dict[str, Any]] = answer.json()["data"]["alerts"]
        return found

    def wait_for(self, what: str, check: Any, seconds: float = 60) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.5)
        raise AssertionError(f"not within {seconds} s: {what}")


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: apt-get install prometheus (see .ci/run)"
    workdir = tmp_path_factory.mktemp("monitoring")
    server = LiveServer(workdir / "state", env={"OPENSAN_METRICS_TOKEN": SCRAPE_TOKEN})
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        server.start()
        (workdir / "token").write_text(SCRAPE_TOKEN)
        (workdir / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{
                "job_name": "opensan",
                "authorization": {"credentials_file": str(workdir / "token")},
                "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}]}]}))
        port = free_port()
        with open(workdir / "prometheus.log", "wb") as log:
            prometheus = subprocess.Popen(
                [binary, f"--config.file={workdir / 'prometheus.yml'}",
                 f"--storage.tsdb.path={workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        with server.client() as http:
            token = http.post(f"/rest/login/account/user/password/{DEFAULT_PASSWORD}").json()["accessToken"]
            text = http.get("/metrics", headers={"Authorization": token}).text
        scraped = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
                   if line and not line.startswith("#")}
        monitored = Monitored(server, f"http://127.0.0.1:{port}", scraped)

        def scraped_twice() -> bool:
            try:  # rate() needs two samples of a counter
                return bool(monitored.query("count_over_time(up[1m]) >= 3"))
            except (httpx.TransportError, AssertionError):
                return False

        monitored.wait_for("Prometheus scraped the array three times", scraped_twice)
        assert monitored.query("up")[0]["value"][1] == "1"
        yield monitored
    finally:
        if prometheus:
            prometheus.terminate()
            try:
                prometheus.wait(10)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait(10)
        server.stop()


def test_every_name_the_rules_and_the_dashboard_use_is_in_a_real_scrape(
        monitored: Monitored) -> None:
    used = set().union(*(metric_names(e) for e in [*alerts().values(), *dashboard_queries()]))
    assert {"opensan_pool_used_bytes", "opensan_volume_read_seconds_total"} <= used
    assert used - NOT_THE_SERVERS - monitored.scraped == set()


def test_every_alert_finds_series_of_a_real_scrape(monitored: Monitored) -> None:
    """Without its comparisons, each expression finds the array's series: its names, labels
    and joins fit what the server serves (the exporter's alert excepted: no exporter here)."""
    for name, expr in alerts().items():
        if metric_names(expr) & NOT_THE_SERVERS - {"up"}:
            continue
        assert monitored.query(COMPARISON.sub("", expr)), name


def test_every_dashboard_query_parses_and_returns_data(monitored: Monitored) -> None:
    instance = f"127.0.0.1:{monitored.server.port}"
    variables = {"$__rate_interval": "1m", "$__range": "5m", "$instance": instance,
                 "$volume": ".*"}
    for query in dashboard_queries():
        expr = query
        for variable, value in variables.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        assert monitored.query(expr), f"no data: {query}"


def test_the_dashboard_is_grafana_json_on_its_variables() -> None:
    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "instance" in variables
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert 'instance=~"$instance"' in target["expr"], panel["title"]
    titles = {panel["title"] for panel in board["panels"] if panel["type"] == "row"}
    assert titles == {"Array health", "Capacity", "Performance per volume",
                      "Performance per disk", "Events and the server"}


def test_alerts_are_quiet_on_a_healthy_array_and_fire_on_failures(monitored: Monitored) -> None:
    monitored.wait_for("two rule evaluations", lambda: monitored.query("ALERTS") == [] and
                       monitored.query("count_over_time(up[1m]) >= 5"))
    assert monitored.alerts() == []
    with monitored.server.client() as http:
        token = http.post(f"/rest/login/account/admin/password/{DEFAULT_PASSWORD}").json()["accessToken"]
        admin = {"Authorization": token}
        disks = http.get("/rest/storage/diskinfo", headers=admin).json()
        disk = next(d for d in disks if d.get("usage") == "RAID")
        assert http.post(f"/rest/sim/faildisk/diskid/{disk['id']}", headers=admin).status_code == 200
        sensor = "ctr1-cpu-temp"
        assert http.post(f"/rest/sim/sensor/sensor/{sensor}/status/failed",
                         headers=admin).status_code == 200

    def raised() -> dict[str, dict[str, str]]:
        found = {alert["labels"]["alertname"]: alert["labels"] for alert in monitored.alerts()}
        return found if {"OpenSANDiskFailed", "OpenSANSensorFailed"} <= found.keys() else {}

    found = monitored.wait_for("the disk's and the sensor's alerts", raised)
    assert found["OpenSANDiskFailed"]["disk_id"] == str(disk["id"])
    assert found["OpenSANDiskFailed"]["slot"] == str(disk["slot"])
    assert found["OpenSANSensorFailed"]["sensor_id"] == sensor
