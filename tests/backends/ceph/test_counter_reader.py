"""The counter reader's child process: answers, and a child that aborts or hangs costs one failed
read, never the server (no cluster needed: the children here are small Python scripts)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from opensan.backends.ceph.counter_reader import ChildReader
from opensan.domain.errors import BackendError

# A child that answers {"echo": n} with {"n": n}, aborts (as librados did) on {"abort": ...} and
# never answers {"hang": ...}.
CHILD = """
import json, os, sys, time
for line in sys.stdin:
    request = json.loads(line)
    if "abort" in request:
        os.abort()
    if "hang" in request:
        time.sleep(60)
    print(json.dumps({"n": request["echo"]}), flush=True)
"""


@pytest.fixture
def reader() -> Iterator[ChildReader]:
    child_reader = ChildReader([sys.executable, "-c", CHILD], timeout_seconds=1.0)
    yield child_reader
    child_reader.close()


def test_requests_are_answered_by_one_child(reader: ChildReader) -> None:
    assert reader.ask({"echo": 1}) == {"n": 1}
    first = reader._child
    assert reader.ask({"echo": 2}) == {"n": 2}
    assert reader._child is first


def test_a_child_that_aborts_fails_one_read_and_the_next_read_has_a_new_child(
        reader: ChildReader) -> None:
    assert reader.ask({"echo": 1}) == {"n": 1}
    with pytest.raises(BackendError, match=r"died \(exit status -6\)"):
        reader.ask({"abort": True})
    assert reader._child is None
    assert reader.ask({"echo": 3}) == {"n": 3}


def test_a_child_that_does_not_answer_is_killed(reader: ChildReader) -> None:
    assert reader.ask({"echo": 1}) == {"n": 1}
    child = reader._child
    assert child is not None
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"did not answer in 1 s"):
        reader.ask({"hang": True})
    assert time.monotonic() - started < 10
    assert child.poll() is not None  # killed, not left behind
    assert reader.ask({"echo": 4}) == {"n": 4}


def test_closing_stops_the_child(reader: ChildReader) -> None:
    reader.ask({"echo": 1})
    child = reader._child
    assert child is not None
    reader.close()
    assert child.poll() is not None and reader._child is None
