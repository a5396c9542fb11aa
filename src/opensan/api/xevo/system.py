"""XEVO's system reads: /rest/v1/about (open: QSAN's clients read it before they log in) and
the hardware information of /rest/v1/hardware/<enclosure>/info (the head unit, 0)."""

from __future__ import annotations

from opensan.api.endpoint import Access, Api, Call, Endpoint, Kind, Param
from opensan.api.xevo.request import object_id, query_filters
from opensan.api.xevo.wire import (
    AboutOut,
    AddressOut,
    HardwareInfoOut,
    HardwareOut,
    MoreInfoOut,
    ReadingOut,
    StateOut,
    word,
)
from opensan.domain import identity
from opensan.domain.errors import ErrorCode, InvalidArgument, NotFound
from opensan.domain.models import Sensor, SensorType

# QSAN's clients pick their dialect by this: SAN (block), anything else is a NAS model.
MODEL_TYPE = "SAN"
HEAD_UNIT = 0  # the enclosure that holds the controllers
MIB_PER_GB = 1024


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


def _value(sensor: Sensor) -> int:
    """A reading as QSAN's integer: volts in mV, degrees C and RPM as they are."""
    if not isinstance(sensor.value, int | float):
        return 0
    return round(sensor.value * 1000) if sensor.type is SensorType.VOLTAGE else round(sensor.value)


def _name(sensor: Sensor) -> str:
    """A controller's sensors share names ("CPU temperature"): its location tells them apart."""
    return f"{sensor.location} {sensor.name}" if sensor.location.startswith("Controller") \
        else sensor.name


def _more_info(sensors: tuple[Sensor, ...]) -> MoreInfoOut:
    def readings(kind: SensorType) -> list[ReadingOut]:
        return [ReadingOut(name=_name(s), value=_value(s), status=word(s.status.value))
                for s in sensors if s.type is kind]

    def states(kind: SensorType) -> list[StateOut]:
        return [StateOut(name=_name(s), status=word(s.status.value))
                for s in sensors if s.type is kind]

    return MoreInfoOut(voltage=readings(SensorType.VOLTAGE),
                       temperature=readings(SensorType.TEMPERATURE),
                       psu_status=states(SensorType.PSU), fan_speed=readings(SensorType.FAN),
                       cache_to_flash=states(SensorType.BATTERY))


async def hardware_info(call: Call) -> HardwareOut:
    filters = query_filters(call.params["query"], ("moreInfo",))
    more = filters.get("moreInfo", "false")
    if more not in ("true", "false"):
        raise InvalidArgument(f"moreInfo is true or false, got {more[:20]!r}.")
    enclosure_id = object_id(call.params["encId"], _no_enclosure)
    enclosure = next((e for e in call.service.system.enclosures() if e.id == enclosure_id), None)
    if enclosure_id != HEAD_UNIT or enclosure is None:
        raise _no_enclosure(call.params["encId"])
    info = call.service.system.info()
    hardware = info.hardware
    controllers = hardware.controllers
    # OpenSAN does not measure its controllers' CPU and memory use: both are 0.
    return HardwareOut(enc_id=enclosure.id, info=HardwareInfoOut(
        sys_health=word(info.system_health.value),
        cpu_info=controllers[0].cpu if controllers else "",
        cpu_usage=0, memory_info=[f"{c.memory_gb} GB" for c in controllers],
        mem_total=sum(c.memory_gb for c in controllers) * MIB_PER_GB, mem_used=0,
        controller_num=len(controllers), backplane_id=hardware.backplane.id,
        backplane_serial_number=hardware.backplane.serial_number,
        mcu_version=hardware.backplane.mcu_version, system_uptime=info.uptime_seconds,
        serial_number=hardware.serial_number, model_name=hardware.model_name,
        more_info=_more_info(enclosure.sensors if more == "true" else ())))


def _no_enclosure(text: str) -> NotFound:
    return NotFound(f"Enclosure {text[:20]!r} does not exist; the head unit is {HEAD_UNIT}.",
                    ErrorCode.OBJECT_NOT_FOUND)


ENDPOINTS = [
    Endpoint("GET", "/rest/v1/about",
             "The array's name, model, firmware and addresses (no login needed).", about,
             access=Access.PUBLIC, api=Api.XEVO),
    Endpoint("GET", "/rest/v1/hardware/{encId}/info",
             "The head unit's hardware (enclosure 0): health, CPU, memory, backplane; with "
             "?moreInfo=true also its voltages, temperatures, power supplies, fans and cache "
             "protection.", hardware_info,
             params=(Param("encId", Kind.TEXT, "Enclosure ID (0: the head unit)"),),
             api=Api.XEVO, filters=("moreInfo",)),
]
