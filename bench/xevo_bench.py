"""XEVO's speed figures (issue 10, "Speed") on a 4,096-volume array, in one run:

  1. seeds (or with --reuse-state reuses) a state directory of 4,096 volumes (seed_state.py);
  2. starts `opensan serve` on it, logs in through XEVO's POST /auth/get and drives `wrk` at
     GET /rest/v2/storage/block/volumes;
  3. serves the very bytes of that list from the bare ASGI app (bare_app.py) under the same
     uvicorn settings and drives wrk at it the same way, right after;
  4. times `/auth/get` + the first read as QSAN's SDK does it: a fresh client (new connection)
     logs in and reads the volume list, wall time, --logins times;
  5. prints the figures next to the targets: list median <= 1.5x the bare app's, login + first
     read < 50 ms.

    python bench/xevo_bench.py                # about a minute
    python bench/xevo_bench.py --reuse-state  # skip seeding when the state dir is up to date
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from api_bench import (
    Row,
    WrkOptions,
    WrkResult,
    bare_server,
    opensan_server,
    print_table,
    run_wrk,
    uvicorn_flavour,
    wrk_rows,
)
from seed_state import SeedSpec, describe, seed

VOLUMES = "/rest/v2/storage/block/volumes"
MAX_LIST_VS_BARE = 1.5
MAX_LOGIN_READ_MS = 50.0
PASSWORD = "1234"  # the seeded array's admin password (bench_profile.toml's array)


def xevo_token(base_url: str) -> str:
    answer = httpx.post(f"{base_url}/auth/get", data={"user": "admin", "password": PASSWORD},
                        timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["accessToken"]
    return token


def login_and_read(base_url: str, path: str) -> tuple[float, float]:
    """One fresh client: POST /auth/get (form, offline access, as goqsan sends it), then GET path
    with the token as it is; (the whole wall time, the login's share) in ms."""
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.post("/auth/get", data={"user": "admin", "password": PASSWORD,
                                               "offlineAccess": "true"})
        login.raise_for_status()
        logged_in = time.perf_counter()
        client.get(path, headers={"Authorization": login.json()["accessToken"]}).raise_for_status()
    ended = time.perf_counter()
    return (ended - started) * 1000, (logged_in - started) * 1000


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a process, or of one of its threads, from /proc."""
    where = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    fields = Path(where).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measured:
    """One wrk run, and the server's CPU time per request during it: the whole process and
    its event loop's thread (the main one), figures that other work on the machine does not
    change the way it changes latency."""

    wrk: WrkResult
    process_ms: float
    loop_ms: float


def measured_wrk(label: str, url: str, token: str | None, options: WrkOptions, pid: int,
                 bearer: bool = True) -> Measured:
    process, loop = cpu_seconds(pid), cpu_seconds(pid, pid)
    result = run_wrk(label, url, token, options, bearer=bearer)
    requests = result.requests_per_s * (options.duration_s + options.warmup_s)
    return Measured(result, (cpu_seconds(pid) - process) * 1000 / requests,
                    (cpu_seconds(pid, pid) - loop) * 1000 / requests)


def median_run(runs: list[Measured]) -> Measured:
    """The run whose median latency is the median of the runs' (the middle one of an odd
    count), so each figure shown is one run's."""
    return sorted(runs, key=lambda run: run.wrk.median_ms)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=4096)
    parser.add_argument("--duration", type=int, default=10, help="Seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of wrk before each run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="Alternated wrk runs of each server; the median run counts")
    parser.add_argument("--logins", type=int, default=21,
                        help="Fresh clients timed for login + first read")
    parser.add_argument("--state-root", type=Path, default=Path("/tmp/opensan-bench"))
    parser.add_argument("--reuse-state", action="store_true",
                        help="Keep a state dir already seeded to the same figures")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    root: Path = args.state_root
    root.mkdir(parents=True, exist_ok=True)
    options = WrkOptions(args.threads, args.connections, args.duration, args.warmup)
    print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; uvicorn on "
          f"{uvicorn_flavour()}; wrk -t{options.threads} -c{options.connections} "
          f"-d{options.duration_s}s (after {options.warmup_s} s of warm-up)", flush=True)
    state = seed(root / f"xevo-{args.volumes}v", SeedSpec(args.volumes, 0, 0),
                 reuse=args.reuse_state)
    print(describe(state), flush=True)

    with opensan_server(state.state_dir, root / "opensan-xevo.log") as server:
        url = server.base_url
        # The first login and read on a freshly started server: nothing is cached yet.
        cold_ms, cold_login_ms = login_and_read(url, VOLUMES)
        token = xevo_token(url)
        body = httpx.get(f"{url}{VOLUMES}", headers={"Authorization": token}, timeout=60).content
        body_path = root / "xevo-volumes.json"
        body_path.write_bytes(body)
        print(f"  {VOLUMES}: {len(body):,} bytes", flush=True)
        with bare_server(body_path, root / "bare-xevo.log") as bare:
            assert httpx.get(f"{bare.base_url}/", timeout=10).content == body, \
                "the bare app must answer the same bytes"
            # Alternated, so that other work on the machine weighs on both alike.
            listed_runs, bare_runs = [], []
            for _ in range(args.rounds):
                listed_runs.append(measured_wrk(f"GET {VOLUMES}", f"{url}{VOLUMES}", token,
                                                options, server.pid, bearer=False))
                bare_runs.append(measured_wrk("bare ASGI app, same bytes", f"{bare.base_url}/",
                                              None, options, bare.pid))
        listed, bare_result = median_run(listed_runs), median_run(bare_runs)
        timed = [login_and_read(url, VOLUMES) for _ in range(args.logins)]
        small = [login_and_read(url, "/rest/v2/storage/pools") for _ in range(args.logins)]

    vs_bare = listed.wrk.median_ms / bare_result.wrk.median_ms
    login_read = statistics.median(total for total, _ in timed)
    rows = [
        *wrk_rows(listed.wrk),
        *wrk_rows(bare_result.wrk),
        Row(f"list / bare median, each of the {args.rounds} rounds",
            ", ".join(f"{a.wrk.median_ms / b.wrk.median_ms:.2f}x"
                      for a, b in zip(listed_runs, bare_runs, strict=True))),
        Row("server CPU per request, list / bare (median of the rounds)",
            f"{statistics.median(r.process_ms for r in listed_runs):.2f} / "
            f"{statistics.median(r.process_ms for r in bare_runs):.2f} ms; event loop's thread "
            f"{statistics.median(r.loop_ms for r in listed_runs):.2f} / "
            f"{statistics.median(r.loop_ms for r in bare_runs):.2f} ms"),
        Row("volume list median / bare median", f"{vs_bare:.2f}x", f"<= {MAX_LIST_VS_BARE:g}x",
            vs_bare <= MAX_LIST_VS_BARE),
        Row("volume list req/s / bare req/s",
            f"{listed.wrk.requests_per_s / bare_result.wrk.requests_per_s:.2f}x"),
        Row(f"/auth/get + first read of {VOLUMES} (fresh client, median of {args.logins})",
            f"{login_read:.1f} ms (max {max(t for t, _ in timed):.1f}; login "
            f"{statistics.median(t for _, t in timed):.1f})", f"< {MAX_LOGIN_READ_MS:g} ms",
            login_read < MAX_LOGIN_READ_MS),
        Row("the same, first read /rest/v2/storage/pools",
            f"{statistics.median(t for t, _ in small):.1f} ms (max "
            f"{max(t for t, _ in small):.1f})"),
        Row("the same, first of all on a new server (list not cached)",
            f"{cold_ms:.1f} ms (login {cold_login_ms:.1f})"),
    ]
    print_table(f"XEVO benchmark: {args.volumes} volumes, list of {len(body):,} bytes; "
                f"{options.connections} connections",
                ("figure", "measured", "target", "result"),
                [(r.figure, r.value, r.target, r.verdict) for r in rows])
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")
    failed = [r.figure for r in rows if r.passed is False]
    print(f"\n{len(failed)} of {sum(r.passed is not None for r in rows)} targets missed"
          + (": " + "; ".join(failed) if failed else "."))


if __name__ == "__main__":
    main()
