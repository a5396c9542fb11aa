"""XevoClient against OpenSAN's XEVO API: the same answers as SanosClient's for the same array,
the changes, goqsan's session renewal, and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from opensan.api.xevo import wire
from opensan.client import (
    AuthenticationError,
    NotFound,
    NotSupported,
    PermissionDenied,
    XevoClient,
)
from opensan.client import xevo as sdk
from opensan.testing import VirtualArray


@pytest.fixture
def xevo(opensan_array: VirtualArray) -> Iterator[XevoClient]:
    with XevoClient(opensan_array.base_url, "admin", "1234") as client:
        yield client


def known(model: BaseModel) -> dict[str, Any]:
    """What a model says, leaving out what XEVO does not (None)."""
    return model.model_dump(exclude_none=True)


def test_login_answers_a_session_with_the_role(opensan_array: VirtualArray) -> None:
    for account, role in [("admin", "admin"), ("user", "user")]:
        with XevoClient(opensan_array.base_url, account, "1234") as client:
            session = client.login()
            assert (session.account, session.role, client.role) == (account, role, role)
            assert client.token == session.access_token and client.refresh_token


def test_every_read_answers_what_sanos_answers(opensan_array: VirtualArray,
                                              xevo: XevoClient) -> None:
    sanos = opensan_array.client
    assert [v.model_dump() for v in xevo.volumes()] == [v.model_dump() for v in sanos.volumes()]
    for volume in sanos.volumes():
        assert xevo.volume(volume.id) == volume
        through_sanos, through_xevo = sanos.snapshots(volume.id), xevo.snapshots(volume.id)
        assert (through_xevo.snapshot_space_bytes, through_xevo.snapshot_used_bytes) == (
            through_sanos.snapshot_space_bytes, through_sanos.snapshot_used_bytes)
        # A XEVO snapshot's ID is its name; the rest is the same.
        assert [s.model_dump(exclude={"id"}) for s in through_xevo.snapshots] == [
            s.model_dump(exclude={"id"}) for s in through_sanos.snapshots]
        assert [s.id for s in through_xevo.snapshots] == [s.name for s in through_sanos.snapshots]
    pools = {p.id: p for p in sanos.pools()}
    for pool in xevo.pools():
        assert known(pool).items() <= known(pools[pool.id]).items()
        assert pool.capacity_bytes is None and pool.health is None  # XEVO does not say them
    assert xevo.targets() == sanos.targets()
    assert xevo.lun_mappings() == sanos.lun_mappings()
    for target in sanos.targets():
        assert xevo.target_luns(target.id) == sanos.target_luns(target.id)


def test_about_names_the_array(opensan_array: VirtualArray, xevo: XevoClient) -> None:
    info = opensan_array.client.system_info()
    about = xevo.about()
    assert (about.system_name, about.model_name, about.serial_number, about.firmware_ver) == (
        info.system_name, info.model_name, info.serial_number, info.firmware_version)
    assert about.model_type == "SAN"


def test_every_change_is_made_and_seen_through_sanos(opensan_array: VirtualArray,
                                                     xevo: XevoClient) -> None:
    sanos = opensan_array.client
    pool = sanos.pools()[0]
    created = xevo.create_volume(pool.id, "vol-xevo", 8, pool.type.lower())  # type: ignore[arg-type]
    assert created == sanos.volume(created.id)
    assert (created.name, created.capacity_bytes, created.mapped) == ("vol-xevo", 8 * 2**30, False)
    assert xevo.extend_volume(created.id, 10).capacity_bytes == 10 * 2**30
    assert sanos.volume(created.id).capacity_bytes == 10 * 2**30

    space = xevo.set_snapshot_space(created.id, 2)
    assert space.snapshot_space_bytes == 2 * 2**30 == sanos.volume(created.id).snapshot_space_bytes
    first = xevo.take_snapshot(created.id, "one")
    assert (first.id, first.name, first.volume_id) == ("one", "one", created.id)
    unnamed = xevo.take_snapshot(created.id)
    assert unnamed.name.startswith("snap-")
    assert [s.name for s in sanos.snapshots(created.id).snapshots] == ["one", unnamed.name]
    assert xevo.rollback_snapshot("one", created.id).name == "one"
    assert [s.name for s in sanos.snapshots(created.id).snapshots] == ["one"]
    assert xevo.delete_snapshot("one", created.id).name == "one"
    assert not sanos.snapshots(created.id).snapshots
    xevo.set_snapshot_space(created.id, 0)
    assert sanos.volume(created.id).snapshot_space_bytes == 0

    target = sanos.targets()[0]
    lun = sanos.target_luns(target.id).free_luns[0]
    mapping = xevo.map_lun(target.id, lun, created.id, hosts=["iqn.1994-05.com.redhat:h1"])
    assert mapping in sanos.lun_mappings()
    assert (mapping.lun, mapping.volume_name, mapping.hosts) == (
        lun, "vol-xevo", ["iqn.1994-05.com.redhat:h1"])
    assert xevo.volume(created.id).mapped
    assert xevo.unmap_lun(target.id, lun) == mapping
    assert mapping not in sanos.lun_mappings()
    assert xevo.delete_volume(created.id).name == "vol-xevo"
    assert created.id not in {v.id for v in sanos.volumes()}


def test_what_xevo_cannot_do_is_refused_before_any_change(opensan_array: VirtualArray,
                                                          xevo: XevoClient) -> None:
    sanos = opensan_array.client
    before = sanos.lun_mappings(), sanos.volumes()
    volume = next(v for v in sanos.volumes() if not v.mapped)
    with pytest.raises(NotSupported, match="read-write only"):
        xevo.map_lun(0, sanos.target_luns(0).free_luns[0], volume.id, "ro")
    pool = sanos.pools()[0]
    other = "thin" if pool.type == "Thick" else "thick"
    with pytest.raises(NotSupported, match="provisioning"):
        xevo.create_volume(pool.id, "vol-other", 1, other)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="volume"):
        xevo.delete_snapshot("some-name")
    assert (sanos.lun_mappings(), sanos.volumes()) == before


def test_refusals_carry_the_array_s_status_and_code(opensan_array: VirtualArray,
                                                    xevo: XevoClient) -> None:
    with pytest.raises(NotFound) as missing:
        xevo.volume(9999999999)
    assert missing.value.status == 404
    with pytest.raises(NotFound, match="no LUN 200"):
        xevo.unmap_lun(0, 200)
    with XevoClient(opensan_array.base_url, "user", "1234") as reader:
        assert reader.volumes()
        with pytest.raises(PermissionDenied) as denied:
            reader.take_snapshot(reader.volumes()[0].id, "nope")
        assert (denied.value.status, denied.value.code) == (403, 10107)
    with pytest.raises(AuthenticationError) as wrong, \
            XevoClient(opensan_array.base_url, "admin", "wrong") as client:
        client.login()
    assert wrong.value.status == 401


def _counting(seen: list[str]) -> httpx.HTTPTransport:
    """A transport to the array that notes each request's path."""

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(f"{request.method} {request.url.path}")
            return super().handle_request(request)

    return Counting()


def test_an_idle_session_is_renewed_from_the_refresh_token_without_a_password(
        opensan_array: VirtualArray, xevo: XevoClient) -> None:
    xevo.login()
    seen: list[str] = []
    with XevoClient(opensan_array.base_url, token=xevo.token, refresh_token=xevo.refresh_token,
                    transport=_counting(seen)) as saved:
        assert saved.pools()
        opensan_array.client.advance_clock(1900)  # past the 30 minutes a session idles
        assert saved.pools()
        assert saved.token != xevo.token
        assert seen.count("POST /auth/refresh") == 1 and "POST /auth/get" not in seen


def test_an_expired_refresh_token_logs_in_again_with_the_password(
        opensan_array: VirtualArray, xevo: XevoClient) -> None:
    xevo.login()
    first_refresh = xevo.refresh_token
    opensan_array.client.advance_clock(8 * 86400)  # past the refresh token's 7 days
    assert xevo.volumes()
    assert xevo.refresh_token != first_refresh
    with XevoClient(opensan_array.base_url, token="stale", refresh_token=first_refresh) as saved, \
            pytest.raises(AuthenticationError, match="opensan login"):
        saved.pools()


def test_logout_forgets_the_session_here(opensan_array: VirtualArray, xevo: XevoClient) -> None:
    xevo.login()
    xevo.logout()
    assert xevo.token is None and xevo.refresh_token is None
    assert xevo.pools()  # it has the password: it logs in again


# Each XEVO object the SDK reads, and the server's model that writes it.
READS: dict[type[BaseModel], type[BaseModel]] = {
    sdk._Auth: wire.AuthOut, sdk.XevoAbout: wire.AboutOut, sdk._Pool: wire.PoolOut,
    sdk._Volume: wire.VolumeOut, sdk._Tags: wire.TagsOut,
    sdk._SnapshotSetting: wire.SnapshotSettingOut, sdk._Snapshot: wire.SnapshotOut,
    sdk._Trash: wire.TrashOut, sdk._Target: wire.TargetOut, sdk._Iscsi: wire.IscsiOut,
    sdk._Fcp: wire.FcpOut, sdk._Lun: wire.LunOut, sdk._Host: wire.HostOut,
    sdk._Nic: wire.NicOut, sdk._Ipv4: wire.Ipv4Out, sdk._User: wire.UserOut,
    sdk._Users: wire.UsersOut,
}


def sent_names(model: type[BaseModel]) -> set[str]:
    return {field.serialization_alias or field.alias or name
            for name, field in model.model_fields.items()}


@pytest.mark.parametrize(("reader", "writer"), READS.items(),
                         ids=[r.__name__ for r in READS])
def test_the_sdk_reads_only_names_the_server_writes(reader: type[BaseModel],
                                                    writer: type[BaseModel]) -> None:
    read = {field.alias or name for name, field in reader.model_fields.items()}
    assert read <= sent_names(writer), f"{reader.__name__} reads {read - sent_names(writer)}"
