"""The service package of a large array: how long `opensan serve` takes to stream it and what it
costs the server's memory.

Seeds (or reuses) a state dir with bench/seed_state.py (by default 1,000,000 events), starts
`opensan serve` on it, logs in, and downloads GET /rest/system/servicepackage to a file while
sampling the server's RSS. Prints the RSS before, the peak during and the RSS after the download,
the time it took, the zip's size and its event count (checked against the log's total).

    python bench/service_package.py --events 1000000 --volumes 100 --snapshots 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx
from login_storm import rss_mib, server_env, start_server
from seed_state import SeedSpec, describe, seed

SRC = Path(__file__).resolve().parent.parent / "src"


def download(url: str, token: str, target: Path, pid: int) -> tuple[float, float]:
    """Seconds the download took and the server's peak RSS (MiB) sampled meanwhile."""
    peak = [rss_mib(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_mib(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        with httpx.stream("GET", f"{url}/rest/system/servicepackage", timeout=600,
                          headers={"Authorization": token}) as answer, target.open("wb") as out:
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                out.write(chunk)
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    return seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "opensan-bench" / "servicepackage")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--volumes", type=int, default=100)
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--downloads", type=int, default=2, help="Downloads one after another")
    args = parser.parse_args()
    print(describe(seed(args.state_dir, SeedSpec(args.volumes, args.snapshots, args.events))))
    process, url = start_server(args.state_dir, server_env(SRC))
    try:
        login = httpx.post(f"{url}/rest/login/account/admin/password/1234").json()
        token = login["accessToken"]
        httpx.get(f"{url}/rest/storage/volumeinfo", headers={"Authorization": token})
        print(f"server RSS before: {rss_mib(process.pid):.1f} MiB")
        target = args.state_dir.parent / "servicepackage.zip"
        for number in range(1, args.downloads + 1):
            seconds, peak = download(url, token, target, process.pid)
            total = httpx.get(f"{url}/rest/log/list/1",
                              headers={"Authorization": token}).json()["total"]
            with zipfile.ZipFile(target) as package:
                counted = json.loads(package.read("manifest.json"))["eventCount"]
                raw = package.getinfo("events.jsonl").file_size
            print(f"download {number}: {seconds:.1f} s, zip {target.stat().st_size / 2**20:.1f} "
                  f"MiB (events.jsonl {raw / 2**20:.1f} MiB, {counted} events, log total "
                  f"{total}); server RSS peak {peak:.1f} MiB, after "
                  f"{rss_mib(process.pid):.1f} MiB")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
