"""Build the state of a release for the upgrade tests, through that release's own HTTP API.

Run a server of the release to capture (e.g. a checkout of its tag), then:

    python tests/store/releases/make_release_state.py http://127.0.0.1:18300 OUT_DIR [--password P]

It makes changes of every kind (pools, volumes, snapshot space, snapshots, LUNs of volumes and
of snapshots, targets, spares, a failed and rebuilding disk and a forced sensor on the virtual
array, a password, a session left open), then writes OUT_DIR/expected.json: every read a client
can make of the array's configuration and its whole event log, as that release answers them.
The upgrade tests open the release's records with this release and compare. Only the HTTP API is used, so the
script works against any release; stop the server cleanly afterwards so that its records are
complete.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx

NEW_PASSWORD = "upgrade-user-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--password", default="1234", help="Of both accounts, at the start")
    parser.add_argument("--simulated", action="store_true",
                        help="Also use the virtual array's fault injection")
    args = parser.parse_args()
    http = httpx.Client(base_url=args.url, timeout=60)

    def ok(method: str, path: str, token: str | None = None) -> Any:
        response = http.request(method, path, headers={"Authorization": token} if token else {})
        response.raise_for_status()
        return response.json()

    admin = ok("POST", f"/rest/login/account/admin/password/{args.password}")["accessToken"]
    http.post("/rest/login/account/admin/password/wrong")  # a failed login in the log
    disks = ok("GET", "/rest/storage/diskinfo", admin)
    free = [d["id"] for d in disks if d["usage"] == "Free" and "SSD" not in d["type"]]
    pool_type = "thick" if free else "thin"
    members = (free or [d["id"] for d in disks])[:2]  # RAID 1 mirrors exactly 2 disks
    pool = ok("POST", f"/rest/storage/createpool/name/up-pool/raidlevel/1/diskids/"
                      f"{','.join(map(str, members))}/type/{pool_type}", admin)
    volume = ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/up-vol/sizegb/2",
                admin)
    ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1", admin)
    first = ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/up-snap-1", admin)
    ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/up-snap-2", admin)
    target = ok("POST", "/rest/storage/createtarget/controller/1/name/up-target", admin)
    ok("POST", f"/rest/storage/maplun/targetid/{target['id']}/lun/3/vdid/{volume['id']}/"
               "permission/ro/host/iqn.1994-05.com.redhat:upgrade", admin)
    ok("POST", f"/rest/storage/mapsnapshot/targetid/{target['id']}/lun/4/snapid/{first['id']}",
       admin)
    if len(free) > 2:
        ok("POST", f"/rest/storage/setspare/diskids/{free[2]}/type/dedicated/poolid/{pool['id']}",
           admin)
    if args.simulated:
        ok("POST", f"/rest/sim/faildisk/diskid/{members[0]}", admin)
        ok("POST", "/rest/sim/clock/seconds/1500", admin)
        ok("POST", "/rest/sim/sensor/sensor/fan-1/status/warning", admin)
    ok("POST", f"/rest/account/setpassword/account/user/password/{NEW_PASSWORD}", admin)

    volumes = ok("GET", "/rest/storage/volumeinfo", admin)
    targets = ok("GET", "/rest/storage/availtarget", admin)
    for disk in (disks := ok("GET", "/rest/storage/diskinfo", admin)):
        disk.pop("temperatureC")  # follows the clock
    first_page = ok("GET", "/rest/log/list/1", admin)
    events = [event for page in range(first_page["totalPages"], 0, -1)
              for event in reversed(ok("GET", f"/rest/log/list/{page}", admin)["events"])]
    system = ok("GET", "/rest/dashboard/systeminfo", admin)
    sensors = {s["id"]: s["status"] for e in ok("GET", "/rest/dashboard/hwmonitor", admin)
               ["enclosures"] for s in e["sensors"]}
    expected = {
        "system": {key: system[key] for key in ("systemName", "modelName", "serialNumber")},
        "disks": disks,
        "pools": ok("GET", "/rest/storage/poolinfo", admin),
        "volumes": volumes,
        "snapshots": {str(v["id"]): ok("GET", f"/rest/storage/snapshot/vdid/{v['id']}", admin)
                      for v in volumes},
        "targets": targets,
        "luns": {str(t["id"]): ok("GET", f"/storage/availlun/targetid/{t['id']}", admin)
                 for t in targets},
        "mappings": ok("GET", "/rest/storage/lunmappinginfo", admin),
        "sensors": sensors if args.simulated else {},
        "events": events,
        "passwords": {"admin": args.password, "user": NEW_PASSWORD},
    }
    ok("POST", "/rest/logout", admin)
    # A session left open: the user's, which the release stores until it idles out.
    ok("POST", f"/rest/login/account/user/password/{NEW_PASSWORD}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
