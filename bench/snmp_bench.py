"""Time the SNMP agent on a big virtual array, as Zabbix's QSAN template polls it.

Seeds (or reuses) a state dir of 4,096 volumes (bench/seed_state.py), opens the array in this
process and serves it with the agent on a free port, then times with net-snmp's tools:
- building the agent's table (after a change, when it is built anew; then kept);
- the volume discovery walk (snmpbulkwalk of the name column, as Zabbix's LLD walks);
- one poll of every volume's two trigger items (status and health), 50 OIDs a GET.

    python bench/snmp_bench.py [--volumes 4096] [--root /tmp/opensan-snmp-bench]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import time
from pathlib import Path

from seed_state import SeedSpec, describe, seed

from opensan.array import open_array
from opensan.config import Settings
from opensan.snmp.agent import SnmpAgent
from opensan.snmp.mib import VOLUMES, ArrayMib

COMMUNITY = "bench"
OIDS_PER_GET = 50


def snmp(tool: str, port: int, *args: str) -> str:
    done = subprocess.run([tool, "-v2c", "-c", COMMUNITY, "-On", "-M", "/dev/null", "-t", "10",
                           f"udp:127.0.0.1:{port}", *args], capture_output=True, text=True,
                          check=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=4096)
    parser.add_argument("--root", type=Path, default=Path("/tmp/opensan-snmp-bench"))
    args = parser.parse_args()
    state_dir = args.root / f"v{args.volumes}"
    print(describe(seed(state_dir, SeedSpec(args.volumes, 0, 10_000))), flush=True)
    array = open_array(Settings(state_dir=state_dir))
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    agent = SnmpAgent(array.service, listener, community=COMMUNITY)
    try:
        mib = ArrayMib(array.service)
        started = time.perf_counter()
        table = mib.table()
        built = time.perf_counter() - started
        started = time.perf_counter()
        mib.table()
        kept = time.perf_counter() - started
        print(f"table: {len(table.oids):,} OIDs built in {built * 1000:.0f} ms, then kept "
              f"({kept * 1e6:.0f} us a look-up)")
        agent.start()
        port = agent.address[1]
        names = ".".join(str(n) for n in (*VOLUMES, 1))
        started = time.perf_counter()
        walked = snmp("snmpbulkwalk", port, "-Cr50", "." + names).splitlines()
        walk = time.perf_counter() - started
        print(f"discovery walk of {len(walked):,} volume names: {walk * 1000:.0f} ms")
        items = [f".{'.'.join(map(str, VOLUMES))}.{column}.{row}"
                 for row in range(1, len(walked) + 1) for column in (6, 7)]
        started = time.perf_counter()
        for first in range(0, len(items), OIDS_PER_GET):
            snmp("snmpget", port, *items[first:first + OIDS_PER_GET])
        poll = time.perf_counter() - started
        print(f"poll of {len(items):,} trigger items ({OIDS_PER_GET} a GET, one snmpget process "
              f"each): {poll * 1000:.0f} ms")
    finally:
        agent.close()
        array.close()


if __name__ == "__main__":
    main()
