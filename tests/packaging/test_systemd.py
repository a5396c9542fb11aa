"""The systemd units of packaging/systemd: valid for systemd, and as locked down as they claim.

This machine has no systemd running, so the units are not started here; `systemd-analyze`
checks them offline (syntax, the command exists, and the exposure rating); .ci/run installs
it (Debian's systemd package).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).parent.parent.parent / "packaging" / "systemd"
INSTALLED_COMMAND = "/opt/opensan/bin/opensan"
# systemd-analyze's scale: 0 is fully locked down, 10 is a unit with no sandboxing at all.
MAX_EXPOSURE = {"opensan.service": 4.0, "opensan-exporter.service": 1.5}

def _unit_here(name: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's `opensan` (docs/install.md puts it
    in /opt/opensan)."""
    command = shutil.which("opensan")
    assert command, "opensan is not installed"
    text = (UNITS / name).read_text()
    assert INSTALLED_COMMAND in text
    unit = tmp_path / name
    unit.write_text(text.replace(INSTALLED_COMMAND, command))
    return unit


@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_the_unit_is_valid(name: str, tmp_path: Path) -> None:
    result = subprocess.run(["systemd-analyze", "verify", str(_unit_here(name, tmp_path))],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_the_unit_is_locked_down(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager",
         str(_unit_here(name, tmp_path))], capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE[name], result.stdout


def test_a_unit_that_runs_as_root_keeps_only_the_capabilities_it_names() -> None:
    text = (UNITS / "opensan.service").read_text()
    bounding = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.MULTILINE)
    assert bounding
    assert "CAP_SYS_MODULE" not in bounding.group(1) and "~" not in bounding.group(1)
    assert re.search(r"^NoNewPrivileges=yes$", text, re.MULTILINE)
    assert re.search(r"^ProtectSystem=strict$", text, re.MULTILINE)


def test_the_exporter_runs_as_a_user_of_its_own_with_nothing_of_roots() -> None:
    text = (UNITS / "opensan-exporter.service").read_text()
    assert re.search(r"^DynamicUser=yes$", text, re.MULTILINE)
    assert re.search(r"^CapabilityBoundingSet=$", text, re.MULTILINE)
    assert not re.search(r"^(User|Group)=", text, re.MULTILINE)
    # The password reaches the service as a credential, by file: never on its command line.
    credential = re.search(r"^LoadCredential=(\w+):(\S+)$", text, re.MULTILINE)
    assert credential
    start = re.search(r"^ExecStart=(.*)$", text, re.MULTILINE)
    assert start and f"--password-file %d/{credential.group(1)}" in start.group(1)
    assert "--password " not in start.group(1)
