"""The system as a whole: its information, the hardware monitor, the event log."""

from __future__ import annotations

from opensan.domain import views
from opensan.domain.errors import InvalidArgument
from opensan.domain.models import Enclosure, EventPage, SystemHealth, SystemInfo
from opensan.service.parts import Parts


class System:
    def __init__(self, parts: Parts, event_page_size: int) -> None:
        self._parts = parts
        self.event_page_size = event_page_size
        self.started_at = parts.uow.clock.now()

    def default_name(self) -> str:
        backend = self._parts.backend
        return f"{backend.model_name()}-{backend.serial_number()[-6:]}"

    def controller_count(self) -> int:
        return self._parts.backend.controller_count()

    @property
    def name(self) -> str:
        return str(self._parts.state.meta.get("system_name", self.default_name()))

    def health(self) -> SystemHealth:
        return views.system_health(self._parts.state, self._parts.observed.hardware)

    def info(self) -> SystemInfo:
        now = self._parts.uow.clock.now()
        return SystemInfo(hardware=self._parts.observed.hardware.system, system_name=self.name,
                          system_health=self.health(), time=now,
                          uptime_seconds=int(now - self.started_at))

    def enclosures(self) -> tuple[Enclosure, ...]:
        return self._parts.observed.hardware.enclosures

    @property
    def events_read_remotely(self) -> bool:
        """Whether the log is read over the network (the records are in the Ceph cluster):
        then read it off the event loop. A state dir's file answers from its WAL reader at
        once, also while a change is being written."""
        return self._parts.uow.store.shared

    def events(self, page: int) -> EventPage:
        """A page of the event log, newest first, read from the store (the only read that is
        not in memory: the log can hold millions of events). Raises InvalidArgument for a page
        below 1."""
        if page < 1:
            raise InvalidArgument(f"Page numbers start at 1, got {page}.")
        return self._parts.uow.store.event_page(page, self.event_page_size)
