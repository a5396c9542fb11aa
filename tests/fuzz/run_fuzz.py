"""The OpenAPI fuzz of CI: Schemathesis against a live `opensan serve` on a new virtual array.

    python3 tests/fuzz/run_fuzz.py [--seed N] [--max-time SECONDS] [-- SCHEMATHESIS OPTIONS]

Starts the server of this checkout (its src/ first on PYTHONPATH, whatever is installed) on a
free 127.0.0.1 port with a fresh state dir, logs in as admin, fetches /openapi.json with that
token (it may soon need one) and runs `schemathesis run` with schemathesis.toml (every check
and phase) and schemathesis_hooks.py (the login, our error-body check, the links) for the time
budget. The server is stopped whatever happens; the exit code is Schemathesis's, non-zero on
any failure. The seed fixes what is generated; the budget how much of it is sent.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEED = 20261129
MAX_TIME_SECONDS = 180  # with the start and the shrinking, about 3.5 minutes on 2 cores
START_TIMEOUT_SECONDS = 60
# The start of a server log record: opensan's own, or uvicorn's.
RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} |(INFO|WARNING|ERROR):")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    # The fuzz reads the account list and reuses what it finds, so its logins name admin with
    # wrong passwords too: with the lock-out at its default, admin (the fuzz's own account) is
    # locked within seconds and every later request fails. Throttling is tested in
    # tests/api/test_auth.py; here the lock-out needs more failures than a second can bring.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p),
        "OPENSAN_LOGIN_MAX_FAILURES": "1000", "OPENSAN_LOGIN_WINDOW_SECONDS": "1"}
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 (the server writes it while it runs)
    server = subprocess.Popen(
        [sys.executable, "-m", "opensan", "serve", "--port", str(port),
         "--state-dir", str(workdir / "state"), "--seed", str(SEED)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/rest/", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"the server did not start within {START_TIMEOUT_SECONDS} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def fetch_schema(url: str, path: Path) -> None:
    """Log in and fetch the schema with the token, as a client of a locked /openapi.json must."""
    login = httpx.post(f"{url}/rest/login/account/admin/password/1234", timeout=30)
    login.raise_for_status()
    schema = httpx.get(f"{url}/openapi.json", headers={"Authorization": login.json()["accessToken"]},
                       timeout=30)
    schema.raise_for_status()
    path.write_bytes(schema.content)


def schemathesis_command(schema: Path, url: str, seed: int, max_time: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"),
            "run", str(schema), "--url", url, "--seed", str(seed), "--max-time", str(max_time),
            "--no-color", *extra]


def server_errors(log: Path) -> list[str]:
    """The server log's ERROR records with their tracebacks (each 500 leaves one)."""
    kept: list[str] = []
    keep = False
    for line in log.read_text(errors="replace").splitlines():
        if RECORD.match(line):  # a record starts; the lines up to the next one belong to it
            keep = " ERROR " in line or line.startswith("ERROR:")
        if keep:
            kept.append(line)
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=int(os.environ.get("OPENSAN_FUZZ_SEED", SEED)))
    parser.add_argument("--max-time", type=int, default=MAX_TIME_SECONDS)
    parser.add_argument("extra", nargs="*", help="more `schemathesis run` options, after --")
    args = parser.parse_args()
    # CI's time-out or a kill: stop the server on the way out, as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="opensan-fuzz-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(workdir, port)
        try:
            fetch_schema(url, workdir / "openapi.json")
            command = schemathesis_command(workdir / "openapi.json", url, args.seed,
                                           args.max_time, args.extra)
            print(f"OpenAPI fuzz: seed {args.seed} (reproduce with --seed {args.seed}), "
                  f"{args.max_time} s, server {url}", flush=True)
            env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
                   "OPENSAN_FUZZ_URL": url}
            code = subprocess.run(command, cwd=workdir, env=env).returncode
        finally:
            stop_server(server)
        errors = server_errors(workdir / "server.log")
        if code and errors:
            print(f"OpenAPI fuzz failed (exit {code}); the server logged {len(errors)} lines of "
                  "errors, the first 200:", *errors[:200], sep="\n")
        return code


if __name__ == "__main__":
    sys.exit(main())
