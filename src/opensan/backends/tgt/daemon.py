"""A private tgtd, supervised as a child process of this server."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from opensan.backends.runner import CommandFailed, spawn
from opensan.backends.tgt.tgtadm import MAX_CONTROL_PORT, SOCKET_DIRECTORY, Tgtadm
from opensan.domain.errors import BackendError, InvalidArgument


class TgtDaemon:
    """A private tgtd, child of this process, on its own control port and one portal.

    The backend polls is_running() and, after a crash, starts it again and re-applies its
    targets: tgtd keeps nothing across restarts.
    """

    def __init__(self, control_port: int, portal: str, log_path: Path) -> None:
        if not 0 <= control_port <= MAX_CONTROL_PORT:
            raise InvalidArgument(
                f"tgtd control port {control_port} is out of range 0-{MAX_CONTROL_PORT}."
            )
        self.tgtadm = Tgtadm(control_port)
        self.portal = portal
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10) -> None:
        """Start tgtd and return once it answers on the control port and listens on the portal.

        Raises BackendError when another tgtd owns the control port, when tgtd exits, does not
        answer in time, or listens anywhere but on the portal asked for.
        """
        if self.is_running():
            return
        port = self.tgtadm.control_port
        if self.tgtadm.ready():
            raise BackendError(f"Another tgtd already answers on control port {port}.")
        with self.log_path.open("ab") as log:
            self._process = spawn(
                ["tgtd", "-f", "-C", str(port), "--iscsi", f"portal={self.portal}"], output=log
            )
        deadline = time.monotonic() + timeout
        while not self.tgtadm.ready():
            if not self.is_running() or time.monotonic() > deadline:
                self.stop()
                raise BackendError(
                    f"tgtd did not start on control port {port}; see {self.log_path}."
                )
            time.sleep(0.05)
        portals = self.tgtadm.portals()
        if portals != (self.portal,):
            self.stop()
            raise BackendError(
                f"tgtd could not listen on {self.portal} (in use?) and fell back to "
                f"{', '.join(portals) or 'nothing'}; stopped it."
            )

    def stop(self, timeout: float = 10) -> None:
        """Delete all targets and stop tgtd; kill it when it does not stop in time."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self.tgtadm.shutdown()
                process.wait(timeout)
            except (CommandFailed, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        self._process = None
        # tgtd leaves its control socket and lock file behind; a stopped daemon needs neither.
        socket = SOCKET_DIRECTORY / f"socket.{self.tgtadm.control_port}"
        for leftover in (socket, socket.with_name(socket.name + ".lock")):
            leftover.unlink(missing_ok=True)
