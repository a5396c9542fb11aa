"""End-to-end API benchmark of OpenSAN against the targets of the performance issue.

One run:
  1. seeds (or with --reuse-state reuses) two state directories: the load state (1,000 volumes,
     10,000 snapshots, 1,000,000 events) and the scrape state (4,096 volumes);
  2. starts `opensan serve` on the load state, times start-up, logs in as admin, and drives
     `wrk` (16 connections) at GET /rest/storage/volumeinfo, /rest/log/list/1 and the last log page;
  3. serves the very bytes of volumeinfo from a bare ASGI app (bench/bare_app.py) under the same
     uvicorn settings and drives wrk at it the same way;
  4. starts `opensan serve` on the scrape state, times start-up, times one cold and several warm
     monitoring scrapes (every GET endpoint once) and reads the server's RSS;
  5. prints every figure next to its target, ratios computed from this run's own figures.

    python bench/api_bench.py                 # full run, several minutes
    python bench/api_bench.py --reuse-state   # skip seeding when the state dirs are up to date
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from seed_state import SeedSpec, describe, seed

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0
MB = 1024 * 1024

# Targets from the issue.
MAX_VOLUMEINFO_VS_BARE = 2.0
MAX_LAST_VS_FIRST_PAGE = 1.2
MAX_SCRAPE_S = 1.0
MAX_RSS_MB = 200.0
MAX_STARTUP_S = 2.0


# --- Servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    startup_s: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the server process in MiB."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # kB -> MiB
        return fields["VmRSS"], fields["VmHWM"]


@contextmanager
def running(name: str, command: list[str], port: int, log_path: Path) -> Iterator[Server]:
    """Start a server, wait until GET /rest/ answers 200 (that is its start-up time), stop it after."""
    base_url = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            startup_s = _wait_ready(process, base_url, started, log_path)
            yield Server(name, process, base_url, log_path, startup_s)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, started: float,
                log_path: Path) -> float:
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() - started < STARTUP_TIMEOUT_S:
            if process.poll() is not None:
                raise SystemExit(f"Server exited with {process.returncode}:\n"
                                 f"{log_path.read_text(errors='replace')}")
            try:
                if client.get(f"{base_url}/rest/").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.005)
    raise SystemExit(f"Server at {base_url} did not answer within {STARTUP_TIMEOUT_S} s.")


def opensan_server(state_dir: Path, log_path: Path) -> AbstractContextManager[Server]:
    opensan = shutil.which("opensan")
    if opensan is None:
        raise SystemExit("`opensan` is not on PATH; pip install -e . first.")
    port = free_port()
    command = [opensan, "serve", "--state-dir", str(state_dir), "--port", str(port),
               "--log-level", "warning"]
    return running("opensan", command, port, log_path)


def bare_server(body_path: Path, log_path: Path) -> AbstractContextManager[Server]:
    port = free_port()
    command = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--body", str(body_path),
               "--port", str(port), "--log-level", "warning"]
    return running("bare ASGI", command, port, log_path)


def startup_times(state_dir: Path, log_path: Path, count: int) -> list[float]:
    """Start-up times of `count` extra starts of the server (each stopped right away)."""
    times = []
    for _ in range(count):
        with opensan_server(state_dir, log_path) as server:
            times.append(server.startup_s)
    return times


def uvicorn_flavour() -> str:
    """Which event loop and HTTP parser uvicorn's "auto" picks here (both servers use the same)."""
    names = []
    for module, fast, slow in (("uvloop", "uvloop", "asyncio"), ("httptools", "httptools", "h11")):
        try:
            __import__(module)
            names.append(fast)
        except ImportError:
            names.append(slow)
    return " + ".join(names)


def login(base_url: str) -> str:
    answer = httpx.post(f"{base_url}/rest/login/account/admin/password/1234", timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["accessToken"]
    return token


# --- wrk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    label: str
    median_ms: float
    p99_ms: float
    requests_per_s: float
    errors: str  # empty when every answer was 2xx and no socket failed


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"Unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(label: str, output: str) -> WrkResult:
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if "50" not in percentiles or "99" not in percentiles or rps is None:
        raise SystemExit(f"Cannot read wrk's output:\n{output}")
    errors = [line.strip() for line in output.splitlines()
              if line.strip().startswith(("Non-2xx", "Socket errors"))]
    return WrkResult(label, _latency_ms(percentiles["50"]), _latency_ms(percentiles["99"]),
                     float(rps.group(1)), "; ".join(errors))


@dataclass(frozen=True)
class WrkOptions:
    threads: int
    connections: int
    duration_s: int
    warmup_s: int


def run_wrk(label: str, url: str, token: str | None, options: WrkOptions,
            bearer: bool = True) -> WrkResult:
    """bearer=False sends the token as it is, as QSAN's XEVO clients do."""
    scheme = "Bearer " if bearer else ""
    header = ["-H", f"Authorization: {scheme}{token}"] if token else []

    def wrk(duration_s: int) -> str:
        command = ["wrk", f"-t{options.threads}", f"-c{options.connections}",
                   f"-d{duration_s}s", "--latency", *header, url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return done.stdout

    if options.warmup_s:
        wrk(options.warmup_s)
    result = parse_wrk(label, wrk(options.duration_s))
    print(f"  {label:<44} median {result.median_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms  "
          f"{result.requests_per_s:9.1f} req/s {result.errors}", flush=True)
    return result


# --- Monitoring scrape -----------------------------------------------------------------------


def scrape_paths(database: Path) -> list[str]:
    """Every GET endpoint once. The IDs it needs are read from the state file before the server
    starts, so that no GET warms the server's caches before the cold scrape."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        def first(kind: str) -> Any:
            row = db.execute("SELECT data FROM records WHERE kind = ? ORDER BY key LIMIT 1",
                             (kind,)).fetchone()
            return None if row is None else json.loads(row[0])

        snapshot = first("snapshot")
        volume_id = snapshot["volume_id"] if snapshot else first("volume")["id"]
        target_id = min(json.loads(data)["id"] for (data,) in db.execute(
            "SELECT data FROM records WHERE kind = 'target'"))
    finally:
        db.close()
    return [
        "/rest/",
        "/rest/dashboard/systeminfo",
        "/rest/dashboard/hwmonitor",
        "/rest/log/list/1",
        "/rest/storage/diskinfo",
        "/rest/storage/disksmart",
        "/rest/storage/poolinfo",
        "/rest/storage/volumeinfo",
        f"/rest/storage/snapshot/vdid/{volume_id}",
        "/rest/storage/availtarget",
        f"/storage/availlun/targetid/{target_id}",
        "/rest/storage/lunmappinginfo",
    ]


def scrape(client: httpx.Client, paths: list[str]) -> tuple[float, dict[str, float]]:
    """One sequential pass: total seconds and seconds per path."""
    each: dict[str, float] = {}
    started = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        client.get(path).raise_for_status()
        each[path] = time.perf_counter() - t0
    return time.perf_counter() - started, each


@dataclass(frozen=True)
class ScrapeResult:
    startups: list[float]
    cold_s: float
    warm_median_s: float
    cold_each: dict[str, float]
    warm_each_median: dict[str, float]
    sizes: dict[str, int]
    rss_mb: float
    hwm_mb: float


def measure_scrape(state_dir: Path, log_dir: Path, scrapes: int, starts: int) -> ScrapeResult:
    paths = scrape_paths(state_dir / "opensan.db")
    startups = startup_times(state_dir, log_dir / "opensan-scrape.log", starts - 1)
    with opensan_server(state_dir, log_dir / "opensan-scrape.log") as server:
        token = login(server.base_url)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            cold_s, cold_each = scrape(client, paths)
            warm = [scrape(client, paths) for _ in range(scrapes)]
            sizes = {path: len(client.get(path).content) for path in paths}
        rss, hwm = server.rss_mb()
        return ScrapeResult(
            startups=[*startups, server.startup_s],
            cold_s=cold_s,
            warm_median_s=statistics.median(total for total, _ in warm),
            cold_each=cold_each,
            warm_each_median={p: statistics.median(each[p] for _, each in warm) for p in paths},
            sizes=sizes,
            rss_mb=rss,
            hwm_mb=hwm,
        )


# --- Report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(rule)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def startup_row(label: str, startups: list[float]) -> Row:
    median = statistics.median(startups)
    return Row(f"start-up, {label}",
               f"{median:.2f} s (median of {len(startups)}, max {max(startups):.2f})",
               f"< {MAX_STARTUP_S:g} s", median < MAX_STARTUP_S)


def wrk_rows(result: WrkResult) -> list[Row]:
    note = f" ({result.errors})" if result.errors else ""
    return [
        Row(f"{result.label}: median latency", f"{result.median_ms:.2f} ms{note}"),
        Row(f"{result.label}: p99 latency", f"{result.p99_ms:.2f} ms"),
        Row(f"{result.label}: requests/s", f"{result.requests_per_s:.0f}"),
    ]


# --- Main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=1000)
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--scrape-volumes", type=int, default=4096)
    parser.add_argument("--scrape-snapshots", type=int, default=10_000)
    parser.add_argument("--scrape-events", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="Seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scrapes", type=int, default=5, help="Warm scrapes after the cold one")
    parser.add_argument("--starts", type=int, default=3,
                        help="Server starts timed per state (the last one is benchmarked)")
    parser.add_argument("--state-root", type=Path, default=Path("/tmp/opensan-bench"))
    parser.add_argument("--reuse-state", action="store_true",
                        help="Keep state dirs already seeded to the same figures")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    root: Path = args.state_root
    root.mkdir(parents=True, exist_ok=True)
    options = WrkOptions(args.threads, args.connections, args.duration, args.warmup)

    load_spec = SeedSpec(args.volumes, args.snapshots, args.events)
    scrape_spec = SeedSpec(args.scrape_volumes, args.scrape_snapshots, args.scrape_events)
    print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work on "
          f"the machine skews every figure); uvicorn on {uvicorn_flavour()}; wrk "
          f"-t{options.threads} -c{options.connections} -d{options.duration_s}s (after "
          f"{options.warmup_s} s of warm-up)", flush=True)
    load = seed(root / f"load-{args.volumes}v", load_spec, reuse=args.reuse_state)
    print(describe(load), flush=True)
    scraped = seed(root / f"scrape-{args.scrape_volumes}v", scrape_spec, reuse=args.reuse_state)
    print(describe(scraped), flush=True)

    print(f"\nLoad state: opensan serve on {load.state_dir}", flush=True)
    load_startups = startup_times(load.state_dir, root / "opensan-load.log", args.starts - 1)
    with opensan_server(load.state_dir, root / "opensan-load.log") as server:
        token = login(server.base_url)
        auth = {"Authorization": f"Bearer {token}"}
        body = httpx.get(f"{server.base_url}/rest/storage/volumeinfo", headers=auth,
                         timeout=60).content
        body_path = root / "volumeinfo.json"
        body_path.write_bytes(body)
        first_page = httpx.get(f"{server.base_url}/rest/log/list/1", headers=auth,
                               timeout=60).json()
        page_size, total = int(first_page["pageSize"]), int(first_page["total"])
        total_pages = int(first_page["totalPages"])
        # The last page that holds a full page of events, so both pages carry the same payload;
        # it is totalPages itself unless logins since seeding left a few events over.
        last_page = max(1, total // page_size)
        print(f"  volumeinfo: {len(body):,} bytes; log: {total:,} events, {total_pages:,} pages "
              f"of {page_size}; last full page {last_page:,}", flush=True)
        url = server.base_url
        volumeinfo = run_wrk("GET /rest/storage/volumeinfo", f"{url}/rest/storage/volumeinfo",
                             token, options)
        page_first = run_wrk("GET /rest/log/list/1", f"{url}/rest/log/list/1", token, options)
        page_last = run_wrk(f"GET /rest/log/list/{last_page}", f"{url}/rest/log/list/{last_page}",
                            token, options)
        load_rss, load_hwm = server.rss_mb()
        load_startups.append(server.startup_s)
        with bare_server(body_path, root / "bare.log") as bare:
            check = httpx.get(f"{bare.base_url}/anything", timeout=10).content
            assert check == body, "the bare app must answer the same bytes"
            bare_result = run_wrk("bare ASGI app, same bytes", f"{bare.base_url}/", None, options)

    print(f"\nScrape state: opensan serve on {scraped.state_dir}", flush=True)
    result = measure_scrape(scraped.state_dir, root, args.scrapes, args.starts)

    vs_bare = volumeinfo.median_ms / bare_result.median_ms
    last_vs_first = page_last.median_ms / page_first.median_ms
    rows = [
        startup_row(f"load state ({args.volumes} volumes)", load_startups),
        *wrk_rows(volumeinfo),
        *wrk_rows(bare_result),
        Row("volumeinfo median / bare median", f"{vs_bare:.2f}x",
            f"<= {MAX_VOLUMEINFO_VS_BARE:g}x", vs_bare <= MAX_VOLUMEINFO_VS_BARE),
        Row("volumeinfo req/s / bare req/s",
            f"{volumeinfo.requests_per_s / bare_result.requests_per_s:.2f}x"),
        *wrk_rows(page_first),
        *wrk_rows(page_last),
        Row("last page median / first page median", f"{last_vs_first:.2f}x",
            f"<= {MAX_LAST_VS_FIRST_PAGE:g}x", last_vs_first <= MAX_LAST_VS_FIRST_PAGE),
        Row("last page p99 / first page p99", f"{page_last.p99_ms / page_first.p99_ms:.2f}x"),
        Row("server RSS after wrk, load state", f"{load_rss:.0f} MiB (peak {load_hwm:.0f})",
            f"< {MAX_RSS_MB:g} MB", load_rss < MAX_RSS_MB),
        startup_row(f"scrape state ({args.scrape_volumes} volumes)", result.startups),
        Row("full scrape, cold (first after start-up)", f"{result.cold_s * 1000:.0f} ms",
            f"< {MAX_SCRAPE_S:g} s", result.cold_s < MAX_SCRAPE_S),
        Row(f"full scrape, warm (median of {args.scrapes})",
            f"{result.warm_median_s * 1000:.0f} ms", f"< {MAX_SCRAPE_S:g} s",
            result.warm_median_s < MAX_SCRAPE_S),
        Row("server RSS after scrapes, scrape state",
            f"{result.rss_mb:.0f} MiB (peak {result.hwm_mb:.0f})", f"< {MAX_RSS_MB:g} MB",
            result.rss_mb < MAX_RSS_MB),
    ]
    print_table("Scrape of every GET endpoint, "
                f"{args.scrape_volumes} volumes ({scraped.spec.snapshots} snapshots)",
                ("endpoint", "bytes", "cold ms", "warm median ms"),
                [(path, f"{result.sizes[path]:,}", f"{result.cold_each[path] * 1000:.1f}",
                  f"{result.warm_each_median[path] * 1000:.1f}") for path in result.cold_each])
    print_table(f"OpenSAN API benchmark: {args.volumes} volumes, {args.snapshots} snapshots, "
                f"{load.total_events:,} events; {options.connections} connections",
                ("figure", "measured", "target", "result"),
                [(r.figure, r.value, r.target, r.verdict) for r in rows])
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")
    failed = [r.figure for r in rows if r.passed is False]
    print(f"\n{len(failed)} of {sum(r.passed is not None for r in rows)} targets missed"
          + (": " + "; ".join(failed) if failed else "."))


if __name__ == "__main__":
    main()
