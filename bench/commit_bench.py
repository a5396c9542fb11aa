"""Durable changes per second: OpenSAN against the simplest durable Python server, in one run.

One run:
  1. seeds (or reuses) a state directory (64 volumes, 640 snapshots, 100,000 events by default;
     --volumes 1000 --snapshots 10000 for the load state of api_bench.py) with
     bench/seed_state.py, and copies it afresh for each server started;
  2. for each checkout (this one, and with --baseline-src another, e.g. a worktree of main)
     starts `python -m opensan serve` on its copy, logs in as admin and drives wrk at
     POST /rest/storage/snapspace/vdid/<id>/sizegb/<2|3>: the snapshot space of 64 volumes set
     back and forth, with 16 connections and then with 1 (sequential changes);
  3. drives wrk the same way at bench/durable_app.py (one SQLite row committed per POST, WAL,
     synchronous=FULL, under uvicorn);
  4. repeats that --rounds times (the machine is shared: one run is noisy) and prints each
     rate, every answer that was not 2xx, and the medians' ratios against the targets:
     16 clients at least the simple server's rate, sequential no slower than the baseline.

    python bench/commit_bench.py --baseline-src /work/wt-main/src
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from api_bench import WrkResult, free_port, login, parse_wrk, running, uvicorn_flavour
from seed_state import SeedSpec, describe, seed

BENCH_DIR = Path(__file__).resolve().parent
THIS_SRC = BENCH_DIR.parent / "src"
CHANGED_VOLUMES = 64
# wrk's Lua: each request sets the next volume's snapshot space to the size it has not got
# (2 GiB, then 3 GiB, ...); each wrk thread starts at its own volume.
_SCRIPT = """
local ids = {%s}
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7)
  threads = threads + 1
end
function init(args)
  n = offset
end
function request()
  n = n + 1
  local volume = ids[(n %% #ids) + 1]
  local size = 2 + (math.floor(n / #ids) %% 2)
  return wrk.format("POST", "/rest/storage/snapspace/vdid/" .. volume .. "/sizegb/" .. size)
end
"""


def volume_ids(base_url: str, token: str) -> list[int]:
    answer = httpx.get(f"{base_url}/rest/storage/volumeinfo", timeout=60,
                       headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return sorted(volume["id"] for volume in answer.json())[:CHANGED_VOLUMES]


def wrk(label: str, url: str, script: Path, token: str | None, connections: int,
        duration_s: int, warmup_s: int) -> WrkResult:
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    threads = min(2, connections)

    def run(seconds: int) -> str:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                   "-s", str(script), *header, url]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    if warmup_s:
        run(warmup_s)
    result = parse_wrk(label, run(duration_s))
    print(f"  {label:<40} {result.requests_per_s:9.1f} changes/s  median "
          f"{result.median_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  {result.errors}", flush=True)
    return result


@contextmanager
def opensan(src: Path, seeded: Path, work: Path, name: str) -> Iterator[tuple[str, str]]:
    """`opensan serve` of the checkout src on a fresh copy of the seeded state: (url, token)."""
    state_dir = work / f"state-{name}"
    if state_dir.exists():
        shutil.rmtree(state_dir)
    shutil.copytree(seeded, state_dir)
    port = free_port()
    command = [sys.executable, "-m", "opensan", "serve", "--state-dir", str(state_dir),
               "--port", str(port), "--log-level", "warning"]
    os.environ["PYTHONPATH"] = str(src)  # the child imports this checkout's opensan
    try:
        with running(name, command, port, work / f"{name}.log") as server:
            yield server.base_url, login(server.base_url)
    finally:
        del os.environ["PYTHONPATH"]


def measure_round(checkouts: dict[str, Path], seeded: Path, work: Path,
                  args: argparse.Namespace, runs: dict[tuple[str, int], list[WrkResult]]) -> None:
    """Each checkout's server and then the simple durable server, 16 clients and 1."""
    script = work / "snapspace.lua"
    for name, src in checkouts.items():
        with opensan(src, seeded, work, name.replace(" ", "-")) as (url, token):
            script.write_text(_SCRIPT % ", ".join(map(str, volume_ids(url, token))))
            for connections in (args.connections, 1):
                runs.setdefault((name, connections), []).append(wrk(
                    f"opensan ({name}), {connections} client(s)", url + "/rest/", script,
                    token, connections, args.duration, args.warmup))
    port = free_port()
    database = work / "durable.db"
    database.unlink(missing_ok=True)
    command = [sys.executable, str(BENCH_DIR / "durable_app.py"), "--database", str(database),
               "--port", str(port)]
    with running("durable", command, port, work / "durable.log") as server:
        for connections in (args.connections, 1):
            runs.setdefault(("simple durable server", connections), []).append(wrk(
                f"simple durable server, {connections} client(s)", server.base_url + "/",
                script, None, connections, args.duration, args.warmup))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-src", type=Path,
                        help="The src/ directory of another checkout (e.g. a worktree of main)")
    parser.add_argument("--volumes", type=int, default=CHANGED_VOLUMES)
    parser.add_argument("--snapshots", type=int, default=10 * CHANGED_VOLUMES)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=10, help="Seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of wrk before each run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Rounds of every run; the medians are the figures")
    parser.add_argument("--state-root", type=Path, default=Path("/tmp/opensan-commit-bench"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk).")
    args.state_root.mkdir(parents=True, exist_ok=True)
    seeded = args.state_root / f"seed-{args.volumes}v"
    print(describe(seed(seeded, SeedSpec(args.volumes, args.snapshots, args.events))))
    print(f"uvicorn: {uvicorn_flavour()}; wrk, {args.connections} connections and 1, "
          f"{args.duration} s each after {args.warmup} s of warm-up")
    checkouts = {"this checkout": THIS_SRC}
    if args.baseline_src:
        checkouts["baseline"] = args.baseline_src.resolve()
    runs: dict[tuple[str, int], list[WrkResult]] = {}
    with tempfile.TemporaryDirectory(dir=args.state_root) as scratch:
        work = Path(scratch)
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number} of {args.rounds}")
            measure_round(checkouts, seeded, work, args, runs)
    # The median round of each figure: the machine is shared, so one run is noisy.
    rate = {key: statistics.median(r.requests_per_s for r in results)
            for key, results in runs.items()}
    ours = rate["this checkout", args.connections]
    simple = rate["simple durable server", args.connections]
    print(f"\nmedians of {args.rounds} round(s):")
    print(f"{args.connections} clients: opensan {ours:.0f}/s, simple durable server "
          f"{simple:.0f}/s: {ours / simple:.2f}x (target >= 1.00x) "
          f"{'PASS' if ours >= simple else 'FAIL'}")
    if args.baseline_src:
        now, then = rate["this checkout", 1], rate["baseline", 1]
        print(f"sequential (1 client): this checkout {now:.0f}/s, baseline {then:.0f}/s: "
              f"{now / then:.2f}x (target >= 1.00x) {'PASS' if now >= then else 'FAIL'}")
        concurrent_then = rate["baseline", args.connections]
        print(f"{args.connections} clients: this checkout {ours:.0f}/s, baseline "
              f"{concurrent_then:.0f}/s: {ours / concurrent_then:.2f}x")
    errors = [f"{label}: {result.errors}" for (label, _), results in runs.items()
              for result in results if result.errors]
    if errors:
        print("Answers that were not 2xx or failed sockets:\n  " + "\n  ".join(errors))


if __name__ == "__main__":
    main()
