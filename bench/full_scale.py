"""The product's full scale (issue 14, item 3): an XCubeSAN's maxima, loaded and measured.

One run:
  1. seeds a state dir in a temporary directory with 4,096 volumes, 64 snapshots each (262,144)
     and 10,000,000 events. The first volume, its snapshot space and a snapshot are made through
     ArrayService (so their records are the array's own); the rest are copies of those records
     with new IDs from the store's ID allocator, written through the store's own transaction
     (codec and record table) in one commit; the events are bulk-inserted as seed_state.py does;
  2. times the imports `opensan serve` needs in a process that only imports them, and the bare
     interpreter, apart from the start-up;
  3. starts `opensan serve` on it --starts times (time to the first 200 of GET /rest/), and on
     the last start reads RSS, scrapes every monitoring list once cold and --scrapes times warm,
     reads RSS again, times the first and the last event-log page and a change (snapshot space
     set back and forth, --changes times);
  4. prints every figure next to its target, and deletes the temporary directory.

    python bench/full_scale.py                   # about 3 minutes on 2 CPUs, 2.5 GB of disk
    python bench/full_scale.py --keep /tmp/fs    # seed into (or reuse) /tmp/fs and keep it
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from api_bench import Server, login, opensan_server
from seed_state import ARRAY_SEED, DEFAULT_PROFILE, _top_up_events

from opensan.array import open_array
from opensan.config import Settings
from opensan.domain.models import Provision
from opensan.domain.rules import MAX_SNAPSHOTS_PER_VOLUME
from opensan.store.records import SNAPSHOTS, VOLUMES, new_object_id
from opensan.store.sqlite import DATABASE_NAME, SqliteStore

VOLUMES_MAX = 4096
EVENTS_MAX = 10_000_000
MARKER = "full-scale.txt"

MAX_STARTUP_S = 2.0
MAX_RSS_MB = 250.0
MAX_SCRAPE_COLD_S = 1.0
MAX_SCRAPE_WARM_S = 0.1
MAX_LAST_VS_FIRST = 1.2
MAX_CHANGE_MS = 20.0

# What `opensan serve` imports before it opens the array (cli/server.py imports the rest inside
# the command; these are the modules the command pulls in).
SERVE_IMPORTS = ("import opensan.cli.main, opensan.cli.server, opensan.api.logs, opensan.tls, "
                 "opensan.array, opensan.config, opensan.malloc, opensan.api.app, "
                 "opensan.api.protocol, uvicorn")


# --- Seeding ---------------------------------------------------------------------------------


def seed(state_dir: Path, volumes: int, snapshots_each: int, events: int) -> dict[str, float]:
    """Seed state_dir; answers the seconds of each part."""
    if not 1 <= snapshots_each <= MAX_SNAPSHOTS_PER_VOLUME:
        raise SystemExit(f"--snapshots-each is 1 to {MAX_SNAPSHOTS_PER_VOLUME}.")
    t0 = time.perf_counter()
    array = open_array(Settings(state_dir=state_dir, profile=DEFAULT_PROFILE, seed=ARRAY_SEED))
    try:
        service = array.service
        (pool,) = service.pools.all()
        template = service.volumes.create(pool.pool.id, "vol-00000", 1, Provision.THICK).volume
        service.snapshots.set_space(template.id, 1)
        (template,) = (view.volume for view in service.volumes.all())
        snapshot = service.snapshots.take(template.id, "snap-00")
    finally:
        array.close()
    t1 = time.perf_counter()
    store = SqliteStore(state_dir / DATABASE_NAME)
    try:
        # Seeding only: nothing here needs to survive a crash (seed again).
        store._writer.execute("PRAGMA synchronous=OFF")
        wwn_prefix = template.wwn[:-16]  # identity.wwn: the array's prefix, then the ID in hex
        with store.transaction() as tx:
            for i in range(volumes):
                if i == 0:
                    volume = template
                else:
                    volume_id = new_object_id(tx)
                    volume = replace(template, id=volume_id, name=f"vol-{i:05d}",
                                     wwn=f"{wwn_prefix}{volume_id:016x}",
                                     created_at=template.created_at + i)
                    tx.put(VOLUMES, volume)
                for j in range(1 if i == 0 else 0, snapshots_each):
                    tx.put(SNAPSHOTS, replace(snapshot, id=new_object_id(tx), volume_id=volume.id,
                                              name=f"snap-{j:02d}",
                                              created_at=snapshot.created_at + i + j / 100))
    finally:
        store.close()
    t2 = time.perf_counter()
    _top_up_events(state_dir / DATABASE_NAME, events)
    t3 = time.perf_counter()
    (state_dir / MARKER).write_text(f"{volumes} {snapshots_each} {events}\n")
    return {"first volume through ArrayService": t1 - t0, "records": t2 - t1, "events": t3 - t2}


# --- Measuring -------------------------------------------------------------------------------


def median_run(command: list[str], runs: int) -> tuple[float, float]:
    """The medians of the wall time and the CPU time (user + system) of `runs` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def cpu_s(server: Server) -> float:
    """The CPU time (user + system) the server process has used so far."""
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_profile(top: int) -> list[tuple[float, str]]:
    """The `top` slowest top-level imports of SERVE_IMPORTS, cumulative seconds (-X importtime)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", SERVE_IMPORTS],
                          check=True, capture_output=True, text=True)
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith(" ") or name.startswith("  "):
            continue  # only the top level: a nested import is inside its parent's time
        found.append((int(cumulative) / 1e6, name.strip()))
    return sorted(found, reverse=True)[:top]


def scrape_paths() -> list[str]:
    """Every list a monitor reads; the sampled IDs come from the records file, not a GET."""
    return [
        "/rest/storage/poolinfo",
        "/rest/storage/volumeinfo",
        *(f"/rest/storage/snapshot/vdid/{vid}" for vid in SAMPLE_VOLUMES),
        "/rest/log/list/1",
        "/metrics",
        "/rest/v2/storage/pools",
        "/rest/v2/storage/block/volumes",
        *(f"/rest/v2/backup/snapshot/targets/{vid}/snapshots" for vid in SAMPLE_VOLUMES),
    ]


SAMPLE_VOLUMES: list[int] = []  # filled from the records before the server starts


def sample_volumes(state_dir: Path, count: int) -> list[int]:
    """count volume IDs spread over the array (first, last and between), read from the file."""
    db = sqlite3.connect(f"file:{state_dir / DATABASE_NAME}?mode=ro", uri=True)
    try:
        keys = [int(k) for (k,) in db.execute(
            "SELECT key FROM records WHERE kind = 'volume' ORDER BY CAST(key AS INTEGER)")]
    finally:
        db.close()
    step = max(1, (len(keys) - 1) // max(1, count - 1))
    return sorted(set(keys[::step][:count - 1] + keys[-1:]))


def one_pass(client: httpx.Client, server: Server, paths: list[str]
             ) -> tuple[float, float, dict[str, float]]:
    """One sequential pass: its wall time, the server's CPU time in it, and each GET's time."""
    each = {}
    cpu = cpu_s(server)
    started = time.perf_counter()
    for path in paths:
        t0 = time.perf_counter()
        client.get(path).raise_for_status()
        each[path] = time.perf_counter() - t0
    return time.perf_counter() - started, cpu_s(server) - cpu, each


def timed(call: Callable[[], httpx.Response], count: int) -> float:
    """The median seconds of count calls."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call().raise_for_status()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class Figures:
    startups: list[float]
    startup_cpus: list[float]
    rss_start: float
    rss_scrape: float
    hwm: float
    cold: float
    cold_cpu: float
    warm: float
    warm_cpu: float
    cold_each: dict[str, float]
    warm_each: dict[str, float]
    first_page: float
    last_page: float
    last_page_number: int
    change_ms: float
    change_cpu_ms: float
    load: str


def measure(state_dir: Path, log: Path, starts: int, scrapes: int, pages: int,
            changes: int) -> Figures:
    startups, cpus = [], []
    for _ in range(starts - 1):
        with opensan_server(state_dir, log) as server:
            startups.append(server.startup_s)
            cpus.append(cpu_s(server))
    with opensan_server(state_dir, log) as server:
        startups.append(server.startup_s)
        cpus.append(cpu_s(server))
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        rss_start, _ = server.rss_mb()
        headers = {"Authorization": login(server.base_url)}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            paths = scrape_paths()
            cold, cold_cpu, cold_each = one_pass(client, server, paths)
            warm_passes = [one_pass(client, server, paths) for _ in range(scrapes)]
            rss_scrape, hwm = server.rss_mb()
            total = client.get("/rest/log/list/1").json()
            last = _last_full_page(total)
            first_page = timed(lambda: client.get("/rest/log/list/1"), pages)
            last_page = timed(lambda: client.get(f"/rest/log/list/{last}"), pages)
            cpu = cpu_s(server)
            change_ms = _change_ms(client, changes)
            change_cpu_ms = (cpu_s(server) - cpu) * 1000 / changes
    return Figures(startups, cpus, rss_start, rss_scrape, hwm, cold, cold_cpu,
                   statistics.median(t for t, _, _ in warm_passes),
                   statistics.median(c for _, c, _ in warm_passes), cold_each,
                   {p: statistics.median(e[p] for _, _, e in warm_passes) for p in paths},
                   first_page, last_page, last, change_ms, change_cpu_ms, load)


def _last_full_page(first: dict[str, object]) -> int:
    """The last page that holds a full page of events."""
    total, size = first["total"], first["pageSize"]
    assert isinstance(total, int) and isinstance(size, int), first
    return max(1, total // size)


def _change_ms(client: httpx.Client, count: int) -> float:
    """Median ms of a snapshot space set, back and forth between 2 and 1 GiB, on the last
    sampled volume (which holds 64 snapshots)."""
    volume = SAMPLE_VOLUMES[-1]
    sizes = iter([2, 1] * count)
    return 1000 * timed(lambda: client.post(
        f"/rest/storage/snapspace/vdid/{volume}/sizegb/{next(sizes)}"), count)


# --- Report ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(seconds: dict[str, float], interpreter: tuple[float, float],
           imports: tuple[float, float], slowest: list[tuple[float, str]], f: Figures) -> None:
    print("\nseeding: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
          + f" (total {sum(seconds.values()):.1f} s)")
    print(f"load average when the server started: {f.load} ({os.cpu_count()} CPUs)\n")
    start, start_cpu = statistics.median(f.startups), statistics.median(f.startup_cpus)
    ratio = f.last_page / f.first_page
    rows = [
        ("figure", "wall", "server CPU", "target", ""),
        (f"start-up, to the first answer (median of {len(f.startups)}; max "
         f"{max(f.startups):.2f} s)", f"{start:.2f} s", f"{start_cpu:.2f} s", "< 2 s",
         verdict(start < MAX_STARTUP_S)),
        ("  the interpreter (python -c pass)", f"{interpreter[0]:.2f} s",
         f"{interpreter[1]:.2f} s", "", ""),
        ("  imports (serve's modules alone, less the interpreter)",
         f"{imports[0] - interpreter[0]:.2f} s", f"{imports[1] - interpreter[1]:.2f} s", "", ""),
        ("  the rest (open_array: loading the records; uvicorn)", f"{start - imports[0]:.2f} s",
         f"{start_cpu - imports[1]:.2f} s", "", ""),
        ("RSS after start", f"{f.rss_start:.0f} MiB", "", "< 250 MB",
         verdict(f.rss_start < MAX_RSS_MB)),
        ("RSS after the scrapes (peak)", f"{f.rss_scrape:.0f} MiB ({f.hwm:.0f})", "",
         "< 250 MB", verdict(f.hwm < MAX_RSS_MB)),
        ("full scrape, cold", f"{f.cold * 1000:.0f} ms", f"{f.cold_cpu * 1000:.0f} ms", "< 1 s",
         verdict(f.cold < MAX_SCRAPE_COLD_S)),
        ("full scrape, warm (median)", f"{f.warm * 1000:.0f} ms", f"{f.warm_cpu * 1000:.0f} ms",
         "< 100 ms", verdict(f.warm < MAX_SCRAPE_WARM_S)),
        ("log/list/1 median", f"{f.first_page * 1000:.2f} ms", "", "", ""),
        (f"log/list/{f.last_page_number} median", f"{f.last_page * 1000:.2f} ms", "", "", ""),
        ("last page / first page", f"{ratio:.2f}x", "", "<= 1.2x",
         verdict(ratio <= MAX_LAST_VS_FIRST)),
        ("change (snapshot space set) median", f"{f.change_ms:.1f} ms",
         f"{f.change_cpu_ms:.1f} ms", "< 20 ms", verdict(f.change_ms < MAX_CHANGE_MS)),
    ]
    width = max(len(r[0]) for r in rows)
    for figure, wall, cpu, target, result in rows:
        print(f"{figure:<{width}}  {wall:>15}  {cpu:>10}  {target:>9}  {result}")
    print("\nslowest top-level imports of serve (-X importtime, cumulative):")
    for secs, name in slowest:
        print(f"  {secs * 1000:7.1f} ms  {name}")
    print(f"\nscrape of {len(f.cold_each)} GETs, per endpoint (cold / warm median, ms):")
    for path, cold in f.cold_each.items():
        print(f"  {cold * 1000:8.1f} {f.warm_each[path] * 1000:8.1f}  {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=VOLUMES_MAX)
    parser.add_argument("--snapshots-each", type=int, default=MAX_SNAPSHOTS_PER_VOLUME)
    parser.add_argument("--events", type=int, default=EVENTS_MAX)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=5, help="warm scrapes")
    parser.add_argument("--sample", type=int, default=8,
                        help="volumes whose snapshot lists (SANOS and XEVO) the scrape reads")
    parser.add_argument("--pages", type=int, default=50, help="reads of each log page")
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5, help="runs of the import timing")
    parser.add_argument("--keep", type=Path, help="seed into (or reuse) this dir and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="opensan-fullscale-"))
    state_dir = root / "state"
    wanted = f"{args.volumes} {args.snapshots_each} {args.events}\n"
    try:
        marker = state_dir / MARKER
        if marker.exists() and marker.read_text() == wanted:
            seconds = {"reused": 0.0}
        else:
            shutil.rmtree(state_dir, ignore_errors=True)
            print(f"Seeding {wanted.strip()} (volumes, snapshots each, events) in {state_dir}",
                  flush=True)
            seconds = seed(state_dir, args.volumes, args.snapshots_each, args.events)
        SAMPLE_VOLUMES[:] = sample_volumes(state_dir, args.sample)
        interpreter = median_run([sys.executable, "-c", "pass"], args.runs)
        imports = median_run([sys.executable, "-c", SERVE_IMPORTS], args.runs)
        slowest = import_profile(8)
        figures = measure(state_dir, root / "server.log", args.starts, args.scrapes,
                          args.pages, args.changes)
        report(seconds, interpreter, imports, slowest, figures)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
