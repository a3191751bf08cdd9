"""Every failure incentcalc reports on purpose, each mapped to one exit code.

The tree (exit code in brackets)::

    IncentcalcError                 [4] base; a bare one is a bug
    ├── InvariantError              [4] a calculated quarter broke a rule that must hold (a bug)
    ├── UsageError                  [2] bad command-line use (unknown period label, bad option)
    ├── ConfigError                 [2] the program YAML is wrong, or a file it names is missing
    ├── DataError                   [1] input rows failed validation (carries the failures)
    ├── LedgerCorruptError          [1] the ledger failed verification (an entry was changed)
    ├── EnvironmentFailure          [5] no space left, permission denied, a read-only folder
    └── RefusedError                [3] we will not run: output exists, or the folder is locked
        ├── OutputExistsError
        ├── LockHeldError
        └── LedgerRefusedError          period closed or out of order, run not closable

Messages are one paragraph: what is wrong, where, and how to fix it. Errors are built by the
named constructors below so the hint is never forgotten.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import polars as pl


class ExitCode(IntEnum):
    """Process exit codes of CLI.md."""

    OK = 0
    DATA = 1
    USAGE = 2
    REFUSED = 3
    INTERNAL = 4
    ENVIRONMENT = 5


@dataclass
class IncentcalcError(Exception):
    """Base class: a message a person can act on."""

    message: str
    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __str__(self) -> str:
        """The message alone: it already says what, where and the fix."""
        return self.message


class InvariantError(IncentcalcError):
    """The calculation broke a rule that must always hold: a bug, caught before writing."""

    @classmethod
    def broken(cls, violations: list[str], shown: int = 10) -> InvariantError:
        """Broken RULES.md invariants, the first `shown` of `violations` listed."""
        listed = "; ".join(violations[:shown])
        more = f" (and {len(violations) - shown} more)" if len(violations) > shown else ""
        return cls(
            f"A check that must hold failed after calculating, so nothing was written: "
            f"{listed}{more}. This is a bug in incentcalc, not in your data; report it with "
            "the config and this message (rerun with --debug for the traceback)."
        )


class UsageError(IncentcalcError):
    """The command line asked for something impossible."""

    exit_code = ExitCode.USAGE

    @classmethod
    def bad_period(cls, label: str) -> UsageError:
        """A --period that is not a quarter label, with the accepted forms."""
        return cls(
            f"Period {label!r} is not a quarter label. Write it as 2026Q3 (2026-Q3 and 2026q3 "
            "are accepted too; quarters are 1 to 4)."
        )


class ConfigError(IncentcalcError):
    """The program config (or a file it points at) is wrong."""

    exit_code = ExitCode.USAGE

    @classmethod
    def missing_file(cls, what: str, path: Path) -> ConfigError:
        """A source file named in the config that does not exist."""
        return cls(
            f"{what} file not found: {path}. Check the path in the config "
            "(paths are relative to the config file's folder)."
        )


@dataclass
class DataError(IncentcalcError):
    """Input rows broke the data contract; `failures` holds every one of them."""

    failures: pl.DataFrame | None = field(default=None, repr=False)
    exit_code = ExitCode.DATA

    @classmethod
    def too_large(cls) -> DataError:
        """Amounts so large that exact arithmetic would pass 38 digits."""
        return cls(
            "The amounts in this quarter are too large to calculate exactly (a sum or product "
            "passed 38 digits). Check the inputs for amounts in the wrong unit (e.g. cents "
            "exported as whole currency units) or a mistyped rate."
        )


class LedgerCorruptError(IncentcalcError):
    """The ledger's files no longer match their recorded hashes (RULES.md 11.9)."""

    exit_code = ExitCode.DATA


ENVIRONMENT_PROBLEMS = {
    errno.ENOSPC: ("No space left on the disk of", "Free space on that disk, or write elsewhere"),
    errno.EDQUOT: ("The disk quota is used up for", "Free space in the quota, or write elsewhere"),
    errno.EFBIG: ("A file grew past what the file system allows in", "Write elsewhere"),
    errno.EACCES: (
        "Permission denied on",
        "Give the user running incentcalc write access to that folder, or write elsewhere",
    ),
    errno.EPERM: (
        "The operating system refused the change to",
        "Give the user running incentcalc write access to that folder, or write elsewhere",
    ),
    errno.EROFS: ("The file system is read-only at", "Remount it read-write, or write elsewhere"),
}
"""errno -> (what happened, the fix): the failures of the machine, not of incentcalc or the
data (exit 5)."""

_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)")
"""How Polars (Rust) reports an OS error in its messages: `... (os error 28)`."""


def environment_errno(exc: BaseException) -> int | None:
    """The errno of ENVIRONMENT_PROBLEMS behind `exc`, or None.

    Libraries wrap the OS error differently: Python raises OSError, xlsxwriter a
    FileCreateError holding it, Polars an OSError or ComputeError whose message ends in
    `(os error 28)`; the chain of causes and arguments is searched for either.
    """
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found = current.errno if isinstance(current, OSError) else None
        match = _OS_ERROR_NUMBER.search(str(current))
        for number in (found, int(match.group(1)) if match else None):
            if number in ENVIRONMENT_PROBLEMS:
                return number
        linked = (current.__cause__, current.__context__, *current.args)
        pending += [e for e in linked if isinstance(e, BaseException)]
    return None


class EnvironmentFailure(IncentcalcError):
    """The machine refused a write (a full disk, permission denied, a read-only folder):
    neither a bug nor bad data, so neither exit 4 nor exit 1."""

    exit_code = ExitCode.ENVIRONMENT

    @classmethod
    def writing(cls, path: Path | str | None, number: int, kept: str) -> EnvironmentFailure:
        """`path`: where incentcalc was writing; `kept`: what is true of the outputs now."""
        what, fix = ENVIRONMENT_PROBLEMS[number]
        where = f"{what} {path}" if path else what.rsplit(" ", 1)[0]
        return cls(
            f"{where} ({errno.errorcode.get(number, number)}). {kept} {fix}, then run the "
            "command again. This is a problem of the machine, not of incentcalc or your data."
        )


class RefusedError(IncentcalcError):
    """incentcalc will not run, to protect what is already there."""

    exit_code = ExitCode.REFUSED


class OutputExistsError(RefusedError):
    """The output folder already holds a run."""

    @classmethod
    def at(cls, path: Path) -> OutputExistsError:
        """An output folder that exists while --force was not given."""
        return cls(
            f"Output folder {path} already exists. Nothing was changed. Pass --force to "
            "replace it, or choose another folder with --out."
        )


class LockHeldError(RefusedError):
    """Another live run holds the output folder's lock."""

    @classmethod
    def held_by(cls, path: Path, holder: str) -> LockHeldError:
        """A lock on `path` held by another live process (`holder` describes it)."""
        return cls(
            f"Another incentcalc run holds the lock on {path} ({holder}). Wait for it to "
            "finish; if no such process exists, the lock is taken over automatically."
        )


class LedgerRefusedError(RefusedError):
    """The ledger does not allow this: a closed or out-of-order period, a run that cannot be
    closed, or a ledger of another program (RULES.md 11.1, 11.9)."""
