"""Server settings: command-line options over OPENSAN_* environment variables over defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from opensan.api.limits import ServerLimits
from opensan.store.sqlite import DATABASE_NAME

_DAY = 86400
_LIMITS = ServerLimits()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENSAN_", extra="forbid")

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

    def limits(self) -> ServerLimits:
        return ServerLimits(
            max_body_bytes=self.max_body_bytes, header_timeout_seconds=self.header_timeout_seconds,
            idle_timeout_seconds=self.idle_timeout_seconds, max_connections=self.max_connections,
            login_concurrency=self.login_concurrency, login_queue=self.login_queue,
            login_wait_seconds=self.login_wait_seconds, trusted_proxies=self.trusted_proxies)

    @property
    def database(self) -> Path:
        return self.state_dir / DATABASE_NAME
