"""The backend's counter reads (the manager's image report, the OSDs' perf dumps), made by a
child process with a cluster connection of its own.

Why a child: librados 16.2 can abort the whole process from one of its own threads while a
manager command is outstanding. CI saw it: SIGABRT in a Ceph thread during `rbd perf image
counters`, while the test cluster's manager was being restarted. A server must not die of a
monitoring read. Here a read that does not answer in time, or a child that died, is a failed
read (BackendError: the caller logs it and leaves the figures out), and the next read starts a
new child. The server's own connection (records, images, pools) makes no manager commands.

The child talks JSON lines on its stdin and stdout: a request {"mgr": command} or
{"osd": id, "command": command}, an answer {"code", "output", "status"} as librados gave them.
"""

from __future__ import annotations

import json
import logging
import select
import subprocess
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from opensan.domain.errors import BackendError

log = logging.getLogger("opensan.ceph")
START_SECONDS = 15.0  # its imports and its connection (librados waits up to 15 s)
STOP_SECONDS = 5.0


class ChildReader:
    """Requests answered one at a time by a child process (argv), started on the first request
    and again after one failed; a child that does not answer in time is killed."""

    def __init__(self, argv: Sequence[str], timeout_seconds: float) -> None:
        self._argv = list(argv)
        self._timeout = timeout_seconds
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            timeout = self._timeout
            if self._child is None:  # a new child answers once it has connected too
                self._child = subprocess.Popen(self._argv, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE)
                timeout += START_SECONDS
            child = self._child
            assert child.stdin is not None and child.stdout is not None
            answered = True
            try:
                child.stdin.write(json.dumps(request).encode() + b"\n")
                child.stdin.flush()
                answered = bool(select.select([child.stdout], [], [], timeout)[0])
                line = child.stdout.readline() if answered else b""
            except OSError:  # a broken pipe: it died before this request
                line = b""
            if not line:
                # An end of its output is its exit: wait for its status (it may not be reaped
                # yet); no answer in time is a hang, and the child is killed.
                status = None
                if answered:
                    with suppress(subprocess.TimeoutExpired):
                        status = child.wait(STOP_SECONDS)
                self._stop()
                why = f"died (exit status {status})" if answered \
                    else f"did not answer in {timeout:g} s"
                raise BackendError(f"The Ceph counter reader {why}.")
            answer: dict[str, Any] = json.loads(line)
            return answer

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait(STOP_SECONDS)
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()


class CounterReader:
    """The manager and OSD commands the counters need, each answered by a child connected to
    the cluster with the backend's own configuration (a CephConfig's JSON)."""

    def __init__(self, config_json: str, timeout_seconds: float) -> None:
        self._reader = ChildReader([sys.executable, "-m", __name__, config_json],
                                   timeout_seconds)

    def mgr_command(self, prefix: str, **arguments: Any) -> Any:
        """A manager command with JSON output, like `ceph <prefix> --format json`."""
        command = {"prefix": prefix, "format": "json", **arguments}
        return self._decoded(prefix, self._reader.ask({"mgr": json.dumps(command)}))

    def osd_command(self, osd_id: int, prefix: str, **arguments: Any) -> Any:
        """A command to one OSD with JSON output, like `ceph tell osd.<id> <prefix>`."""
        command = {"prefix": prefix, "format": "json", **arguments}
        return self._decoded(f"tell osd.{osd_id} {prefix}",
                             self._reader.ask({"osd": osd_id, "command": json.dumps(command)}))

    def close(self) -> None:
        self._reader.close()

    @staticmethod
    def _decoded(what: str, answer: dict[str, Any]) -> Any:
        if answer["code"] != 0:
            raise BackendError(f"ceph {what} failed: {answer['status'] or answer['code']}")
        output = answer["output"]
        return json.loads(output) if output.strip() else None


def _serve(config_json: str) -> None:
    """The child: connect, then answer each request line until stdin closes."""
    from opensan.backends.ceph.config import CephConfig, connect

    cluster = connect(CephConfig.model_validate_json(config_json))
    try:
        for line in sys.stdin.buffer:
            request = json.loads(line)
            if "mgr" in request:
                code, output, status = cluster.mgr_command(request["mgr"], b"")
            else:
                code, output, status = cluster.osd_command(request["osd"], request["command"],
                                                           b"")
            answer = {"code": code, "output": output.decode(errors="replace"),
                      "status": status}
            sys.stdout.buffer.write(json.dumps(answer).encode() + b"\n")
            sys.stdout.buffer.flush()
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    _serve(sys.argv[1])
