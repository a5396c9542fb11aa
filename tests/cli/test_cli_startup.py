"""A client command answers at once: it imports the SDK and the CLI, never the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import opensan
from opensan.cli.main import app
from opensan.testing import VirtualArray

# What `opensan serve` needs and a command that sends one GET does not.
SERVER_CODE = ("fastapi", "uvicorn", "starlette", "opensan.api", "opensan.service",
               "opensan.backends", "opensan.store", "opensan.array", "opensan.config")


def imported_modules(importtime: str) -> set[str]:
    """The modules named by `python -X importtime` ("import time: self | cumulative | name")."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_a_client_command_imports_no_server_code(opensan_array: VirtualArray,
                                                 tmp_path: Path) -> None:
    env = {**os.environ, "OPENSAN_CONFIG_DIR": str(tmp_path / "config"),
           "PYTHONPATH": str(Path(opensan.__file__).parents[1])}  # this checkout's opensan
    login = CliRunner().invoke(app, ["login", opensan_array.base_url, "--password", "1234"],
                               env=env)
    assert login.exit_code == 0, login.output
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "opensan", "volumes", "--json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [v["name"] for v in json.loads(run.stdout)] == \
        [v.name for v in opensan_array.client.volumes()]
    modules = imported_modules(run.stderr)
    assert "opensan.cli.commands" in modules and "httpx" in modules  # the parse saw them
    server = sorted(m for m in modules if m.startswith(SERVER_CODE))
    assert not server, server
