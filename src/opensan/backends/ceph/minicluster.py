"""A throwaway single-node Ceph cluster for tests and benchmarks.

One monitor, one manager and a few memstore OSDs, each a child process of this one, in a work
directory of their own, with authentication off and the monitor on free 127.0.0.1 ports. It
follows the single-node recipe (Ceph 16): `ceph-authtool`, `monmaptool` and the daemons' own
--mkfs, then every daemon in the foreground (-f), logging to <workdir>/log.

ceph.conf is tuned for a test session that creates and deletes hundreds of pools: the monitor
commits a change within milliseconds instead of batching changes for a second (so a pool
create, `rbd pool init` or pool delete takes about one `ceph` command's start-up time, not 1-3
s), pools get one PG, and the manager reports PG states every second, so health follows an
OSD's stop and start within a second or two.
"""

from __future__ import annotations

import ctypes
import json
import logging
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # from nothing to HEALTH_OK (about 3 s here); also an OSD's stop or start
STOP_TIMEOUT = 10.0  # per tier of daemons, before SIGKILL
COMMAND_TIMEOUT = 60.0  # any one command (ceph, ceph-authtool, the --mkfs runs)
CONNECT_TIMEOUT = 10  # the ceph CLI waits for ever for a mon that is not there

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None)


def _die_with_parent() -> None:
    """Runs in a daemon before exec: the kernel kills it when the thread that started it ends.

    stop() is the orderly way; this covers a test run killed (SIGKILL, a CI timeout) before it
    could call stop(). Only daemons started on the main thread get it, which ends only with
    the process: one started on a worker thread would die with that thread.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _terminate(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM all, then SIGKILL any that has not exited STOP_TIMEOUT seconds later."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join([f"--- {path.name}", *path.read_text(errors="replace").splitlines()[-lines:]])


class MiniCluster:
    """A single-node cluster: start() brings it to HEALTH_OK, stop() ends every daemon.

    As a context manager it starts on entry and stops on exit. A start that fails stops what it
    had started before it raises, so no daemon outlives a failed start either.
    """

    def __init__(self, workdir: Path, osds: int = 3, osd_bytes: int = 2 * 1024**3) -> None:
        if osds < 1:
            raise ValueError(f"a cluster needs at least one OSD, not {osds}")
        self.workdir = workdir
        self.conf_path = workdir / "ceph.conf"
        self.fsid = str(uuid.uuid4())
        self.osd_ids: list[int] = []
        self._osd_count = osds
        self._osd_bytes = osd_bytes  # memstore's cap: RAM, taken only as data is written
        self._log_dir = workdir / "log"
        self._mon: subprocess.Popen[bytes] | None = None
        self._mgr: subprocess.Popen[bytes] | None = None
        self._osds: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster and return once it is HEALTH_OK, with all its OSDs up and in,
        the mgr available and every PG active+clean. Raises RuntimeError with the tail of the
        logs when a step fails, a daemon exits or that takes more than START_TIMEOUT seconds."""
        if self.conf_path.exists():
            raise RuntimeError(f"{self.workdir} holds a cluster already; use a fresh directory")
        try:
            self._create()
            self._wait(self._healthy, "HEALTH_OK with all OSDs up and in and a mgr available")
            self._stopping.clear()
            self._watchdog = threading.Thread(target=self._restart_a_dead_mgr, daemon=True,
                                              name="ceph-mgr-watchdog")
            self._watchdog.start()
        except Exception as error:
            self.stop()
            raise RuntimeError(f"Ceph did not start: {error}\n{self._logs()}") from error
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every daemon: the OSDs (all at once), then the mgr, then the mon. Idempotent.

        An OSD tells the mon that it stops and waits for the answer (seconds, without a mon),
        so the mon goes last. OSDs shut down fast here: their data is not saved.
        """
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join()
            self._watchdog = None
        for tier in (list(self._osds.values()), [self._mgr], [self._mon]):
            _terminate([process for process in tier if process is not None])
        self._osds.clear()
        self._mgr = self._mon = None

    def _restart_a_dead_mgr(self) -> None:
        """Start the mgr again when it dies, as systemd's ceph-mgr unit does (Restart=
        on-failure): Ceph 16.2's mgr has segfaulted here in a messenger thread
        (libceph-common) while many arrays' ticks asked it for `rbd perf image counters`."""
        while not self._stopping.wait(1.0):
            mgr = self._mgr
            if mgr is not None and mgr.poll() is not None:
                log.warning("ceph-mgr exited with %s; starting it again:\n%s", mgr.returncode,
                            _tail(self._log_dir / "mgr.x.log"))
                self._mgr = self._spawn("mgr.x", "ceph-mgr", "-i", "x")

    def ceph(self, *args: str) -> Any:
        """`ceph <args> --format json` on this cluster: the parsed output, None if there is none.

        Raises RuntimeError with ceph's stderr when it exits non-zero.
        """
        output = self._run("ceph", "-c", self.conf_path, "--connect-timeout",
                           str(CONNECT_TIMEOUT), *args, "--format", "json")
        return json.loads(output) if output.strip() else None

    def stop_osd(self, osd_id: int) -> None:
        """Stop an OSD (SIGTERM) and return once the mon has it down. It stays in (for
        `mon osd down out interval`, 10 minutes), so its PGs wait for it rather than move.

        Memstore saves its data only in a slow shutdown, so this OSD gets one: after the fast
        one it would come back empty and its PGs would stay stale.
        """
        self.ceph("tell", f"osd.{osd_id}", "config", "set", "osd_fast_shutdown", "false")
        _terminate([self._osds.pop(osd_id)])
        # It has told the mon already; this makes sure, should that message have been lost.
        self.ceph("osd", "down", str(osd_id))
        self._wait(lambda: not self._osd_up(osd_id), f"osd.{osd_id} down")

    def add_osd(self) -> int:
        """One more OSD, as when a disk joins the cluster; returns once it is up."""
        osd_id = self._new_osd()
        self._wait(lambda: self._osd_up(osd_id), f"osd.{osd_id} up")
        return osd_id

    def start_osd(self, osd_id: int) -> None:
        """Start a stopped OSD again and return once the mon has it up."""
        self._osds[osd_id] = self._spawn(f"osd.{osd_id}", "ceph-osd", "-i", str(osd_id))
        self._wait(lambda: self._osd_up(osd_id), f"osd.{osd_id} up")

    def _create(self) -> None:
        for name in ("run", "log", "crash", "mon", "mgr/ceph-x", "osd"):
            (self.workdir / name).mkdir(parents=True, exist_ok=True)
        mon_addresses = f"[v2:127.0.0.1:{_free_port()},v1:127.0.0.1:{_free_port()}]"
        self.conf_path.write_text(self._conf(mon_addresses))
        keyring, mon_keyring = self.workdir / "keyring", self.workdir / "mon.keyring"
        self._run("ceph-authtool", "--create-keyring", mon_keyring, "--gen-key", "-n", "mon.",
                  "--cap", "mon", "allow *")
        self._run("ceph-authtool", "--create-keyring", keyring, "--gen-key", "-n", "client.admin",
                  *(option for daemon in ("mon", "osd", "mgr", "mds")
                    for option in ("--cap", daemon, "allow *")))
        self._run("ceph-authtool", mon_keyring, "--import-keyring", keyring)
        monmap = self.workdir / "monmap"
        self._run("monmaptool", "--create", "--fsid", self.fsid, "--addv", "a", mon_addresses,
                  monmap)
        self._run("ceph-mon", "-c", self.conf_path, "--mkfs", "-i", "a", "--monmap", monmap,
                  "--keyring", mon_keyring)
        self._mon = self._spawn("mon.a", "ceph-mon", "-i", "a")
        # The mgr needs about 2 s to load its Python modules: the OSDs are made meanwhile.
        self._mgr = self._spawn("mgr.x", "ceph-mgr", "-i", "x")
        for _ in range(self._osd_count):
            self._new_osd()

    def _new_osd(self) -> int:
        osd_uuid = str(uuid.uuid4())
        osd_id = int(self.ceph("osd", "new", osd_uuid)["osdid"])
        (self.workdir / "osd" / f"ceph-{osd_id}").mkdir()
        self._run("ceph-osd", "-c", self.conf_path, "-i", str(osd_id), "--mkfs",
                  "--osd-uuid", osd_uuid)
        self.osd_ids.append(osd_id)
        self._osds[osd_id] = self._spawn(f"osd.{osd_id}", "ceph-osd", "-i", str(osd_id))
        return osd_id

    def _conf(self, mon_addresses: str) -> str:
        d = self.workdir
        return f"""\
[global]
fsid = {self.fsid}
mon host = {mon_addresses}
public network = 127.0.0.1/32
cluster network = 127.0.0.1/32
auth cluster required = none
auth service required = none
auth client required = none
run dir = {d}/run
admin socket = {d}/run/$name.asok
log file = {d}/log/$name.log
pid file = {d}/run/$name.pid
crash dir = {d}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
ms bind ipv6 = false
# Commit every change at once: the default (1 s between commits) makes a pool create or
# delete take 1 s and `rbd pool init` (three changes) 3 s.
paxos propose interval = 0.01
paxos min wait = 0
# One PG per pool: quick to create and delete, and room for hundreds of pools.
osd pool default pg num = 1
osd pool default pgp num = 1
mon max pg per osd = 1000
# PG states reach the mgr, and health the mon, every second (default 5 s each).
mgr stats period = 1
mon mgr digest period = 1
# A stopped OSD stays in for 10 minutes (not shortened for flapping), so its PGs wait for it.
mon osd down out interval = 600
mon osd adjust down out interval = false
[client]
keyring = {d}/keyring
# Empty: tgtd with the rbd backing store uses this conf too, and would fight the CLI for it.
admin socket =
log file = {d}/log/client.log
[mon]
mon data = {d}/mon/$cluster-$id
keyring = $mon_data/keyring
mon cluster log file = {d}/log/cluster.log
[mgr]
mgr data = {d}/mgr/$cluster-$id
[osd]
osd data = {d}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = {self._osd_bytes}
osd max object name len = 460
osd max object namespace len = 64
# Memstore writes its data to disk only in a slow shutdown; a throwaway cluster skips that
# (stop_osd asks for it, for the one OSD it stops).
osd fast shutdown = true
"""

    def _run(self, *argv: str | Path) -> str:
        command = [str(argument) for argument in argv]
        try:
            completed = subprocess.run(command, capture_output=True, text=True,
                                       timeout=COMMAND_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            message = f"{' '.join(command)} timed out after {COMMAND_TIMEOUT:.0f} s"
            raise RuntimeError(message) from None
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed with exit code "
                               f"{completed.returncode}: {completed.stderr.strip()}")
        return completed.stdout

    def _spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        """A daemon in its own session, so that a Ctrl-C reaches only the test run, which then
        stops the daemons in order."""
        main_thread = threading.current_thread() is threading.main_thread()
        with (self._log_dir / f"{name}.out").open("ab") as output:
            return subprocess.Popen([*argv, "-c", str(self.conf_path), "-f"],
                                    stdin=subprocess.DEVNULL, stdout=output,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_die_with_parent if main_thread else None)

    def _healthy(self) -> bool:
        status = self.ceph("-s")
        osds, pgs = status["osdmap"], status["pgmap"]
        clean = sum(state["count"] for state in pgs["pgs_by_state"]
                    if state["state_name"] == "active+clean")
        # The mgr's figures (`ceph df`) count every OSD only once each has reported to it.
        return bool(status["health"]["status"] == "HEALTH_OK" and status["mgrmap"]["available"]
                    and osds["num_osds"] == osds["num_up_osds"] == osds["num_in_osds"]
                    == len(self.osd_ids) and clean == pgs["num_pgs"]
                    and pgs.get("bytes_total") == len(self.osd_ids) * self._osd_bytes)

    def _osd_up(self, osd_id: int) -> bool:
        nodes = self.ceph("osd", "tree")["nodes"]
        return any(node["id"] == osd_id and node["status"] == "up" for node in nodes)

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not done():
            for name, process in self._daemons():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} while waiting "
                                       f"for {what} (logs in {self._log_dir})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {what} after {START_TIMEOUT:g} s (logs in {self._log_dir})")
            time.sleep(0.1)

    def _daemons(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        daemons = [(f"osd.{osd_id}", process) for osd_id, process in self._osds.items()]
        if self._mgr is not None:
            daemons.append(("mgr.x", self._mgr))
        if self._mon is not None:
            daemons.append(("mon.a", self._mon))
        return daemons

    def _logs(self) -> str:
        return "\n".join(_tail(path) for path in sorted(self._log_dir.glob("*")) if path.is_file())
