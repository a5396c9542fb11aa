"""The service package (manual §4.1, "Download Service Package"): one zip for technical support.

Every JSON file in it is exactly what the matching GET answers (the same handlers make it), so
support reads the same fields as the API's users. The event log is written whole, one JSON line
per event, streamed from the store as the zip goes out; the server's recent log and its
configuration (secrets removed) come last. docs/api.md lists the files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, TypeAdapter

from opensan.api.endpoint import Access, Call, Endpoint
from opensan.api.routes import dashboard, storage
from opensan.api.schemas import EventOut, SystemOut, iso_time
from opensan.api.support import Member, member, recent_log, zip_stream
from opensan.domain.errors import ErrorCode

ZIP = "application/zip"
_EVENT = TypeAdapter(EventOut)
# The times a zip entry can hold (MS-DOS dates); the array's clock may run past them.
_ZIP_FIRST, _ZIP_LAST = (1980, 1, 1, 0, 0, 0), (2107, 12, 31, 23, 59, 58)
_SAFE = re.compile(r"[^A-Za-z0-9._-]")  # what may stand in the file name a browser saves


def _json(answer: bytes | BaseModel) -> bytes:
    return answer if isinstance(answer, bytes) else answer.model_dump_json(by_alias=True).encode()


def support_table(info: SystemOut) -> str:
    """The manual's "Information for Technical Support" table, as text."""
    sections: list[tuple[str, list[tuple[str, object]]]] = [("System", [
        ("System Name", info.system_name), ("Model Name", info.model_name),
        ("System Serial Number", info.serial_number),
        ("System Controller Status", info.controller_mode),
        ("Master Controller", info.master_controller),
        ("Firmware Version", info.firmware_version), ("System Health", info.system_health),
    ])]
    for c in info.controllers:
        sections.append((f"Controller {c.slot}", [
            ("Status", c.status), ("Controller Serial Number", c.serial_number), ("CPU", c.cpu),
            ("Memory", f"{c.memory_gb} GB"),
            *((f"Host Card Slot {h.slot}", h.card) for h in c.host_card_slots),
            ("Firmware Version", c.firmware_version),
            ("SAS IOC Firmware Version", c.sas_ioc_firmware_version),
            ("SAS Expander Firmware Version", c.sas_expander_firmware_version),
        ]))
    sections += [
        ("Backplane", [("Backplane Serial Number", info.backplane.serial_number),
                       ("Backplane ID", info.backplane.id),
                       ("MCU Version", info.backplane.mcu_version)]),
        ("Licenses", [("SSD Cache", info.licenses.ssd_cache),
                      ("Auto Tiering", info.licenses.auto_tiering)]),
    ]
    lines = []
    for title, rows in sections:
        lines += [title, *(f"  {item:<32}{value}" for item, value in rows), ""]
    return "\n".join(lines)


def _event_lines(call: Call, last_id: int) -> Iterator[bytes]:
    """The log, oldest first, as JSON lines in blocks of a few thousand events. Built without
    validation (the store's events are typed already): half the time for a million events."""
    block: list[bytes] = []
    for e in call.service.system.events_up_to(last_id):
        block.append(_EVENT.dump_json(EventOut.model_construct(
            id=e.id, time=iso_time(e.time), level=e.level, source=e.source,
            message=e.message, account=e.account, client=e.client), by_alias=True))
        if len(block) == 4096:
            yield b"\n".join(block) + b"\n"
            block = []
    if block:
        yield b"\n".join(block) + b"\n"


async def service_package(call: Call) -> StreamingResponse:
    assert call.session is not None
    service = call.service
    # Recorded first: the package holds its own event, and the log says who took it.
    await run_in_threadpool(service.system.record_service_package, call.session.account,
                            call.client)
    event_total = await run_in_threadpool(service.system.event_count)
    info = await dashboard.system_info(call)
    files: dict[str, bytes] = {
        "systeminfo.json": _json(info),
        "support.txt": support_table(info).encode(),
        "hwmonitor.json": _json(await dashboard.hardware_monitor(call)),
        "diskinfo.json": await storage.disk_info(call),
        "disksmart.json": await storage.disk_smart(call),
        "poolinfo.json": await storage.pool_info(call),
        "volumeinfo.json": await storage.volume_info(call),
    }
    snapshots = [await storage.snapshot_info(replace(call, params={"vdid": volume.volume.id}))
                 for volume in service.volumes.all()]
    files["snapshots.json"] = b"[" + b",".join(snapshots) + b"]"
    files["availtarget.json"] = await storage.available_targets(call)
    files["lunmappinginfo.json"] = await storage.lun_mappings(call)
    files["configuration.json"] = json.dumps(service.system.configuration(), indent=2).encode()
    files["server.log"] = "".join(f"{line}\n" for line in recent_log().lines()).encode()

    made = datetime.strptime(info.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    stamp = min(max(made.timetuple()[:6], _ZIP_FIRST), _ZIP_LAST)
    name = _SAFE.sub("_", f"servicepackage-{info.model_name}-{info.serial_number}-"
                           f"{made:%Y%m%dT%H%M%SZ}")
    manifest = {
        "name": name, "createdAt": info.time, "createdBy": call.session.account,
        "modelName": info.model_name, "serialNumber": info.serial_number,
        "eventCount": event_total, "files": ["manifest.json", *files, "events.jsonl"],
    }
    members: list[Member] = [
        (member("manifest.json", stamp), [json.dumps(manifest, indent=2).encode()]),
        *((member(path, stamp), [content]) for path, content in files.items()),
        (member("events.jsonl", stamp), _event_lines(call, event_total)),
    ]
    return StreamingResponse(zip_stream(members), media_type=ZIP, headers={
        "Content-Disposition": f'attachment; filename="{name}.zip"'})


ENDPOINTS = [
    Endpoint("GET", "/rest/system/servicepackage",
             "Download the service package for technical support: a zip of the array's "
             "information, the whole event log, the server's log and configuration.",
             service_package, access=Access.ADMIN, extension=True, media_type=ZIP,
             errors=(ErrorCode.STATE_CONFLICT,)),  # it records an event first
]
