"""Fault injection, simulated time and simulated host I/O: the virtual array's test knobs.

Registered only when the backend has the matching capability, so a real array never offers them.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Call, Endpoint, Kind, Param
from opensan.api.routes.storage import SIZE_GB, STORAGE_CHANGE, VDID
from opensan.api.schemas import (
    WORKLOAD_LIST,
    ClockOut,
    DiskOut,
    EmptyOut,
    VolumeOut,
    WorkloadOut,
    iso_time,
)
from opensan.domain.errors import ErrorCode
from opensan.domain.models import SensorStatus
from opensan.domain.traits import Capability
from opensan.domain.workload import MAX_BLOCK_KB, MAX_IOPS
from opensan.service.simulation import MAX_CLOCK_STEP_SECONDS, MAX_LATENCY_MS

DISK_ID = Param("diskid", Kind.ID, "Disk ID", placeholder="disk_id",
                errors=(ErrorCode.DISK_NOT_FOUND,))
LATENCY_MS = Param("ms", Kind.NUMBER, "Milliseconds, 0-600000", schema={"maximum": MAX_LATENCY_MS})
SENSOR_STATUSES = {status.value.lower(): status for status in SensorStatus}


async def fail_disk(call: Call) -> DiskOut:
    return DiskOut.from_domain(await run_in_threadpool(call.service.simulation.fail_disk,
                                                       call.params["diskid"]))


async def replace_disk(call: Call) -> DiskOut:
    return DiskOut.from_domain(await run_in_threadpool(call.service.simulation.replace_disk,
                                                       call.params["diskid"]))


async def set_sensor(call: Call) -> EmptyOut:
    await run_in_threadpool(call.service.simulation.set_sensor_status, call.params["sensor"],
                            SENSOR_STATUSES[call.params["status"]])
    return EmptyOut()


async def set_latency(call: Call) -> EmptyOut:
    await run_in_threadpool(call.service.simulation.set_change_latency, call.params["ms"])
    return EmptyOut()


async def set_read_latency(call: Call) -> EmptyOut:
    await run_in_threadpool(call.service.simulation.set_read_latency, call.params["ms"])
    return EmptyOut()


async def advance_clock(call: Call) -> ClockOut:
    now = await run_in_threadpool(call.service.simulation.advance_clock, call.params["seconds"])
    return ClockOut(time=iso_time(now))


async def host_write(call: Call) -> VolumeOut:
    view = await run_in_threadpool(call.service.simulation.host_write, call.params["vdid"],
                                   call.params["sizegb"])
    return VolumeOut.from_domain(view)


async def workloads(call: Call) -> bytes:
    return WORKLOAD_LIST.dump_json([WorkloadOut.from_domain(w)
                                    for w in call.service.simulation.workloads()], by_alias=True)


async def set_workload(call: Call) -> WorkloadOut:
    params = call.params
    return WorkloadOut.from_domain(await run_in_threadpool(
        call.service.simulation.set_workload, params["vdid"], params.get("iops"),
        params.get("readpercent"), params.get("blockkb")))


def endpoints(capabilities: frozenset[Capability]) -> list[Endpoint]:
    found: list[Endpoint] = []
    if Capability.FAULT_INJECTION in capabilities:
        found += [
            Endpoint("POST", "/rest/sim/faildisk", "Make a disk fail; a spare starts rebuilding.",
                     fail_disk, params=(DISK_ID,), access=Access.ADMIN, extension=True,
                     response=DiskOut, errors=(ErrorCode.DISK_IN_USE, *STORAGE_CHANGE)),
            Endpoint("POST", "/rest/sim/replacedisk",
                     "Swap a failed disk for a new one in the same slot.", replace_disk,
                     params=(DISK_ID,), access=Access.ADMIN, extension=True, response=DiskOut,
                     errors=(ErrorCode.DISK_IN_USE, *STORAGE_CHANGE)),
            Endpoint("POST", "/rest/sim/sensor", "Force a sensor's status (good clears it).",
                     set_sensor,
                     params=(Param("sensor", Kind.TEXT, "Sensor ID from hwmonitor",
                                   placeholder="sensor_id", errors=(ErrorCode.OBJECT_NOT_FOUND,)),
                             Param("status", Kind.TEXT, "good, warning or failed",
                                   placeholder="good|warning|failed",
                                   choices=tuple(SENSOR_STATUSES))),
                     access=Access.ADMIN, extension=True, response=EmptyOut),
            Endpoint("POST", "/rest/sim/latency", "Make every change take this long.",
                     set_latency, params=(LATENCY_MS,), access=Access.ADMIN, extension=True,
                     response=EmptyOut),
            Endpoint("POST", "/rest/sim/readlatency",
                     "Make every read of the REST API (GET) answer this much later.", set_read_latency,
                     params=(LATENCY_MS,), access=Access.ADMIN, extension=True,
                     response=EmptyOut),
        ]
    if Capability.SIMULATED_CLOCK in capabilities:
        found.append(Endpoint(
            "POST", "/rest/sim/clock", "Move the array clock forward (rebuilds, drift, expiry).",
            advance_clock, params=(Param("seconds", Kind.NUMBER, "Seconds to advance",
                                          schema={"minimum": 1,
                                                  "maximum": MAX_CLOCK_STEP_SECONDS}),),
            access=Access.ADMIN, extension=True, response=ClockOut))
    if Capability.HOST_WRITE_SIMULATION in capabilities:
        found.append(Endpoint(
            "POST", "/rest/sim/hostwrite",
            "Pretend hosts wrote to a volume: thin volumes and snapshots grow.", host_write,
            params=(VDID, Param("sizegb", Kind.NUMBER, "GiB written", schema=SIZE_GB.schema)),
            access=Access.ADMIN, extension=True, response=VolumeOut,
            errors=(ErrorCode.VOLUME_NOT_READY, *STORAGE_CHANGE)))
        found += [
            Endpoint("GET", "/rest/sim/workloadinfo",
                     "Show the workload the hosts of each volume run (IOPS, reads, block size).",
                     workloads, extension=True, response=list[WorkloadOut]),
            Endpoint("POST", "/rest/sim/workload",
                     "Set the workload a volume's hosts run; figures left out stay.",
                     set_workload, params=(
                         VDID,
                         Param("iops", Kind.NUMBER, f"Average IOPS, 0-{MAX_IOPS}",
                               required=False, schema={"maximum": MAX_IOPS}),
                         Param("readpercent", Kind.NUMBER, "Share of reads, 0-100 percent",
                               required=False, schema={"maximum": 100}),
                         Param("blockkb", Kind.NUMBER, f"Block size, 1-{MAX_BLOCK_KB} KiB",
                               required=False, schema={"minimum": 1, "maximum": MAX_BLOCK_KB})),
                     access=Access.ADMIN, extension=True, response=WorkloadOut),
        ]
    return found
