"""Time a /metrics scrape against GET /rest/storage/volumeinfo on the same big virtual array.

Seeds (or reuses) a state dir of 4,096 volumes (bench/seed_state.py), starts `opensan serve`
on it, maps as many volumes as the targets take (254 LUNs on each controller's target, so that
their hosts run I/O and every I/O family has moving counters), then, one request at a time,
--rounds times in each of two cases:
- steady: a scrape a little over a tick after the last (its I/O counters are new, so that part
  of the answer is written again; the rest, and volumeinfo, come from what was written before),
  as a Prometheus scrape finds it;
- after a change (a workload set through the API): volumeinfo is built anew; /metrics writes
  again what follows from the records it shows only where they changed (a workload is none of
  them);
- after a change of a volume (grown by 1 GiB through the API): both are built anew.
It prints side by side the client's time and the server's own (from the server's
opensan_api_request_duration_seconds histogram: from the request's arrival to the last byte of
the answer). The targets of issue 11: a scrape under 150 ms of server time and under 3x the
time of volumeinfo. Requests take gzip, as Prometheus's do (`--accept-encoding identity` for
the uncompressed answers).

    python bench/metrics_bench.py [--volumes 4096] [--rounds 20] [--root /tmp/opensan-metrics-bench]
                                  [--accept-encoding gzip]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
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


def measure(client: httpx.Client, rounds: int, before_round: Callable[[], None]
            ) -> dict[str, tuple[float, float, int, int]]:
    """Per path: (median client ms, mean server ms, answer bytes, bytes sent) over `rounds`
    rounds, each after before_round()."""
    paths = ("/rest/storage/volumeinfo", "/metrics")
    before = {path: server_seconds(client, path) for path in paths}
    times: dict[str, list[float]] = {path: [] for path in paths}
    sizes = {}
    for _ in range(rounds):
        before_round()
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            times[path].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            sizes[path] = (len(response.content), response.num_bytes_downloaded)
    found = {}
    for path in paths:
        count, total = server_seconds(client, path)
        server_ms = (total - before[path][1]) / max(1, count - before[path][0]) * 1000
        found[path] = (statistics.median(times[path]), server_ms, *sizes[path])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--root", type=Path, default=Path("/tmp/opensan-metrics-bench"))
    parser.add_argument("--accept-encoding", default="gzip",
                        help="what the requests take (Prometheus sends gzip)")
    args = parser.parse_args()
    state_dir = args.root / f"v{args.volumes}"
    print(describe(seed(state_dir, SeedSpec(args.volumes, 0, 10_000))), flush=True)
    with opensan_server(state_dir, args.root / "server.log") as server:
        print(f"  {map_volumes(server.base_url)} volumes mapped", flush=True)
        time.sleep(3)  # a few ticks: the I/O counters have readings
        token = login(server.base_url)
        headers = {"Authorization": token, "Accept-Encoding": args.accept_encoding}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            client.get("/metrics")  # the first answer writes what later ones reuse
            volumes = client.get("/rest/storage/volumeinfo").json()
            volume, grown = volumes[0]["id"], volumes[-1]
            iops = iter(range(100, 100 + args.rounds))
            sizes = iter(range(grown["capacityBytes"] // 1024**3 + 1,
                               grown["capacityBytes"] // 1024**3 + 1 + args.rounds))

            def change(path: str) -> None:
                client.post(path).raise_for_status()

            cases = {
                "steady": measure(client, args.rounds, lambda: time.sleep(1.2)),
                "after a change": measure(client, args.rounds, lambda: change(
                    f"/rest/sim/workload/vdid/{volume}/iops/{next(iops)}")),
                "after a change of a volume": measure(client, args.rounds, lambda: change(
                    f"/rest/storage/extendvolume/vdid/{grown['id']}/sizegb/{next(sizes)}")),
            }
            rss, peak = server.rss_mb()
    for case, found in cases.items():
        print(f"\n{case} (Accept-Encoding: {args.accept_encoding}): {'GET':<26}{'median ms':>10}"
              f"{'server ms':>11}{'bytes':>12}{'sent':>12}")
        for path, (median, server_ms, size, sent) in found.items():
            print(f"{'':<{len(case) + 2}}{path:<26}{median:>10.1f}{server_ms:>11.1f}{size:>12,}"
                  f"{sent:>12,}")
        volumeinfo, metrics = found["/rest/storage/volumeinfo"], found["/metrics"]
        ratio = metrics[1] / volumeinfo[1]
        print(f"  /metrics server time {metrics[1]:.1f} ms (target < {SCRAPE_TARGET_MS:.0f}): "
              f"{'ok' if metrics[1] < SCRAPE_TARGET_MS else 'MISSED'}; /metrics / volumeinfo "
              f"{ratio:.2f}x server, {metrics[0] / volumeinfo[0]:.2f}x client (target < "
              f"{RATIO_TARGET:.0f}x): {'ok' if ratio < RATIO_TARGET else 'MISSED'}")
    print(f"\nserver RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")


if __name__ == "__main__":
    main()
