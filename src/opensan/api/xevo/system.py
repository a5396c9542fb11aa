"""XEVO's system reads: /rest/v1/about (open: QSAN's clients read it before they log in)."""

from __future__ import annotations

from opensan.api.endpoint import Access, Api, Call, Endpoint
from opensan.api.xevo.wire import AboutOut, AddressOut
from opensan.domain import identity

# QSAN's clients pick their dialect by this: SAN (block), anything else is a NAS model.
MODEL_TYPE = "SAN"


async def about(call: Call) -> AboutOut:
    info = call.service.system.info()
    hardware = info.hardware
    server = call.request.scope.get("server")
    address = server[0] if server else call.request.url.hostname or ""
    return AboutOut(
        addresses=[AddressOut(address=address, online=True)], system_name=info.system_name,
        firmware_ver=hardware.firmware_version, model_name=hardware.model_name,
        model_type=MODEL_TYPE, serial_number=hardware.serial_number,
        wwn=identity.system_wwn(hardware.serial_number),
    )


ENDPOINTS = [
    Endpoint("GET", "/rest/v1/about",
             "The array's name, model, firmware and addresses (no login needed).", about,
             access=Access.PUBLIC, api=Api.XEVO),
]
