"""The SNMP agent of `opensan serve --snmp`: pysnmp's engine (v1/v2c communities, v3 users with
authentication and privacy, VACM) on a UDP socket `serve` bound, answering GET, GETNEXT and
GETBULK from ArrayMib and refusing every SET; WARNING and ERROR events leave as traps under
QSAN's trap enterprise: SNMPv2c with the trap community, or SNMPv3 authPriv as one of the users.

pysnmp (the maintained 7.x line) rather than net-snmp's snmpd with an AgentX sub-agent: it is
a pure-Python wheel, so the agent needs no daemon of its own to install, configure and keep
running beside the server, and it reads the service's memory directly, in the same process.
It runs on an asyncio loop of its own, in its own thread, so no request of the API waits for
it, nor it for them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from pyasn1.codec.ber import encoder
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context, ntforg
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c
from pysnmp.smi import error as smi_error
from pysnmp.smi.instrum import AbstractMibInstrumController

from opensan.domain.models import Event, EventLevel
from opensan.service.array import ArrayService
from opensan.service.unit_of_work import Change
from opensan.snmp.mib import EVENT_STRING, SYS_UPTIME, TRAP_ENTERPRISE, ArrayMib

log = logging.getLogger("opensan.snmp")

AUTH_PROTOCOLS = {
    "SHA": config.USM_AUTH_HMAC96_SHA, "SHA-224": config.USM_AUTH_HMAC128_SHA224,
    "SHA-256": config.USM_AUTH_HMAC192_SHA256, "SHA-384": config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": config.USM_AUTH_HMAC384_SHA512,
}
# AES-192 and AES-256 with Blumenthal's key extension, as net-snmp's -x AES-192 / AES-256.
PRIV_PROTOCOLS = {
    "AES": config.USM_PRIV_CFB128_AES, "AES-192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
READ_VIEW = (1, 3, 6, 1)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAP_ENTERPRISE = (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0)
# The v3 traps' own client transports, apart from the server one (which may be the other family).
TRAP_DOMAINS = {socket.AF_INET: ((*udp.DOMAIN_NAME, 1), udp.UdpAsyncioTransport),
                socket.AF_INET6: ((*udp6.DOMAIN_NAME, 1), udp6.Udp6AsyncioTransport)}
V3_TRAPS = "v3-traps"  # the engine's notification target and tag of every v3 receiver
TRAPPED = (EventLevel.WARNING, EventLevel.ERROR)
# QSAN-SNMP-MIB's trap numbers (evtid-*) for OpenSAN's events, by source and a word of the
# message; the first that matches wins, and an event no row fits is sent as 0 (evtid-test).
TRAP_NUMBERS: tuple[tuple[str, str, int], ...] = (
    ("Disk", "", 51),  # evtid-hdd-error
    ("Pool", "failed", 161),  # evtid-lvm-vg-failed
    ("Pool", "", 159),  # evtid-lvm-vg-degraded
    ("Snapshot", "", 178),  # evtid-lvm-snap-space-overflow
    ("Hardware", "Fan", 60),  # evtid-env-fan-fail
    ("Hardware", "Power supply", 57),  # evtid-env-power-fail
    ("Hardware", "temperature", 109),  # evtid-enc-therm-warn-ot
    ("Hardware", "Cache protection", 10),  # evtid-bbm-sts-fail
)


def trap_number(event: Event) -> int:
    for source, word, number in TRAP_NUMBERS:
        if event.source == source and word.lower() in event.message.lower():
            return number
    return 0


class Secret(Protocol):
    def get_secret_value(self) -> str: ...


class V3User(Protocol):
    """An SNMPv3 user as the settings hold it (config.SnmpUser)."""

    @property
    def name(self) -> str: ...
    @property
    def auth_protocol(self) -> str: ...
    @property
    def auth_key(self) -> Secret: ...
    @property
    def priv_protocol(self) -> str: ...
    @property
    def priv_key(self) -> Secret: ...


class _Instrumentation(AbstractMibInstrumController):  # type: ignore[misc]
    """pysnmp's command responders ask this for values: ArrayMib's table, as VACM allows."""

    def __init__(self, mib: ArrayMib) -> None:
        self._mib = mib

    def read_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        table = self._mib.table()
        answers = []
        for name, _ in var_binds:
            oid = tuple(name)
            if oid in table.values and not context["acFun"]("read", (name, None), **context):
                answers.append((name, self._mib.value(table, oid)))
            else:
                answers.append((name, rfc1905.noSuchInstance if table.has_object(oid)
                                else rfc1905.noSuchObject))
        return answers

    def read_next_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        table = self._mib.table()
        answers = []
        for name, _ in var_binds:
            for oid in table.next_after(tuple(name)):
                found = rfc1902.ObjectName(oid)
                if not context["acFun"]("read", (found, None), **context):
                    answers.append((found, self._mib.value(table, oid)))
                    break
            else:
                answers.append((name, rfc1905.endOfMibView))
        return answers

    def write_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        raise smi_error.NotWritableError(name=var_binds[0][0], idx=0)


class SnmpAgent:
    """Serves ArrayMib on listener (a bound UDP socket) until close(); traps go to
    trap_receivers ((host, port) pairs, SNMPv2c) and v3_trap_receivers ((user, host, port),
    SNMPv3 authPriv as that one of users)."""

    def __init__(self, service: ArrayService, listener: socket.socket, *,
                 community: str | None = None, users: Sequence[V3User] = (),
                 trap_receivers: Sequence[tuple[str, int]] = (), trap_community: str = "public",
                 v3_trap_receivers: Sequence[tuple[str, str, int]] = (),
                 contact: str = "", location: str = "") -> None:
        self._service = service
        self._listener = listener
        self._community = community
        self._users = tuple(users)
        self._trap_community = trap_community
        self._receivers = [socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
                           for host, port in trap_receivers]
        self._v3_receivers = [(user, socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0])
                              for user, host, port in v3_trap_receivers]
        unknown = {user for user, _ in self._v3_receivers} - {u.name for u in self._users}
        if unknown:
            raise ValueError(f"No SNMPv3 user {', '.join(sorted(unknown))} for its traps.")
        self._notifier = ntforg.NotificationOriginator()
        self._snmp: engine.SnmpEngine | None = None  # set up in the agent's thread
        self._mib = ArrayMib(service, contact, location)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="opensan-snmp", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None  # why the engine could not be set up
        self._trap_sockets: dict[int, socket.socket] = {}
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def start(self) -> None:
        """Answer from now on; WARNING and ERROR events from now on are trapped."""
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        self._service.uow.after_change(self._after_change)

    def close(self) -> None:
        self._closed = True
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        for trap_socket in self._trap_sockets.values():
            trap_socket.close()

    @property
    def engine_id(self) -> bytes:
        """The engine ID, the same at every start: QSAN's enterprise number and the array's
        serial number (RFC 3411's text form). A v3 trap receiver needs it for its users."""
        serial = self._service.observed.hardware.system.serial_number.encode()[:27]
        return bytes.fromhex("8000570204") + serial

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            snmp = self._snmp = self._engine()
        except BaseException as error:
            self._failure = error
            self._end_loop()
            return
        finally:
            self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            snmp.transport_dispatcher.close_dispatcher()
            self._end_loop()

    def _end_loop(self) -> None:
        """Let the loop's tasks (pysnmp's timer, an endpoint being opened) end, then close it."""
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def _engine(self) -> engine.SnmpEngine:
        """The engine (engine_id), its readers, its responders and its v3 trap receivers."""
        snmp = engine.SnmpEngine(rfc1902.OctetString(self.engine_id))
        ipv6 = self._listener.family == socket.AF_INET6
        transport = (udp6.Udp6AsyncioTransport if ipv6 else udp.UdpAsyncioTransport)(
            loop=self._loop)
        config.add_transport(snmp, (udp6 if ipv6 else udp).DOMAIN_NAME,
                             transport.open_server_mode(sock=self._listener))
        if self._community is not None:
            config.add_v1_system(snmp, "readers", self._community)
            for model in (1, 2):  # v1 and v2c
                config.add_vacm_user(snmp, model, "readers", "noAuthNoPriv", READ_VIEW)
        for user in self._users:
            config.add_v3_user(snmp, user.name, AUTH_PROTOCOLS[user.auth_protocol],
                               user.auth_key.get_secret_value(), PRIV_PROTOCOLS[user.priv_protocol],
                               user.priv_key.get_secret_value())
            config.add_vacm_user(snmp, 3, user.name, "authPriv", READ_VIEW,
                                 notifySubTree=READ_VIEW)
        self._add_v3_receivers(snmp)
        snmp_context = context.SnmpContext(snmp)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", _Instrumentation(self._mib))
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder,
                          cmdrsp.BulkCommandResponder, cmdrsp.SetCommandResponder):
            responder(snmp, snmp_context)
        return snmp

    def _add_v3_receivers(self, snmp: engine.SnmpEngine) -> None:
        """Each v3 receiver as a target of the engine's one notification (V3_TRAPS), sent
        from a client transport of its address family."""
        for family in {address[0] for _, address in self._v3_receivers}:
            domain, transport = TRAP_DOMAINS[family]
            config.add_transport(snmp, domain, transport(loop=self._loop).open_client_mode())
        for number, (user, (family, _, _, _, address)) in enumerate(self._v3_receivers):
            params = f"v3-trap-{number}"
            config.add_target_parameters(snmp, params, user, "authPriv", 3)
            config.add_target_address(snmp, f"v3-receiver-{number}", TRAP_DOMAINS[family][0],
                                      address[:2], params, tagList=V3_TRAPS)
        if self._v3_receivers:
            config.add_notification_target(snmp, V3_TRAPS, "v3-trap-filter", V3_TRAPS, "trap")

    # Traps

    def _after_change(self, change: Change, committed: bool) -> None:
        """Under the change's lock: hand its WARNING and ERROR events to the agent's thread."""
        events = [event for event in change.events if event.level in TRAPPED]
        receivers = self._receivers or self._v3_receivers
        if committed and events and receivers and not self._closed:
            self._loop.call_soon_threadsafe(self._send_traps, events)

    def _send_traps(self, events: list[Event]) -> None:
        for event in events:
            if self._v3_receivers and self._snmp is not None:
                self._notifier.send_varbinds(self._snmp, V3_TRAPS, None, b"",
                                             self._trap_varbinds(event))
            if not self._receivers:
                continue
            message = self._trap(event)
            for family, kind, proto, _, address in self._receivers:
                try:
                    trap_socket = self._trap_sockets.get(family)
                    if trap_socket is None:
                        trap_socket = self._trap_sockets[family] = socket.socket(family, kind,
                                                                                 proto)
                        trap_socket.setblocking(False)
                    trap_socket.sendto(message, address)
                except OSError as error:
                    log.warning("Could not send an SNMP trap to %s: %s", address[0],
                                error.strerror)

    def _trap_varbinds(self, event: Event) -> list[tuple[tuple[int, ...], Any]]:
        """A trap's variables as RFC 3584 translates QSAN's SMIv1 one: snmpTrapOID
        event.0.<number>, snmpTrapEnterprise event, and eventString with the message."""
        return [
            (SYS_UPTIME, self._mib.uptime()),
            (SNMP_TRAP_OID, rfc1902.ObjectIdentifier((*TRAP_ENTERPRISE, 0, trap_number(event)))),
            (EVENT_STRING, rfc1902.OctetString(
                f"[{event.level.value}] {event.source}: {event.message}".encode())),
            (SNMP_TRAP_ENTERPRISE, rfc1902.ObjectIdentifier(TRAP_ENTERPRISE)),
        ]

    def _trap(self, event: Event) -> bytes:
        """The SNMPv2c trap message of event, with the trap community."""
        pdu = v2c.TrapPDU()
        v2c.apiTrapPDU.set_defaults(pdu)
        v2c.apiTrapPDU.set_varbinds(pdu, self._trap_varbinds(event))
        message = v2c.Message()
        v2c.apiMessage.set_defaults(message)
        v2c.apiMessage.set_community(message, self._trap_community)
        v2c.apiMessage.set_pdu(message, pdu)
        return bytes(encoder.encode(message))
