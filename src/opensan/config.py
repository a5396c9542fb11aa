"""Server settings: command-line options over OPENSAN_* environment variables over defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from opensan.store.sqlite import DATABASE_NAME


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
    session_idle_seconds: float = Field(default=1800.0, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=300.0, gt=0)
    login_lockout_seconds: float = Field(default=300.0, gt=0)
    tick_seconds: float = Field(default=1.0, gt=0, description="How often rebuilds advance")

    @property
    def database(self) -> Path:
        return self.state_dir / DATABASE_NAME
