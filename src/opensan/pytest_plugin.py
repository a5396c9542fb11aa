"""The pytest plugin: a fresh virtual XCubeSAN per test (`opensan_array`), for integrators' CI.

Installing opensan registers it (entry point `pytest11`, name `opensan`), so any test can ask for
`opensan_array`: an array running in the test process, in a background thread, on a free
127.0.0.1 port with its own state directory under the test's tmp_path, and a client logged in
as admin. Override the `opensan_settings` fixture to choose the model, seed or profile. Loading
the plugin imports nothing heavy (the server starts only for a test that asks for it); turn it
off with `-p no:opensan`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from opensan.testing import DEFAULT_SEED, VirtualArray, run_virtual_array

if TYPE_CHECKING:
    from opensan.config import Settings


@pytest.fixture
def opensan_settings(tmp_path: Path) -> Settings:
    """Settings of the array `opensan_array` starts: a fresh state dir, a fixed seed."""
    from opensan.config import Settings

    return Settings(state_dir=tmp_path / "opensan-state", seed=DEFAULT_SEED)


@pytest.fixture
def opensan_array(opensan_settings: Settings) -> Iterator[VirtualArray]:
    """A fresh virtual XCubeSAN (the default profile), and a client logged in as admin."""
    with run_virtual_array(opensan_settings) as array:
        yield array
