"""The `opensan` command: the application, `--version`, and its commands.

Nothing here imports the server: a command that talks to an array must answer at once, and
FastAPI, uvicorn and the service take most of a second to import. `serve` and `passwd`
(cli/server.py) import them when they run.
"""

from __future__ import annotations

from typing import Annotated

import typer

from opensan import __version__
from opensan.cli import commands, exporter, perf, server

app = typer.Typer(help="OpenSAN: an open storage-array controller speaking the QSAN SANOS API.",
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
