"""Fixtures: a fresh virtual array per test (the default profile), and bare services.

`service` is the ArrayService of an array opened the way `opensan serve` opens it
(opensan.array.open_array) in the test's own state dir; nothing here starts HTTP or the tick
thread. A new array costs three scrypt hashes (the two default accounts, and the decoy every
Accounts makes), most of its start-up: so one new array is made per session and each test opens
its own copy of that state dir, an array that has never been changed or used. `make_service`
builds an ArrayService from a store and a backend of the test's choosing (a new empty array, or
one whose backend lacks a capability), for the rules that depend on them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opensan.array import Array, open_array
from opensan.backends.simulated.backend import SimulatedBackend
from opensan.config import Settings
from opensan.domain.indexes import Indexes, indexes_of
from opensan.profile import Profile
from opensan.service.array import ArrayService
from opensan.store.sqlite import DATABASE_NAME, SqliteStore

from .helpers import BACKEND_OPTIONS, SEED, EventLog

MakeService = Callable[..., ArrayService]


def settings(state_dir: Path) -> Settings:
    return Settings(state_dir=state_dir, seed=SEED, backend="simulated")


@pytest.fixture(scope="session")
def new_array_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state dir of a new array, as its first start left it."""
    state_dir = tmp_path_factory.mktemp("new-array") / "state"
    open_array(settings(state_dir)).close()
    return state_dir


@pytest.fixture
def state_dir(tmp_path: Path, new_array_state: Path) -> Path:
    """This test's own copy of a new array's state dir."""
    return Path(shutil.copytree(new_array_state, tmp_path / "state"))


@pytest.fixture
def array(state_dir: Path) -> Iterator[Array]:
    """A new XS5226D from the default profile (see helpers.py for what it holds)."""
    opened = open_array(settings(state_dir))
    try:
        yield opened
        # Whatever the test changed, the indexes the changes carried are what the records say.
        state = opened.service.state
        assert indexes_of(state) == Indexes.of(state)
    finally:
        opened.close()


@pytest.fixture
def service(array: Array) -> ArrayService:
    return array.service


@pytest.fixture
def events(service: ArrayService) -> EventLog:
    """The events written from here on (see EventLog)."""
    return EventLog(service)


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[MakeService]:
    """make_service(backend=None, profile=True, state_dir=None): an ArrayService started on a
    SqliteStore and the given backend (a new SimulatedBackend by default), filled from the
    default profile when it is new and profile is True; closed when the test ends."""
    opened: list[ArrayService] = []

    def make(backend: SimulatedBackend | None = None, profile: bool = True,
             state_dir: Path | None = None) -> ArrayService:
        directory = state_dir or tmp_path / f"bare-{len(opened)}"
        service = ArrayService(SqliteStore(directory / DATABASE_NAME),
                               backend or SimulatedBackend(seed=SEED))
        opened.append(service)
        service.load()
        if service.start(SEED, None, BACKEND_OPTIONS) and profile:
            Profile.load().apply(service)
        return service

    try:
        yield make
    finally:
        for service in opened:
            service.close()


@pytest.fixture
def restart(array: Array) -> Iterator[Callable[[], ArrayService]]:
    """restart(): close the array (the one last opened) and open its state dir again, as a
    server restart does; the service of the reopened array is returned."""
    running = [array]

    def close_and_open() -> ArrayService:
        running[-1].close()
        running.append(open_array(array.settings))
        return running[-1].service

    try:
        yield close_and_open
    finally:
        for opened in running[1:]:
            opened.close()
