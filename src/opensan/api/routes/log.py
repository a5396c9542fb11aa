"""3.4 Event log, newest first, in pages of a fixed size."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Call, Endpoint, Kind, Param
from opensan.api.schemas import EventPageOut
from opensan.domain.errors import InvalidArgument

MAX_PAGE = 2**31 - 1


async def list_events(call: Call) -> EventPageOut:
    page = call.params["page"]
    if not 1 <= page <= MAX_PAGE:
        raise InvalidArgument(f"Page numbers are 1 to {MAX_PAGE}, got {page}.")
    system = call.service.system
    events = await run_in_threadpool(system.events, page) if system.events_read_remotely \
        else system.events(page)
    return EventPageOut.from_domain(events)


ENDPOINTS = [
    Endpoint("GET", "/rest/log/list", "Show system event logs, page 1 = newest.", list_events,
             params=(Param("page", Kind.NUMBER, "Event log page number, from 1",
                           placeholder="page_num", positional=True,
                           schema={"minimum": 1, "maximum": MAX_PAGE}),),
             response=EventPageOut),
]
