"""A client command answers at once: it imports the SDK and the CLI, never the server; a read's
--json builds no model either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import opensan
from opensan.cli.main import app
from opensan.testing import VirtualArray

# What `opensan serve` needs and a command that sends one GET does not.
SERVER_CODE = ("fastapi", "uvicorn", "starlette", "opensan.api", "opensan.service",
               "opensan.backends", "opensan.store", "opensan.array", "opensan.config")
# The SDK's models, which import pydantic: what a read's --json prints needs neither.
MODELS = "opensan.client.models"


def imported_modules(importtime: str) -> set[str]:
    """The modules named by `python -X importtime` ("import time: self | cumulative | name")."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime.splitlines()
            if line.startswith("import time:") and "|" in line}


def run_opensan(args: list[str], env: dict[str, str]) -> tuple[str, set[str]]:
    """Its stdout, and the modules it imported."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "opensan", *args],
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, imported_modules(run.stderr)


@pytest.fixture
def logged_in_env(opensan_array: VirtualArray, tmp_path: Path) -> dict[str, str]:
    """The environment of an `opensan` process with a saved session on the array."""
    env = {**os.environ, "OPENSAN_CONFIG_DIR": str(tmp_path / "config"),
           "PYTHONPATH": str(Path(opensan.__file__).parents[1]), "COLUMNS": "200"}
    login = CliRunner().invoke(app, ["login", opensan_array.base_url, "--password", "1234"],
                               env=env)
    assert login.exit_code == 0, login.output
    return env


def test_a_read_with_json_imports_no_server_code_and_no_models(
        opensan_array: VirtualArray, logged_in_env: dict[str, str]) -> None:
    stdout, modules = run_opensan(["volumes", "--json"], logged_in_env)
    assert json.loads(stdout) == [v.to_wire() for v in opensan_array.client.volumes()]
    assert "opensan.cli.commands" in modules and "httpx" in modules  # the parse saw them
    assert not sorted(m for m in modules if m.startswith(SERVER_CODE))
    assert MODELS not in modules


@pytest.mark.parametrize("args", [["volumes"], ["system"], ["events", "--json"], ["disks", "--json"],
                                  ["perf", "--json"], ["snapshots", "vol-db"], ["--help"],
                                  ["volume", "--help"]])
def test_no_client_command_imports_server_code(logged_in_env: dict[str, str],
                                               args: list[str]) -> None:
    stdout, modules = run_opensan(args, logged_in_env)
    assert stdout.strip()
    server = sorted(m for m in modules if m.startswith(SERVER_CODE))
    assert not server, server
    # A table needs the models; JSON as the array sent it, and the help, do not.
    assert (MODELS in modules) == (args[-1] not in ("--json", "--help"))


def test_importing_the_cli_and_the_sdk_imports_no_pydantic() -> None:
    """pydantic is imported by the first parse of an answer (and, from 0.29, by typer itself as a
    command runs: pyproject.toml keeps it below), never by an import of the CLI or the SDK."""
    run = subprocess.run([sys.executable, "-c", "import sys, opensan.cli.main, opensan.client; "
                          "print(sorted(m for m in sys.modules if m.startswith('pydantic')))"],
                         env={**os.environ, "PYTHONPATH": str(Path(opensan.__file__).parents[1])},
                         capture_output=True, text=True, timeout=60, check=True)
    assert run.stdout.strip() == "[]"
