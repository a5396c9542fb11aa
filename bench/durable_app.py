"""The baseline for commit_bench.py: the simplest durable Python server.

A raw ASGI callable under uvicorn (the settings `opensan serve` uses: uvicorn.run, access log
off) that commits one SQLite row per POST, in WAL mode with synchronous=FULL, before it answers:
what one durable commit per request costs on this disk, with no framework in the way.

    python bench/durable_app.py --database /tmp/durable.db --port 8098
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


def make_app(database: Path) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY, time REAL, path TEXT)")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["method"] == "POST":  # one row, committed (fsync) before the answer
            db.execute("INSERT INTO changes (time, path) VALUES (?, ?)",
                       (time.time(), scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Commit one SQLite row per POST.")
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    uvicorn.run(make_app(args.database), host=args.host, port=args.port, access_log=False,
                log_level=args.log_level)


if __name__ == "__main__":
    main()
