"""Run one CLI command as a child process and measure its wall time and peak memory.

Peak memory is the child's own maximum resident set size, read from `os.wait4` (Linux
reports it in KiB), so no extra dependency and no polling is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Measured:
    """The outcome of one child process."""

    args: tuple[str, ...]
    exit_code: int
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def error_tail(self, lines: int = 3) -> str:
        """The last lines of stderr (or stdout), to show why a command failed."""
        text = (self.stderr or self.stdout).strip().splitlines()
        return " / ".join(line.strip() for line in text[-lines:])


def incentcalc(*args: str) -> list[str]:
    """Command line running the CLI with this interpreter."""
    return [sys.executable, "-m", "incentcalc", *args]


def measure(command: list[str], *, cwd: Path | None = None) -> Measured:
    """Run `command` to completion; wall time, peak RSS of the child, exit code, output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd)
        deadline = started + TIMEOUT_SECONDS
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            args=tuple(command),
            exit_code=child.returncode,
            seconds=seconds,
            peak_mb=usage.ru_maxrss / 1024,
            stdout=out.read(),
            stderr=err.read(),
        )


def command_available(name: str) -> bool:
    """Whether the CLI has the command `name` (others may still be writing it)."""
    return measure(incentcalc(name, "--help")).ok


def measure_best(command: list[str], repeat: int = 1, *, cwd: Path | None = None) -> Measured:
    """The fastest of `repeat` runs (on a busy machine the minimum is the least disturbed),
    with the highest peak memory seen; a failing run is returned at once."""
    best: Measured | None = None
    peak = 0.0
    for _ in range(max(1, repeat)):
        measured = measure(command, cwd=cwd)
        if not measured.ok:
            return measured
        peak = max(peak, measured.peak_mb)
        if best is None or measured.seconds < best.seconds:
            best = measured
    assert best is not None
    return Measured(best.args, best.exit_code, best.seconds, peak, best.stdout, best.stderr)


def module(name: str, *args: str, python: str = sys.executable) -> list[str]:
    """Command line running a bench module (`bench.floor`, a peer) with `python`."""
    return [python, "-m", name, *args]
