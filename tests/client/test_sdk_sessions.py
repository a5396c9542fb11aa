"""SanosClient sessions against a live virtual array: lazy login, expiry and re-login, read-only."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from opensan.client import (
    AuthenticationError,
    PermissionDenied,
    SanosClient,
    TooManyRequests,
)
from opensan.testing import VirtualArray

IDLE_OUT = 1900  # the array's sessions end after 1800 s idle, on the array clock


def raw_login(base_url: str, account: str = "admin", password: str = "1234") -> str:
    answer = httpx.post(f"{base_url}/rest/login/account/{account}/password/{password}")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["accessToken"])


def test_logs_in_lazily_on_the_first_call(opensan_array: VirtualArray) -> None:
    with opensan_array.connect() as client:
        assert client.token is None
        assert client.volumes()
        assert client.token is not None and client.role == "admin"


def test_wrong_password_is_an_authentication_error_with_the_contract_code(
        opensan_array: VirtualArray) -> None:
    with opensan_array.connect(password="wrong") as client, \
            pytest.raises(AuthenticationError) as raised:
        client.pools()
    assert (raised.value.status, raised.value.code) == (401, 10103)
    assert raised.value.message and client.token is None


def test_a_get_after_the_session_expired_logs_in_again(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    client.volumes()
    first_token = client.token
    # The clock call's own session idles out with it: the next call must cope.
    client.advance_clock(IDLE_OUT)
    assert client.volumes()
    assert client.token not in (None, first_token)
    rejected = httpx.get(f"{opensan_array.base_url}/rest/storage/poolinfo",
                         headers={"Authorization": str(first_token)})
    assert rejected.status_code == 401


def test_a_post_after_the_session_expired_is_made_exactly_once(
        opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    volume = next(v for v in client.volumes() if v.snapshot_space_bytes)
    before = client.snapshots(volume.id).snapshots
    client.advance_clock(IDLE_OUT)
    taken = client.take_snapshot(volume.id, "after-expiry")
    after = client.snapshots(volume.id).snapshots
    assert [s.name for s in after].count("after-expiry") == 1
    assert len(after) == len(before) + 1 and taken.name == "after-expiry"


def test_a_token_only_client_asks_for_a_new_login_when_its_session_ends(
        opensan_array: VirtualArray) -> None:
    token = raw_login(opensan_array.base_url)
    with SanosClient(opensan_array.base_url, token=token) as client:
        assert client.pools()
        opensan_array.client.advance_clock(IDLE_OUT)
        with pytest.raises(AuthenticationError) as raised:
            client.pools()
    assert (raised.value.status, raised.value.code) == (401, 10102)
    assert "opensan login" in str(raised.value)


def test_a_client_without_password_or_token_says_it_is_not_logged_in(
        opensan_array: VirtualArray) -> None:
    with SanosClient(opensan_array.base_url) as client, pytest.raises(AuthenticationError) as raised:
        client.disks()
    assert raised.value.status is None and "password" in raised.value.message


def test_leaving_the_with_block_ends_the_session(opensan_array: VirtualArray) -> None:
    with opensan_array.connect() as client:
        client.targets()
        token = client.token
    rejected = httpx.get(f"{opensan_array.base_url}/rest/storage/availtarget",
                         headers={"Authorization": str(token)})
    assert rejected.status_code == 401


def test_a_given_token_is_not_logged_out_by_the_with_block(opensan_array: VirtualArray) -> None:
    token = raw_login(opensan_array.base_url)
    with SanosClient(opensan_array.base_url, token=token) as client:
        client.targets()
    still = httpx.get(f"{opensan_array.base_url}/rest/storage/availtarget",
                      headers={"Authorization": token})
    assert still.status_code == 200


def test_logout_twice_is_harmless(opensan_array: VirtualArray) -> None:
    client = opensan_array.connect()
    client.volumes()
    client.logout()
    client.logout()
    assert client.token is None
    assert client.volumes()  # logs in again, lazily
    client.close()


def test_changing_its_own_password_keeps_the_client_working(opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    client.set_password("admin", "n3w/pass?word")  # '/' and '?' travel percent-encoded
    client.advance_clock(IDLE_OUT)
    assert client.pools()
    with opensan_array.connect(password="n3w/pass?word") as other:
        assert other.pools()


def test_too_many_failed_logins_are_429_with_retry_after(opensan_array: VirtualArray) -> None:
    with opensan_array.connect(account="user", password="wrong") as client:
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                client.login()
        with pytest.raises(TooManyRequests) as raised:
            client.login()
    assert (raised.value.status, raised.value.code) == (429, 10105)
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


def test_the_read_only_account_reads_but_every_change_is_denied(
        opensan_array: VirtualArray) -> None:
    admin = opensan_array.client
    volume = admin.volumes()[0]
    snapshot = admin.snapshots(volume.id).snapshots[0]
    target = admin.targets()[0]
    pool = admin.pools()[0]
    free_disk = next(d for d in admin.disks() if d.usage == "Free")
    with opensan_array.connect(account="user") as reader:
        assert [v.to_wire() for v in reader.volumes()] == [v.to_wire() for v in admin.volumes()]
        assert reader.role == "user"
        token = reader.token
        changes = [
            lambda: reader.set_snapshot_space(volume.id, 1),
            lambda: reader.take_snapshot(volume.id, "nope"),
            lambda: reader.map_lun(target.id, 200, volume.id),
            lambda: reader.unmap_lun(target.id, 0),
            lambda: reader.create_pool("nope", 1, [free_disk.id]),
            lambda: reader.add_pool_disks(pool.id, [free_disk.id]),
            lambda: reader.delete_pool(pool.id),
            lambda: reader.create_volume(pool.id, "nope", 1),
            lambda: reader.extend_volume(volume.id, 9999),
            lambda: reader.delete_volume(volume.id),
            lambda: reader.delete_snapshot(snapshot.id),
            lambda: reader.rollback_snapshot(snapshot.id),
            lambda: reader.create_target(1),
            lambda: reader.delete_target(target.id),
            lambda: reader.set_spare([free_disk.id], "global"),
            lambda: reader.set_password("user", "other-password"),
            lambda: reader.fail_disk(free_disk.id),
            lambda: reader.set_change_latency(0),
            lambda: reader.advance_clock(1),
        ]
        for change in changes:
            with pytest.raises(PermissionDenied) as raised:
                change()
            assert (raised.value.status, raised.value.code) == (403, 10107)
        assert reader.token == token  # a 403 is not a session problem: no new login
    assert admin.snapshots(volume.id).snapshots[0] == snapshot


def test_the_service_package_downloads_after_the_session_expired(
        opensan_array: VirtualArray) -> None:
    client = opensan_array.client
    client.volumes()
    client.advance_clock(IDLE_OUT)
    file = io.BytesIO()
    written = client.download_service_package(file)
    assert written == len(file.getvalue()) > 0
    assert "events.jsonl" in zipfile.ZipFile(file).namelist()


def test_the_service_package_is_refused_to_the_read_only_account(
        opensan_array: VirtualArray) -> None:
    file = io.BytesIO()
    with opensan_array.connect(account="user") as reader, \
            pytest.raises(PermissionDenied) as raised:
        reader.download_service_package(file)
    assert raised.value.status == 403 and file.getvalue() == b""
