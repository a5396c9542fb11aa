"""The SNMP agent of `opensan serve --snmp`, read with net-snmp's own tools as Zabbix's QSAN
XS3224 template reads it (../shared/reference/qsan-snmp.md): every OID the template reads, each
of its triggers quiet on a healthy array and firing once the virtual array's `sim` extension
failed a disk, the fans, the PSUs and the temperatures; traps, v2c and v3 authPriv, caught by
snmptrapd; a wrong community unanswered; SNMPv3 authPriv with the right keys only; every SET
refused."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Api, LiveServer
from pydantic import SecretStr

from opensan.array import open_array
from opensan.config import Settings, SnmpUser
from opensan.domain.models import Event, EventLevel
from opensan.snmp.agent import SnmpAgent, trap_number

pytestmark = pytest.mark.simulated("the virtual array's sensors and its sim extension")

COMMUNITY = "lab-readers"
TRAP_COMMUNITY = "lab-traps"
USER, AUTH_KEY, PRIV_KEY = "zabbix", "auth-pass-phrase", "priv-pass-phrase"
MODEL = "XS3224D"  # the template's model family: 3 backplane sensors, 4 fans, 2 controllers
QSAN = ".1.3.6.1.4.1.22274.1"
EMS = f"{QSAN}.3.2.1"
DISK_NAMES, POOL_NAMES, VOLUME_NAMES = f"{QSAN}.2.1.1.1", f"{QSAN}.2.2.1.1", f"{QSAN}.2.3.1.1"
SYSTEM = [f".1.3.6.1.2.1.1.{n}.0" for n in (4, 1, 6, 5, 3)]  # contact, descr, location, name, uptime
# The template's static triggers: the status row and the word it must match (case-insensitive,
# anchored); rows 27-35 are temperatures (with a value column too), 36-37 PSUs, 38-41 fans.
TEMPERATURE_ROWS = range(27, 36)
STATIC_TRIGGERS = {row: "^OK$" for row in range(27, 42)}
SENSOR_OF_ROW = {27: "ctr1-cpu-temp", 28: "ctr1-slot1-temp", 29: "ctr1-sas-expander-temp",
                 30: "bp-temp-1", 31: "bp-temp-2", 32: "bp-temp-3", 33: "ctr2-cpu-temp",
                 34: "ctr2-slot1-temp", 35: "ctr2-sas-expander-temp", 36: "psu-1", 37: "psu-2",
                 38: "fan-1", 39: "fan-2", 40: "fan-3", 41: "fan-4"}
# The discovery rules' trigger prototypes: the walked name column's table, and per column the
# word the trigger wants (disk: 4 status Online, 5 health Good; pool and volume: 6 status
# Online, 7 health Good or Optimal).
PROTOTYPES = {DISK_NAMES: {4: "^Online$", 5: "^Good$"},
              POOL_NAMES: {6: "^Online$", 7: "^Good$"},
              VOLUME_NAMES: {6: "^Online$", 7: "^Optimal$"}}
_LINE = re.compile(r'^(\.[\d.]+) = (?:(\w+): )?"?(.*?)"?$')


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Agent:
    port: int
    server: LiveServer

    def run(self, tool: str, *args: str, community: str = COMMUNITY,
            security: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a net-snmp tool against the agent: with the community, or with the version and
        security options given."""
        security = security if security is not None else ["-v2c", "-c", community]
        return subprocess.run([tool, *security, "-On", "-t", "2", "-r", "1", "-M", "/dev/null",
                               f"udp:127.0.0.1:{self.port}", *args],
                              capture_output=True, text=True, timeout=60)

    def values(self, tool: str, *args: str,
               security: list[str] | None = None) -> dict[str, tuple[str, str]]:
        """OID -> (type, value) of what the tool printed; it must have succeeded."""
        done = self.run(tool, *args, security=security)
        assert done.returncode == 0, done.stderr
        found = {}
        for line in done.stdout.splitlines():
            matched = _LINE.match(line)
            assert matched, line
            found[matched[1]] = (matched[2] or "", matched[3])
        return found

    def get(self, *oids: str) -> dict[str, tuple[str, str]]:
        return self.values("snmpget", *oids)

    def walk(self, oid: str) -> dict[str, str]:
        return {name: value for name, (_, value) in self.values("snmpwalk", oid).items()}

    def api(self) -> Api:
        return Api(self.server.client()).login("admin")


def snmptrapd(port: int, log: Path, conf: str = f"authCommunity log {TRAP_COMMUNITY}\n"
              ) -> subprocess.Popen[bytes]:
    """net-snmp's trap receiver on 127.0.0.1:port with conf (by default: logging what
    TRAP_COMMUNITY sends), its persistent files beside log."""
    conf_file = log.with_suffix(".conf")
    conf_file.write_text(conf)
    persistent = log.parent / "snmptrapd-persistent"
    persistent.mkdir(exist_ok=True)
    return subprocess.Popen(["snmptrapd", "-f", "-n", "-On", "-C", "-c", str(conf_file), "-M",
                             "/dev/null", "-Lf", str(log), f"udp:127.0.0.1:{port}"],
                            env={**os.environ, "SNMP_PERSISTENT_DIR": str(persistent)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_snmptrapd(receiver: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while not log.exists() or "NET-SNMP version" not in log.read_text():
        assert receiver.poll() is None and time.monotonic() < deadline, "snmptrapd died"
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture
def traps(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """snmptrapd listening, and the file it logs to; stopped afterwards, also on failure."""
    port, log = free_udp_port(), tmp_path / "traps.log"
    receiver = snmptrapd(port, log)
    try:
        wait_for_snmptrapd(receiver, log)
        yield port, log
    finally:
        stop(receiver)


def agent_server(workdir: Path, port: int, trap_port: int | None = None,
                 v3_trap_port: int | None = None) -> LiveServer:
    """`opensan serve --snmp ... --snmp-community ...` of a new XS3224D (not started yet), a
    v3 user in its settings file, traps to trap_port."""
    settings = workdir / "settings.toml"
    settings.write_text(f"""snmp_trap_community = "{TRAP_COMMUNITY}"
snmp_contact = "storage-team@example.com"
snmp_location = "Lab rack 4"
[[snmp_users]]
name = "{USER}"
auth_protocol = "SHA-256"
auth_key = "{AUTH_KEY}"
priv_protocol = "AES"
priv_key = "{PRIV_KEY}"
""")
    args = ["--model", MODEL, "--settings", str(settings), "--snmp", f"127.0.0.1:{port}",
            "--snmp-community", COMMUNITY]
    if trap_port:
        args += ["--snmp-trap", f"127.0.0.1:{trap_port}"]
    if v3_trap_port:
        args += ["--snmp-trap", f"{USER}@127.0.0.1:{v3_trap_port}"]
    return LiveServer(workdir / "state", args)


@contextmanager
def running_agent(workdir: Path, trap_port: int | None = None,
                  v3_trap_port: int | None = None) -> Iterator[Agent]:
    port = free_udp_port()
    server = agent_server(workdir, port, trap_port, v3_trap_port)
    try:
        server.start()
        yield Agent(port, server)
    finally:
        server.stop()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    with running_agent(tmp_path) as found:
        yield found


@pytest.fixture
def trapping_agent(tmp_path: Path, traps: tuple[int, Path]) -> Iterator[tuple[Agent, Path]]:
    with running_agent(tmp_path, traps[0]) as found:
        yield found, traps[1]


def fired(value: str, pattern: str) -> bool:
    """A trigger of the template: find(item,,"iregexp",pattern)=0."""
    return re.search(pattern, value, re.IGNORECASE) is None


def static_triggers(agent: Agent) -> dict[int, bool]:
    """Each static trigger of the template (row -> fires), from one GET of its items."""
    got = agent.get(*(f"{EMS}.5.{row}" for row in STATIC_TRIGGERS))
    return {row: fired(got[f"{EMS}.5.{row}"][1], pattern)
            for row, pattern in STATIC_TRIGGERS.items()}


def prototype_triggers(agent: Agent) -> dict[tuple[str, str, int], bool]:
    """Each discovered row's trigger prototypes ((name column, name, column) -> fires): walk
    the name column as the discovery rule does, then GET each item by {#SNMPINDEX}."""
    found = {}
    for names, columns in PROTOTYPES.items():
        table = names.rsplit(".", 1)[0]
        for oid, name in agent.walk(names).items():
            index = oid.removeprefix(names + ".")
            got = agent.get(*(f"{table}.{column}.{index}" for column in columns))
            for column, pattern in columns.items():
                found[(names, name, column)] = fired(got[f"{table}.{column}.{index}"][1], pattern)
    return found


def test_every_oid_the_template_reads_answers(agent: Agent) -> None:
    system = agent.get(*SYSTEM)
    assert system[".1.3.6.1.2.1.1.4.0"] == ("STRING", "storage-team@example.com")
    assert system[".1.3.6.1.2.1.1.6.0"] == ("STRING", "Lab rack 4")
    assert system[".1.3.6.1.2.1.1.1.0"][1].startswith(f"QSAN {MODEL} firmware ")
    assert system[".1.3.6.1.2.1.1.5.0"][1].startswith(MODEL)
    assert system[".1.3.6.1.2.1.1.3.0"][0] == "Timeticks"

    # The template's 24 hardware-monitor items (9 temperatures, 15 statuses), in one GET each
    # as Zabbix polls them: every one answers (snmpget fails on noSuchInstance or noSuchObject).
    for row in TEMPERATURE_ROWS:
        ((kind, value),) = agent.get(f"{EMS}.4.{row}").values()
        assert kind == "STRING" and re.fullmatch(r"\+\d+\.\d \(C\)", value), (row, value)
    for row in STATIC_TRIGGERS:
        assert list(agent.get(f"{EMS}.5.{row}").values()) == [("STRING", "OK")], row
    slot = agent.get(*(f"{EMS}.{column}.28" for column in (1, 2, 3)))
    assert [value for _, value in slot.values()] == [
        "Controller 1", "Temperature", "Controller 1 Host card slot 1 temperature"]

    disks, pools, volumes = (agent.walk(names) for names in PROTOTYPES)
    bulk = agent.values("snmpbulkwalk", "-Cr7", DISK_NAMES)  # GETBULK, as Zabbix walks
    assert {name: value for name, (_, value) in bulk.items()} == disks
    assert len(disks) == 24 and set(disks.values()) == {f"e0d{n}" for n in range(24)}
    assert len(pools) >= 1 and len(volumes) >= 1
    assert len(set(pools.values())) == len(pools) and len(set(volumes.values())) == len(volumes)
    triggers = prototype_triggers(agent)
    assert len(triggers) == 2 * (len(disks) + len(pools) + len(volumes))


def test_every_trigger_is_quiet_on_a_healthy_array_and_fires_after_faults(agent: Agent) -> None:
    assert not any(static_triggers(agent).values())
    assert not any(prototype_triggers(agent).values())

    admin = agent.api()
    pool = admin.ok("GET", "/rest/storage/poolinfo")[0]
    victim = pool["diskIds"][0]
    admin.ok("POST", f"/rest/sim/faildisk/diskid/{victim}")
    for sensor in SENSOR_OF_ROW.values():
        admin.ok("POST", f"/rest/sim/sensor/sensor/{sensor}/status/failed")
    time.sleep(2.5)  # the tick reads the hardware again every second

    assert all(static_triggers(agent).values()), static_triggers(agent)
    heated = agent.get(*(f"{EMS}.4.{row}" for row in TEMPERATURE_ROWS))  # past critical
    assert all(float(value.split()[0]) >= 65 for _, value in heated.values()), heated
    after = prototype_triggers(agent)
    for names, columns in PROTOTYPES.items():
        for column in columns:  # every prototype fires for some row: the failed disk's
            assert any(fires for (table, _, c), fires in after.items()  # pool and volumes
                       if table == names and c == column), (names, column)
    location = {d["id"]: f"e{d['enclosureId']}d{d['slot'] - 1}"
                for d in admin.ok("GET", "/rest/storage/diskinfo")}
    assert after[(DISK_NAMES, location[victim], 5)]  # its health is Failed
    assert after[(POOL_NAMES, pool["name"], 7)]  # Degraded


@pytest.mark.parametrize("sensor", ["fan-2", "psu-1"])
def test_a_failed_fan_or_psu_fires_its_own_trigger_alone(agent: Agent, sensor: str) -> None:
    agent.api().ok("POST", f"/rest/sim/sensor/sensor/{sensor}/status/failed")
    time.sleep(2.5)  # the tick reads the hardware again every second
    row = next(row for row, name in SENSOR_OF_ROW.items() if name == sensor)
    assert static_triggers(agent) == {other: other == row for other in STATIC_TRIGGERS}
    assert not any(prototype_triggers(agent).values())


def test_a_failed_disk_fires_its_own_triggers_and_its_pools_alone(agent: Agent) -> None:
    admin = agent.api()
    pool = admin.ok("GET", "/rest/storage/poolinfo")[0]
    victim = pool["diskIds"][0]
    admin.ok("POST", f"/rest/sim/faildisk/diskid/{victim}")
    time.sleep(2.5)
    disks = admin.ok("GET", "/rest/storage/diskinfo")
    location = {d["id"]: f"e{d['enclosureId']}d{d['slot'] - 1}" for d in disks}
    rebuilding = {location[d["id"]] for d in disks if d["status"] == "Rebuilding"}
    fired_now = {key for key, fires in prototype_triggers(agent).items() if fires}
    assert not any(static_triggers(agent).values())
    assert (DISK_NAMES, location[victim], 5) in fired_now  # its health is Failed
    assert (POOL_NAMES, pool["name"], 7) in fired_now  # Degraded
    # Besides the failed disk, only the spare that took its place: its status (Rebuilding).
    assert {(name, column) for names, name, column in fired_now if names == DISK_NAMES} - {
        (location[victim], 4), (location[victim], 5)} == {(spare, 4) for spare in rebuilding}
    assert {name for names, name, _ in fired_now if names == POOL_NAMES} == {pool["name"]}


def test_warning_and_error_events_are_trapped_under_qsan_s_enterprise(
        trapping_agent: tuple[Agent, Path]) -> None:
    agent, log = trapping_agent
    admin = agent.api()
    victim = admin.ok("GET", "/rest/storage/poolinfo")[0]["diskIds"][0]
    admin.ok("POST", f"/rest/sim/faildisk/diskid/{victim}")  # ERROR (disk), WARNING (pool)
    admin.ok("POST", "/rest/sim/sensor/sensor/fan-2/status/warning")  # WARNING
    admin.ok("POST", "/rest/sim/sensor/sensor/fan-2/status/good")  # INFO: no trap
    deadline = time.monotonic() + 15
    while log.read_text().count(f"{QSAN}.8000.0.") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    assert f".1.3.6.1.6.3.1.1.4.1.0 = OID: {QSAN}.8000.0.51" in text  # evtid-hdd-error
    assert f".1.3.6.1.6.3.1.1.4.1.0 = OID: {QSAN}.8000.0.159" in text  # evtid-lvm-vg-degraded
    assert f".1.3.6.1.6.3.1.1.4.1.0 = OID: {QSAN}.8000.0.60" in text  # evtid-env-fan-fail
    assert f".1.3.6.1.6.3.1.1.4.3.0 = OID: {QSAN}.8000" in text
    assert re.search(rf'{QSAN}\.8001 = STRING: "\[ERROR\] Disk: Disk in slot \d+ .* failed\."',
                     text), text
    assert "Fan 2 is Warning" in text and "Fan 2 is Good" not in text
    assert text.count(f"{QSAN}.8000.0.") == 3


def test_v3_receivers_get_auth_priv_traps_beside_v2c_ones(tmp_path: Path,
                                                          traps: tuple[int, Path]) -> None:
    v2c_port, v2c_log = traps
    port, log = free_udp_port(), tmp_path / "v3-traps.log"
    with running_agent(tmp_path, v2c_port, v3_trap_port=port) as agent:
        engine_id = re.search(r"engine ID (0x[0-9a-f]+)", agent.server.log_path.read_text())
        assert engine_id, agent.server.log_path.read_text()
        # The receiver knows the user with the agent's engine ID (the authoritative one for a
        # trap) and logs only what comes authenticated and encrypted (priv).
        receiver = snmptrapd(port, log, f"createUser -e {engine_id[1]} {USER} SHA-256 "
                                        f"{AUTH_KEY} AES {PRIV_KEY}\nauthUser log {USER} priv\n")
        try:
            wait_for_snmptrapd(receiver, log)
            admin = agent.api()
            admin.ok("POST", "/rest/sim/sensor/sensor/psu-2/status/failed")  # ERROR
            deadline = time.monotonic() + 15
            while (f"{QSAN}.8000.0.57" not in log.read_text()
                   or f"{QSAN}.8000.0.57" not in v2c_log.read_text()):
                assert time.monotonic() < deadline, (log.read_text(), v2c_log.read_text())
                time.sleep(0.1)
        finally:
            stop(receiver)
    text = log.read_text()
    assert f".1.3.6.1.6.3.1.1.4.1.0 = OID: {QSAN}.8000.0.57" in text  # evtid-env-power-fail
    assert f'{QSAN}.8001 = STRING: "[ERROR] Hardware: PSU 2 Power supply 2 is Failed."' in text
    assert f".1.3.6.1.6.3.1.1.4.3.0 = OID: {QSAN}.8000" in text
    assert text.count(f"{QSAN}.8000.0.") == 1
    for secret in (AUTH_KEY, PRIV_KEY):
        assert secret not in agent.server.log_path.read_text()


def test_a_v3_receiver_with_a_wrong_key_logs_nothing(tmp_path: Path) -> None:
    port, log = free_udp_port(), tmp_path / "v3-traps.log"
    with running_agent(tmp_path, v3_trap_port=port) as agent:
        engine_id = re.search(r"engine ID (0x[0-9a-f]+)", agent.server.log_path.read_text())
        assert engine_id
        receiver = snmptrapd(port, log, f"createUser -e {engine_id[1]} {USER} SHA-256 "
                                        f"{AUTH_KEY} AES not-the-priv-key\n"
                                        f"authUser log {USER} priv\n")
        try:
            wait_for_snmptrapd(receiver, log)
            agent.api().ok("POST", "/rest/sim/sensor/sensor/psu-2/status/failed")
            time.sleep(2)
        finally:
            stop(receiver)
    assert f"{QSAN}.8000.0." not in log.read_text()


def test_a_wrong_community_gets_no_answer(agent: Agent) -> None:
    for version in ("-v1", "-v2c"):
        done = agent.run("snmpget", SYSTEM[1], security=[version, "-c", "public"])
        assert done.returncode != 0 and "Timeout" in done.stderr and not done.stdout
    assert agent.get(SYSTEM[1])  # the right one does


def v3(auth: str = AUTH_KEY, priv: str = PRIV_KEY, level: str = "authPriv") -> list[str]:
    return ["-v3", "-l", level, "-u", USER, "-a", "SHA-256", "-A", auth, "-x", "AES", "-X", priv]


def test_v3_auth_priv_reads_with_the_right_keys_only(agent: Agent) -> None:
    got = agent.values("snmpget", SYSTEM[3], security=v3())
    assert got[SYSTEM[3]][1].startswith(MODEL)
    walked = agent.values("snmpwalk", EMS + ".5", security=v3())
    assert {value for _, value in walked.values()} == {"OK"}
    wrong_priv = agent.run("snmpget", SYSTEM[3], security=v3(priv="not-the-priv-key"))
    assert wrong_priv.returncode != 0 and not wrong_priv.stdout
    wrong_auth = agent.run("snmpget", SYSTEM[3], security=v3(auth="not-the-auth-key"))
    assert wrong_auth.returncode != 0 and "Authentication failure" in wrong_auth.stderr
    unencrypted = agent.run("snmpget", SYSTEM[3], security=v3(level="authNoPriv"))
    assert unencrypted.returncode != 0 and MODEL not in unencrypted.stdout

    events = agent.api().ok("GET", "/rest/log/list/1")["events"]
    logged = agent.server.log_path.read_text() + str(events)
    assert "SNMP agent on udp 127.0.0.1:" in logged
    for secret in (AUTH_KEY, PRIV_KEY, COMMUNITY, TRAP_COMMUNITY):
        assert secret not in logged


def test_every_set_is_refused_and_changes_nothing(agent: Agent) -> None:
    name = agent.get(SYSTEM[3])[SYSTEM[3]]
    for security in (None, v3()):
        done = agent.run("snmpset", SYSTEM[3], "s", "renamed", security=security)
        assert done.returncode != 0 and "notWritable" in done.stderr, done.stderr
    done = agent.run("snmpset", f"{EMS}.5.27", "s", "OK")
    assert "notWritable" in done.stderr
    assert agent.get(SYSTEM[3])[SYSTEM[3]] == name


@pytest.mark.parametrize(("source", "message", "number"), [
    ("Disk", "Disk in slot 3 (S1) failed.", 51),
    ("Pool", "Pool pool-1 failed: data is offline.", 161),
    ("Pool", "Pool pool-1 is degraded.", 159),
    ("Hardware", "PSU 1 Power supply 1 is Failed.", 57),
    ("Account", "Login for account admin locked.", 0),
])
def test_trap_numbers_follow_qsan_s_mib(source: str, message: str, number: int) -> None:
    assert trap_number(Event(1, 0.0, EventLevel.ERROR, source, message)) == number



def test_an_engine_that_cannot_be_set_up_fails_start_instead_of_hanging(tmp_path: Path) -> None:
    array = open_array(Settings(state_dir=tmp_path / "state", seed=1))
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    unknown = SnmpUser.model_construct(name="u", auth_protocol="MD4", auth_key=SecretStr("12345678"),
                                       priv_protocol="AES", priv_key=SecretStr("12345678"))
    agent = SnmpAgent(array.service, listener, users=[unknown])
    try:
        with pytest.raises(KeyError, match="MD4"):
            agent.start()
    finally:
        agent.close()
        listener.close()
        array.close()


def test_a_v3_trap_receiver_needs_one_of_the_users(tmp_path: Path) -> None:
    array = open_array(Settings(state_dir=tmp_path / "state", seed=1))
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError, match="No SNMPv3 user nobody"):
            SnmpAgent(array.service, listener, community=COMMUNITY,
                      v3_trap_receivers=[("nobody", "127.0.0.1", 162)])
    finally:
        listener.close()
        array.close()
