"""The `linux` marker, and the root conftest's helpers for the tests in this directory.

Tests marked `linux` need root, loop devices, btrfs and the tools in runner.PACKAGES. They
never skip: a missing tool fails the test with the package to install. Their fixtures (loop
devices, mounts, a private tgtd) live in tests/conftest.py, shared with the API tests' Linux
arrays; every one cleans up in its teardown, also when the test fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest


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
