"""Time a /metrics scrape against GET /rest/storage/volumeinfo on the same big virtual array.

Seeds (or reuses) a state dir of 4,096 volumes (bench/seed_state.py), starts `opensan serve`
on it, maps as many volumes as the targets take (254 LUNs on each controller's target, so that
their hosts run I/O and every I/O family has moving counters), then asks each endpoint
--rounds times, one request at a time, and prints side by side the client's time and the
server's own (from the server's opensan_api_request_duration_seconds histogram: the time from
the request's arrival to the last byte of the answer). The target of issue 11: a scrape under
150 ms of server time and under 3x the time of volumeinfo.

    python bench/metrics_bench.py [--volumes 4096] [--rounds 20] [--root /tmp/opensan-metrics-bench]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
from api_bench import login, opensan_server
from prometheus_client.parser import text_string_to_metric_families
from seed_state import SeedSpec, describe, seed

from opensan.client import SanosClient

SCRAPE_TARGET_MS = 150.0
RATIO_TARGET = 3.0
LUNS_PER_TARGET = 254


def map_volumes(base_url: str) -> int:
    """Map the first volumes on each target (once: a reused state dir keeps them)."""
    with SanosClient(base_url, "admin", "1234") as array:
        if array.lun_mappings():
            return len(array.lun_mappings())
        volumes = array.volumes()
        mapped = 0
        for target in array.targets():
            for lun in range(LUNS_PER_TARGET):
                if mapped >= len(volumes):
                    break
                array.map_lun(target.id, lun, volumes[mapped].id)
                mapped += 1
        return mapped


def server_seconds(client: httpx.Client, endpoint: str) -> tuple[int, float]:
    """(count, sum) of the server's own histogram for GETs of endpoint."""
    text = client.get("/metrics").text
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name != "opensan_api_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.labels.get("endpoint") == endpoint and sample.labels.get("method") == "GET":
                if sample.name.endswith("_count"):
                    count = sample.value
                elif sample.name.endswith("_sum"):
                    total = sample.value
    return int(count), total


def timed(client: httpx.Client, path: str, rounds: int) -> tuple[list[float], float, int]:
    """Client times (ms) of `rounds` GETs, the server's mean time (ms), the answer's size."""
    before = server_seconds(client, path)
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        size = len(response.content)
    after = server_seconds(client, path)
    server_ms = (after[1] - before[1]) / max(1, after[0] - before[0]) * 1000
    return times, server_ms, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--root", type=Path, default=Path("/tmp/opensan-metrics-bench"))
    args = parser.parse_args()
    state_dir = args.root / f"v{args.volumes}"
    print(describe(seed(state_dir, SeedSpec(args.volumes, 0, 10_000))), flush=True)
    with opensan_server(state_dir, args.root / "server.log") as server:
        print(f"  {map_volumes(server.base_url)} volumes mapped", flush=True)
        time.sleep(3)  # a few ticks: the I/O counters have readings
        token = login(server.base_url)
        with httpx.Client(base_url=server.base_url, headers={"Authorization": token},
                          timeout=60) as client:
            rows = []
            for path in ("/rest/storage/volumeinfo", "/metrics"):
                client.get(path)  # the first answer builds what later ones reuse
                times, server_ms, size = timed(client, path, args.rounds)
                rows.append((path, statistics.median(times), max(times), server_ms, size))
            rss, peak = server.rss_mb()
    print(f"\n{'GET':<28}{'median ms':>10}{'max ms':>9}{'server ms':>11}{'bytes':>12}")
    for path, median, worst, server_ms, size in rows:
        print(f"{path:<28}{median:>10.1f}{worst:>9.1f}{server_ms:>11.1f}{size:>12,}")
    (_, volumeinfo_ms, _, volumeinfo_server, _), (_, metrics_ms, _, metrics_server, _) = rows
    ratio = metrics_server / volumeinfo_server
    print(f"\n/metrics server time {metrics_server:.1f} ms (target < {SCRAPE_TARGET_MS:.0f}): "
          f"{'ok' if metrics_server < SCRAPE_TARGET_MS else 'MISSED'}")
    print(f"/metrics / volumeinfo (server times) {ratio:.2f}x (target < {RATIO_TARGET:.0f}x): "
          f"{'ok' if ratio < RATIO_TARGET else 'MISSED'}; client medians {metrics_ms:.1f} / "
          f"{volumeinfo_ms:.1f} ms")
    print(f"server RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")


if __name__ == "__main__":
    main()
