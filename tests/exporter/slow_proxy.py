"""A TCP proxy in front of a live server that can hold requests back, to slow the array down.

The virtual array's own knob for reads (POST /rest/sim/readlatency) slows every GET alike; the
proxy slows one path and leaves the others (a slow endpoint among quick ones), and counts the
requests that reach the array. It reads each request's head, waits the delay set for its path,
then forwards it; answers pass through untouched. When the server behind it is gone, it closes
the client's connection, as a stopped array would.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections import Counter
from collections.abc import Iterator

from support import free_port


class SlowProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.delays: dict[str, float] = {}  # path prefix -> seconds; "" for every path
        self.requests: Counter[str] = Counter()  # path -> requests forwarded
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _delay(self, path: str) -> float:
        return max((s for prefix, s in self.delays.items() if path.startswith(prefix)), default=0)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        answers: asyncio.Task[None] | None = None
        try:
            while head := await client_reader.readuntil(b"\r\n\r\n"):
                path = head.split(b" ", 2)[1].decode()
                await asyncio.sleep(self._delay(path))
                if upstream is None:
                    upstream_reader, upstream = await asyncio.open_connection(
                        "127.0.0.1", self.upstream_port)
                    answers = asyncio.create_task(self._pipe(upstream_reader, client_writer))
                self.requests[path] += 1
                upstream.write(head)
                # A XEVO login's form; the other requests have no body.
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if length:
                    upstream.write(await client_reader.readexactly(int(length.group(1))))
                await upstream.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if upstream is not None:
                upstream.close()
            if answers is not None:
                await asyncio.wait([answers], timeout=5)
            client_writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[SlowProxy]:
        self._thread.start()
        self._started.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
