"""The `opensan` commands that talk to an array: one per endpoint of the SANOS API and its extensions.

`opensan login URL` saves a session (cli/session.py); every other command uses it through the SDK.
Each command shows a table, or with `--json` the array's JSON; each failure is one line on stderr
and an exit code from ExitCode, so scripts can tell a refusal from an unreachable array.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, ParamSpec, TypeVar

import typer
from rich.text import Text

from opensan.cli import render
from opensan.cli.render import capacity_bar, condition, level, size, state, table, when
from opensan.cli.session import SavedSession, forget_session, load_session, save_session
from opensan.client import (
    AuthenticationError,
    ConnectionFailed,
    InsecureTlsWarning,
    InvalidUrl,
    NotFound,
    NotSupported,
    PermissionDenied,
    RequestRefused,
    SanosClient,
    SanosError,
    TooManyRequests,
)
from opensan.client.api import Api
from opensan.client.array import StorageArray
from opensan.client.array import connect as open_client

if TYPE_CHECKING:  # the models import pydantic: only the commands that show a table need them
    from opensan.client.models import (
        Account,
        ApiEndpoint,
        Disk,
        DiskSmart,
        Event,
        EventPage,
        HardwareMonitor,
        LunMapping,
        Pool,
        SanosObject,
        SnapshotSpace,
        SystemInfo,
        Target,
        TargetLuns,
        Volume,
        VolumeSnapshots,
        VolumeWorkload,
    )

if TYPE_CHECKING:
    from opensan.client.xevo import XevoAbout, XevoClient


class ExitCode(IntEnum):
    """README.md's table of exit codes."""

    OK = 0
    # The array answered and refused (4xx, 501, 507); also a name or slot not found, or a
    # question answered no: nothing was changed.
    REFUSED = 1
    # A wrong command line or URL (typer's own usage errors exit 2 as well), a question with no
    # terminal to ask it on, or `serve` settings that cannot be used.
    USAGE = 2
    AUTHENTICATION = 3  # not logged in, session ended, wrong password, too many failed logins
    CONNECTION = 4  # no answer: refused connection, unknown host, time-out, TLS
    SERVER = 5  # the array failed (5xx) or answered something that is not its API's JSON
    ADDRESS = 6  # serve: cannot listen there (port taken, not this machine's address)
    STATE_DIR = 7  # serve, passwd: the state dir cannot hold the records (not a writable directory)


EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 the array refused the request (4xx), or nothing was changed; "
    "2 usage error, bad URL, or no terminal to ask on; 3 not logged in or authentication "
    "failed; 4 connection or TLS failure; 5 the array failed (5xx) or did not answer SANOS "
    "or XEVO JSON; 6 serve cannot listen on the address; 7 serve cannot use the state dir."
)

JsonOutput = Annotated[bool, typer.Option("--json", help="Print the array's JSON answer, for scripts.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
VolumeArg = Annotated[str, typer.Argument(metavar="VOLUME", help="Volume ID or name.")]
PoolArg = Annotated[str, typer.Argument(metavar="POOL", help="Pool ID or name.")]
TargetArg = Annotated[int, typer.Argument(metavar="TARGET", help="Target ID (see `opensan targets`).")]
DisksArg = Annotated[list[str], typer.Argument(
    metavar="DISKS...", help="Disk slots (0:1, as `opensan disks` shows) or IDs, separated by "
    "spaces or commas.")]
DiskArg = Annotated[str, typer.Argument(metavar="DISK", help="Disk slot (0:1) or ID.")]

READ = "Read the array"
CHANGE = "Change the array"
SESSION = "Session"
ACCOUNTS = "Accounts"
VIRTUAL = "Virtual array only"

P = ParamSpec("P")
Answer = TypeVar("Answer", bound="SanosObject | Sequence[SanosObject] | None")


# docs/errors.md: the 403 of a login (or a session) of an account an administrator disabled.
ACCOUNT_DISABLED = 16004


def exit_code(error: SanosError) -> ExitCode:
    # 429 is only ever a login refused for too many failed ones: an authentication failure.
    if isinstance(error, AuthenticationError | TooManyRequests):
        return ExitCode.AUTHENTICATION
    if isinstance(error, PermissionDenied) and error.code == ACCOUNT_DISABLED:
        return ExitCode.AUTHENTICATION
    if isinstance(error, InvalidUrl):
        return ExitCode.USAGE
    if isinstance(error, ConnectionFailed):
        return ExitCode.CONNECTION
    if isinstance(error, RequestRefused):
        return ExitCode.REFUSED
    return ExitCode.SERVER


def fail(message: str, code: ExitCode) -> NoReturn:
    """One line on stderr and the exit code that says what kind of failure it was."""
    render.err.print(f"opensan: {message}", style="red", soft_wrap=True)
    raise typer.Exit(code)


def reports_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Turn a SanosError into one line on stderr and its exit code, never a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except SanosError as error:
            fail(str(error), exit_code(error))

    return run


def _client(url: str, account: str, *, api: Api | None, password: str | None = None,
            token: str | None = None, refresh_token: str | None = None,
            ca_file: str | None = None, insecure: bool = False,
            timeout: float = 30.0) -> SanosClient | XevoClient:
    """A client of the given API; None: the one the array speaks (client/array.py)."""
    if insecure and url.startswith("https:"):
        render.warn(f"TLS certificate verification is off for {url}; the session token can be "
                    "read by anyone on the way.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureTlsWarning)  # said above, in one line
        return open_client(url, account, password, api=api, token=token,
                           refresh_token=refresh_token, verify=not insecure, ca_file=ca_file,
                           timeout=timeout)


def _saved() -> SavedSession:
    saved = load_session()
    if saved is None:
        raise AuthenticationError("Not logged in: run `opensan login URL` first.")
    return saved


def connect() -> SanosClient:
    """A SANOS client on the saved session, for the commands only SANOS's API serves; it cannot
    log in by itself (no password is saved)."""
    saved = _saved()
    if saved.api != Api.SANOS:
        raise NotSupported(f"This command needs the SANOS API, and this session speaks XEVO "
                           f"(QSAN's current API, which has no such call) to {saved.url}; an "
                           "array that speaks both takes `opensan login --api sanos`.")
    array = _client(saved.url, saved.account, api=Api.SANOS, token=saved.token,
                    ca_file=saved.ca_file, insecure=saved.insecure)
    assert isinstance(array, SanosClient)
    return array


@contextmanager
def connect_any() -> Iterator[StorageArray]:
    """A client on the saved session in the API it was saved with, for the commands both APIs
    serve. A XEVO client may renew its access token from the refresh token: the new one is
    saved, so the next command need not renew it again."""
    saved = _saved()
    with _client(saved.url, saved.account, api=saved.api, token=saved.token,
                 refresh_token=saved.refresh_token, ca_file=saved.ca_file,
                 insecure=saved.insecure) as array:
        try:
            yield array
        finally:
            if array.token is not None and array.token != saved.token:
                save_session(dataclasses.replace(saved, token=array.token))


def ask(as_json: bool, call: Callable[[SanosClient], Answer], show: Callable[[Answer], None],
        raw: Callable[[SanosClient], Any] | None = None) -> None:
    """Connect, make the call, then print the answer: the array's JSON with `--json` (`{}` when a
    change answers nothing), else `show` puts it in a table or a sentence for a person.

    Nearly every command is these steps; written once here, a command says only what it asks
    the array and how a person sees the answer. The connection is closed before anything prints.
    A read gives `raw` too, the same read through `array.raw`: its `--json` then prints the
    array's JSON as it came (print_raw).
    """
    if as_json and raw is not None:
        return print_raw(raw)
    with connect() as array:
        answer = call(array)
    if as_json:
        render.print_json({} if answer is None else answer)
    else:
        show(answer)


def ask_any(as_json: bool, call: Callable[[StorageArray], Answer],
            show: Callable[[Answer], None], raw: Callable[[SanosClient], Any] | None = None) -> None:
    """ask() for a command that both APIs serve: the answer is the same model from either. On a
    SANOS session a read's `--json` is `raw`'s, the array's JSON as it came (print_raw); on a
    XEVO session it is the SANOS-shaped models' JSON, which the conversion from XEVO builds."""
    if as_json and raw is not None and _saved().api is Api.SANOS:
        return print_raw(raw)
    with connect_any() as array:
        answer = call(array)
    if as_json:
        render.print_json({} if answer is None else answer)
    else:
        show(answer)


def print_raw(read: Callable[[SanosClient], Any]) -> None:
    """`--json` of a read: the array's JSON as it came (SanosClient.raw), building no model. The
    models and pydantic take as long to import as the rest of the command takes to answer."""
    with connect() as array:
        answer = read(array)
    render.print_json(answer)


def _maybe(value: int | None) -> str:
    """A number the array may not know (a disk without a temperature sensor)."""
    return "-" if value is None else str(value)


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit()


def volume_id(array: StorageArray, volume: str) -> int:
    """An all-digit argument is an ID; anything else is looked up as a volume name."""
    if _is_id(volume):
        return int(volume)
    for found in array.volumes():
        if found.name == volume:
            return found.id
    raise NotFound(f"No volume is named {volume!r}; `opensan volumes` lists them.")


def pool_id(array: StorageArray, pool: str) -> int:
    if _is_id(pool):
        return int(pool)
    for found in array.pools():
        if found.name == pool:
            return found.id
    raise NotFound(f"No pool is named {pool!r}; `opensan pools` lists them.")


_SLOT = re.compile(r"[0-9]+:[0-9]+")


def disk_ids(array: SanosClient, values: list[str]) -> list[int]:
    """Disks as a person names them: by the slot every table shows (`0:1`, looked up in the
    array's diskinfo) or by ID."""
    named = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not named or not all(_is_id(n) or _SLOT.fullmatch(n) for n in named):
        raise typer.BadParameter("give disks by slot or ID, e.g. 0:1 0:2 or 4781160641",
                                 param_hint="DISKS")
    by_slot = ({(d.enclosure_id, d.slot): d.id for d in array.disks()}
               if any(":" in n for n in named) else {})
    ids = []
    for n in named:
        if ":" not in n:
            ids.append(int(n))
            continue
        enclosure, slot = n.split(":")
        if (int(enclosure), int(slot)) not in by_slot:
            raise NotFound(f"No disk is in slot {n}; `opensan disks` lists them.")
        ids.append(by_slot[int(enclosure), int(slot)])
    return ids


def disk_id(array: SanosClient, disk: str) -> int:
    return disk_ids(array, [disk])[0]


def interactive() -> bool:
    """Whether a person is there to answer a question: stdin is a terminal."""
    return sys.stdin.isatty()


def confirm(question: str, yes: bool) -> None:
    """Ask before a deletion or a rollback. With no terminal to ask on, refuse rather than
    guess (a script gives --yes); an answer of no changes nothing and exits 1."""
    if yes:
        return
    if not interactive():
        fail(f"{question} Give --yes to answer it: stdin is not a terminal.", ExitCode.USAGE)
    try:
        agreed = typer.confirm(question, err=True)
    except typer.Abort:  # Ctrl-C or end of input
        agreed = False
    if not agreed:
        fail("Nothing was changed.", ExitCode.REFUSED)


def prompt_password(question: str, *, twice: bool, otherwise: str) -> str:
    """A password typed at a terminal, never echoed; with no terminal, what to do instead."""
    if not interactive():
        fail(f"{question}: stdin is not a terminal to ask on; {otherwise}.", ExitCode.USAGE)
    try:
        password: str = typer.prompt(question, hide_input=True, confirmation_prompt=twice,
                                     err=True)
    except typer.Abort:
        fail("No password was given.", ExitCode.USAGE)
    return password



def password_to_set(given: str | None, question: str, option: str) -> str:
    """A password to set: the option's (or $OPENSAN_NEW_PASSWORD's) value, else asked for twice
    at a terminal; never empty."""
    if given is None:
        given = prompt_password(question, twice=True,
                                otherwise=f"give {option} or set OPENSAN_NEW_PASSWORD")
    if not given:
        raise typer.BadParameter("the password is empty", param_hint=option)
    return given


# Session

@reports_errors
def login(
    url: Annotated[str, typer.Argument(help="The array, e.g. https://192.168.1.234 or "
                                       "http://127.0.0.1:8080")],
    account: Annotated[str, typer.Option("--account", "-a", help="Account to log in as")] = "admin",
    password: Annotated[str | None, typer.Option(
        envvar="OPENSAN_PASSWORD",
        help="Asked for at a terminal when not given; never saved. Also read from "
             "$OPENSAN_PASSWORD")] = None,
    ca_file: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Trust the array's certificate from this PEM file")] = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="Do not verify the array's TLS certificate (not recommended)")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer")] = 30.0,
    api: Annotated[Api | None, typer.Option(
        "--api", case_sensitive=False,
        help="The API to speak: sanos (XCubeSAN's) or xevo (QSAN's current); default: the one "
             "the array speaks (SANOS where it speaks both, as OpenSAN does)")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Log in to an array and keep the session for the other commands (never the password)."""
    if ca_file is not None and insecure:
        raise typer.BadParameter("use either --ca-file or --insecure", param_hint="--insecure")
    if password is None:
        password = prompt_password(f"Password of {account}", twice=False,
                                   otherwise="give --password or set OPENSAN_PASSWORD")
    if not password:
        raise typer.BadParameter("the password is empty", param_hint="--password")
    ca_path = str(ca_file.resolve()) if ca_file else None
    array = _client(url, account, api=api, password=password, ca_file=ca_path,
                    insecure=insecure, timeout=timeout)
    try:
        session = array.login()
    finally:
        array.close()  # not logout: the session is what this command leaves behind
    spoken = array.api
    refresh = None if isinstance(array, SanosClient) else array.refresh_token
    path = save_session(SavedSession(url=array.base_url, account=session.account,
                                     token=session.access_token, api=spoken,
                                     refresh_token=refresh, ca_file=ca_path, insecure=insecure))
    if as_json:
        render.print_json({"url": array.base_url, "api": spoken.value, "account": session.account,
                           "role": session.role, "expireTime": session.expire_time,
                           "sessionFile": str(path)})
    else:
        render.say(f"Logged in to {array.base_url} ({spoken.name} API) as {session.account} "
                   f"({session.role or 'role not shown'}); session saved in {path}.")
    if password == "1234":
        render.warn(f"account {session.account} still has QSAN's default password; set another "
                    f"with `opensan password {session.account}`.")


@reports_errors
def logout(as_json: JsonOutput = False) -> None:
    """End the saved session on the array and forget it here."""
    saved = load_session()
    if saved is None:
        message = "Not logged in."
    else:
        try:
            with connect_any() as array:
                array.logout()
        finally:
            forget_session()
        message = ("Logged out." if saved.api == Api.SANOS else "Forgot the session; XEVO has no "
                   "call to end it, so it idles out on the array.")
    if as_json:
        render.print_json({})
    else:
        render.say(message)


@reports_errors
def set_password(
    account: Annotated[str, typer.Argument(help="Account whose password to set, e.g. admin")],
    new_password: Annotated[str | None, typer.Option(
        envvar="OPENSAN_NEW_PASSWORD",
        help="Asked for (twice) at a terminal when not given. Also read from "
             "$OPENSAN_NEW_PASSWORD")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Set an account's password (admin only); its other sessions end."""
    password = password_to_set(new_password, f"New password for {account}", "--new-password")
    ask(as_json, lambda array: array.set_password(account, password),
        lambda _: render.say(f"Password of {account} set; its other sessions have ended."))


# Accounts (administrators only)

class RoleChoice(StrEnum):
    admin = "admin"
    user = "user"


AccountArg = Annotated[str, typer.Argument(metavar="NAME", help="Account name.")]
ROLE_LABELS = {"admin": "administrator", "user": "read-only"}


@reports_errors
def accounts(as_json: JsonOutput = False) -> None:
    """List the accounts, their roles, and which are disabled or keep the default password."""
    ask(as_json, lambda array: array.accounts(), _show_accounts,
        raw=lambda array: array.raw.accounts())


def _show_accounts(found: list[Account]) -> None:
    grid = table("Accounts", "Name", "Role", "State", "Password")
    for a in found:
        grid.add_row(a.name, ROLE_LABELS.get(a.role, a.role),
                     Text("enabled", style="green") if a.enabled
                     else Text("disabled", style="yellow"),
                     Text("default", style="bold red") if a.default_password else "set")
    render.show(grid)


account_app = typer.Typer(help="Create, disable, enable and delete accounts (admin only).",
                          no_args_is_help=True)


@account_app.command("create")
@reports_errors
def account_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="1-32 letters, digits, '-', "
                                        "'_', '.'")],
    role: Annotated[RoleChoice, typer.Option(help="admin (administrator) or user (read-only)")],
    password: Annotated[str | None, typer.Option(
        envvar="OPENSAN_NEW_PASSWORD",
        help="The new account's password; asked for (twice) at a terminal when not given. "
             "Also read from $OPENSAN_NEW_PASSWORD")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Create an account with a role and a password."""
    new = password_to_set(password, f"Password for {name}", "--password")
    ask(as_json, lambda array: array.create_account(name, role.value, new),
        lambda created: render.say(f"Created account {created.name} "
                                   f"({ROLE_LABELS.get(created.role, created.role)})."))


@account_app.command("disable")
@reports_errors
def account_disable(name: AccountArg, as_json: JsonOutput = False) -> None:
    """Disable an account: it cannot log in, and its sessions end at once."""
    ask(as_json, lambda array: array.disable_account(name),
        lambda _: render.say(f"Account {name} is disabled; its sessions have ended."))


@account_app.command("enable")
@reports_errors
def account_enable(name: AccountArg, as_json: JsonOutput = False) -> None:
    """Enable a disabled account again."""
    ask(as_json, lambda array: array.enable_account(name),
        lambda _: render.say(f"Account {name} is enabled."))


@account_app.command("delete")
@reports_errors
def account_delete(name: AccountArg, yes: Yes = False, as_json: JsonOutput = False) -> None:
    """Delete an account; its sessions end at once."""
    confirm(f"Delete account {name}?", yes)
    ask(as_json, lambda array: array.delete_account(name),
        lambda _: render.say(f"Deleted account {name}."))


# Read the array

@reports_errors
def endpoints(as_json: JsonOutput = False) -> None:
    """List every endpoint the array serves (GET /rest/)."""
    ask(as_json, lambda array: array.endpoints(), _show_endpoints,
        raw=lambda array: array.raw.endpoints())


def _show_endpoints(found: list[ApiEndpoint]) -> None:
    grid = table(None, "Method", "Path", "Access", "What it does")
    for item in found:
        grid.add_row(item.method, item.path, item.access or "", item.description)
    render.show(grid)


@reports_errors
def service_package(
    output: Annotated[Path, typer.Option("--output", "-o", dir_okay=False,
                                         help="The zip file to write (replaced if it exists)")],
) -> None:
    """Download the service package for technical support (admin only): a zip of the array's
    information, its whole event log, the server's log and its configuration."""
    try:
        file = output.open("wb")
    except OSError as error:
        raise typer.BadParameter(f"cannot write {output}: {error.strerror}",
                                 param_hint="--output") from None
    try:
        with file, connect() as array:
            written = array.download_service_package(file)
    except BaseException:
        output.unlink(missing_ok=True)  # a refusal or a broken download leaves no half zip
        raise
    render.say(f"Service package written to {output} ({size(written)}, {written} bytes).")


@reports_errors
def system(as_json: JsonOutput = False) -> None:
    """Show the system: model, serial number, firmware, health, controllers (XEVO: what its
    about call says)."""
    ask_any(as_json, _system_of, _show_system, raw=lambda array: array.raw.system_info())


def _system_of(array: StorageArray) -> SystemInfo | XevoAbout:
    if isinstance(array, SanosClient):
        return array.system_info()
    from opensan.client.xevo import XevoClient

    assert isinstance(array, XevoClient)
    return array.about()


def _show_system(info: SystemInfo | XevoAbout) -> None:
    from opensan.client.models import SystemInfo  # a table needs the models anyway

    if not isinstance(info, SystemInfo):
        return render.show(render.facts(info.system_name, [
            ("Model", f"{info.model_name} ({info.model_type})"),
            ("Serial number", info.serial_number), ("Firmware", info.firmware_ver),
            ("WWN", info.wwn)]))
    render.show(render.facts(info.system_name, [
        ("Model", info.model_name), ("Serial number", info.serial_number),
        ("Firmware", info.firmware_version), ("Health", state(info.system_health)),
        ("Controllers", info.controller_mode), ("Master", info.master_controller),
        ("Form factor", f"{info.form_factor}, {info.bays} bays, {info.rack_units}U"),
        ("Time (UTC)", when(info.time)), ("Up", render.duration(info.uptime_seconds)),
        ("Licenses", f"SSD cache {info.licenses.ssd_cache}, auto tiering "
                     f"{info.licenses.auto_tiering}"),
        *([("TLS fingerprint", info.tls_fingerprint)] if info.tls_fingerprint else []),
    ]))
    grid = table("Controllers", "Slot", "Status", "Serial number", "CPU", "Memory", "Firmware",
                 "Host cards")
    for c in info.controllers:
        cards = ", ".join(f"{slot.slot}: {slot.card}" for slot in c.host_card_slots)
        grid.add_row(str(c.slot), state(c.status), c.serial_number, c.cpu, f"{c.memory_gb} GB",
                     c.firmware_version, cards)
    render.show(grid)


@reports_errors
def hardware(as_json: JsonOutput = False) -> None:
    """Show the sensors: temperatures, fans, power supplies, voltages, batteries."""
    ask(as_json, lambda array: array.hardware_monitor(), _show_hardware,
        raw=lambda array: array.raw.hardware_monitor())


def _show_hardware(monitor: HardwareMonitor) -> None:
    render.out.print(Text.assemble("System health: ", state(monitor.system_health)))
    for enclosure in monitor.enclosures:
        grid = table(f"Enclosure {enclosure.id}: {enclosure.name}", "Location", "Sensor", "Value",
                     "Status", "Sensor ID")
        for sensor in enclosure.sensors:
            grid.add_row(sensor.location, sensor.name, f"{sensor.value} {sensor.unit}".strip(),
                         state(sensor.status), sensor.id or "")
        render.show(grid)


@reports_errors
def disks(as_json: JsonOutput = False) -> None:
    """List the disks of every enclosure."""
    if as_json:
        return print_raw(lambda array: array.raw.disks())
    with connect() as array:
        found = array.disks()
        pools = {p.id: p.name for p in array.pools()}
    grid = table(None, "Slot", "ID", "Type", "Capacity", "Health", "Usage", "Pool", "Temp °C",
                 "Model")
    for d in found:
        pool = "" if d.pool_id is None else pools.get(d.pool_id, str(d.pool_id))
        grid.add_row(f"{d.enclosure_id}:{d.slot}", str(d.id), d.type, size(d.capacity_bytes),
                     condition(d.health, d.status), d.usage, pool, _maybe(d.temperature_c),
                     f"{d.vendor} {d.model}")
    render.show(grid)


@reports_errors
def smart(
    disk: Annotated[str | None, typer.Argument(
        metavar="[DISK]", help="Show this disk's attributes: its slot (0:1) or ID")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Show S.M.A.R.T. health of every disk, or the attributes of one."""
    if disk is None:
        return ask(as_json, lambda array: array.disk_smart(), _show_smart,
                   raw=lambda array: array.raw.disk_smart())
    ask(as_json, lambda array: _smart_of(array, disk), _show_disk_smart)


def _smart_of(array: SanosClient, disk: str) -> list[DiskSmart]:
    """Only the disk asked for, still in a list: `--json` prints the array's list, of one."""
    wanted = disk_id(array, disk)
    one = [s for s in array.disk_smart() if s.disk_id == wanted]
    if not one:
        raise NotFound(f"No disk has ID {disk}; `opensan disks` lists them.")
    return one


def _show_smart(found: list[DiskSmart]) -> None:
    grid = table(None, "Slot", "Disk ID", "Health", "Temp °C", "Power-on hours", "Attributes")
    for s in found:
        failing = [a.name for a in s.attributes if a.status.upper() != "OK"]
        attributes = (Text(s.note or "not supported", style="dim") if s.supported is False
                      else Text(", ".join(failing), style="red") if failing
                      else Text(f"{len(s.attributes)} OK", style="green"))
        grid.add_row(f"{s.enclosure_id}:{s.slot}", str(s.disk_id), state(s.health),
                     _maybe(s.temperature_c), _maybe(s.power_on_hours), attributes)
    render.show(grid)


def _show_disk_smart(found: list[DiskSmart]) -> None:
    one = found[0]
    if one.supported is False:
        return render.say(f"Disk {one.disk_id} has no S.M.A.R.T.: {one.note or 'not supported'}")
    grid = table(f"Disk {one.disk_id} in slot {one.enclosure_id}:{one.slot}: {one.health}, "
                 f"{_maybe(one.temperature_c)} °C, {_maybe(one.power_on_hours)} h", "ID",
                 "Attribute", "Value", "Worst", "Threshold", "Raw", "Status")
    for a in one.attributes:
        grid.add_row(str(a.id), a.name, str(a.value), str(a.worst), str(a.threshold), str(a.raw),
                     state(a.status))
    render.show(grid)


@reports_errors
def pools(as_json: JsonOutput = False) -> None:
    """List the pools with their health and how full they are (XEVO does not say these: -)."""
    ask_any(as_json, lambda array: array.pools(), _show_pools, raw=lambda array: array.raw.pools())


def _show_pools(found: list[Pool]) -> None:
    grid = table(None, "ID", "Name", "Type", "RAID", "Health", "Use", "Capacity", "Free", "Disks",
                 "Volumes")
    for p in found:
        known = p.capacity_bytes is not None and p.used_bytes is not None
        grid.add_row(str(p.id), p.name, p.type, p.raid_level,
                     condition(p.health, p.status or "Online") if p.health else "-",
                     capacity_bar(p.used_bytes or 0, p.capacity_bytes or 0) if known else "-",
                     _size(p.capacity_bytes), _size(p.free_bytes),
                     "-" if p.disk_ids is None else str(len(p.disk_ids)), str(p.volume_count))
    render.show(grid)


def _size(count: int | None) -> str:
    return "-" if count is None else size(count)


@reports_errors
def volumes(as_json: JsonOutput = False) -> None:
    """List the volumes with their health, use and snapshot space."""
    if as_json:
        return ask_any(as_json, lambda array: array.volumes(), render.print_json,
                       raw=lambda array: array.raw.volumes())
    with connect_any() as array:
        found = array.volumes()
        pool_names = {p.id: p.name for p in array.pools()}
    grid = table(None, "ID", "Name", "Pool", "Size", "Use", "Health", "Snapshot space", "Snapshots",
                 "Mapped")
    for v in found:
        # A thick volume is allocated whole: a full bar would only alarm.
        use = (capacity_bar(v.used_bytes, v.capacity_bytes) if v.provision.lower() == "thin"
               else Text(v.provision.lower(), style="dim"))
        space = (Text.assemble(capacity_bar(v.snapshot_used_bytes, v.snapshot_space_bytes, 6),
                               f" of {size(v.snapshot_space_bytes)}")
                 if v.snapshot_space_bytes else Text("none", style="dim"))
        grid.add_row(str(v.id), v.name, pool_names.get(v.pool_id, str(v.pool_id)),
                     size(v.capacity_bytes), use, condition(v.health, v.status), space,
                     str(v.snapshot_count), "yes" if v.mapped else "no")
    render.show(grid)


@reports_errors
def snapshots(volume: VolumeArg, as_json: JsonOutput = False) -> None:
    """List a volume's snapshots and its snapshot space."""
    ask_any(as_json, lambda array: array.snapshots(volume_id(array, volume)),
            lambda found: _show_snapshots(found, volume),
            raw=lambda array: array.raw.snapshots(volume_id(array, volume)))


def _show_snapshots(found: VolumeSnapshots, volume: str) -> None:
    if not found.snapshot_space_bytes:
        render.say(f"Volume {volume} has no snapshot space: set some with "
                   f"`opensan snapshot space {volume} SIZE_GB`.")
    else:
        render.out.print(Text.assemble(
            f"Snapshot space of volume {volume}: ",
            capacity_bar(found.snapshot_used_bytes, found.snapshot_space_bytes),
            f"  {size(found.snapshot_used_bytes)} of {size(found.snapshot_space_bytes)} used"))
    if found.snapshots:
        grid = table(None, "ID", "Name", "Taken (UTC)", "Used", "Status")
        for s in found.snapshots:
            grid.add_row(str(s.id), s.name, when(s.created_at), size(s.used_bytes), state(s.status))
        render.show(grid)


@reports_errors
def targets(as_json: JsonOutput = False) -> None:
    """List the targets (iSCSI nodes) hosts can log in to."""
    ask_any(as_json, lambda array: array.targets(), _show_targets,
            raw=lambda array: array.raw.targets())


def _show_targets(found: list[Target]) -> None:
    grid = table(None, "ID", "Type", "Name", "IQN / WWN", "Controller", "Portals", "LUNs")
    for t in found:
        grid.add_row(str(t.id), t.type, t.name, t.iqn or t.wwn or "", _maybe(t.controller),
                     ", ".join(t.portals), str(t.lun_count))
    render.show(grid)


def _mapped(mapping: LunMapping) -> str:
    """The volume, or which of its snapshots, a LUN shows."""
    if mapping.snapshot_name is None:
        return mapping.volume_name
    return f"{mapping.volume_name} @ {mapping.snapshot_name}"


@reports_errors
def luns(target: TargetArg, as_json: JsonOutput = False) -> None:
    """List the LUNs of a target and the LUN numbers still free there."""
    ask_any(as_json, lambda array: array.target_luns(target), _show_luns,
            raw=lambda array: array.raw.target_luns(target))


def _show_luns(found: TargetLuns) -> None:
    if found.luns:
        grid = table(f"Target {found.target_id}", "LUN", "Volume", "Volume ID", "Permission", "Hosts")
        for m in found.luns:
            grid.add_row(str(m.lun), _mapped(m), str(m.volume_id), state(m.permission),
                         ", ".join(m.hosts))
        render.show(grid)
    render.say(f"Free LUNs of target {found.target_id}: {render.number_ranges(found.free_luns)}")


@reports_errors
def mappings(as_json: JsonOutput = False) -> None:
    """List every LUN mapping: which volume each host sees at which target and LUN."""
    ask_any(as_json, lambda array: array.lun_mappings(), _show_mappings,
            raw=lambda array: array.raw.lun_mappings())


def _show_mappings(found: list[LunMapping]) -> None:
    grid = table(None, "Target", "LUN", "Volume", "Volume ID", "Permission", "Hosts", "Protocol")
    for m in found:
        grid.add_row(str(m.target_id), str(m.lun), _mapped(m), str(m.volume_id),
                     state(m.permission), ", ".join(m.hosts), m.protocol)
    render.show(grid)


def _print_event(event: Event, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(event.to_wire(), ensure_ascii=False))
        sys.stdout.flush()  # a pipe must see each event as it comes
    else:
        render.out.print(Text.assemble(when(event.time), "  ", level(f"{event.level:<7}"), "  ",
                                       f"{event.source:<8}  ", f"{actor(event):<16}  ",
                                       event.message), soft_wrap=True)


@reports_errors
def events(
    page: Annotated[int, typer.Option(min=1, help="Page 1 holds the newest events")] = 1,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events "
                                         "(Ctrl-C stops)")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls with "
                                            "--follow")] = 2.0,
    as_json: JsonOutput = False,
) -> None:
    """Show the event log, newest first; --follow prints new events as they come (JSON Lines with --json)."""
    if follow:
        with connect() as array:
            return _follow(array, interval, as_json)
    ask(as_json, lambda array: array.events(page), _show_events,
        raw=lambda array: array.raw.events(page))


def actor(event: Event) -> str:
    """Who made the change: account@client, the client of a login attempt, "system" for the
    array itself, "-" where the array did not record it (older events, other firmware)."""
    if event.account and event.client:
        return f"{event.account}@{event.client}"
    return event.account or event.client or "-"


def _show_events(found: EventPage) -> None:
    grid = table(f"Events, page {found.page} of {found.total_pages} ({found.total} events)",
                 "ID", "Time (UTC)", "Level", "Source", "By", "Message")
    for e in found.events:
        grid.add_row(str(e.id), when(e.time), level(e.level), e.source, actor(e), e.message)
    render.show(grid)


def _follow(array: SanosClient, interval: float, as_json: bool) -> None:
    """Like `tail -f`: the last ten events, then each new one, oldest first."""
    new = list(reversed(array.events(1).events))[-10:]
    last_seen = 0
    try:
        while True:
            for event in new:
                _print_event(event, as_json)
                last_seen = max(last_seen, event.id)
            time.sleep(interval)
            new = array.events_since(last_seen)
    except KeyboardInterrupt:
        return


# Change the array: the manual's POSTs

snapshot_app = typer.Typer(help="Take, map, delete and roll back snapshots; set snapshot space.",
                           no_args_is_help=True)


@snapshot_app.command("take")
@reports_errors
def snapshot_take(
    volume: VolumeArg,
    name: Annotated[str | None, typer.Option(help="1-32 letters, digits, '-', '_', '.' "
                                             "(default: made from the time)")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Take a snapshot of a volume (it needs snapshot space)."""
    ask_any(as_json, lambda array: array.take_snapshot(volume_id(array, volume), name),
        lambda taken: render.say(f"Took snapshot {taken.name} (ID {taken.id}) of volume "
                                 f"{volume}."))


@snapshot_app.command("space")
@reports_errors
def snapshot_space(
    volume: VolumeArg,
    size_gb: Annotated[int, typer.Argument(min=0, metavar="SIZE_GB",
                                           help="Snapshot space in GiB; 0 removes it")],
    as_json: JsonOutput = False,
) -> None:
    """Set a volume's snapshot space (taken from its pool)."""
    ask_any(as_json, lambda array: array.set_snapshot_space(volume_id(array, volume), size_gb),
        lambda space: _show_snapshot_space(space, volume))


def _show_snapshot_space(space: SnapshotSpace, volume: str) -> None:
    if space.snapshot_space_bytes:
        render.say(f"Snapshot space of volume {volume} is {size(space.snapshot_space_bytes)}"
                   f" ({size(space.snapshot_used_bytes)} used).")
    else:
        render.say(f"Volume {volume} has no snapshot space any more.")


SnapshotArg = Annotated[str, typer.Argument(
    metavar="SNAPSHOT", help="Snapshot ID, or its name with --volume (a XEVO array's snapshot ID "
    "is its name)")]
OfVolume = Annotated[str | None, typer.Option(
    "--volume", metavar="VOLUME", help="The snapshot's volume (ID or name): needed for a name, "
    "and always on a XEVO array")]


def _snapshot_call(array: StorageArray, snapshot: str,
                   volume: str | None) -> tuple[int | str, int | None]:
    """The snapshot and volume arguments of delete_snapshot and rollback_snapshot."""
    xevo = array.api is Api.XEVO
    if volume is None and (xevo or not _is_id(snapshot)):
        raise typer.BadParameter(f"give the volume of snapshot {snapshot}: a snapshot "
                                 + ("of a XEVO array " if xevo else
                                    "named ") + "is named within its volume",
                                 param_hint="--volume")
    return snapshot, None if volume is None else volume_id(array, volume)


@snapshot_app.command("delete")
@reports_errors
def snapshot_delete(snapshot: SnapshotArg, volume: OfVolume = None, yes: Yes = False,
                    as_json: JsonOutput = False) -> None:
    """Delete a snapshot."""
    confirm(f"Delete snapshot {snapshot}?", yes)
    ask_any(as_json, lambda array: array.delete_snapshot(*_snapshot_call(array, snapshot, volume)),
            lambda deleted: render.say(f"Deleted snapshot {deleted.name} of volume "
                                       f"{deleted.volume_id}."))


@snapshot_app.command("rollback")
@reports_errors
def snapshot_rollback(snapshot: SnapshotArg, volume: OfVolume = None, yes: Yes = False,
                      as_json: JsonOutput = False) -> None:
    """Roll a volume back to a snapshot; the snapshots taken after it are deleted."""
    confirm(f"Roll back to snapshot {snapshot}? Data written since, and later snapshots, are lost.",
            yes)
    ask_any(as_json,
            lambda array: array.rollback_snapshot(*_snapshot_call(array, snapshot, volume)),
            lambda snap: render.say(f"Volume {snap.volume_id} rolled back to snapshot {snap.name}."))


@snapshot_app.command("map")
@reports_errors
def snapshot_map(
    target: TargetArg,
    lun: Annotated[int, typer.Argument(min=0, max=254, help="LUN number, 0-254")],
    snapshot: Annotated[int, typer.Argument(metavar="SNAPSHOT_ID")],
    host: Annotated[list[str] | None, typer.Option(
        help="Initiator IQN allowed to see the LUN; repeat for more (default: every host)")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Map a snapshot, read-only, at a LUN of a target (`unmap` removes it)."""
    ask(as_json, lambda array: array.map_snapshot(target, lun, snapshot, host),
        lambda mapping: render.say(f"Mapped snapshot {mapping.snapshot_name} of {mapping.volume_name} "
                                   f"at LUN {mapping.lun} of target {mapping.target_id} (read-only, "
                                   f"hosts {', '.join(mapping.hosts)})."))


@reports_errors
def map_lun(
    target: TargetArg,
    lun: Annotated[int, typer.Argument(min=0, max=254, help="LUN number, 0-254")],
    volume: VolumeArg,
    read_only: Annotated[bool, typer.Option("--read-only", help="Hosts may only read")] = False,
    host: Annotated[list[str] | None, typer.Option(
        help="Initiator IQN allowed to see the LUN; repeat for more (default: every host)")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Map a volume to a LUN of a target."""
    ask_any(as_json, lambda array: array.map_lun(target, lun, volume_id(array, volume),
                                             "ro" if read_only else "rw", host),
        lambda mapping: render.say(f"Mapped {volume} at LUN {mapping.lun} of target "
                                   f"{mapping.target_id} ({mapping.permission}, hosts "
                                   f"{', '.join(mapping.hosts)})."))


@reports_errors
def unmap_lun(
    target: TargetArg,
    lun: Annotated[int, typer.Argument(min=0, max=254, help="LUN number, 0-254")],
    as_json: JsonOutput = False,
) -> None:
    """Unmap a LUN: hosts stop seeing that volume there."""
    ask_any(as_json, lambda array: array.unmap_lun(target, lun),
        lambda mapping: render.say(f"Unmapped {mapping.volume_name} from LUN {mapping.lun} of target "
                                   f"{mapping.target_id}."))


# Change the array: extensions

class ProvisionChoice(StrEnum):
    thick = "thick"
    thin = "thin"


class SpareChoice(StrEnum):
    global_ = "global"
    dedicated = "dedicated"
    free = "free"


class SensorChoice(StrEnum):
    good = "good"
    warning = "warning"
    failed = "failed"


def _provision(choice: ProvisionChoice | None) -> Literal["thick", "thin"] | None:
    return None if choice is None else choice.value


pool_app = typer.Typer(help="Create pools, add disks, delete pools.", no_args_is_help=True)


@pool_app.command("create")
@reports_errors
def pool_create(
    name: Annotated[str, typer.Argument(help="1-32 letters, digits, '-', '_', '.'")],
    raid_level: Annotated[str, typer.Argument(metavar="RAID_LEVEL", help="0, 1, 5, 6, 10, 50 or 60")],
    disks: DisksArg,
    provision: Annotated[ProvisionChoice | None, typer.Option(
        help="thick (default) or thin")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Use disks that hold a file system (their data is lost)")] = False,
    as_json: JsonOutput = False,
) -> None:
    """Create a pool from free disks."""
    ask(as_json, lambda array: array.create_pool(name, raid_level, disk_ids(array, disks),
                                                 _provision(provision), force=force),
        lambda pool: render.say(f"Created pool {pool.name} (ID {pool.id}): {pool.raid_level}, "
                                f"{_size(pool.capacity_bytes)} on {len(pool.disk_ids or [])} disks."))


@pool_app.command("add-disks")
@reports_errors
def pool_add_disks(pool: PoolArg, disks: DisksArg, as_json: JsonOutput = False) -> None:
    """Add free disks to a pool (it keeps its RAID level)."""
    ask(as_json, lambda array: array.add_pool_disks(pool_id(array, pool), disk_ids(array, disks)),
        lambda grown: render.say(f"Pool {pool} has {len(grown.disk_ids or [])} disks, "
                                 f"{_size(grown.capacity_bytes)}."))


@pool_app.command("delete")
@reports_errors
def pool_delete(pool: PoolArg, yes: Yes = False, as_json: JsonOutput = False) -> None:
    """Delete an empty pool; its disks become free."""
    confirm(f"Delete pool {pool}?", yes)
    ask(as_json, lambda array: array.delete_pool(pool_id(array, pool)),
        lambda _: render.say(f"Deleted pool {pool}."))


volume_app = typer.Typer(help="Create, show, extend and delete volumes.", no_args_is_help=True)


@volume_app.command("create")
@reports_errors
def volume_create(
    pool: PoolArg,
    name: Annotated[str, typer.Argument(help="1-32 letters, digits, '-', '_', '.'")],
    size_gb: Annotated[int, typer.Argument(min=1, metavar="SIZE_GB", help="Size in GiB")],
    provision: Annotated[ProvisionChoice | None, typer.Option(
        help="thick or thin (default: the pool's type)")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Create a volume in a pool."""
    ask_any(as_json, lambda array: array.create_volume(pool_id(array, pool), name, size_gb,
                                                   _provision(provision)),
        lambda created: render.say(f"Created volume {created.name} (ID {created.id}), "
                                   f"{size(created.capacity_bytes)} {created.provision.lower()}."))


@volume_app.command("extend")
@reports_errors
def volume_extend(
    volume: VolumeArg,
    size_gb: Annotated[int, typer.Argument(min=1, metavar="SIZE_GB", help="New size in GiB")],
    as_json: JsonOutput = False,
) -> None:
    """Grow a volume to a new size (volumes never shrink)."""
    ask_any(as_json, lambda array: array.extend_volume(volume_id(array, volume), size_gb),
        lambda grown: render.say(f"Volume {volume} is now {size(grown.capacity_bytes)}."))


@volume_app.command("delete")
@reports_errors
def volume_delete(volume: VolumeArg, yes: Yes = False, as_json: JsonOutput = False) -> None:
    """Delete a volume that is neither mapped nor has snapshots."""
    confirm(f"Delete volume {volume} and all its data?", yes)
    ask_any(as_json, lambda array: array.delete_volume(volume_id(array, volume)),
            lambda _: render.say(f"Deleted volume {volume}."))


@volume_app.command("show")
@reports_errors
def volume_show(volume: VolumeArg, as_json: JsonOutput = False) -> None:
    """Show one volume."""
    ask_any(as_json, lambda array: array.volume(volume_id(array, volume)), _show_volume)


def _show_volume(v: Volume) -> None:
    render.show(render.facts(f"Volume {v.name}", [
        ("ID", str(v.id)), ("Pool ID", str(v.pool_id)), ("Size", size(v.capacity_bytes)),
        ("Used", size(v.used_bytes)), ("Provisioning", v.provision), ("RAID", v.raid_level),
        ("Health", condition(v.health, v.status)), ("Cache", v.cache_mode), ("WWN", v.wwn),
        ("Snapshot space", f"{size(v.snapshot_used_bytes)} of {size(v.snapshot_space_bytes)} "
                           f"used, {v.snapshot_count} snapshots"),
        ("Mapped", "yes" if v.mapped else "no")]))


target_app = typer.Typer(help="Create and delete iSCSI targets.", no_args_is_help=True)


@target_app.command("create")
@reports_errors
def target_create(
    controller: Annotated[int, typer.Argument(help="Controller, 1 or 2")],
    node: Annotated[int | None, typer.Option(help="Node number (default: the lowest free)")] = None,
    name: Annotated[str | None, typer.Option(help="Target alias")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Create an iSCSI target on a controller."""
    ask(as_json, lambda array: array.create_target(controller, node, name),
        lambda created: render.say(f"Created target {created.id}: {created.iqn or created.wwn}."))


@target_app.command("delete")
@reports_errors
def target_delete(target: TargetArg, yes: Yes = False, as_json: JsonOutput = False) -> None:
    """Delete a target that has no LUNs."""
    confirm(f"Delete target {target}?", yes)
    ask(as_json, lambda array: array.delete_target(target),
        lambda deleted: render.say(f"Deleted target {deleted.id} ({deleted.name})."))


@reports_errors
def spare(
    disks: DisksArg,
    kind: Annotated[SpareChoice, typer.Option("--type", help="global spare, spare dedicated to "
                                              "--pool, or free again")] = SpareChoice.global_,
    pool: Annotated[str | None, typer.Option(metavar="POOL",
                                             help="Pool ID or name, for a dedicated spare")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Make disks spares, or free them again."""
    ask(as_json, lambda array: array.set_spare(disk_ids(array, disks), kind.value,
                                               None if pool is None else pool_id(array, pool)),
        _show_spares)


def _show_spares(changed: list[Disk]) -> None:
    for d in changed:
        render.say(f"Disk {d.id} in slot {d.enclosure_id}:{d.slot} is {d.usage}.")


# Virtual array only: fault injection, time, host I/O

sim_app = typer.Typer(help="Fault injection and time on the virtual array (OpenSAN only).",
                      no_args_is_help=True)


@sim_app.command("fail-disk")
@reports_errors
def sim_fail_disk(disk: DiskArg, as_json: JsonOutput = False) -> None:
    """Make a disk fail; a spare starts rebuilding."""
    ask(as_json, lambda array: array.fail_disk(disk_id(array, disk)),
        lambda failed: render.out.print(Text.assemble(
            f"Disk {failed.id} in slot {failed.enclosure_id}:{failed.slot}: ", state(failed.health))))


@sim_app.command("replace-disk")
@reports_errors
def sim_replace_disk(disk: DiskArg, as_json: JsonOutput = False) -> None:
    """Swap a failed disk for a new one in the same slot."""
    ask(as_json, lambda array: array.replace_disk(disk_id(array, disk)),
        lambda new: render.say(f"Slot {new.enclosure_id}:{new.slot} holds new disk {new.id} "
                               f"({new.usage})."))


@sim_app.command("sensor")
@reports_errors
def sim_sensor(
    sensor: Annotated[str, typer.Argument(metavar="SENSOR_ID",
                                          help="From `opensan hardware`, e.g. fan-1")],
    status: Annotated[SensorChoice, typer.Argument(help="good clears a forced status")],
    as_json: JsonOutput = False,
) -> None:
    """Force a sensor's status."""
    ask(as_json, lambda array: array.set_sensor_status(sensor, status.value),
        lambda _: render.say(f"Sensor {sensor} set to {status.value}."))


@sim_app.command("latency")
@reports_errors
def sim_latency(milliseconds: Annotated[int, typer.Argument(min=0, metavar="MS")],
                reads: Annotated[bool, typer.Option(
                    "--reads", help="Slow every read (GET) down instead")] = False,
                as_json: JsonOutput = False) -> None:
    """Make every change (or, with --reads, every read) take this long."""
    said = f"Every read now answers {milliseconds} ms late." if reads else \
        f"Every change now takes {milliseconds} ms."
    ask(as_json, lambda array: (array.set_read_latency if reads else array.set_change_latency)(
        milliseconds), lambda _: render.say(said))


@sim_app.command("clock")
@reports_errors
def sim_clock(seconds: Annotated[int, typer.Argument(min=0, help="Seconds to move on")],
              as_json: JsonOutput = False) -> None:
    """Move the array clock forward (rebuilds, drift, session expiry)."""
    ask(as_json, lambda array: array.advance_clock(seconds),
        lambda clock: render.say(f"Array time is {when(clock.time)} UTC."))


@sim_app.command("host-write")
@reports_errors
def sim_host_write(
    volume: VolumeArg,
    size_gb: Annotated[int, typer.Argument(min=0, metavar="SIZE_GB", help="GiB written")],
    as_json: JsonOutput = False,
) -> None:
    """Pretend hosts wrote to a volume: thin volumes and snapshots grow."""
    ask(as_json, lambda array: array.host_write(volume_id(array, volume), size_gb),
        lambda written: render.say(f"Volume {volume}: {size(written.used_bytes)} used, "
                                   f"snapshots {size(written.snapshot_used_bytes)}."))


@sim_app.command("workload")
@reports_errors
def sim_workload(
    volume: Annotated[str | None, typer.Argument(metavar="[VOLUME]", help="Volume ID or name "
                                                  "to set; without it, show every volume's")] = None,
    iops: Annotated[int | None, typer.Option(min=0, help="Average IOPS")] = None,
    read_percent: Annotated[int | None, typer.Option(min=0, max=100, help="Share of reads")] = None,
    block_kb: Annotated[int | None, typer.Option(min=1, help="Block size in KiB")] = None,
    as_json: JsonOutput = False,
) -> None:
    """Show or set the workload the hosts of each volume run (IOPS, reads, block size)."""
    if volume is None:
        ask(as_json, lambda array: array.workloads(), _show_workloads,
            raw=lambda array: array.raw.workloads())
        return
    ask(as_json, lambda array: array.set_workload(volume_id(array, volume), iops, read_percent,
                                                  block_kb),
        lambda w: _show_workloads([w]))


def _show_workloads(found: list[VolumeWorkload]) -> None:
    grid = table("Host workloads", "Volume ID", "Volume", "IOPS", "Reads %", "Block KiB",
                 "Set", "Running")
    for w in found:
        grid.add_row(str(w.volume_id), w.name, str(w.iops), str(w.read_percent), str(w.block_kb),
                     "set" if w.chosen else "seeded", "yes" if w.running else "no (not mapped "
                     "or pool down)" if w.iops else "no (0 IOPS)")
    render.show(grid)


def register(app: typer.Typer) -> None:
    """Add these commands to the `opensan` application (cli/main.py)."""
    commands: list[tuple[Callable[..., None], str, str | None]] = [
        (login, SESSION, None), (logout, SESSION, None), (set_password, SESSION, "password"),
        (system, READ, None), (hardware, READ, None), (disks, READ, None), (smart, READ, None),
        (pools, READ, None), (volumes, READ, None), (snapshots, READ, None),
        (targets, READ, None), (luns, READ, None), (mappings, READ, None), (events, READ, None),
        (endpoints, READ, None), (service_package, READ, "service-package"),
        (accounts, ACCOUNTS, None),
        (map_lun, CHANGE, "map"), (unmap_lun, CHANGE, "unmap"), (spare, CHANGE, None),
    ]
    for command, panel, name in commands:
        app.command(name, rich_help_panel=panel)(command)
    for sub_app, name, panel in [
        (snapshot_app, "snapshot", CHANGE), (pool_app, "pool", CHANGE),
        (volume_app, "volume", CHANGE), (target_app, "target", CHANGE),
        (account_app, "account", ACCOUNTS), (sim_app, "sim", VIRTUAL),
    ]:
        app.add_typer(sub_app, name=name, rich_help_panel=panel)
    app.info.epilog = EXIT_CODES_HELP
