"""The system as a whole: its information, the hardware monitor, the event log, and what the
service package adds for technical support (the whole log, the configuration)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from opensan.domain import views
from opensan.domain.errors import Generation, InvalidArgument
from opensan.domain.models import Enclosure, Event, EventLevel, EventPage, SystemHealth, SystemInfo
from opensan.service.parts import Parts

# A setting whose name says it holds a secret (a password, its hash, a token, a key or keyring)
# never leaves the array: the service package shows only that it is set.
_SECRET_NAME = re.compile(r"pass|secret|token|key|hash|salt|credential|cookie", re.IGNORECASE)
REMOVED = "(removed)"
EVENT_BATCH = 5000  # events read from the store at a time: bounds memory, not the log


def without_secrets(value: Any) -> Any:
    """value (JSON) with every value under a secret's name replaced by REMOVED, at any depth."""
    if isinstance(value, Mapping):
        return {key: REMOVED if _SECRET_NAME.search(str(key)) else without_secrets(item)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_secrets(item) for item in value]
    return value


class System:
    def __init__(self, parts: Parts, event_page_size: int,
                 server_settings: Mapping[str, Any]) -> None:
        self._parts = parts
        self.event_page_size = event_page_size
        self.started_at = parts.uow.clock.now()
        self._server_settings = dict(server_settings)

    def default_name(self) -> str:
        backend = self._parts.backend
        return f"{backend.model_name()}-{backend.serial_number()[-6:]}"

    def controller_count(self) -> int:
        return self._parts.backend.controller_count()

    @property
    def name(self) -> str:
        return str(self._parts.state.meta.get("system_name", self.default_name()))

    def firmware(self) -> Generation:
        """The XEVO firmware generation whose error codes the array answers (V1 unless its
        profile chose V2); an array made before there was a choice answers V1."""
        return Generation(self._parts.state.meta.get("firmware", Generation.V1.value))

    def set_firmware(self, generation: Generation) -> None:
        with self._parts.uow.change() as change:
            change.set_meta("firmware", generation.value)
            change.event(EventLevel.INFO, "System",
                         f"XEVO error codes set to QSAN's {generation.value} firmware's.")

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

    def event_count(self) -> int:
        return self._parts.uow.store.event_count()

    def events_up_to(self, last_id: int) -> Iterator[Event]:
        """Every event from the first to last_id, oldest first, read a batch at a time so that
        a log of millions of events is never held in memory."""
        store = self._parts.uow.store
        for first in range(1, last_id + 1, EVENT_BATCH):
            yield from store.event_range(first, min(first + EVENT_BATCH - 1, last_id))

    def configuration(self) -> dict[str, Any]:
        """The server's settings, the array's backend options and the backend's config file,
        every secret removed: what technical support may see."""
        configuration: dict[str, Any] = without_secrets({
            "settings": self._server_settings,
            "backendOptions": self._parts.state.meta.get("backend_options", {}),
            "backendConfig": self._parts.backend.configuration(),
        })
        return configuration

    def record_service_package(self, account: str, client: str) -> None:
        """The log says who took the array's information away, and from where."""
        self._parts.uow.record_event(EventLevel.INFO, "System",
                                     f"Service package downloaded by {account} from {client}.")
