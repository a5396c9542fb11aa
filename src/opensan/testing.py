"""A virtual XCubeSAN served in a background thread, for testing automation that drives SANOS arrays.

    with run_virtual_array(Settings(state_dir=tmp, seed=1)) as array:
        my_tool.nightly_snapshot(array.base_url, "admin", "1234")
        assert array.client.snapshots(volume_id).snapshots

The pytest plugin (opensan.pytest_plugin) wraps this in the `opensan_array` fixture. The server
and the array are imported when an array starts, so importing this module costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from opensan.client import SanosClient
    from opensan.config import Settings

DEFAULT_SEED = 20261129
STARTUP_SECONDS = 30.0


@dataclass
class VirtualArray:
    """A running virtual array: where it listens, a logged-in admin client, and its state."""

    base_url: str
    client: SanosClient
    state_dir: Path

    def connect(self, account: str = "admin", password: str = "1234") -> SanosClient:
        """Another client, e.g. as the read-only `user`; the caller closes it."""
        from opensan.client import SanosClient

        return SanosClient(self.base_url, account, password)


@contextmanager
def run_virtual_array(settings: Settings, *, ssl_certfile: str | None = None,
                      ssl_keyfile: str | None = None) -> Iterator[VirtualArray]:
    """Serve a virtual array in a thread until the block ends; with a certificate, over https."""
    import uvicorn

    import opensan.tls as tls
    from opensan.api.app import create_app
    from opensan.api.protocol import uvicorn_options
    from opensan.array import open_array
    from opensan.client import SanosClient

    certificate = (tls.load(Path(ssl_certfile), Path(ssl_keyfile or ssl_certfile))
                   if ssl_certfile else None)
    array = open_array(settings)
    try:
        limits = settings.limits()
        config = uvicorn.Config(
            create_app(array.service, tick_seconds=settings.tick_seconds, limits=limits,
                       tls_fingerprint=certificate.fingerprint if certificate else None),
            host="127.0.0.1", port=0, log_level="warning", access_log=False,
            **uvicorn_options(limits, certificate.context if certificate else None))
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="opensan-virtual-array", daemon=True)
        thread.start()
        try:
            port = _wait_for_port(server, thread)
            scheme = "https" if ssl_certfile else "http"
            base_url = f"{scheme}://127.0.0.1:{port}"
            with SanosClient(base_url, "admin", "1234", ca_file=ssl_certfile) as client:
                client.login()
                yield VirtualArray(base_url, client, settings.state_dir)
        finally:
            server.should_exit = True
            thread.join(timeout=STARTUP_SECONDS)
    finally:
        array.close()


def _wait_for_port(server: uvicorn.Server, thread: threading.Thread) -> int:
    """The port the OS chose (port 0 cannot be taken by anyone else between pick and bind)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.started:
            return int(server.servers[0].sockets[0].getsockname()[1])
        if not thread.is_alive():
            raise RuntimeError("the virtual array's server stopped during start-up; see the log")
        time.sleep(0.01)
    raise RuntimeError(f"the virtual array did not start within {STARTUP_SECONDS:g} s")
