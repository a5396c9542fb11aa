"""Cached reads against a bare ASGI app serving the same bytes: the fast path on and off, one run.

On the load state of api_bench.py (1,000 volumes, 10,000 snapshots, 1,000,000 events):
  1. `opensan serve` with the fast path on (api/fastpath.py), then with it off
     (OPENSAN_FAST_PATH=false: every request through FastAPI's routing); wrk (16 connections)
     at GET /rest/storage/volumeinfo, /rest/log/list/1 and the last full log page of each;
  2. bench/bare_app.py serving the very bytes of volumeinfo, then of log page 1, under the same
     uvicorn settings, driven the same way;
  3. a table of every median next to the bare app's, with the issue's targets.

    python bench/fast_reads.py --reuse-state    # keeps a load state seeded to the same figures
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

import httpx
from api_bench import (
    WrkOptions,
    WrkResult,
    bare_server,
    login,
    opensan_server,
    print_table,
    run_wrk,
    uvicorn_flavour,
)
from seed_state import SeedSpec, describe, seed

# Targets from issue 14, item 1: the fast path's median over the bare app's.
MAX_VOLUMEINFO_VS_BARE = 1.2
MAX_LOG_PAGE_VS_BARE = 1.5
READS = ("volumeinfo", "log page 1", "last log page")


@dataclass(frozen=True)
class Bodies:
    volumeinfo: bytes
    first_page: bytes
    last_page: int


def fetch_bodies(base_url: str, token: str) -> Bodies:
    auth = {"Authorization": f"Bearer {token}"}
    volumeinfo = httpx.get(f"{base_url}/rest/storage/volumeinfo", headers=auth, timeout=60)
    first = httpx.get(f"{base_url}/rest/log/list/1", headers=auth, timeout=60)
    page = first.json()
    # The last page holding a full page of events, so that every page carries the same payload.
    last_page = max(1, int(page["total"]) // int(page["pageSize"]))
    return Bodies(volumeinfo.content, first.content, last_page)


def opensan_reads(state_dir: Path, log_path: Path, fast: bool, options: WrkOptions,
                  ) -> tuple[Bodies, dict[str, WrkResult]]:
    switch = "on" if fast else "off"
    env = {"OPENSAN_FAST_PATH": "true" if fast else "false"}
    with opensan_server(state_dir, log_path, env) as server:
        token = login(server.base_url)
        bodies = fetch_bodies(server.base_url, token)
        url = server.base_url
        results = {
            "volumeinfo": run_wrk(f"volumeinfo, fast path {switch}",
                                  f"{url}/rest/storage/volumeinfo", token, options),
            "log page 1": run_wrk(f"log/list/1, fast path {switch}", f"{url}/rest/log/list/1",
                                  token, options),
            "last log page": run_wrk(f"log/list/{bodies.last_page}, fast path {switch}",
                                     f"{url}/rest/log/list/{bodies.last_page}", token, options),
        }
    return bodies, results


def bare_reads(root: Path, bodies: Bodies, options: WrkOptions) -> dict[str, WrkResult]:
    results = {}
    for name, body in (("volumeinfo", bodies.volumeinfo), ("log page", bodies.first_page)):
        body_path = root / f"bare-{name.replace(' ', '-')}.json"
        body_path.write_bytes(body)
        with bare_server(body_path, root / "bare.log") as bare:
            assert httpx.get(f"{bare.base_url}/", timeout=10).content == body
            results[name] = run_wrk(f"bare ASGI app, {name} bytes", f"{bare.base_url}/", None,
                                    options)
    return {"volumeinfo": results["volumeinfo"], "log page 1": results["log page"],
            "last log page": results["log page"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=1000)
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="Seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1,
                        help="Rounds of (on, off, bare); each figure is the median of its rounds")
    parser.add_argument("--state-root", type=Path, default=Path("/tmp/opensan-bench"))
    parser.add_argument("--reuse-state", action="store_true",
                        help="Keep a state dir already seeded to the same figures")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    root: Path = args.state_root
    root.mkdir(parents=True, exist_ok=True)
    options = WrkOptions(args.threads, args.connections, args.duration, args.warmup)
    print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work on "
          f"the machine skews every figure); uvicorn on {uvicorn_flavour()}; wrk "
          f"-t{options.threads} -c{options.connections} -d{options.duration_s}s (after "
          f"{options.warmup_s} s of warm-up)", flush=True)
    load = seed(root / f"load-{args.volumes}v", SeedSpec(args.volumes, args.snapshots,
                                                         args.events), reuse=args.reuse_state)
    print(describe(load), flush=True)

    runs: dict[str, list[dict[str, WrkResult]]] = {"on": [], "off": [], "bare": []}
    for round_number in range(1, args.rounds + 1):
        print(f"\nRound {round_number} of {args.rounds}", flush=True)
        bodies, fast = opensan_reads(load.state_dir, root / "opensan-fast.log", True, options)
        runs["on"].append(fast)
        runs["off"].append(opensan_reads(load.state_dir, root / "opensan-slow.log", False,
                                         options)[1])
        runs["bare"].append(bare_reads(root, bodies, options))
    print(f"  volumeinfo {len(bodies.volumeinfo):,} bytes, log page {len(bodies.first_page):,} "
          f"bytes", flush=True)

    def median(kind: str, read: str) -> float:
        return statistics.median(run[read].median_ms for run in runs[kind])

    rows = []
    missed = []
    for read in READS:
        bare, on, off = median("bare", read), median("on", read), median("off", read)
        target = MAX_VOLUMEINFO_VS_BARE if read == "volumeinfo" else MAX_LOG_PAGE_VS_BARE
        verdict = "met" if on / bare <= target else "MISSED"
        if verdict == "MISSED":
            missed.append(read)
        rows.append((read, f"{bare:.2f}", f"{on:.2f}", f"{on / bare:.2f}x", f"{off:.2f}",
                     f"{off / bare:.2f}x", f"<= {target:g}x", verdict))
    print_table(f"Cached reads vs a bare ASGI app: {args.volumes} volumes, "
                f"{load.total_events:,} events; {options.connections} connections; median ms "
                f"(median of {args.rounds} rounds)",
                ("read", "bare", "fast on", "on/bare", "fast off", "off/bare", "target",
                 "result"), rows)
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"\n{len(missed)} of {len(READS)} targets missed"
          + (": " + "; ".join(missed) if missed else "."))


if __name__ == "__main__":
    main()
