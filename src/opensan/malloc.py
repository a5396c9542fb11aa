"""glibc's malloc, set up for a server that runs for months.

glibc gives threads that allocate at the same time arenas of their own (up to 8 per CPU) and
keeps what is freed in them for reuse instead of giving it back. The server's threads (uvicorn's
pool, the tick, the backends' subprocess readers) allocate and free large buffers (JSON answers,
command output) all day, so on the Linux backend RSS grew by a quarter over a 10-minute soak while
Python's objects stayed flat: the growth was free memory held in the arenas (bench/README.md).
Two arenas, and a trim of the free pages once a minute, keep it flat.

Nothing here is needed for correctness; on a C library other than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

ARENAS = 2
TRIM_SECONDS = 60.0
_M_ARENA_MAX = -8  # from glibc's malloc.h


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap the number of arenas, as MALLOC_ARENA_MAX does; call it before threads start. A
    MALLOC_ARENA_MAX in the environment wins. Returns whether the cap was set here."""
    libc = _glibc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim() -> bool:
    """Give the arenas' free pages back to the kernel; returns whether any were."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


def trim_periodically(stop: threading.Event, seconds: float = TRIM_SECONDS) -> threading.Thread | None:
    """A daemon thread that trims every `seconds` until `stop` is set (None without glibc)."""
    if _glibc() is None:
        return None

    def run() -> None:
        while not stop.wait(seconds):
            trim()

    thread = threading.Thread(target=run, name="malloc-trim", daemon=True)
    thread.start()
    return thread
