"""`opensan ARGS` as a live server process, forked from a fork server instead of started anew.

A test's live server used to be `python -m opensan serve ...` started by subprocess: about 1.5 s of
every start (more on a loaded machine) went to Python importing FastAPI, pydantic, uvicorn and the
server's own modules, again for each of the hundreds of tests CI runs against live servers.
Python's multiprocessing fork server imports them once (SERVER_MODULES) and forks a process for
each server from there: a process of its own, with its own state dir, port, environment, working
directory and log, running the same CLI entry point `python -m opensan` runs, as a crash or
kill -9 sees it. What it skips is only the interpreter's start, the imports and making the
virtual array's routes (api.app.api_routes, the same for every array); the wheel stage of
CI (.ci/wheel) and the CLI's own tests still start `opensan` as a new program.

The fork server is started at the first server of a test session and ends with it; the server
processes are daemonic, so a session that ends leaves none behind.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from multiprocessing import forkserver
from multiprocessing.process import BaseProcess
from pathlib import Path

from opensan.api.app import api_routes
from opensan.backends.simulated.backend import TRAITS

# What `opensan serve` imports (cli/server.py imports most of it when it runs), and this module,
# whose serve() each forked process runs.
SERVER_MODULES = ["opensan.cli.main", "opensan.cli.server", "opensan.api.app", "opensan.array",
                  "opensan.tls", "uvicorn", "forked_server"]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(SERVER_MODULES)
api_routes(TRAITS.capabilities)  # the virtual array's routes, made once before any fork


def serve(args: list[str], env: dict[str, str], cwd: str, log_path: str) -> None:
    """In the forked process: what `python -m opensan ARGS` does, with exactly env as its
    environment (as subprocess's env= gives it), in cwd, its output in log_path."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    from opensan.cli.main import app

    app(args=args, prog_name="opensan")  # exits with the command's status (SystemExit)


@functools.cache
def _start_fork_server() -> None:
    """Python 3.11's fork server starts with the interpreter's own sys.path, not the test
    process's (3.12 passes it on), so it would not find this module (tests/ is on sys.path
    through pytest only) and every fork would import it again: PYTHONPATH names tests/ for its
    start only. Once per session: a fork server that died is started again by multiprocessing
    itself, without it (its forks then import this module themselves, slower but the same)."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parent), before) if p)
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def start(args: list[str], env: dict[str, str], log_path: Path) -> BaseProcess:
    """A started server process: its pid, is_alive(), exitcode (negative: the signal that ended
    it, as with subprocess), terminate(), kill() and join()."""
    _start_fork_server()
    process = _context.Process(target=serve, args=(args, env, os.getcwd(), str(log_path)),
                               daemon=True, name=f"opensan {args[0]}")
    process.start()
    return process
