"""Every subprocess of the Linux backend starts here (ARCHITECTURE.md, rule 6).

One place logs each command, bounds it with a timeout and turns every way a tool can fail
(non-zero exit, hang, not installed) into CommandFailed, a BackendError the service reports.
Output is parsed elsewhere, by pure functions tested on recorded output.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import IO, TypeAlias

from opensan.domain.errors import BackendError

log = logging.getLogger("opensan.linux")

# Paths may be given as str or pathlib.Path everywhere in the Linux backend.
StrPath: TypeAlias = str | os.PathLike[str]

# The Debian package that provides each tool, for a useful message when one is missing.
PACKAGES = {
    "btrfs": "btrfs-progs",
    "iscsi-ls": "libiscsi-bin",
    "losetup": "mount",
    "lsblk": "util-linux",
    "mkfs.btrfs": "btrfs-progs",
    "mount": "mount",
    "qemu-io": "qemu-utils (and qemu-block-extra for iSCSI)",
    "smartctl": "smartmontools",
    "tgtadm": "tgt",
    "tgtd": "tgt",
    "umount": "mount",
    "wipefs": "util-linux",
}


def _environment() -> dict[str, str]:
    """Tools print numbers and messages in the C locale, which the parsers expect."""
    return {**os.environ, "LC_ALL": "C"}


class CommandFailed(BackendError):
    """A command exited with an unexpected code, timed out, or is not installed."""

    def __init__(
        self, argv: Sequence[StrPath], returncode: int | None, stderr: str, reason: str | None = None
    ) -> None:
        self.argv = tuple(os.fspath(argument) for argument in argv)
        self.returncode = returncode
        self.stderr = stderr
        if reason is None:
            lines = [line.strip() for line in stderr.splitlines() if line.strip()]
            reason = f"exit code {returncode}" + (f": {lines[-1]}" if lines else "")
        super().__init__(f"{shlex.join(self.argv)} failed ({reason})")


def _not_installed(argv: Sequence[StrPath]) -> CommandFailed:
    tool = Path(argv[0]).name
    package = PACKAGES.get(tool, "the package that provides it")
    return CommandFailed(argv, None, "", f"{tool} is not installed; install {package}")


def run(
    argv: Sequence[StrPath],
    *,
    timeout: float | None = 120,
    input: str | None = None,
    ok_codes: Collection[int] = (0,),
) -> str:
    """Run a command to completion and return its standard output.

    Raises CommandFailed when the exit code is not in ok_codes, on timeout (the command is
    killed; None waits for ever, for work as long as the data, like a btrfs balance) and when
    the tool is not installed.
    """
    arguments = [os.fspath(argument) for argument in argv]
    log.debug("run: %s", shlex.join(arguments))
    started = time.monotonic()
    try:
        completed = subprocess.run(
            arguments,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_environment(),
            check=False,
        )
    except FileNotFoundError:
        raise _not_installed(argv) from None
    except subprocess.TimeoutExpired as expired:
        stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else ""
        raise CommandFailed(argv, None, stderr, f"timed out after {timeout} s") from None
    log.debug(
        "exit %d after %.2f s: %s", completed.returncode, time.monotonic() - started, arguments[0]
    )
    if completed.returncode not in ok_codes:
        raise CommandFailed(argv, completed.returncode, completed.stderr)
    return completed.stdout


def spawn(argv: Sequence[StrPath], *, output: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start a long-running daemon (tgtd) in its own session, its output going to `output`.

    Its own session keeps a terminal's Ctrl-C away from it: the caller alone stops it.
    """
    arguments = [os.fspath(argument) for argument in argv]
    log.debug("spawn: %s", shlex.join(arguments))
    try:
        return subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=_environment(),
            start_new_session=True,
        )
    except FileNotFoundError:
        raise _not_installed(argv) from None
