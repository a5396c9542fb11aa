"""A login storm against `opensan serve`: what it costs the server, and whether a logged-in
read stays fast during it.

One run starts a virtual array, logs in once, then fires N concurrent logins (wrong passwords
from one client, as an attacker would, or right ones) while a logged-in client reads
GET /rest/storage/volumeinfo in a loop. It prints the server's peak RSS, the answers by status,
how many password checks the array logged (events), and the read's latency during the storm
against the same read before it. Point it at another checkout with --src to compare releases in
one run (e.g. `git worktree add /tmp/old <commit>`, then `--src /tmp/old/src`).

    python bench/login_storm.py --logins 500
    python bench/login_storm.py --logins 500 --src /tmp/old/src --src src
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from linux_bench import HOST, free_port


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def server_env(src: Path) -> dict[str, str]:
    """The environment of a server that runs the checkout at src."""
    return {**os.environ, "PYTHONPATH": str(src.resolve())}


def start_server(state_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`opensan serve` on a free port, once it answers: the process and its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "opensan", "serve", "--port", str(port), "--state-dir",
         str(state_dir), "--seed", "7", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"opensan serve exited with {process.returncode}")
        try:
            httpx.get(f"{url}/rest/", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("opensan serve did not answer within 60 s")


def timed_reads(url: str, token: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": token}, timeout=60) as http:
        while not stop.is_set():
            started = time.perf_counter()
            http.get("/rest/storage/volumeinfo")
            out.append(time.perf_counter() - started)
            time.sleep(0.02)


async def storm(url: str, logins: int, password: str) -> list[int | str]:
    limits = httpx.Limits(max_connections=logins, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as http:
        async def one() -> int | str:
            try:
                answer = await http.post(f"/rest/login/account/admin/password/{password}")
                return answer.status_code
            except httpx.HTTPError as error:
                return type(error).__name__
        return list(await asyncio.gather(*(one() for _ in range(logins))))


def run(src: Path, logins: int, password: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        process, url = start_server(Path(workdir) / "state", server_env(src))
        try:
            token = httpx.post(f"{url}/rest/login/account/user/password/1234").json()["accessToken"]
            quiet: list[float] = []
            stop = threading.Event()
            reader = threading.Thread(target=timed_reads, args=(url, token, stop, quiet))
            reader.start()
            time.sleep(2)
            stop.set()
            reader.join()
            during: list[float] = []
            stop = threading.Event()
            peak = [rss_mib(process.pid)]
            base_rss = peak[0]

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_mib(process.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            reader = threading.Thread(target=timed_reads, args=(url, token, stop, during))
            sampler.start()
            reader.start()
            started = time.monotonic()
            statuses = asyncio.run(storm(url, logins, password))
            storm_seconds = time.monotonic() - started
            stop.set()
            reader.join()
            sampler.join()
            events = httpx.get(f"{url}/rest/log/list/1",
                               headers={"Authorization": token}).json()
            checked = sum("Login failed" in e.get("message", "") for e in events.get("events", []))
            warnings = sum(e.get("level") == "WARNING" for e in events.get("events", []))
        finally:
            process.kill()
            process.wait()
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return {
        "src": str(src), "rss_before_mib": round(base_rss, 1), "rss_peak_mib": round(peak[0], 1),
        "answers": counts, "storm_seconds": round(storm_seconds, 2),
        "failed_checks_logged_on_page_1": checked, "warning_events_on_page_1": warnings,
        "read_median_quiet_ms": round(statistics.median(quiet) * 1000, 1),
        "read_median_storm_ms": round(statistics.median(during) * 1000, 1) if during else None,
        "read_max_storm_ms": round(max(during) * 1000, 1) if during else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=500)
    parser.add_argument("--password", default="wrong-guess",
                        help="the storm's password (1234 for right ones)")
    parser.add_argument("--src", type=Path, action="append",
                        help="a checkout's src/ to run (repeat to compare); default: this one")
    args = parser.parse_args()
    for src in args.src or [Path(__file__).resolve().parent.parent / "src"]:
        result = run(src, args.logins, args.password)
        print("  ".join(f"{key}={value}" for key, value in result.items()), flush=True)


if __name__ == "__main__":
    main()
