"""The `opensan` command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from opensan.api.app import create_app
from opensan.api.protocol import uvicorn_options
from opensan.array import open_array, open_store
from opensan.backends.simulated.catalogue import MODELS
from opensan.config import Settings
from opensan.domain.errors import SanError
from opensan.service.accounts import set_password_offline

app = typer.Typer(help="OpenSAN: an open storage-array controller speaking the QSAN SANOS API.",
                  no_args_is_help=True)
err = Console(stderr=True)


@app.callback()
def main() -> None:
    """OpenSAN command line."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="Where the array keeps its records")] = Path(
        "opensan-state"),
    model: Annotated[str | None, typer.Option(
        help=f"Model of a new virtual array, one of {', '.join(MODELS)} (default XS5226D)")] = None,
    profile: Annotated[Path | None, typer.Option(
        help="Profile TOML for a new array (docs/profile.md)")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of a new array's hardware")] = None,
    backend: Annotated[str, typer.Option(
        help="simulated (the virtual array), linux or ceph")] = "simulated",
    config: Annotated[Path | None, typer.Option(
        help="The backend's config file (docs/linux.md, docs/ceph.md)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Serve the SANOS RESTful API on an array (the embedded virtual XCubeSAN by default)."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    try:
        settings = Settings(host=host, port=port, state_dir=state_dir, model=model,
                            profile=profile, seed=seed, backend=backend,
                            backend_config=config)
        array = open_array(settings)
    except SanError as error:
        err.print(f"[red]opensan: {error.message}[/red]")
        raise typer.Exit(2) from None
    for account in array.service.accounts.with_default_password():
        err.print(f"[yellow]WARNING: account {account!r} still has the default password; change "
                  "it with POST /rest/account/setpassword/account/<username>/password/<new>."
                  "[/yellow]")
    info = array.service.system.info()
    err.print(f"OpenSAN {info.hardware.model_name} ({settings.backend}) serial "
              f"{info.hardware.serial_number}, "
              f"state in {settings.state_dir}, API on http://{host}:{port}/rest/ "
              f"(docs: http://{host}:{port}/docs)")
    limits = settings.limits()
    try:
        uvicorn.run(create_app(array.service, tick_seconds=settings.tick_seconds, limits=limits),
                    host=host, port=port, access_log=False, log_level=log_level.lower(),
                    **uvicorn_options(limits))
    finally:
        array.close()


@app.command()
def passwd(
    account: Annotated[str, typer.Argument(help="admin or user")],
    state_dir: Annotated[Path, typer.Option(help="The array's state dir")] = Path(
        "opensan-state"),
    backend: Annotated[str, typer.Option(help="The array's backend")] = "simulated",
    config: Annotated[Path | None, typer.Option(
        help="The backend's config file (on Ceph it names where the records are)")] = None,
) -> None:
    """Set an account's password with the servers stopped (a real array does not start while
    QSAN's default passwords are set): in the state dir, or on Ceph in the cluster."""
    password = typer.prompt(f"New password for {account}", hide_input=True,
                            confirmation_prompt=True)
    try:
        settings = Settings(state_dir=state_dir, backend=backend, backend_config=config)
        set_password_offline(open_store(settings), account, password,
                             changed_by="opensan passwd")
    except SanError as error:
        err.print(f"[red]opensan: {error.message}[/red]")
        raise typer.Exit(2) from None
    err.print(f"Password of {account} set.")


# ----------------------------------------------------------------------------------------------
# The commands that talk to an array (login, disks, pools, volumes, snapshot, map, events, ...):
# they live in cli/commands.py; this block only adds them to `opensan`.
from opensan.cli.commands import register  # noqa: E402

register(app)
