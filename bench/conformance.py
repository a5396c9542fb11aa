"""libiscsi's SCSI conformance suite (iscsi-test-cu) on an OpenSAN LUN and on a plain tgt LUN.

One run (as root):
  1. builds an OpenSAN Linux array on loop devices (bench/linux_bench.py's opensan_array) with
     a thick volume mapped as SANOS LUN 0 (tgt LUN 1), and a private plain tgtd serving a
     preallocated file of the same size as LUN 1 (bench/linux_bench.py's plain_tgt);
  2. runs `iscsi-test-cu --dataloss --test=SCSI.<suite>` once per suite against each LUN;
  3. prints passed/failed/skipped per suite side by side, and lists every test that fails on
     OpenSAN but not on plain tgt: those are OpenSAN defects.

    sudo python bench/conformance.py              # the ten default suites, about a minute
    sudo python bench/conformance.py --all-scsi   # every SCSI suite that needs no extra setup

The exit code is 1 when there is a defect.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from linux_bench import (
    IscsiLun,
    log,
    opensan_array,
    plain_tgt,
    print_table,
    raise_on_sigterm,
    require_root,
    work_directory,
)

DEFAULT_SUITES = ("TestUnitReady", "Inquiry", "ReadCapacity10", "ReadCapacity16", "Read10",
                  "Read16", "Write10", "Write16", "WriteSame10", "WriteSame16")
# Not in --all-scsi: Sanitize wants --allow-sanitize, MultipathIO a second URL to the same LU.
NEEDS_SETUP = ("Sanitize", "MultipathIO")

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_SUITE = re.compile(r"^Suite: (\S+)")
_TEST = re.compile(r"^\s+Test: (\S+) \.\.\.(.*)$")
_END = re.compile(r"^Run Summary:")
# CUnit's verdict ends the test's output: "...passed" / "...FAILED", or alone on a line when the
# test logged something first. "[FAILED]" (with brackets) is only a log line of the test.
_VERDICT_FAILED = re.compile(r"(?:^|\.\.\.)\s*FAILED\b", re.MULTILINE)
_VERDICT_PASSED = re.compile(r"(?:^|\.\.\.)\s*passed\b", re.MULTILINE)


def available_suites() -> list[str]:
    listing = subprocess.run(["iscsi-test-cu", "--list"], capture_output=True, text=True).stdout
    return re.findall(r"^SCSI\.([A-Za-z0-9_-]+)$", listing, re.MULTILINE)


def parse_results(output: str) -> dict[tuple[str, str], str]:
    """(suite, test) -> passed, failed or skipped, from iscsi-test-cu's verbose CUnit output.

    A test that logged "[SKIPPED]" counts as skipped, although CUnit counts it as passed. A
    test without a verdict (iscsi-test-cu died during it) counts as failed.
    """
    results: dict[tuple[str, str], str] = {}
    suite, test, text = "", "", ""

    def finish() -> None:
        if not test:
            return
        if _VERDICT_FAILED.search(text):
            results[(suite, test)] = FAILED
        elif "[SKIPPED]" in text:
            results[(suite, test)] = SKIPPED
        elif _VERDICT_PASSED.search(text):
            results[(suite, test)] = PASSED
        else:
            results[(suite, test)] = FAILED

    for line in output.splitlines():
        if (match := _SUITE.match(line)) or _END.match(line):
            finish()
            suite, test, text = (match.group(1) if match else suite), "", ""
        elif match := _TEST.match(line):
            finish()
            test, text = match.group(1), "..." + match.group(2)
        elif test:
            text += "\n" + line
    finish()
    return results


@dataclass
class SuiteRun:
    results: dict[tuple[str, str], str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per suite
    problems: list[str] = field(default_factory=list)  # crashes, suites that ran no test

    def count(self, suite: str, outcome: str) -> int:
        return sum(1 for (s, _), o in self.results.items() if s == suite and o == outcome)


def run_suites(lun: IscsiLun, suites: Iterable[str], log_path: Path) -> SuiteRun:
    """Every suite in its own iscsi-test-cu process, so that a crash loses only that suite."""
    outcome = SuiteRun()
    with log_path.open("w") as log_file:
        for suite in suites:
            started = time.monotonic()
            argv = ["iscsi-test-cu", "--dataloss", f"--test=SCSI.{suite}", lun.url]
            completed = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
            outcome.seconds[suite] = time.monotonic() - started
            output = completed.stdout + completed.stderr
            log_file.write(f"$ {' '.join(argv)}\n{output}\n")
            results = parse_results(output)
            outcome.results.update(results)
            if not results:
                outcome.problems.append(f"{suite}: no test ran (exit code {completed.returncode})")
            elif completed.returncode not in (0, 1):  # 1: some test failed
                outcome.problems.append(f"{suite}: iscsi-test-cu exited with {completed.returncode}")
    return outcome


def report(suites: list[str], opensan: SuiteRun, plain: SuiteRun) -> list[str]:
    """Print the tables; return the defects."""
    print()
    rows: list[tuple[str, ...]] = [("suite", "OpenSAN pass/fail/skip", "plain tgt pass/fail/skip",
                                    "OpenSAN s", "plain tgt s")]

    def counts(run: SuiteRun, suite: str) -> str:
        return "/".join(str(run.count(suite, o)) for o in (PASSED, FAILED, SKIPPED))

    for suite in suites:
        rows.append((suite, counts(opensan, suite), counts(plain, suite),
                     f"{opensan.seconds[suite]:.1f}", f"{plain.seconds[suite]:.1f}"))
    totals = [sum(r.count(s, o) for s in suites) for r in (opensan, plain)
              for o in (PASSED, FAILED, SKIPPED)]
    rows.append(("total", "/".join(map(str, totals[:3])), "/".join(map(str, totals[3:])),
                 f"{sum(opensan.seconds.values()):.1f}", f"{sum(plain.seconds.values()):.1f}"))
    print_table(rows)
    for name, run in (("OpenSAN", opensan), ("plain tgt", plain)):
        for problem in run.problems:
            print(f"problem on {name}: {problem}")
    tests = sorted(set(opensan.results) | set(plain.results))

    def label(key: tuple[str, str]) -> str:
        return f"SCSI.{key[0]}.{key[1]}"

    def on(run: SuiteRun, key: tuple[str, str]) -> str:
        return run.results.get(key, "not run")

    defect_keys = [k for k in tests if on(opensan, k) in (FAILED, "not run")
                   and on(plain, k) in (PASSED, SKIPPED)]
    defects = [f"{label(k)} (plain tgt: {on(plain, k)})" for k in defect_keys]
    other = [f"{label(k)}: OpenSAN {on(opensan, k)}, plain tgt {on(plain, k)}" for k in tests
             if on(opensan, k) != on(plain, k) and k not in defect_keys]
    both = [label(k) for k in tests if on(opensan, k) == FAILED and on(plain, k) == FAILED]
    print()
    print(f"defects (fail on OpenSAN, not on plain tgt): {len(defects)}")
    for line in defects:
        print(f"  {line}")
    print(f"other differences: {len(other)}")
    for line in other:
        print(f"  {line}")
    print(f"fail on both (tgt itself): {len(both)}")
    for line in both:
        print(f"  {line}")
    return defects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-root", type=Path, default=Path("/var/tmp"),
                        help="where the work directory goes: loop files and the plain file")
    parser.add_argument("--suites", default=",".join(DEFAULT_SUITES),
                        help="comma-separated SCSI suites (names from iscsi-test-cu --list)")
    parser.add_argument("--all-scsi", action="store_true",
                        help="every SCSI suite except " + " and ".join(NEEDS_SETUP))
    parser.add_argument("--volume-gib", type=int, default=1, help="size of both LUNs")
    parser.add_argument("--raid", default="5", help="pool RAID level: 0, 1, 5, 6 or 10")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (with both iscsi-test-cu logs)")
    args = parser.parse_args()
    require_root()
    raise_on_sigterm()
    known = available_suites()
    suites = [s for s in known if s not in NEEDS_SETUP] if args.all_scsi \
        else [s for s in args.suites.split(",") if s]
    unknown = [s for s in suites if s not in known]
    if unknown:
        sys.exit(f"unknown suites {unknown}; iscsi-test-cu --list has {known}")
    started = time.monotonic()
    with work_directory(args.work_root, args.keep) as work_dir, \
            opensan_array(work_dir, disks=4, disk_gib=2, raid=args.raid) as array:
        volume = array.create_volume("conformance", args.volume_gib)
        opensan_lun = array.map(volume, 0)
        with plain_tgt(work_dir / "plain", int(volume["capacityBytes"])) as plain_lun:
            log(f"OpenSAN: {opensan_lun.url} (RAID {args.raid} pool, thick {args.volume_gib} GiB volume)")
            opensan = run_suites(opensan_lun, suites, work_dir / "opensan-iscsi-test-cu.log")
            log(f"plain tgt: {plain_lun.url}")
            plain = run_suites(plain_lun, suites, work_dir / "plain-iscsi-test-cu.log")
        defects = report(suites, opensan, plain)
        print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
