"""The `opensan` command: the application, `--version`, and its commands.

Nothing here imports the server: a command that talks to an array must answer at once, and
FastAPI, uvicorn and the service take most of a second to import. `serve` and `passwd`
(cli/server.py) import them when they run.

Commands are declared as with any typer app (`app.command(...)(function)`, `app.add_typer(...)`,
each module's `register(app)`), but typer turns a function into its click command only when that
command is run, or listed by `--help`: building all fifty on every run took as long as the GET.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Annotated, Any, TypeVar

import typer
import typer.core
import typer.main

from opensan import __version__
from opensan.cli import commands, exporter, perf, server

Function = TypeVar("Function", bound=Callable[..., Any])


class _BuiltWhenUsed(MutableMapping[str, Any]):
    """A group's commands by name, each built by typer from its declaration when first used."""

    def __init__(self) -> None:
        self.declared: dict[str, typer.Typer] = {}  # a typer app holding just that command
        self.built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.built:
            built = typer.main.get_command(self.declared[name])
            # A group comes inside its app (a group of one group); a command is the app itself.
            self.built[name] = (built.commands[name] if isinstance(built, typer.core.TyperGroup)
                                 else built)
        return self.built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        self.declared.pop(name, None)
        del self.built[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self.declared, **self.built})

    def __len__(self) -> int:
        return len({**self.declared, **self.built})


class LazyTyper(typer.Typer):
    """A typer app whose commands (and groups of commands) are built only when used."""

    def __init__(self, **settings: Any) -> None:
        declared = self.declared = _BuiltWhenUsed()

        class Group(typer.core.TyperGroup):
            def __init__(self, **attributes: Any) -> None:
                super().__init__(**attributes)
                self.commands = declared

        super().__init__(cls=Group, **settings)

    def command(self, name: str | None = None,
                **settings: Any) -> Callable[[Function], Function]:
        def declare(function: Function) -> Function:
            alone = typer.Typer(add_completion=False)
            alone.command(name, **settings)(function)
            self.declared.declared[name or typer.main.get_command_name(function.__name__)] = alone
            return function

        return declare

    def add_typer(self, typer_instance: typer.Typer, *, name: str,  # type: ignore[override]
                  **settings: Any) -> None:
        alone = typer.Typer(add_completion=False)
        alone.add_typer(typer_instance, name=name, **settings)
        self.declared.declared[name] = alone


app = LazyTyper(help="OpenSAN: an open storage-array controller speaking the QSAN SANOS API.",
                no_args_is_help=True)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"opensan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """OpenSAN command line."""


server.register(app)
commands.register(app)
perf.register(app)
exporter.register(app)
