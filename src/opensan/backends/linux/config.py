"""The Linux backend's configuration file (TOML), documented in docs/linux.md."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opensan.domain.errors import InvalidArgument


class LinuxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[str] = Field(
        min_length=1,
        description="The block devices OpenSAN may use; nothing else is ever touched.")
    data_dir: Path = Field(description="Where pools are mounted: <data_dir>/pools/<pool id>")
    portal: str = Field(default="0.0.0.0:3260", description="iSCSI portal address:port")
    tgtd_control_port: int = Field(
        default=0, ge=0, le=32767,  # tgtadm refuses larger numbers
        description="tgtd's management channel (tgtd -C / tgtadm -C); 0 is the system tgtd")
    adopt_tgtd: bool = Field(
        default=False,
        description="Use a tgtd already running on the control port instead of starting one")
    model_name: str = Field(default="OPENSAN-LNX", pattern=r"^[A-Za-z0-9-]{1,32}$",
                            description="The model shown in system information and IQNs")

    @field_validator("devices")
    @classmethod
    def _absolute_unique(cls, devices: list[str]) -> list[str]:
        if len(set(devices)) != len(devices):
            raise ValueError("a device is listed twice")
        for device in devices:
            if not device.startswith("/dev/"):
                raise ValueError(f"{device} is not a /dev path")
        return devices

    @field_validator("portal")
    @classmethod
    def _address_and_port(cls, portal: str) -> str:
        host, _, port = portal.rpartition(":")
        ipaddress.ip_address(host)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"portal {portal} needs address:port")
        return portal

    @classmethod
    def load(cls, path: Path) -> LinuxConfig:
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
            raise InvalidArgument(f"Cannot use Linux backend config {path}: {error}") from error
