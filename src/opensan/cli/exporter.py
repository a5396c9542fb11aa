"""`opensan exporter`: OpenSAN's metric names for any QSAN array, SANOS (XCubeSAN, OpenSAN) or
XEVO (QSAN's current API), read through the SDK and served to Prometheus (docs/monitoring.md,
"The exporter").

The password comes from a file or $OPENSAN_PASSWORD, never from the command line (a process
list shows that to everyone). uvicorn, Starlette and the exporter are imported when the command
runs, so the other commands never load them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from opensan.cli import render
from opensan.cli.commands import ExitCode, fail
from opensan.client import Api, SanosError

DEFAULT_LISTEN = "127.0.0.1:9720"


def _secret(path: Path | None, variable: str | None, what: str) -> str | None:
    """A secret from a file (its first line, without the line end) or, without one, from the
    environment variable."""
    if path is not None:
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            fail(f"cannot read the {what} file {path}: {error}", ExitCode.USAGE)
        secret = lines[0] if lines else ""  # as it is: a password may have spaces
        if not secret:
            fail(f"the {what} file {path} is empty", ExitCode.USAGE)
        return secret
    return (os.environ.get(variable) or None) if variable else None


def _address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") or "0.0.0.0"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise typer.BadParameter(f"{listen!r} is not HOST:PORT", param_hint="--listen")
    return host, int(port)


def exporter(
    url: Annotated[str, typer.Option(envvar="OPENSAN_EXPORTER_URL",
                                     help="The array, e.g. https://san1.example")],
    account: Annotated[str, typer.Option(envvar="OPENSAN_EXPORTER_ACCOUNT",
                                         help="Account to log in as (read-only `user` is enough)")],
    password_file: Annotated[Path | None, typer.Option(
        envvar="OPENSAN_EXPORTER_PASSWORD_FILE", metavar="FILE",
        help="File whose first line is the password; else $OPENSAN_PASSWORD")] = None,
    ca_file: Annotated[Path | None, typer.Option(
        envvar="OPENSAN_EXPORTER_CA_FILE", metavar="PEM", exists=True, dir_okay=False,
        help="Trust the array's certificate from this PEM file (TLS is always verified)")] = None,
    listen: Annotated[str, typer.Option(envvar="OPENSAN_EXPORTER_LISTEN", metavar="ADDR",
                                        help="HOST:PORT to serve /metrics on")] = DEFAULT_LISTEN,
    scrape_timeout: Annotated[float, typer.Option(
        envvar="OPENSAN_EXPORTER_SCRAPE_TIMEOUT", min=0.1, max=300.0,
        help="Seconds a scrape waits for the array; what is late is served stale")] = 10.0,
    concurrency: Annotated[int, typer.Option(
        envvar="OPENSAN_EXPORTER_CONCURRENCY", min=1, max=16,
        help="Reads of one scrape sent to the array at the same time")] = 4,
    token_file: Annotated[Path | None, typer.Option(
        envvar="OPENSAN_EXPORTER_TOKEN_FILE", metavar="FILE",
        help="Ask scrapers for this bearer token (the file's first line); else /metrics is open")
    ] = None,
    log_level: Annotated[str, typer.Option(envvar="OPENSAN_EXPORTER_LOG_LEVEL",
                                           help="debug, info, warning or error")] = "info",
    api: Annotated[Api | None, typer.Option(
        "--api", envvar="OPENSAN_EXPORTER_API", case_sensitive=False,
        help="The API to read: sanos or xevo; default: the one the array speaks (SANOS where "
             "it speaks both, as OpenSAN does)")] = None,
) -> None:
    """Serve the metrics of a QSAN array (SANOS: XCubeSAN or OpenSAN; or XEVO) to Prometheus,
    with the names OpenSAN's own /metrics has, through one session kept across scrapes."""
    import uvicorn

    from opensan.cli.server import _listen
    from opensan.exporter.http import create_app
    from opensan.exporter.scraper import Scraper
    from opensan.exporter.source import open_source

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter(f"{log_level!r} is not debug, info, warning or error",
                                 param_hint="--log-level")
    host, port = _address(listen)
    password = _secret(password_file, "OPENSAN_PASSWORD", "password")
    if password is None:
        fail("no password: give --password-file FILE or set OPENSAN_PASSWORD", ExitCode.USAGE)
    token = _secret(token_file, None, "token")
    try:
        source = open_source(url, account, password, api=api, ca_file=ca_file,
                             timeout=scrape_timeout)
    except SanosError as error:
        fail(error.message, ExitCode.USAGE)
    scraper = Scraper(source, deadline=scrape_timeout, concurrency=concurrency)
    try:
        with _listen(host, port) as listener:
            logging.basicConfig(level=log_level.upper(),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            if log_level.lower() != "debug":  # httpx logs every request at INFO
                logging.getLogger("httpx").setLevel(logging.WARNING)
            where = listener.getsockname()
            speaks = api.value if api else "its API found at the first scrape"
            render.err.print(f"opensan exporter: {url} ({speaks}) as {account}, "
                             f"metrics on http://{host}:{where[1]}/metrics "
                             f"({'bearer token' if token else 'open'})", soft_wrap=True)
            server = uvicorn.Server(uvicorn.Config(
                create_app(scraper, token), log_level=log_level.lower(), access_log=False,
                lifespan="off"))
            server.run(sockets=[listener])
    finally:
        scraper.close()


def register(app: typer.Typer) -> None:
    """Add the command to the `opensan` application (cli/main.py)."""
    app.command()(exporter)
