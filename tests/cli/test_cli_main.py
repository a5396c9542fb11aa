"""The `opensan` application: typer builds a command only when it runs, and help lists them all."""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

from opensan.cli import commands
from opensan.cli.main import LazyTyper, app


def test_a_command_is_built_only_when_it_runs() -> None:
    fresh = LazyTyper()
    fresh.callback()(lambda: None)  # a group, as opensan is
    commands.register(fresh)
    group = typer.main.get_command(fresh)
    assert isinstance(group, typer.core.TyperGroup)
    assert not fresh.declared.built
    with group.make_context("opensan", ["volume", "--help"]) as context:
        assert group.get_command(context, "volume") is group.get_command(context, "volume")
        assert group.get_command(context, "no-such-command") is None
    assert list(fresh.declared.built) == ["volume"]
    assert {"volumes", "snapshot", "login"} <= set(fresh.declared)


def test_help_lists_every_command_and_group() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.stdout.splitlines()
              if line.startswith("│ ") and len(line.split()) > 2 and not line.split()[1].startswith("-")}
    assert set(app.declared) <= listed, set(app.declared) - listed


def test_a_mistyped_command_is_told_the_nearest_names() -> None:
    result = CliRunner().invoke(app, ["volum"])
    assert result.exit_code == 2
    assert "Did you mean 'volume', 'volumes'?" in result.output
