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


def shell_lines(section: str) -> list[list[str]]:
    """The first bash block of a README section, as words, without comments."""
    block = re.search(r"```bash\n(.*?)```", README.read_text().split(f"## {section}\n", 1)[1], re.S)
    assert block, f"README has no bash block in {section}"
    lines = block.group(1).replace("\\\n", " ").splitlines()  # a line continued with \ is one
    return [words for line in lines if (words := shlex.split(line, comments=True))]


def tour_commands() -> list[list[str]]:
    return [c[1:] for c in shell_lines("A short tour") if c[0] == "opensan" and c[1] != "serve"]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_the_tour_runs_beside_the_first_session_and_cleans_up() -> None:
    """The first session talks to `opensan serve` on its defaults (8080, ./opensan-state): the
    tour's own array must use another port and state dir, and remove what it made."""
    lines = shell_lines("A short tour")
    serve = next(c for c in lines if c[:2] == ["opensan", "serve"])
    port, state_dir = option(serve, "--port"), option(serve, "--state-dir")
    assert port != "8080" and Path(state_dir) != Path("opensan-state")
    session = " ".join(" ".join(c) for c in shell_lines("A first session"))
    assert "127.0.0.1:8080/" in session and f":{port}/" not in session
    assert ["opensan", "login", f"http://127.0.0.1:{port}", "--password", "1234"] in lines
    log = serve[serve.index("2>") + 1]
    assert ["rm", "-r", state_dir.removeprefix("./"), log] in lines


def test_every_tour_command_works(opensan_array: VirtualArray, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENSAN_CONFIG_DIR", str(tmp_path / "config"))
    commands = tour_commands()
    assert [c[0] for c in commands][:4] == ["login", "disks", "pools", "volumes"]
    runner = CliRunner()
    for command in commands:
        args = [opensan_array.base_url if a.startswith("http://127.0.0.1:") else a for a in command]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (command, result.output)
    snapshots = opensan_array.client.snapshots(
        next(v.id for v in opensan_array.client.volumes() if v.name == "vol-backup"))
    assert [s.name for s in snapshots.snapshots] == ["before-upgrade"]
