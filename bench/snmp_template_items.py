"""Count the Zabbix QSAN XS3224 template's items the SNMP agent serves, as Zabbix polls them:
one snmpget per item (an item whose OID answers noSuchObject or noSuchInstance is
"unsupported" in Zabbix), after walking the three discovery rules' name columns for the
prototypes. The items and OIDs are those of ../shared/reference/qsan-snmp.md, section 1.

    python bench/snmp_template_items.py [--model XS3224D]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import tempfile
from pathlib import Path

from opensan.array import open_array
from opensan.config import Settings
from opensan.snmp.agent import SnmpAgent

COMMUNITY = "count"
QSAN = ".1.3.6.1.4.1.22274.1"
SYSTEM = [f".1.3.6.1.2.1.1.{n}.0" for n in (1, 3, 4, 5, 6)]
HARDWARE = [f"{QSAN}.3.2.1.4.{row}" for row in range(27, 36)] + [
    f"{QSAN}.3.2.1.5.{row}" for row in range(27, 42)]
# Discovery rules: the walked name column, and the item prototypes' columns of its table.
DISCOVERY = {f"{QSAN}.2.1.1": (1, 4, 5), f"{QSAN}.2.2.1": (1, 6, 7), f"{QSAN}.2.3.1": (1, 6, 7)}


def snmp(tool: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, "-v2c", "-c", COMMUNITY, "-On", "-M", "/dev/null", "-t", "5",
                           f"udp:127.0.0.1:{port}", *args], capture_output=True, text=True)


def served(port: int, oid: str) -> bool:
    done = snmp("snmpget", port, oid)
    return done.returncode == 0 and "No Such" not in done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="XS3224D")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        array = open_array(Settings(state_dir=Path(root) / "state", seed=1, model=args.model))
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listener.bind(("127.0.0.1", 0))
        agent = SnmpAgent(array.service, listener, community=COMMUNITY)
        try:
            agent.start()
            port = agent.address[1]
            static = SYSTEM + HARDWARE
            unsupported = [oid for oid in static if not served(port, oid)]
            print(f"static SNMP items: {len(static) - len(unsupported)} served, "
                  f"{len(unsupported)} unsupported {unsupported}")
            prototypes = missing = 0
            for table, columns in DISCOVERY.items():
                walked = snmp("snmpwalk", port, f"{table}.1").stdout.splitlines()
                for line in walked:
                    index = line.split(" = ", 1)[0].removeprefix(f"{table}.1.")
                    for column in columns:
                        prototypes += 1
                        missing += not served(port, f"{table}.{column}.{index}")
            print(f"discovered items: {prototypes - missing} served, {missing} unsupported")
        finally:
            agent.close()
            listener.close()
            array.close()


if __name__ == "__main__":
    main()
