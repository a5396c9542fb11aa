"""tgt: `tgtadm` output parsed from recordings, then a private tgtd serving real iSCSI on
127.0.0.1, checked from the initiator side with libiscsi's iscsi-ls and qemu-io."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from opensan.backends.runner import CommandFailed, run
from opensan.backends.tgt.daemon import TgtDaemon
from opensan.backends.tgt.tgtadm import (
    SOCKET_DIRECTORY,
    TgtLun,
    TgtTarget,
    parse_portals,
    parse_show,
    reported_size_bytes,
)
from opensan.domain.errors import BackendError, InvalidArgument

DATA = Path(__file__).parent / "data"
MIB = 1024**2
TARGET = "iqn.2026-11.org.opensan:test.volume"
HOST_A = "iqn.2026-11.org.opensan:host-a"
HOST_B = "iqn.2026-11.org.opensan:host-b"
MakeDaemon = Callable[..., TgtDaemon]


# --- Parsers ------------------------------------------------------------------------------------


def test_parse_show_skips_controller_luns_and_reads_both_acl_kinds() -> None:
    assert parse_show((DATA / "tgtadm_show.txt").read_text()) == [
        TgtTarget(
            tid=1,
            iqn="iqn.2026-11.org.opensan:test.t1",
            luns=(
                TgtLun(1, "/tmp/exp/mnt/luns/lun.img", readonly=False, size_bytes=67_000_000),
                TgtLun(2, "/tmp/exp/mnt/luns/lun2.img", readonly=True, size_bytes=34_000_000),
            ),
            acl=("ALL", "10.0.0.5", "iqn.2026-11.org.opensan:host1"),
        ),
        # This one has a logged-in session: its I_T nexus lines are not LUNs or ACLs.
        TgtTarget(
            tid=2,
            iqn="iqn.2026-11.org.opensan:test.t2",
            luns=(TgtLun(1, "/tmp/exp/mnt/luns/t2.img", readonly=False, size_bytes=17_000_000),),
            acl=("iqn.2026-11.org.opensan:host2",),
        ),
    ]


def test_parse_show_of_nothing() -> None:
    assert parse_show("") == []


def test_reported_size_follows_tgt_rounding() -> None:
    """The recording's backing files were 64, 32 and 16 MiB: tgt said 67, 34 and 17 MB."""
    assert [reported_size_bytes(size * MIB) for size in (64, 32, 16)] == [
        67_000_000, 34_000_000, 17_000_000
    ]
    assert reported_size_bytes(0) == 0


def test_parse_portals() -> None:
    assert parse_portals((DATA / "tgtadm_portal_show.txt").read_text()) == ("127.0.0.1:13290",)
    assert parse_portals((DATA / "tgtadm_portal_fallback.txt").read_text()) == (
        "[::]:3260", "0.0.0.0:3260"
    )


# --- A private tgtd -----------------------------------------------------------------------------


def _image(tmp_path: Path, name: str, size_bytes: int = 16 * MIB) -> Path:
    path = tmp_path / name
    with path.open("wb") as file:
        file.truncate(size_bytes)
    return path


def _qemu_io(
    daemon: TgtDaemon, initiator: str, command: str, *, lun: int = 1, readonly: bool = False
) -> str:
    """One qemu-io command over iSCSI; CommandFailed (with qemu-io's stderr) when it fails."""
    options = (
        f"driver=iscsi,transport=tcp,portal={daemon.portal},target={TARGET},lun={lun},"
        f"initiator-name={initiator}"
    )
    flags: Sequence[str] = ["-r"] if readonly else []
    return run(["qemu-io", *flags, "--image-opts", options, "-c", command], timeout=60)


def _discovered(daemon: TgtDaemon, initiator: str) -> str:
    return run(["iscsi-ls", "-s", "-i", initiator, f"iscsi://{daemon.portal}"], timeout=60)


@pytest.mark.linux
def test_daemon_starts_listens_on_its_portal_and_stops(tgtd: TgtDaemon) -> None:
    assert tgtd.is_running() and tgtd.pid is not None
    assert tgtd.tgtadm.ready()
    assert tgtd.tgtadm.portals() == (tgtd.portal,)
    assert tgtd.tgtadm.show() == []
    tgtd.tgtadm.new_target(1, TARGET)  # tgtd ignores SIGTERM with targets: stop() deletes them
    pid = tgtd.pid

    tgtd.stop()

    assert not tgtd.is_running() and tgtd.pid is None
    assert not tgtd.tgtadm.ready()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not list(SOCKET_DIRECTORY.glob(f"socket.{tgtd.tgtadm.control_port}*"))
    tgtd.stop()  # again: nothing to do


def test_control_ports_beyond_tgtd_range_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="control port 32768 is out of range 0-32767"):
        TgtDaemon(32768, "127.0.0.1:3260", tmp_path / "tgtd.log")


@pytest.mark.linux
def test_daemon_restarts_after_a_crash(tgtd: TgtDaemon) -> None:
    assert tgtd.pid is not None
    os.kill(tgtd.pid, signal.SIGKILL)
    os.waitpid(tgtd.pid, 0)
    assert not tgtd.is_running()
    tgtd.start()
    assert tgtd.is_running() and tgtd.tgtadm.show() == []  # tgtd forgets everything


@pytest.mark.linux
def test_daemon_refuses_a_taken_control_port(tgtd: TgtDaemon, make_daemon: MakeDaemon) -> None:
    other = make_daemon(control_port=tgtd.tgtadm.control_port)
    with pytest.raises(BackendError, match="Another tgtd already answers on control port"):
        other.start()
    assert not other.is_running() and tgtd.tgtadm.ready()


@pytest.mark.linux
def test_daemon_refuses_to_fall_back_from_a_taken_portal(
    tgtd: TgtDaemon, make_daemon: MakeDaemon
) -> None:
    """tgtd itself would keep running on 0.0.0.0:3260 and [::]:3260; start() stops it."""
    other = make_daemon(portal=tgtd.portal)
    with pytest.raises(BackendError, match=f"could not listen on {tgtd.portal}"):
        other.start()
    assert not other.is_running()
    assert tgtd.tgtadm.portals() == (tgtd.portal,)


@pytest.mark.linux
def test_a_lun_is_discovered_written_and_read_back(tgtd: TgtDaemon, tmp_path: Path) -> None:
    image = _image(tmp_path, "volume.img")
    tgtadm = tgtd.tgtadm
    tgtadm.new_target(1, TARGET)
    tgtadm.new_lun(1, 1, image, readonly=False)
    tgtadm.bind(1, "ALL")
    assert tgtadm.show() == [TgtTarget(
        1, TARGET, (TgtLun(1, str(image), False, reported_size_bytes(16 * MIB)),), ("ALL",)
    )]

    listing = _discovered(tgtd, HOST_A)
    assert f"Target:{TARGET} Portal:{tgtd.portal}" in listing
    assert "Lun:1    Type:DIRECT_ACCESS (Size:15M)" in listing

    assert "wrote 1048576/1048576 bytes at offset 0" in _qemu_io(tgtd, HOST_A, "write -P 0xab 0 1M")
    readback = _qemu_io(tgtd, HOST_A, "read -P 0xab 0 1M")
    assert "read 1048576/1048576 bytes at offset 0" in readback
    assert "Pattern verification failed" not in readback
    with open(image, "rb") as file:
        assert file.read(MIB) == b"\xab" * MIB
    # The check can fail: another pattern is reported as a mismatch.
    with pytest.raises(CommandFailed) as mismatch:
        _qemu_io(tgtd, HOST_A, "read -P 0xcd 0 1M")
    assert mismatch.value.returncode == 1

    tgtadm.delete_lun(1, 1)
    assert tgtadm.show()[0].luns == ()
    tgtadm.delete_target(1)
    assert tgtadm.show() == []


@pytest.mark.linux
def test_a_read_only_lun_refuses_writes(tgtd: TgtDaemon, tmp_path: Path) -> None:
    image = _image(tmp_path, "snapshot.img")
    image.write_bytes(b"\x5a" * MIB)
    with open(image, "r+b") as file:
        file.truncate(16 * MIB)
    tgtd.tgtadm.new_target(1, TARGET)
    tgtd.tgtadm.new_lun(1, 1, image, readonly=True)
    tgtd.tgtadm.bind(1, "ALL")
    assert tgtd.tgtadm.show()[0].luns[0].readonly

    with pytest.raises(CommandFailed) as refused:
        _qemu_io(tgtd, HOST_A, "write -P 0xab 0 1M")
    assert "LUN is write protected" in refused.value.stderr
    readback = _qemu_io(tgtd, HOST_A, "read -P 0x5a 0 1M", readonly=True)
    assert "read 1048576/1048576" in readback and "Pattern verification failed" not in readback
    assert image.read_bytes()[:MIB] == b"\x5a" * MIB


@pytest.mark.linux
def test_acls_hide_a_target_from_initiators_not_bound(tgtd: TgtDaemon, tmp_path: Path) -> None:
    tgtadm = tgtd.tgtadm
    tgtadm.new_target(1, TARGET)
    tgtadm.new_lun(1, 1, _image(tmp_path, "volume.img"), readonly=False)
    tgtadm.bind(1, HOST_A)
    tgtadm.bind(1, "10.99.0.0/16")  # an address ACL that matches nobody here
    assert tgtadm.show()[0].acl == ("10.99.0.0/16", HOST_A)  # addresses first, then names

    assert TARGET in _discovered(tgtd, HOST_A)
    assert TARGET not in _discovered(tgtd, HOST_B)
    with pytest.raises(CommandFailed) as refused:
        _qemu_io(tgtd, HOST_B, "read 0 4k")
    assert "Target not found" in refused.value.stderr
    assert "read 4096/4096" in _qemu_io(tgtd, HOST_A, "read 0 4k")

    tgtadm.unbind(1, HOST_A)
    assert TARGET not in _discovered(tgtd, HOST_A)
    tgtadm.unbind(1, "10.99.0.0/16")
    assert tgtadm.show()[0].acl == ()


@pytest.mark.linux
def test_tgtadm_errors_say_what_tgt_said(tgtd: TgtDaemon) -> None:
    tgtd.tgtadm.new_target(1, TARGET)
    with pytest.raises(CommandFailed, match="this target already exists"):
        tgtd.tgtadm.new_target(1, TARGET + ".other")
    with pytest.raises(CommandFailed, match="can't find the target"):
        tgtd.tgtadm.delete_target(9)
    with pytest.raises(CommandFailed, match="can't find the logical unit"):
        tgtd.tgtadm.delete_lun(1, 7)
