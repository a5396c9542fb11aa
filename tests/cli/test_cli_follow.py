"""`opensan events --follow` in a real process: new events come out as they happen, one per line."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from opensan.testing import VirtualArray


def pump(stream: Iterable[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def opensan(*args: str, env: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "opensan", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_follow_prints_each_new_event_as_a_json_line(opensan_array: VirtualArray,
                                                     tmp_path: Path) -> None:
    env = {**os.environ, "OPENSAN_CONFIG_DIR": str(tmp_path / "config"),
           "OPENSAN_PASSWORD": "1234"}
    login = opensan("login", opensan_array.base_url, env=env)
    assert login.wait(30) == 0, login.communicate()
    follower = opensan("events", "--follow", "--json", "--interval", "0.2", env=env)
    lines: queue.Queue[str] = queue.Queue()
    assert follower.stdout is not None
    reader = threading.Thread(target=pump, args=(follower.stdout, lines), daemon=True)
    reader.start()
    try:
        backlog = [json.loads(lines.get(timeout=30))]  # the last events first, like tail -f
        volume = next(v for v in opensan_array.client.volumes() if v.snapshot_space_bytes)
        opensan_array.client.take_snapshot(volume.id, "followed")
        while "followed" not in backlog[-1]["message"]:
            backlog.append(json.loads(lines.get(timeout=30)))
        ids = [event["id"] for event in backlog]
        assert ids == sorted(set(ids))  # oldest first, none twice
    finally:
        follower.send_signal(signal.SIGINT)  # Ctrl-C ends it quietly
        assert follower.wait(30) == 0
        reader.join(10)
