"""The Ceph backend's configuration file (TOML), documented in docs/ceph.md.

Both controllers of one array use the same file except for `controller`.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path

import rados
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opensan.domain.errors import BackendError, InvalidArgument

# Ceph pool names OpenSAN creates: a prefix and a SANOS pool name (letters, digits, - and _).
_CEPH_POOL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class CephConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ceph_conf: Path = Field(description="The cluster's ceph.conf")
    client_id: str = Field(default="admin", pattern=r"^[A-Za-z0-9._-]{1,64}$",
                           description="The cephx client (client.<id>)")
    keyring: Path | None = Field(default=None, description="Its keyring, if not in ceph.conf")
    records_pool: str = Field(
        default="opensan", description="The Ceph pool holding OpenSAN's records (created if "
        "missing)")
    array_name: str = Field(
        default="array", pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="Names this array's records object; several arrays may share a cluster")
    pool_prefix: str = Field(
        default="", pattern=r"^[A-Za-z0-9._-]{0,40}$",
        description="A SANOS pool named N is the Ceph pool <pool_prefix>N")
    pools: list[str] = Field(
        default_factory=list,
        description="Ceph pools OpenSAN may use or create; existing replicated ones become SANOS "
        "pools at the first start. Empty: any pool under pool_prefix.")
    pg_num: int = Field(default=32, ge=1, le=32768,
                        description="Placement groups of each pool OpenSAN creates")
    failure_domain: str = Field(
        default="host", pattern=r"^[a-z]{1,20}$",
        description="CRUSH failure domain of the pools OpenSAN creates (osd on a single node)")
    controller: int = Field(default=1, ge=1, le=2, description="Which controller this server is")
    portals: list[str] = Field(
        min_length=1, max_length=2,
        description="iSCSI portal address:port of controller 1 and of controller 2")
    tgtd_control_port: int = Field(default=0, ge=0, le=32767,
                                   description="This server's tgtd management channel")
    log_dir: Path = Field(default=Path("/var/log/opensan"), description="Where tgtd logs")
    model_name: str = Field(default="OPENSAN-CEPH", pattern=r"^[A-Za-z0-9-]{1,32}$",
                            description="The model shown in system information and IQNs")

    @field_validator("portals")
    @classmethod
    def _addresses_and_ports(cls, portals: list[str]) -> list[str]:
        for portal in portals:
            host, _, port = portal.rpartition(":")
            ipaddress.ip_address(host)
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"portal {portal} needs address:port")
        return portals

    @field_validator("pools")
    @classmethod
    def _pool_names(cls, pools: list[str]) -> list[str]:
        for name in pools:
            if not _CEPH_POOL_NAME.match(name):
                raise ValueError(f"{name!r} is not a Ceph pool name")
        return pools

    @property
    def portal(self) -> str:
        """This controller's own portal."""
        if self.controller > len(self.portals):
            raise InvalidArgument(f"Controller {self.controller} has no portal in the config.")
        return self.portals[self.controller - 1]

    @property
    def records_object(self) -> str:
        return f"opensan.{self.array_name}.records"

    @classmethod
    def load(cls, path: Path) -> CephConfig:
        try:
            return cls.model_validate(tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
            raise InvalidArgument(f"Cannot use Ceph backend config {path}: {error}") from error


def connect(config: CephConfig) -> rados.Rados:
    """A client connection to the cluster that config names."""
    return connect_to(config.ceph_conf, config.client_id, config.keyring)


def connect_to(ceph_conf: Path, client_id: str = "admin",
               keyring: Path | None = None) -> rados.Rados:
    """A client connection to the cluster of a ceph.conf (also the tests' throwaway one)."""
    # An operation on a PG that cannot be served (its OSDs down) fails after a while instead of
    # holding an API request for ever.
    options = {"rados_osd_op_timeout": "30", "rados_mon_op_timeout": "30"}
    if keyring:
        options["keyring"] = str(keyring)
    cluster = rados.Rados(conffile=str(ceph_conf), name=f"client.{client_id}", conf=options)
    try:
        cluster.connect(timeout=15)
    except rados.Error as error:
        raise BackendError(f"Cannot reach the Ceph cluster of {ceph_conf}: {error}") from error
    return cluster
