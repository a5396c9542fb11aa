"""How long a client command of the CLI takes, next to the least any Python CLI of its kind takes.

One run starts `opensan serve` (a new virtual array on a free port, in a temporary state dir),
logs in with a temporary config dir, then times, alternately and N times each,
`python -m opensan volumes --json` (one GET, its JSON printed) and
`python -c "import httpx, typer, rich.console"` (the interpreter and the libraries such a command
cannot do without). It prints both medians of the wall time, their spread and the ratio, against
the target of 1.5x, and the same for the CPU time (user + system) of each process, which other
work on the machine changes much less. `--src` measures another checkout (e.g. `git worktree add
/tmp/old main`, then `--src /tmp/old/src`). `--wheel` measures what a user gets: the checkout's
wheel installed in a fresh venv, with the newest dependencies its requirements allow (from the
package index), and nothing else the development environment holds (such as trio, which httpcore
imports whenever it is there); both commands then run on that venv's interpreter.

    python bench/cli_startup.py
    python bench/cli_startup.py --runs 30 --src /tmp/old/src
    python bench/cli_startup.py --wheel
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from login_storm import start_server

TARGET = 1.5
BASELINE = "import httpx, typer, rich.console"


def installed_from_wheel(checkout: Path, work: Path) -> Path:
    """The interpreter of a fresh venv holding the checkout's wheel and its dependencies."""
    quiet = ["--quiet", "--disable-pip-version-check"]
    subprocess.run([sys.executable, "-m", "pip", "wheel", *quiet, "--no-deps", "-w",
                    str(work / "dist"), str(checkout)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", *quiet,
                    *map(str, (work / "dist").glob("opensan-*.whl"))], check=True)
    return python


def versions(python: Path, env: dict[str, str]) -> str:
    """The versions of the libraries that decide the figures, as the measured interpreter has them."""
    names = ["typer", "httpx", "httpcore", "rich", "pydantic", "trio"]
    script = ("from importlib.metadata import version, PackageNotFoundError\n"
              f"for name in {names!r}:\n"
              "    try: print(f'{name} {version(name)}', end='; ')\n"
              "    except PackageNotFoundError: print(f'{name} absent', end='; ')")
    return subprocess.run([str(python), "-c", script], env=env, capture_output=True, text=True,
                          check=True).stdout.rstrip("; ")


def seconds(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time and the CPU time of one run of the command."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    """CPU seconds of the children that ended (the server is counted only once it has)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def show(label: str, cli: list[float], baseline: list[float]) -> None:
    cli_median, baseline_median = statistics.median(cli), statistics.median(baseline)
    print(f"{label}:")
    for name, found in [("opensan volumes --json", cli), (f'python -c "{BASELINE}"', baseline)]:
        print(f"  {name:<52} median {statistics.median(found) * 1000:5.0f} ms "
              f"(min {min(found) * 1000:.0f}, max {max(found) * 1000:.0f})")
    ratio = cli_median / baseline_median
    print(f"  ratio {ratio:.2f}x (target <= {TARGET}x): {'PASS' if ratio <= TARGET else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command")
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src",
                        help="the checkout's src directory to measure")
    parser.add_argument("--wheel", action="store_true",
                        help="measure the checkout's wheel in a fresh venv (needs the package index)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opensan-cli-bench-") as work:
        # Both commands run from bytecode, as an installed package does (pip compiles it):
        # kept in the work dir, whatever PYTHONDONTWRITEBYTECODE says.
        env = {**os.environ, "PYTHONPATH": str(args.src.resolve()),
               "OPENSAN_CONFIG_DIR": str(Path(work) / "config"),
               "PYTHONPYCACHEPREFIX": str(Path(work) / "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python, measured = Path(sys.executable), env
        if args.wheel:
            python = installed_from_wheel(args.src.resolve().parent, Path(work))
            measured = {**env, "PYTHONPATH": ""}  # only what the venv holds
        server, url = start_server(Path(work) / "state", env)
        try:
            subprocess.run([python, "-m", "opensan", "login", url, "--password", "1234"],
                           env=measured, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            cli = [str(python), "-m", "opensan", "volumes", "--json"]
            baseline = [str(python), "-c", BASELINE]
            seconds(cli, measured), seconds(baseline, measured)  # bytecode compiled, files cached
            libraries = versions(python, measured)
            cli_runs, baseline_runs = [], []
            load = os.getloadavg()[0]
            for _ in range(args.runs):  # alternately, so a busy moment hits both
                cli_runs.append(seconds(cli, measured))
                baseline_runs.append(seconds(baseline, measured))
        finally:
            server.terminate()
            server.wait(30)
    print(f"{args.src}{' (its wheel in a fresh venv)' if args.wheel else ''}: {args.runs} runs "
          f"each, load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end\n{python}: {libraries}")
    show("wall time", [wall for wall, _ in cli_runs], [wall for wall, _ in baseline_runs])
    show("CPU time", [cpu for _, cpu in cli_runs], [cpu for _, cpu in baseline_runs])


if __name__ == "__main__":
    main()
