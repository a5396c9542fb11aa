"""Fixtures for the Linux backend's tests: loop devices, mounts and a private tgtd.

Tests marked `linux` need root, loop devices, btrfs and the tools in runner.PACKAGES. They
never skip: a missing tool fails the test with the package to install. Every fixture cleans
up in its teardown, also when the test fails: mounts are undone before their loop devices
are detached, and tgtd is shut down.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opensan.backends.linux import btrfs
from opensan.backends.linux.runner import run
from opensan.backends.linux.tgt import MAX_CONTROL_PORT, Tgtadm, TgtDaemon


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "linux: needs root, loop devices, btrfs and tgt (the Linux backend's tools)"
    )
    _share_root_conftest(config)


def _share_root_conftest(config: pytest.Config) -> None:
    """Keep `from conftest import Api, ...` working for test modules in this directory.

    Without __init__.py files every conftest is imported as the module "conftest", and this
    one replaces tests/conftest.py under that name while tests here are collected. Its
    helpers (the very objects pytest loaded) are copied in, never shadowing a name of ours.
    """
    root_conftest = str(Path(__file__).parent.parent / "conftest.py")
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == root_conftest:
            ours = globals()
            for name, value in vars(plugin).items():
                if not name.startswith("__"):
                    ours.setdefault(name, value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_control_port() -> int:
    """A tgtd control port no tgtd answers on (these are socket names, not TCP ports)."""
    while True:
        port = random.randint(10_000, MAX_CONTROL_PORT)
        if not Tgtadm(port).ready():
            return port


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        pytest.fail("Linux backend tests need root (loop devices, mounts, tgtd).")


@pytest.fixture
def make_loop(root: None, tmp_path: Path) -> Iterator[Callable[[int], str]]:
    """make_loop(size_bytes) -> /dev/loopN over a sparse file; all detached at teardown."""
    devices: list[str] = []

    def make(size_bytes: int) -> str:
        image = tmp_path / f"disk{len(devices)}.img"
        with image.open("wb") as file:
            file.truncate(size_bytes)
        device = run(["losetup", "-f", "--show", image]).strip()
        devices.append(device)
        return device

    yield make
    for device in reversed(devices):
        run(["losetup", "-d", device])


@pytest.fixture
def mounts(make_loop: Callable[[int], str]) -> Iterator[list[Path]]:
    """Mount points a test appends to; each still mounted at teardown is unmounted (before
    make_loop, which this depends on, detaches the loop devices)."""
    mounted: list[Path] = []
    yield mounted
    for mountpoint in reversed(mounted):
        if btrfs.is_mounted(mountpoint):
            btrfs.unmount(mountpoint)


MakeDaemon = Callable[..., TgtDaemon]


@pytest.fixture
def make_daemon(root: None, tmp_path: Path) -> Iterator[MakeDaemon]:
    """make_daemon(control_port=None, portal=None) -> a TgtDaemon, not started, on a free
    control port and a free 127.0.0.1 portal unless given; every one is stopped at teardown."""
    daemons: list[TgtDaemon] = []

    def make(control_port: int | None = None, portal: str | None = None) -> TgtDaemon:
        daemon = TgtDaemon(
            free_control_port() if control_port is None else control_port,
            f"127.0.0.1:{free_port()}" if portal is None else portal,
            tmp_path / f"tgtd-{len(daemons)}.log",
        )
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.stop()


@pytest.fixture
def tgtd(make_daemon: MakeDaemon) -> TgtDaemon:
    """A running private tgtd on a free portal of 127.0.0.1; stopped at teardown."""
    daemon = make_daemon()
    daemon.start()
    return daemon
