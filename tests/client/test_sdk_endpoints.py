"""Every SanosClient method against a live virtual array, the typed errors, TLS and URLs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from opensan.client import (
    BadRequest,
    Conflict,
    InsecureTlsWarning,
    InsufficientCapacity,
    InvalidUrl,
    NotFound,
    PermissionDenied,
    RawReads,
    SanosClient,
    SanosError,
    TlsError,
)
from opensan.client.models import Account, Controller, Volume
from opensan.config import Settings
from opensan.testing import DEFAULT_SEED, VirtualArray, run_virtual_array


def api_json(array: VirtualArray, path: str) -> Any:
    """The array's own answer, read without the SDK."""
    answer = httpx.get(f"{array.base_url}{path}", headers={"Authorization": str(array.client.token)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_raw_read_is_its_typed_read_as_the_array_sent_it(opensan_array: VirtualArray) -> None:
    """`client.raw` has each read of the client, unparsed: the same answer, as JSON."""
    client = opensan_array.client
    volume, target = client.volumes()[0].id, client.targets()[0].id
    arguments = {"events": (1,), "snapshots": (volume,), "target_luns": (target,),
                 **{f"{kind}_performance": (60,) for kind in ("array", "pool", "volume", "disk",
                                                              "port")}}
    reads = [name for name in vars(RawReads) if not name.startswith("_")]
    assert len(reads) == 19
    for name in reads:
        typed = getattr(client, name)(*arguments.get(name, ()))
        wire = [t.to_wire() for t in typed] if isinstance(typed, list) else typed.to_wire()
        raw = getattr(client.raw, name)(*arguments.get(name, ()))
        assert isinstance(raw, list | dict), name
        assert _steady(raw) == _steady(wire), name


def _steady(data: Any) -> Any:
    """The answer without what changes from one read to the next (time, uptime, sensors, I/O)."""
    if isinstance(data, list):
        return [_steady(item) for item in data]
    if isinstance(data, dict):
        return {key: _steady(value) for key, value in data.items()
                if key not in {"time", "uptimeSeconds", "value", "temperatureC", "takenAt", "now",
                                   "powerOnHours", "attributes"}}
    return data


def test_every_read_gives_typed_objects_equal_to_the_api_json(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    volumes = client.volumes()
    assert all(isinstance(v, Volume) for v in volumes)
    reads = {
        "/rest/storage/volumeinfo": volumes,
        "/rest/storage/poolinfo": client.pools(),
        "/rest/storage/availtarget": client.targets(),
        "/rest/storage/lunmappinginfo": client.lun_mappings(),
        f"/rest/storage/snapshot/vdid/{volumes[0].id}": client.snapshots(volumes[0].id),
        "/storage/availlun/targetid/0": client.target_luns(0),
        "/rest/": client.endpoints(),
    }
    for path, answer in reads.items():
        wire = answer.to_wire() if not isinstance(answer, list) else [a.to_wire() for a in answer]
        assert wire == api_json(opensan_array, path), path
    # These follow the clock (temperatures, uptime, new events): compare their shape.
    assert {d.id for d in client.disks()} == {d["id"] for d in api_json(opensan_array,
                                                                        "/rest/storage/diskinfo")}
    assert len(client.disk_smart()) == len(client.disks())
    assert client.system_info().serial_number == api_json(
        opensan_array, "/rest/dashboard/systeminfo")["serialNumber"]
    sensors = [s for e in client.hardware_monitor().enclosures for s in e.sensors]
    assert sensors and all(s.id for s in sensors)
    page = client.events()
    assert page.page == 1 and page.events[0].id > page.events[-1].id


def test_every_change_method_does_what_it_says(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    free = [d.id for d in client.disks() if d.usage == "Free"]
    pool = client.create_pool("pool-sdk", "RAID 5", free[:3], "thin")
    assert (pool.raid_level, pool.type, pool.disk_ids) == ("RAID 5", "Thin", free[:3])
    assert client.add_pool_disks(pool.id, [free[3]]).disk_ids == free[:4]
    volume = client.create_volume(pool.id, "vol-sdk", 10)
    assert (volume.provision, volume.capacity_bytes) == ("Thin", 10 * 2**30)
    assert client.extend_volume(volume.id, 12).capacity_bytes == 12 * 2**30
    assert client.set_snapshot_space(volume.id, 4).snapshot_space_bytes == 4 * 2**30
    first = client.take_snapshot(volume.id, "first")
    assert client.take_snapshot(volume.id).name.startswith("snap-")  # named from the time
    assert client.host_write(volume.id, 2).used_bytes > 0
    assert client.rollback_snapshot(first.id).name == "first"
    assert [s.name for s in client.snapshots(volume.id).snapshots] == ["first"]
    assert client.delete_snapshot(first.id).id == first.id

    target = client.create_target(2, name="sdk-target")
    assert (target.controller, target.name) == (2, "sdk-target")
    iqn = "iqn.1994-05.com.redhat:sdk-host"
    mapping = client.map_lun(target.id, 3, volume.id, "ro", [iqn])
    assert (mapping.lun, mapping.permission, mapping.hosts) == (3, "Read-only", [iqn])
    assert client.target_luns(target.id).luns == [mapping]
    assert client.unmap_lun(target.id, 3) == mapping
    backup = client.take_snapshot(volume.id, "for-backup")
    snapshot_mapping = client.map_snapshot(target.id, 4, backup.id)
    assert (snapshot_mapping.snapshot_name, snapshot_mapping.permission) == ("for-backup",
                                                                             "Read-only")
    with pytest.raises(Conflict) as in_use:
        client.delete_snapshot(backup.id)
    assert in_use.value.code == 13515  # a mapped snapshot is protected
    client.unmap_lun(target.id, 4)
    client.delete_snapshot(backup.id)
    assert client.delete_target(target.id).id == target.id

    assert [d.usage for d in client.set_spare([free[4]], "dedicated", pool.id)] == [
        "Dedicated Spare"]
    assert [d.usage for d in client.set_spare([free[4]], "free")] == ["Free"]
    assert client.set_snapshot_space(volume.id, 0).snapshot_space_bytes == 0
    clone = client.clone_volume(volume.id, "vol-sdk-clone", pool.id)
    assert (clone.name, clone.pool_id, clone.capacity_bytes, clone.status) == (
        "vol-sdk-clone", pool.id, 12 * 2**30, "Initiating")
    client.advance_clock(3)  # the virtual array copies 4 GiB a second
    assert client.delete_volume(clone.id).name == "vol-sdk-clone"
    assert client.delete_volume(volume.id).name == "vol-sdk"
    assert client.delete_pool(pool.id).name == "pool-sdk"
    assert "pool-sdk" not in {p.name for p in client.pools()}


def test_the_account_methods_manage_accounts(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    accounts = client.accounts()
    assert all(isinstance(a, Account) for a in accounts)
    assert [a.to_wire() for a in accounts] == api_json(opensan_array, "/rest/account/accountinfo")
    created = client.create_account("sdk-ops", "admin", "sdk-passw0rd")
    assert (created.name, created.role, created.enabled, created.default_password) == \
        ("sdk-ops", "admin", True, False)
    with SanosClient(opensan_array.base_url, "sdk-ops", "sdk-passw0rd") as ops:
        assert ops.login().role == "admin"
        assert client.disable_account("sdk-ops").enabled is False
        # Its session ended; logging in again is refused: the account is disabled.
        with pytest.raises(PermissionDenied) as refused:
            ops.volumes()
        assert (refused.value.status, refused.value.code) == (403, 16004)
        assert client.enable_account("sdk-ops").enabled is True
        assert ops.volumes()
    assert client.delete_account("sdk-ops").name == "sdk-ops"
    assert [a.name for a in client.accounts()] == [a.name for a in accounts]
    assert client.events().events[0].account == "admin"
    with pytest.raises(Conflict) as own:
        client.delete_account("admin")
    assert own.value.code == 16003


def test_the_virtual_array_knobs(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    member = next(d for d in client.disks() if d.usage == "RAID")
    assert client.fail_disk(member.id).health == "Failed"
    assert client.pools()[0].health == "Degraded"
    replacement = client.replace_disk(member.id)
    assert (replacement.slot, replacement.health) == (member.slot, "Good")
    sensor = client.hardware_monitor().enclosures[0].sensors[0]
    assert sensor.id is not None
    client.set_sensor_status(sensor.id, "failed")
    assert client.hardware_monitor().system_health != "Good"
    client.set_sensor_status(sensor.id, "good")
    client.set_change_latency(0)
    before = client.system_info().time
    assert (client.advance_clock(600).time - before).total_seconds() >= 600


def test_events_since_gives_what_a_monitor_has_not_seen(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    last = client.events().events[0].id
    volume = next(v for v in client.volumes() if v.snapshot_space_bytes)
    for n in range(3):
        client.take_snapshot(volume.id, f"seen-{n}")
    new = client.events_since(last)
    assert [e.id for e in new] == sorted(e.id for e in new) and new[0].id > last
    assert [e.message for e in new if "seen-" in e.message] == [
        f"Snapshot seen-{n} of volume {volume.name} taken." for n in range(3)]
    assert client.events_since(new[-1].id) == []


def test_refusals_are_typed_and_carry_status_code_and_message(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    volume = next(v for v in client.volumes() if v.snapshot_space_bytes)
    taken = client.snapshots(volume.id).snapshots[0].name
    cases: list[tuple[Callable[[], object], type[SanosError], int, int]] = [
        (lambda: client.snapshots(9_999_999_999), NotFound, 404, 10300),
        (lambda: client.target_luns(99), NotFound, 404, 10600),
        (lambda: client.take_snapshot(volume.id, taken), Conflict, 409, 13514),
        # A '/' in a name is sent as %2F: the array sees one bad name, not an extra path segment.
        (lambda: client.take_snapshot(volume.id, "a/b"), BadRequest, 400, 13502),
        (lambda: client.set_snapshot_space(volume.id, 2**20), InsufficientCapacity, 507, 10104),
        (lambda: client.events(0), BadRequest, 400, 12003),
    ]
    for call, kind, status, code in cases:
        with pytest.raises(kind) as raised:
            call()
        assert (raised.value.status, raised.value.code) == (status, code)
        assert str(raised.value).endswith(f"(HTTP {status}, code {code})")


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://127.0.0.1", "http://", "http://[::1"])
def test_an_unusable_url_is_refused_at_once(url: str) -> None:
    with pytest.raises(InvalidUrl):
        SanosClient(url, "admin", "1234")


def test_unknown_fields_are_kept_and_both_spellings_of_memory_are_read() -> None:
    wire = {"slot": 1, "status": "Normal", "serialNumber": "S", "cpu": "C", "memoryGB": 16,
            "hostCardSlots": [{"slot": 1, "card": "Empty", "speed": "25G"}],
            "firmwareVersion": "1.4", "sasIocFirmwareVersion": "1", "sasExpanderFirmwareVersion": "1",
            "batteryBackup": True}
    controller = Controller.model_validate(wire)
    assert controller.memory_gb == 16 and controller.model_extra == {"batteryBackup": True}
    assert controller.host_card_slots[0].model_extra == {"speed": "25G"}
    assert controller.to_wire()["batteryBackup"] is True
    assert Controller.model_validate({**wire, "memoryGb": 8} | {"memoryGB": 8}).memory_gb == 8


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def test_tls_is_verified_by_default_trusts_a_ca_file_or_warns_when_off(
        tmp_path: Path, certificate: tuple[str, str]) -> None:
    cert, key = certificate
    settings = Settings(state_dir=tmp_path / "state", seed=DEFAULT_SEED)
    with run_virtual_array(settings, ssl_certfile=cert, ssl_keyfile=key) as array:
        assert array.base_url.startswith("https://")
        with SanosClient(array.base_url, "admin", "1234") as untrusting, \
                pytest.raises(TlsError) as raised:
            untrusting.volumes()
        assert raised.value.status is None and "certificate" in raised.value.message
        with SanosClient(array.base_url, "admin", "1234", ca_file=cert) as trusting:
            assert trusting.volumes()
        with pytest.warns(InsecureTlsWarning):
            insecure = SanosClient(array.base_url, "admin", "1234", verify=False)
        with insecure:
            assert insecure.volumes()
    with pytest.raises(TlsError):
        SanosClient("https://127.0.0.1", ca_file=tmp_path / "missing.pem")
