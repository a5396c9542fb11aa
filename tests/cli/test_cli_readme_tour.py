"""README's "A short tour", line by line, against a fresh virtual array."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opensan.cli.main import app
from opensan.testing import VirtualArray

README = Path(__file__).parents[2] / "README.md"


def tour_commands() -> list[list[str]]:
    section = README.read_text().split("## A short tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README has no tour"
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [c[1:] for c in commands if c and c[0] == "opensan" and c[1] != "serve"]


def test_every_tour_command_works(opensan_array: VirtualArray, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSAN_CONFIG_DIR", str(tmp_path / "config"))
    commands = tour_commands()
    assert [c[0] for c in commands][:4] == ["login", "disks", "pools", "volumes"]
    runner = CliRunner()
    for command in commands:
        args = [opensan_array.base_url if a == "http://127.0.0.1:8080" else a for a in command]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
    snapshots = opensan_array.client.snapshots(
        next(v.id for v in opensan_array.client.volumes() if v.name == "vol-backup"))
    assert [s.name for s in snapshots.snapshots] == ["before-upgrade"]
