"""The tgtd a backend serves its LUNs through, with the layout it should serve.

One object for the Linux and the Ceph backend alike: it starts tgtd when a change first needs it
(or uses one already running, where the backend's config says so), restarts it after a crash and
re-applies every LUN (tgtd keeps nothing), reports the outage once, and stops it at close.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opensan.backends.tgt.daemon import TgtDaemon
from opensan.backends.tgt.exports import Backing, ExportTable
from opensan.backends.tgt.tgtadm import Tgtadm
from opensan.domain.errors import BackendError
from opensan.domain.models import EventLevel


class TgtServer:
    def __init__(self, control_port: int, portal: str, log_path: Path, iqn_prefix: str | tuple[str, ...],
                 size_of: Callable[[Backing], int], *, adopt_running: bool = False) -> None:
        self._control_port = control_port
        self._portal = portal
        self._log_path = log_path
        self._adopt_running = adopt_running
        self.daemon: TgtDaemon | None = None
        self.exports = ExportTable(Tgtadm(control_port), iqn_prefix, self._start, size_of)

    def _start(self) -> None:
        """Start our tgtd (none answers on the control port)."""
        if self._adopt_running:
            raise BackendError(f"No tgtd answers on control port {self._control_port} "
                               "(adopt_tgtd is set, so OpenSAN does not start one).")
        if self.daemon is None:
            self.daemon = TgtDaemon(self._control_port, self._portal, self._log_path)
        self.daemon.start()

    def check(self) -> list[tuple[EventLevel, str, str]]:
        """Called every tick: restart a tgtd that died and re-apply every LUN."""
        return self.exports.check()

    def close(self) -> None:
        """Stop the tgtd this server started (an adopted one keeps running)."""
        with self.exports.lock:
            if self.daemon is not None:
                self.daemon.stop()
