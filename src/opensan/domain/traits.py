"""What a backend is, declared once as data: the service turns these facts into rules.

A backend never enforces an array rule itself; it says what it can do here (which provisioning
types exist, whether pools share the disks, who keeps snapshots within their space), and the
service refuses, allows or takes over accordingly, the same way on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from opensan.domain.models import Provision


class Capability(StrEnum):
    """Optional abilities; the API lists the matching extensions only where a backend has them."""

    FAULT_INJECTION = "fault-injection"
    SIMULATED_CLOCK = "simulated-clock"
    HOST_WRITE_SIMULATION = "host-write-simulation"


@dataclass(frozen=True)
class BackendTraits:
    name: str
    capabilities: frozenset[Capability] = frozenset()
    # Every pool spans all disks (Ceph): disks are then never free, spare or added to a pool.
    pools_share_disks: bool = False
    # The provisioning types pools and volumes can have here, and a new pool's default.
    provisions: frozenset[Provision] = field(default_factory=lambda: frozenset(Provision))
    default_provision: Provision = Provision.THICK
    # True where nothing below the service stops snapshots outgrowing their space (Ceph): the
    # service then deletes a volume's oldest snapshot once their measured use is over it.
    service_keeps_snapshot_space: bool = False
    # A real array must not serve with QSAN's well-known default passwords; the virtual one may.
    allows_default_passwords: bool = False
    # How often the storage's own figures of use are measured again; None where use follows
    # from the records alone (the virtual array), so nothing is measured.
    usage_refresh_seconds: float | None = None
    # True where the storage itself holds volumes to their QoS limits (Ceph's per-image
    # QoS); elsewhere the limits are recorded and answered only.
    enforces_qos: bool = False

    @property
    def measures_usage(self) -> bool:
        return self.usage_refresh_seconds is not None
