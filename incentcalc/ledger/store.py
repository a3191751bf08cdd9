"""The ledger store (RULES.md 11): the only module that reads or writes the ledger folder.

Layout (docs/ledger.md)::

    <ledger.path>/
      .entries.lock                    held while a `close` writes (io.locking)
      entries/
        0001-2026Q1/                   one folder per closed period, NNNN in close order
          payouts.parquet              \\
          deal_bonuses.parquet          | the run's files, byte for byte (ENTRY_FILES)
          ledger_lines.parquet          |
          manifest.json                /
          config.yaml                  the config text the run used
          entry.json                   period, program, hashes of the files above, the sha256
                                       of the previous entry.json (the chain), totals

An entry folder appears whole or not at all: it is written into a hidden sibling, fsynced and
renamed (`io.writers.locked_output`), under a ledger-wide lock so two closes never interleave.
Every reader verifies the whole chain first (`open_ledger`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incentcalc.config import ProgramConfig
from incentcalc.errors import (
    ConfigError,
    IncentcalcError,
    LedgerCorruptError,
    LedgerRefusedError,
)
from incentcalc.io.digest import file_sha256
from incentcalc.io.locking import holding_lock
from incentcalc.io.writers import locked_output, write_json
from incentcalc.periods import Period, parse_period
from incentcalc.result import ENTRY_FILES

LEDGER_VERSION = 1
ENTRIES_DIR = "entries"
ENTRY_JSON = "entry.json"
ENTRY_CONFIG = "config.yaml"
ENTRY_NAME = re.compile(r"(\d{4})-(\d{4}Q[1-4])")
PAUSE_ENV = "INCENTCALC_TEST_PAUSE_IN_CLOSE"
"""Test hook: seconds `close` sleeps after copying the files, before entry.json is written and
the entry published, so tests can kill it there (tests/test_ledger_cli.py)."""


SELF_HASH = "document_sha256"
"""entry.json's hash of its own content (every other key, canonical JSON): a changed byte in
the last entry.json, which no later entry links to yet, is caught too."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_hash(document: dict[str, Any]) -> str:
    """sha256 of the document without SELF_HASH, as sorted compact JSON."""
    content = {key: value for key, value in document.items() if key != SELF_HASH}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_bytes(text.encode("utf-8"))


@dataclass(frozen=True)
class Entry:
    """One closed period: its folder and its entry.json (parsed, and the hash of its bytes)."""

    number: int
    folder: Path
    document: dict[str, Any]
    sha256: str

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def period_label(self) -> str:
        return str(self.document["period"])

    def period(self) -> Period:
        return parse_period(self.period_label, int(self.document["fiscal_year_start_month"]))


@dataclass(frozen=True)
class Problem:
    """One verification failure, naming the entry and the file."""

    entry: str
    file: str | None
    message: str

    def __str__(self) -> str:
        where = f"entry {self.entry}" + (f", file {self.file}" if self.file else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Ledger:
    """The entries of a ledger folder, in close order (verified by `open_ledger`)."""

    path: Path
    entries: tuple[Entry, ...]

    @property
    def head(self) -> str | None:
        """sha256 of the last entry.json: what a run records and `close` compares."""
        return self.entries[-1].sha256 if self.entries else None

    def next_period(self) -> Period | None:
        """The only period a plain run may calculate (None: empty ledger, any period)."""
        return self.entries[-1].period().shifted(1) if self.entries else None

    def entry_of(self, period: Period) -> Entry | None:
        return next((e for e in self.entries if e.period_label == period.label), None)

    def entries_before(self, period: Period) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.period() < period)


def entries_folder(root: Path) -> Path:
    return root / ENTRIES_DIR


def _entry_folders(root: Path) -> Iterator[Path]:
    """Visible children of entries/ in name order (hidden ones are locks and temporaries)."""
    folder = entries_folder(root)
    if not folder.is_dir():
        return
    for child in sorted(folder.iterdir()):
        if not child.name.startswith("."):
            yield child


def verify_ledger(root: Path) -> tuple[Ledger, list[Problem]]:
    """Read every entry and check it: each file against its recorded sha256, each link to the
    previous entry.json, numbering and periods consecutive. Returns all problems found."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for folder in _entry_folders(root):
        entry, found = _verify_entry(folder, len(entries) + 1, entries[-1] if entries else None)
        problems += found
        if entry is not None:
            entries.append(entry)
    return Ledger(root, tuple(entries)), problems


def _verify_entry(
    folder: Path, expected_number: int, previous: Entry | None
) -> tuple[Entry | None, list[Problem]]:
    name = folder.name
    match = ENTRY_NAME.fullmatch(name)
    if match is None or not folder.is_dir():
        return None, [Problem(name, None, "is not an entry folder (NNNN-<period>)")]
    try:
        raw = (folder / ENTRY_JSON).read_bytes()
        document = json.loads(raw)
        recorded: dict[str, str] = dict(document["files"])
        number, period = int(document["entry"]), str(document["period"])
        int(document["fiscal_year_start_month"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, [Problem(name, ENTRY_JSON, f"cannot be read as an entry ({exc})")]
    entry = Entry(number, folder, document, sha256_bytes(raw))
    problems = [Problem(name, file, text) for file, text in _file_problems(folder, recorded)]
    if document.get(SELF_HASH) != document_hash(document):
        problems.append(Problem(name, ENTRY_JSON, "its content does not match its own hash"))
    if (number, period) != (int(match.group(1)), match.group(2)):
        problems.append(Problem(name, ENTRY_JSON, f"records entry {number} of {period}"))
    if number != expected_number:
        problems.append(Problem(name, None, f"is entry {number}, expected {expected_number}"))
    link = document.get("previous_entry_sha256")
    if link != (previous.sha256 if previous else None):
        before = (
            f"{previous.name}'s entry.json hashes to {previous.sha256}"
            if previous
            else ("it is the first entry")
        )
        problems.append(
            Problem(
                name,
                ENTRY_JSON,
                f"its link to the previous entry is {link} but {before}: an entry was changed, "
                "replaced or removed",
            )
        )
    if previous is not None and _follows(previous, entry) is False:
        problems.append(Problem(name, None, f"{period} does not follow {previous.period_label}"))
    return entry, problems


def _follows(previous: Entry, entry: Entry) -> bool | None:
    """Whether entry's period is the one after previous's (None when a label is unreadable)."""
    try:
        return previous.period().shifted(1) == entry.period()
    except (KeyError, ValueError, TypeError, IncentcalcError):  # reported by the hash checks
        return None


def _file_problems(folder: Path, recorded: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(file, problem) for missing, changed, unrecorded and unexpected files of one entry."""
    names = (*ENTRY_FILES, ENTRY_CONFIG)
    for file in names:
        if file not in recorded:
            yield file, "has no recorded sha256 in entry.json"
    for file, expected in recorded.items():
        if file not in names:  # never a path outside the entry
            yield ENTRY_JSON, f"records {file!r}, which is not a file of an entry"
            continue
        path = folder / file
        if not path.is_file():
            yield file, "is missing"
            continue
        actual = file_sha256(path)
        if actual != expected:
            yield file, f"sha256 is {actual}, recorded {expected}: the file was changed"
    for child in sorted(folder.iterdir()):
        if child.name not in recorded and child.name != ENTRY_JSON:
            yield child.name, "is not recorded in entry.json"


def open_ledger(config: ProgramConfig) -> Ledger:
    """The config's ledger, verified and checked against the config.

    Raises LedgerCorruptError (exit 1) naming every entry and file that fails, RefusedError
    (exit 3) for another program's ledger, ConfigError (exit 2) when fiscal_year_start_month
    or base_currency changed while the ledger has entries (RULES.md 11.1).
    """
    ledger, problems = verify_ledger(ledger_root(config))
    if problems:
        raise LedgerCorruptError(verification_message(ledger.path, problems))
    check_belongs(ledger, config)
    return ledger


def ledger_root(config: ProgramConfig) -> Path:
    if config.ledger is None:
        raise ConfigError(
            "The config has no `ledger: {path: DIR}`, so there is no ledger to use. Add one "
            "(CONFIG.md) to keep closed periods."
        )
    return config.ledger.path


def verification_message(root: Path, problems: list[Problem]) -> str:
    listed = "; ".join(str(p) for p in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return (
        f"The ledger {root} failed verification, so nothing was run: {listed}{more}. A closed "
        "entry is never changed: restore the ledger from a backup (or the changed file from "
        "the run it was closed from) and run `incentcalc ledger --verify`."
    )


def check_belongs(ledger: Ledger, config: ProgramConfig) -> None:
    """The ledger's entries were closed by this program, calendar and currency."""
    program = config.program
    for entry in ledger.entries:
        doc = entry.document
        if doc.get("program") != program.name:
            raise LedgerRefusedError(
                f"The ledger {ledger.path} belongs to program {doc.get('program')!r} (entry "
                f"{entry.name}), not to {program.name!r}. Point `ledger.path` at this "
                "program's own ledger folder."
            )
        for key, current in (
            ("fiscal_year_start_month", program.fiscal_year_start_month),
            ("base_currency", str(program.base_currency)),
        ):
            if str(doc.get(key)) != str(current):
                raise ConfigError(
                    f"program.{key} is {current} but the ledger {ledger.path} was closed with "
                    f"{doc.get(key)} (entry {entry.name}). It cannot change while the ledger "
                    "has entries (RULES.md 11.1): restore the old value, or start a new ledger "
                    "folder."
                )


def check_period(ledger: Ledger, period: Period, *, recalculate: bool) -> bool:
    """Whether `period` may be calculated; True when it is a recalculation.

    A plain run needs the next open period (any period on an empty ledger); a recalculation
    an earlier one (closed, or before the first entry) or the next one.
    """
    following = ledger.next_period()
    if following is None or period == following:
        return recalculate
    if period < following and recalculate:
        return True
    closed = ledger.entry_of(period)
    if closed is not None:
        why = f"{period.label} is closed (entry {closed.name})"
    elif period < following:
        why = f"{period.label} lies before the ledger's first entry"
    else:
        why = f"{period.label} is ahead: {following.label} is still open"
    fix = (
        "To calculate it again without closing, pass --recalculate."
        if period < following
        else f"Run and close {following.label} first."
    )
    if period.as_of is not None and period < following:  # RULES.md 12
        fix = f"A progress run (--as-of) reads the next open period only: {following.label}."
    raise LedgerRefusedError(
        f"{why}; the next period of the ledger {ledger.path} is {following.label}. {fix}"
    )


@contextmanager
def ledger_locked(config: ProgramConfig) -> Iterator[Ledger]:
    """The config's ledger, verified, while holding its lock (one `close` at a time; a second
    one is refused with exit 3 by `io.locking`)."""
    root = ledger_root(config)
    entries_folder(root).mkdir(parents=True, exist_ok=True)
    with holding_lock(entries_folder(root)):
        yield open_ledger(config)


def append_entry(
    ledger: Ledger,
    period: Period,
    files: Mapping[str, bytes],
    make_document: Callable[[int, dict[str, str]], dict[str, Any]],
) -> Entry:
    """Write the next entry (call inside `ledger_locked`): `files` byte for byte, then
    entry.json = make_document(number, sha256 per file) with the chain link added. The
    folder is published whole by one rename, or not at all."""
    number = len(ledger.entries) + 1
    target = entries_folder(ledger.path) / f"{number:04d}-{period.label}"
    with locked_output(target, force=False) as staging:
        for name, data in files.items():
            (staging.path / name).write_bytes(data)
        _pause_for_tests()
        document = make_document(number, {n: sha256_bytes(d) for n, d in files.items()})
        document["previous_entry_sha256"] = ledger.head
        document[SELF_HASH] = document_hash(document)
        write_json(document, staging.path / ENTRY_JSON)
    raw = (target / ENTRY_JSON).read_bytes()
    return Entry(number, target, json.loads(raw), sha256_bytes(raw))


def _pause_for_tests() -> None:
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        time.sleep(float(seconds))
