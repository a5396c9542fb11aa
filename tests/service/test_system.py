"""What the service package gets from the service: the whole log, the configuration without
secrets, and the event of its download."""

from __future__ import annotations

import pytest

from opensan.array import Array
from opensan.domain.models import EventLevel
from opensan.service import system
from opensan.service.array import ArrayService
from opensan.service.system import REMOVED, without_secrets

from .helpers import EventLog


def test_the_whole_log_is_read_in_batches_oldest_first(
        service: ArrayService, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(7):
        service.uow.record_event(EventLevel.INFO, "Test", f"event {i}")
    total = service.system.event_count()
    monkeypatch.setattr(system, "EVENT_BATCH", 3)  # batch edges inside the log
    events = list(service.system.events_up_to(total))
    assert [e.id for e in events] == list(range(1, total + 1))
    assert [e.message for e in events[-7:]] == [f"event {i}" for i in range(7)]
    assert [e.id for e in service.system.events_up_to(total - 2)][-1] == total - 2


def test_secrets_are_removed_at_any_depth() -> None:
    found = without_secrets({
        "password": "p", "Password_Hash": "scrypt$1$2", "tls_key": "/etc/key.pem",
        "ceph": {"keyring": "/etc/ceph/k", "client_id": "admin", "apiToken": "t"},
        "accounts": [{"name": "admin", "secret": "s"}], "port": 8080,
    })
    assert found == {
        "password": REMOVED, "Password_Hash": REMOVED, "tls_key": REMOVED,
        "ceph": {"keyring": REMOVED, "client_id": "admin", "apiToken": REMOVED},
        "accounts": [{"name": "admin", "secret": REMOVED}], "port": 8080,
    }


def test_configuration_holds_the_settings_and_the_backend_options(array: Array) -> None:
    configuration = array.service.system.configuration()
    settings = array.settings.model_dump(mode="json")
    # Secrets' names: the TLS key and the scrape token of /metrics, shown as removed.
    assert configuration["settings"] == {**settings, "tls_key": REMOVED, "metrics_token": REMOVED}
    assert configuration["backendOptions"] == array.service.state.meta["backend_options"]
    assert configuration["backendConfig"] == {}  # the virtual array has no config file


def test_a_download_writes_one_info_event_naming_the_account(service: ArrayService,
                                                             events: EventLog) -> None:
    service.system.record_service_package("admin", "192.0.2.7")
    assert events.new() == [(EventLevel.INFO, "System",
                             "Service package downloaded by admin from 192.0.2.7.")]
