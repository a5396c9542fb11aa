"""Time full scrapes of `opensan exporter` against a virtual array of 4,096 volumes.

Seeds (or reuses) a state dir as bench/metrics_bench.py does (4,096 volumes, as many mapped as
the targets take), starts `opensan serve` on it and `opensan exporter` in front of it, then,
one scrape at a time, in each format: the first scrape (every family written), --rounds steady
scrapes (the array answers as before: the exporter's text is kept) and --rounds scrapes after a
change (a volume extended: volumeinfo's families whose samples moved are written again). Every
scrape reads every endpoint. It prints the client's time (median and worst), the exporter's CPU
time (what the machine's load does not change), its reads' time and slowest endpoint, and the
answer's size and samples. The target of issue 11: a full scrape under 1 s.

    python bench/exporter_bench.py [--volumes 4096] [--rounds 10] [--root /tmp/opensan-exporter-bench]
        [--api sanos|xevo]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from api_bench import free_port, opensan_server
from metrics_bench import map_volumes
from seed_state import SeedSpec, describe, seed

from opensan.client import SanosClient

TARGET_S = 1.0
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
GIB = 2**30


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process used so far (the machine's load left out)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Case:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    size: int = 0
    samples: int = 0
    stale: list[str] = field(default_factory=list)  # endpoints served stale, once a scrape


def scrape(client: httpx.Client, pid: int, accept: str, case: Case) -> None:
    """One full scrape, its figures added to the case."""
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    answer = client.get("/metrics", headers={"Accept": accept})
    case.wall.append(time.perf_counter() - started)
    case.cpu.append(cpu_seconds(pid) - cpu)
    answer.raise_for_status()
    text = answer.text
    case.size = len(text)
    case.samples = sum(1 for line in text.splitlines() if line and line[0] != "#")
    own = re.findall(r'^(opensan_exporter_\w+)(?:\{endpoint="([^"]*)"\})? (\S+)$', text, re.MULTILINE)
    for name, endpoint, value in own:
        if name == "opensan_exporter_scrape_duration_seconds":
            case.reads.append(float(value))
        elif name == "opensan_exporter_endpoint_duration_seconds":
            case.slowest = max(case.slowest, (float(value), endpoint))
        elif name == "opensan_exporter_endpoint_stale" and float(value):
            case.stale.append(endpoint)


@contextmanager
def exporter_process(command: list[str], port: int,
                     log_path: Path) -> Iterator[tuple[httpx.Client, int]]:
    """The exporter, and a client of it once it listens (its first scrape logs in)."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                for _ in range(600):
                    if process.poll() is not None:
                        raise SystemExit(f"The exporter exited:\n{log_path.read_text()}")
                    try:
                        client.get("/").raise_for_status()
                        break
                    except httpx.TransportError:
                        time.sleep(0.05)
                yield client, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--root", type=Path, default=Path("/tmp/opensan-exporter-bench"))
    parser.add_argument("--api", choices=("sanos", "xevo"), default="sanos",
                        help="the API the exporter reads the array over")
    args = parser.parse_args()
    opensan = shutil.which("opensan")
    if opensan is None:
        raise SystemExit("`opensan` is not on PATH; pip install -e . first.")
    state_dir = args.root / f"v{args.volumes}"
    print(describe(seed(state_dir, SeedSpec(args.volumes, 0, 10_000))), flush=True)
    cases: dict[tuple[str, str], Case] = {}
    with opensan_server(state_dir, args.root / "server.log") as server, \
            SanosClient(server.base_url, "admin", "1234") as admin:
        print(f"  {map_volumes(server.base_url)} volumes mapped", flush=True)
        port = free_port()
        os.environ["OPENSAN_PASSWORD"] = "1234"
        command = [opensan, "exporter", "--url", server.base_url, "--account", "user",
                   "--listen", f"127.0.0.1:{port}", "--log-level", "warning", "--api", args.api]
        volume = admin.volumes()[0]
        with exporter_process(command, port, args.root / "exporter.log") as (client, pid):
            for label, accept in (("text", ""), ("OpenMetrics", OPENMETRICS)):
                first = cases[(label, "first")] = Case()
                scrape(client, pid, accept, first)
                steady = cases[(label, "steady")] = Case()
                changed = cases[(label, "after a change")] = Case()
                for _ in range(args.rounds):
                    scrape(client, pid, accept, steady)
                    volume = admin.extend_volume(volume.id, volume.capacity_bytes // GIB + 1)
                    scrape(client, pid, accept, changed)
    print(f"\n{'format':<12}{'case':<16}{'median s':>9}{'worst s':>9}{'CPU s':>7}{'reads s':>9}"
          f"{'slowest read':>38}{'bytes':>11}{'samples':>8}")
    for (label, name), case in cases.items():
        slowest = f"{case.slowest[1]} {case.slowest[0]:.3f}"
        print(f"{label:<12}{name:<16}{statistics.median(case.wall):>9.3f}{max(case.wall):>9.3f}"
              f"{statistics.median(case.cpu):>7.2f}{statistics.median(case.reads):>9.3f}"
              f"{slowest:>38}{case.size:>11,}{case.samples:>8,}"
              f"{' stale: ' + ', '.join(case.stale) if case.stale else ''}")
    worst = max(max(case.wall) for case in cases.values())
    print(f"\nworst full scrape {worst:.3f} s (target < {TARGET_S:g} s): "
          f"{'ok' if worst < TARGET_S else 'MISSED'}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
