"""`opensan serve` and `opensan passwd`: the commands that run an array rather than talk to one.

They need the server (FastAPI, uvicorn, the service, the backends), which takes most of a second
to import, so they import it when they run: the other commands never load it
(tests/cli/test_cli_startup.py).

`serve` checks what can fail before it prints or creates anything: the settings (a given TLS
certificate and key among them), the state dir, then the address, which it binds itself and
hands to uvicorn, so that nobody can take the port between the check and the start. Each
failure is one line with its own exit code (ExitCode).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from opensan.cli import render
from opensan.cli.commands import ExitCode, fail, prompt_password

_serve_log = logging.getLogger("opensan.serve")

if TYPE_CHECKING:
    from opensan.array import Array
    from opensan.config import Settings
    from opensan.snmp.agent import SnmpAgent
    from opensan.tls import Certificate


def serve(
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port; 0 takes a free one (default 8080)")] = None,
    state_dir: Annotated[Path | None, typer.Option(
        help="Where the array keeps its records (default opensan-state)")] = None,
    model: Annotated[str | None, typer.Option(
        help="Model of a new virtual array, default XS5226D (a wrong one lists them)")] = None,
    profile: Annotated[Path | None, typer.Option(
        help="Profile TOML for a new array (docs/profile.md)")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of a new array's hardware")] = None,
    backend: Annotated[str | None, typer.Option(
        help="simulated (the virtual array), linux or ceph (default simulated)")] = None,
    config: Annotated[Path | None, typer.Option(
        help="The backend's config file (docs/linux.md, docs/ceph.md)")] = None,
    log_level: Annotated[str | None, typer.Option(
        help="debug, info, warning or error (default info)")] = None,
    log_format: Annotated[str | None, typer.Option(
        help="text, or json: one JSON object a line (time, level, request_id, account, client, "
        "method, path, status, duration_ms), for a log collector (default text)")] = None,
    tls: Annotated[bool | None, typer.Option(
        "--tls/--http", show_default=False,
        help="HTTPS (with --tls-cert, else a certificate the array makes and keeps in its state "
        "dir) or plain HTTP; default HTTPS on linux and ceph, HTTP on the virtual array")] = None,
    tls_cert: Annotated[Path | None, typer.Option(
        metavar="PEM", help="The server's TLS certificate (and its chain), with --tls-key")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        metavar="PEM", help="The certificate's private key, unencrypted")] = None,
    snmp: Annotated[str | None, typer.Option(
        metavar="HOST:PORT", help="Also serve SNMP (UDP) there; off unless given "
        "(docs/monitoring.md)")] = None,
    snmp_community: Annotated[str | None, typer.Option(
        metavar="NAME", help="The SNMP v1/v2c read-only community (v3 users: settings file)")
    ] = None,
    snmp_trap: Annotated[list[str] | None, typer.Option(
        metavar="[USER@]HOST:PORT", help="Send WARNING and ERROR events as SNMP traps there: "
        "v2c, or v3 authPriv as USER of the settings' snmp_users (repeatable)")] = None,
    settings_file: Annotated[Path | None, typer.Option(
        "--settings", envvar="OPENSAN_SETTINGS", metavar="FILE",
        help="TOML file of settings (README.md), below the options and OPENSAN_* variables")] = None,
) -> None:
    """Serve the SANOS RESTful API on an array (the embedded virtual XCubeSAN by default).

    Each option can also be an OPENSAN_* variable (OPENSAN_PORT, OPENSAN_STATE_DIR, ...;
    --config is OPENSAN_BACKEND_CONFIG, --tls/--http OPENSAN_TLS=true/false) or a key of the
    --settings file (port, state_dir, ..., backend_config, tls): the command line wins, then the
    variables, then the file.
    """
    import opensan.api.logs as logs
    import opensan.tls as certificates
    from opensan.array import open_array, serves_https, state_dir_problem
    from opensan.config import Settings, SettingsError
    from opensan.domain.errors import SanError
    from opensan.malloc import limit_arenas

    limit_arenas()  # before any thread starts

    given = {"host": host, "port": port, "state_dir": state_dir, "model": model,
             "profile": profile, "seed": seed, "backend": backend, "backend_config": config,
             "log_level": log_level, "log_format": log_format, "tls": tls, "tls_cert": tls_cert,
             "tls_key": tls_key, "snmp": snmp, "snmp_community": snmp_community,
             "snmp_trap": snmp_trap or None}
    try:
        settings = Settings.load({k: v for k, v in given.items() if v is not None}, settings_file)
        problem = state_dir_problem(settings)
        https = serves_https(settings)
        certificate = (certificates.load(settings.tls_cert, settings.tls_key)
                       if settings.tls_cert and settings.tls_key else None)
    except (SettingsError, certificates.TlsProblem) as error:
        fail(str(error), ExitCode.USAGE)
    except SanError as error:
        fail(error.message, ExitCode.USAGE)
    log_config = logs.configure(settings.log_level, settings.log_format)
    if problem:
        _fail(settings, problem, ExitCode.STATE_DIR)
    with _listen(settings.host, settings.port, settings) as listener, _snmp_socket(settings) as snmp_socket:
        if https and certificate is None:
            certificate = _own_certificate(settings)
        try:
            array = open_array(settings)
        except SanError as error:
            _fail(settings, error.message, ExitCode.USAGE)
        try:
            _announce(array, settings, listener.getsockname(), certificate)
            _run(array, settings, listener, certificate, log_config, snmp_socket)
        finally:
            array.close()


def _fail(settings: Settings | None, message: str, code: ExitCode) -> NoReturn:
    """fail(), or in the JSON log format an error record of the log, so that every line on
    stderr is JSON once the settings are read."""
    if settings is not None and settings.log_format == "json":
        _serve_log.error(message)
        raise typer.Exit(code)
    fail(message, code)


def _tell(settings: Settings, message: str, warning: bool = False) -> None:
    """A line of serve's own: printed (a warning in yellow), or a record of the JSON log."""
    if settings.log_format == "json":
        _serve_log.log(logging.WARNING if warning else logging.INFO, message)
    elif warning:
        render.err.print(f"WARNING: {message}", style="yellow", soft_wrap=True)
    else:
        render.err.print(message, soft_wrap=True)


def _own_certificate(settings: Settings) -> Certificate:
    """The array's self-signed certificate, from its state dir or made there now (on Ceph the
    state dir is this server's own: it holds nothing else)."""
    import opensan.tls as certificates

    try:
        return certificates.kept(settings.state_dir, settings.host)
    except OSError as error:
        _fail(settings, f"cannot keep the TLS certificate in state dir {settings.state_dir}: "
              f"{error.strerror}", ExitCode.STATE_DIR)
    except certificates.TlsProblem as error:
        _fail(settings, str(error), ExitCode.STATE_DIR)


def _listen(host: str, port: int, settings: Settings | None = None) -> socket.socket:
    """The socket uvicorn will serve on, bound and listening: a taken port or an address that is
    not this machine's fails here, in one line that names it (in the log's format when the
    settings are given)."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        listener = socket.socket(family, kind, proto)
    except OSError as error:  # socket.gaierror: an unknown host name
        _fail(settings, f"cannot listen on {where}: {error.strerror}", ExitCode.ADDRESS)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        listener.bind(address)
        listener.listen()  # two servers that bound the same port: the second fails here
    except OSError as error:
        listener.close()
        _fail(settings, f"cannot listen on {where}: {error.strerror}", ExitCode.ADDRESS)
    return listener


def _snmp_socket(settings: Settings) -> socket.socket | contextlib.nullcontext[None]:
    """The SNMP agent's UDP socket, bound (a taken port fails here, as for the API's)."""
    if settings.snmp is None:
        return contextlib.nullcontext()
    from opensan.config import udp_address

    host, port = udp_address(settings.snmp)
    where = settings.snmp
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)[0]
        udp = socket.socket(family, kind, proto)
    except OSError as error:
        _fail(settings, f"cannot listen for SNMP on {where}: {error.strerror}", ExitCode.ADDRESS)
    try:
        udp.bind(address)
    except OSError as error:
        udp.close()
        _fail(settings, f"cannot listen for SNMP on {where}: {error.strerror}", ExitCode.ADDRESS)
    return udp


def _announce(array: Array, settings: Settings, address: tuple[str, int],
              certificate: Certificate | None) -> None:
    for account in array.service.accounts.with_default_password():
        _tell(settings, f"account {account!r} still has the default password; change it with "
              "POST /rest/account/setpassword/account/<username>/password/<new>.", warning=True)
    if certificate is None and not ipaddress.ip_address(address[0]).is_loopback:
        _tell(settings, f"serving plain HTTP on {settings.host}, beyond this machine: passwords "
              "and session tokens cross the network readable. Serve HTTPS (--tls, or "
              "--tls-cert and --tls-key).", warning=True)
    info = array.service.system.info()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"{'https' if certificate else 'http'}://{host}:{address[1]}"
    _tell(settings, f"OpenSAN {info.hardware.model_name} ({settings.backend}) serial "
          f"{info.hardware.serial_number}, state in {settings.state_dir}, API on "
          f"{url}/rest/ (console: {url}/, docs: {url}/docs)")
    if certificate:
        _tell(settings, f"TLS certificate {certificate.cert_file} (valid until "
              f"{certificate.not_after:%Y-%m-%d}), SHA-256 fingerprint {certificate.fingerprint}")


def _run(array: Array, settings: Settings, listener: socket.socket,
         certificate: Certificate | None, log_config: dict[str, Any] | None,
         snmp_socket: socket.socket | None) -> None:
    import gc
    import threading

    import uvicorn

    from opensan.api.app import create_app
    from opensan.api.protocol import uvicorn_options
    from opensan.malloc import trim_periodically

    # What start-up made lives as long as the server, the records above all (266,000 at an
    # XCubeSAN's full scale): kept out of the cyclic collector's passes, each of which would
    # walk them all (0.17 s there), here and once more for the app's routes before serving.
    gc.freeze()
    limits = settings.limits()
    server = uvicorn.Server(uvicorn.Config(
        create_app(array.service, tick_seconds=settings.tick_seconds, limits=limits,
                   scrape_token=settings.metrics_token, fast_path=settings.fast_path,
                   tls_fingerprint=certificate.fingerprint if certificate else None),
        host=settings.host, port=listener.getsockname()[1], access_log=False,
        log_level=settings.log_level, log_config=log_config,
        **uvicorn_options(limits, certificate.context if certificate else None)))
    stop_trimming = threading.Event()
    trim_periodically(stop_trimming)
    agent = _snmp_agent(array, settings, snmp_socket) if snmp_socket else None
    gc.freeze()
    try:
        server.run(sockets=[listener])
    finally:
        stop_trimming.set()
        if agent:
            agent.close()
    if not server.started:
        _fail(settings, "the server did not start; its log above says why", ExitCode.SERVER)


def _snmp_agent(array: Array, settings: Settings, snmp_socket: socket.socket) -> SnmpAgent:
    from opensan.config import trap_receiver
    from opensan.snmp.agent import SnmpAgent

    receivers = [trap_receiver(receiver) for receiver in settings.snmp_trap]

    community = settings.snmp_community.get_secret_value() if settings.snmp_community else None
    trap_community = settings.snmp_trap_community or settings.snmp_community
    agent = SnmpAgent(
        array.service, snmp_socket, community=community, users=settings.snmp_users,
        trap_receivers=[(host, port) for user, host, port in receivers if user is None],
        v3_trap_receivers=[(user, host, port) for user, host, port in receivers if user],
        trap_community=trap_community.get_secret_value() if trap_community else "public",
        contact=settings.snmp_contact, location=settings.snmp_location)
    agent.start()
    host, port = agent.address
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    traps = f", traps to {len(settings.snmp_trap)} receivers" if settings.snmp_trap else ""
    render.err.print(f"SNMP agent on udp {where}, engine ID 0x{agent.engine_id.hex()}{traps}",
                     soft_wrap=True)
    return agent


def passwd(
    account: Annotated[str, typer.Argument(help="Account name, e.g. admin")],
    state_dir: Annotated[Path | None, typer.Option(
        help="The array's state dir (default opensan-state)")] = None,
    backend: Annotated[str | None, typer.Option(
        help="The array's backend (default simulated)")] = None,
    config: Annotated[Path | None, typer.Option(
        help="The backend's config file (on Ceph it names where the records are)")] = None,
    settings_file: Annotated[Path | None, typer.Option(
        "--settings", envvar="OPENSAN_SETTINGS", metavar="FILE",
        help="The settings file `opensan serve` is given: its state_dir, backend, backend_config")
    ] = None,
) -> None:
    """Set an account's password with the servers stopped (a real array does not start while
    QSAN's default passwords are set): in the state dir, or on Ceph in the cluster. The array is
    found as `opensan serve` finds it: options, then OPENSAN_* variables, then --settings."""
    from opensan.array import open_store, state_dir_problem
    from opensan.config import Settings, SettingsError
    from opensan.domain.errors import SanError
    from opensan.service.accounts import set_password_offline

    given = {"state_dir": state_dir, "backend": backend, "backend_config": config}
    try:
        settings = Settings.load({k: v for k, v in given.items() if v is not None}, settings_file)
        problem = state_dir_problem(settings)
    except SettingsError as error:
        fail(str(error), ExitCode.USAGE)
    except SanError as error:
        fail(error.message, ExitCode.USAGE)
    if problem:
        fail(problem, ExitCode.STATE_DIR)
    password = prompt_password(f"New password for {account}", twice=True,
                               otherwise="run `opensan passwd` in a terminal")
    try:
        set_password_offline(open_store(settings), account, password,
                             changed_by="opensan passwd")
    except SanError as error:
        fail(error.message, ExitCode.USAGE)
    render.err.print(f"Password of {account} set.")


def register(app: typer.Typer) -> None:
    """Add these commands to the `opensan` application (cli/main.py)."""
    app.command()(serve)
    app.command()(passwd)
