"""3.4 Event log, newest first, in pages of a fixed size."""

from __future__ import annotations

from collections.abc import Hashable

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Call, Endpoint, Kind, Param
from opensan.api.schemas import EventPageOut
from opensan.domain.errors import InvalidArgument

MAX_PAGE = 2**31 - 1


async def list_events(call: Call) -> bytes:
    page = call.params["page"]
    if not 1 <= page <= MAX_PAGE:
        raise InvalidArgument(f"Page numbers are 1 to {MAX_PAGE}, got {page}.")
    system = call.service.system

    def build() -> tuple[Hashable, bytes]:
        events = system.events(page)
        body = EventPageOut.from_domain(events).model_dump_json(by_alias=True).encode()
        return (page, events.page_size, events.total), body

    def read() -> bytes:  # the log's length is one indexed lookup; the page is cached by it
        return call.cache.page((page, system.event_page_size, system.event_count()), build)

    return await run_in_threadpool(read) if system.events_read_remotely else read()


ENDPOINTS = [
    Endpoint("GET", "/rest/log/list", "Show system event logs, page 1 = newest.", list_events,
             params=(Param("page", Kind.NUMBER, "Event log page number, from 1",
                           placeholder="page_num", positional=True,
                           schema={"minimum": 1, "maximum": MAX_PAGE}),),
             response=EventPageOut),
]
