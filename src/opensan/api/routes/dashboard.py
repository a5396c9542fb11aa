"""3.3 Dashboard: system information and hardware monitor."""

from __future__ import annotations

from opensan.api.endpoint import Call, Endpoint
from opensan.api.schemas import HardwareMonitorOut, SystemOut


async def system_info(call: Call) -> SystemOut:
    return SystemOut.from_domain(call.service.system.info(),
                                 tls_fingerprint=call.request.app.state.tls_fingerprint)


async def hardware_monitor(call: Call) -> HardwareMonitorOut:
    return HardwareMonitorOut.from_domain(call.service.system.health(),
                                          call.service.system.enclosures())


ENDPOINTS = [
    Endpoint("GET", "/rest/dashboard/systeminfo", "Show system information.", system_info,
             response=SystemOut),
    Endpoint("GET", "/rest/dashboard/hwmonitor", "Show hardware monitoring information.",
             hardware_monitor, response=HardwareMonitorOut),
]
