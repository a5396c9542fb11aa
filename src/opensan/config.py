"""Server settings: command-line options over OPENSAN_* environment variables over a settings
file (TOML) over defaults."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from opensan.api.limits import ServerLimits
from opensan.store.sqlite import DATABASE_NAME

_DAY = 86400
_LIMITS = ServerLimits()
ENV_PREFIX = "OPENSAN_"


class SettingsError(ValueError):
    """A setting that cannot be used, said in one line that names where it came from."""


def udp_address(text: str, lowest_port: int = 0) -> tuple[str, int]:
    """HOST:PORT (or [IPv6]:PORT) as (host, port); raises ValueError."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not lowest_port <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (port {lowest_port} to 65535)")
    return host, int(port)


def trap_receiver(text: str) -> tuple[str | None, str, int]:
    """A trap receiver, HOST:PORT (SNMPv2c) or USER@HOST:PORT (SNMPv3 authPriv as the
    snmp_users entry USER), as (user or None, host, port); raises ValueError."""
    user, at, address = text.rpartition("@")
    if at and not user:
        raise ValueError(f"{text!r} has no user before @ (USER@HOST:PORT)")
    return (user or None, *udp_address(address, lowest_port=1))


class SnmpUser(BaseModel):
    """An SNMPv3 user of the SNMP agent: authentication and privacy (authPriv) always."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=32, pattern=r"^[\x21-\x7e]+$")
    auth_protocol: Literal["SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"] = "SHA-256"
    # Pass phrases, at least 8 characters as RFC 3414 asks; SecretStr keeps them out of every
    # repr, log and the service package.
    auth_key: SecretStr = Field(min_length=8, max_length=256)
    priv_protocol: Literal["AES", "AES-192", "AES-256"] = "AES"
    priv_key: SecretStr = Field(min_length=8, max_length=256)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    state_dir: Path = Path("opensan-state")
    backend: str = "simulated"
    backend_config: Path | None = Field(default=None, description="The backend's own file")
    model: str | None = Field(default=None, description="Simulated model; a new array only")
    profile: Path | None = Field(default=None, description="Profile for a new array")
    seed: int | None = Field(default=None, ge=0, description="Seed for a new array")
    system_name: str | None = None
    event_page_size: int = Field(default=50, ge=1, le=1000)
    # Times are bounded so that no setting pushes an expiry past what dates can hold.
    session_idle_seconds: float = Field(default=1800.0, gt=0, le=30 * _DAY)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_seconds: float = Field(default=300.0, gt=0, le=_DAY)
    login_lockout_seconds: float = Field(default=300.0, gt=0, le=_DAY)
    tick_seconds: float = Field(default=1.0, gt=0, le=60,
                                description="How often rebuilds advance")
    # The server's limits (api/limits.py, docs/security.md).
    max_body_bytes: int = Field(default=_LIMITS.max_body_bytes, ge=1024, le=64 * 2**20)
    header_timeout_seconds: float = Field(default=_LIMITS.header_timeout_seconds, gt=0, le=300)
    idle_timeout_seconds: float = Field(default=_LIMITS.idle_timeout_seconds, gt=0, le=300)
    max_connections: int = Field(default=_LIMITS.max_connections, ge=1, le=65536)
    login_concurrency: int = Field(default=_LIMITS.login_concurrency, ge=1, le=64)
    login_queue: int = Field(default=_LIMITS.login_queue, ge=0, le=4096)
    login_wait_seconds: float = Field(default=_LIMITS.login_wait_seconds, ge=0, le=60)
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="Addresses whose X-Forwarded-For is believed")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # text lines, or one JSON object a line for a log collector (api/logs.py).
    log_format: Literal["text", "json"] = "text"
    # The declared endpoints answered without FastAPI's routing (api/fastpath.py); off only to
    # compare (bench/fast_reads.py, bench/commit_bench.py) or to rule the fast path out.
    fast_path: bool = True
    # A bearer token that may read /metrics without a session (a Prometheus scrape job); no
    # option, so that it never shows in a process list (docs/monitoring.md).
    metrics_token: str | None = Field(default=None, min_length=16, max_length=256,
                                      pattern=r"^[\x21-\x7e]+$")
    # HTTPS (opensan/tls.py): unset, the backend decides (a real array serves HTTPS, the virtual
    # array plain HTTP); over HTTPS the certificate given, else the array's own in the state dir.
    tls: bool | None = Field(default=None, description="HTTPS (true) or plain HTTP (false)")
    tls_cert: Path | None = Field(default=None, description="The server's certificate (PEM)")
    tls_key: Path | None = Field(default=None, description="The certificate's key (PEM)")

    # The SNMP agent (opensan/snmp/, docs/monitoring.md): off unless snmp (HOST:PORT, UDP) is set.
    snmp: str | None = Field(default=None, description="HOST:PORT of the SNMP agent (UDP)")
    snmp_community: SecretStr | None = Field(default=None, min_length=1, max_length=64)
    snmp_users: tuple[SnmpUser, ...] = ()
    snmp_trap: tuple[str, ...] = Field(
        default=(), description="HOST:PORT (v2c) or USER@HOST:PORT (v3) of trap receivers")
    snmp_trap_community: SecretStr | None = Field(default=None, min_length=1, max_length=64)
    snmp_contact: str = Field(default="", max_length=255)
    snmp_location: str = Field(default="", max_length=255)

    @field_validator("snmp")
    @classmethod
    def _agent_address(cls, value: str | None) -> str | None:
        if value is not None:
            udp_address(value)
        return value

    @field_validator("snmp_trap")
    @classmethod
    def _trap_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for receiver in value:
            trap_receiver(receiver)
        return value

    @model_validator(mode="after")
    def _snmp_has_readers(self) -> Settings:
        if self.snmp and self.snmp_community is None and not self.snmp_users:
            raise ValueError("snmp needs snmp_community or snmp_users: nobody could read it")
        if self.snmp_trap and not self.snmp:
            raise ValueError("snmp_trap needs snmp: traps come from the SNMP agent")
        if len({user.name for user in self.snmp_users}) != len(self.snmp_users):
            raise ValueError("snmp_users has two users of one name")
        names = {user.name for user in self.snmp_users}
        for receiver in self.snmp_trap:
            user = trap_receiver(receiver)[0]
            if user is not None and user not in names:
                raise ValueError(f"snmp_trap {receiver!r}: no user {user!r} in snmp_users")
        return self

    @model_validator(mode="after")
    def _tls_files_go_together(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        if self.tls is False and self.tls_cert is not None:
            raise ValueError("tls is false (plain HTTP) but tls_cert is given")
        return self

    @classmethod
    def load(cls, options: Mapping[str, Any], settings_file: Path | None = None) -> Settings:
        """The settings of `opensan serve`: the options given on its command line win, then the
        OPENSAN_* variables, then the settings file, then the defaults.

        pydantic-settings puts what it is given over the variables, so the file's values cannot
        simply be given to it: the variables are read alone first, and only what they set is
        laid over the file. Raises SettingsError naming the variable, file or option at fault.
        """
        variables = _checked(cls, {}, lambda field: f"{ENV_PREFIX}{field.upper()}")
        from_file = read_settings_file(settings_file) if settings_file else {}
        given = {**from_file, **variables.model_dump(include=variables.model_fields_set),
                 **options}
        return _checked(cls, given, lambda field: f"--{field.replace('_', '-')}" if field in options
                        else f"{field} in {settings_file}")

    def limits(self) -> ServerLimits:
        return ServerLimits(
            max_body_bytes=self.max_body_bytes, header_timeout_seconds=self.header_timeout_seconds,
            idle_timeout_seconds=self.idle_timeout_seconds, max_connections=self.max_connections,
            login_concurrency=self.login_concurrency, login_queue=self.login_queue,
            login_wait_seconds=self.login_wait_seconds, trusted_proxies=self.trusted_proxies)

    @property
    def database(self) -> Path:
        return self.state_dir / DATABASE_NAME


def read_settings_file(path: Path) -> dict[str, Any]:
    """A TOML file of settings, keyed by the names of Settings (`port = 8080`)."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise SettingsError(f"cannot read settings file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"settings file {path} is not TOML: {error}") from None


def _checked(cls: type[Settings], values: dict[str, Any],
             source: Callable[[str], str]) -> Settings:
    try:
        return cls(**values)
    except ValidationError as error:
        problems = [f"{source(str(e['loc'][0]))}: {e['msg']}" if e["loc"]
                    else str(e["ctx"]["error"]) if e["type"] == "value_error" else e["msg"]
                    for e in error.errors()]
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
