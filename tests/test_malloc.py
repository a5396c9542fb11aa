"""opensan.malloc: the arena cap and the trim do what the server counts on (on glibc, as CI's
Debian has; elsewhere the module does nothing)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from opensan import malloc

# In a child of its own: 256 MiB in 64 KiB buffers (below glibc's mmap threshold, so from an
# arena), 15 of every 16 freed (the live ones keep glibc from giving the space back by itself),
# then the anonymous RSS before and after a trim.
FREED_THEN_TRIMMED = """
import sys
from opensan import malloc

def anon_kib():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])

buffers = [bytes(65536) for _ in range(4096)]
kept = buffers[::16]
del buffers
before = anon_kib()
trimmed = malloc.trim()
print(before, anon_kib(), trimmed)
"""


def test_a_trim_gives_freed_pages_back() -> None:
    before, after, trimmed = subprocess.run(
        [sys.executable, "-c", FREED_THEN_TRIMMED], capture_output=True, text=True, check=True,
        timeout=60).stdout.split()
    assert trimmed == "True"
    assert int(before) - int(after) > 128 * 1024, (before, after)  # KiB: most of the 240 MiB freed


def test_the_arena_cap_is_set_unless_the_environment_sets_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert malloc.limit_arenas() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc.limit_arenas() is False


def test_the_trimming_thread_stops_when_told() -> None:
    stop = threading.Event()
    thread = malloc.trim_periodically(stop, seconds=0.01)
    assert thread is not None and thread.is_alive()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
