"""Output that is safe to hand to finance: atomic folders and exact, formula-safe files.

`locked_output` is the one way a command writes an output folder. It takes the folder's lock
(`incentcalc.io.locking`), refuses to overwrite without ``--force``, hands out a hidden
temporary sibling to write into, and only when the block ends normally fsyncs everything and
renames the sibling into place. A crash, ``kill -9`` or Ctrl-C therefore leaves either the old
folder, or nothing, never half a run; leftovers of killed runs are removed by the next run.

The writers make files that do not depend on when or where they were written: CSV with
Decimal money at its exact scale (``0.00``, ``-12.50``), and Parquet with fixed compression
and no timestamps, so two runs on the same inputs produce byte-identical files.

CSV text cells that a spreadsheet would execute as a formula (CSV injection, e.g. a partner
named ``=HYPERLINK("http://evil","click")``) get a leading ``'`` so they stay text; numeric
columns are never touched, so negative money stays ``-12.50``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import polars as pl

from incentcalc.errors import (
    EnvironmentFailure,
    IncentcalcError,
    OutputExistsError,
    environment_errno,
)
from incentcalc.io.locking import holding_lock, pid_is_alive

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Google Sheets evaluate a cell (OWASP)."""

FORMULA_ESCAPE = "'"
"""Prefixed to such cells: spreadsheets then show the text instead of running it."""

_FORMULA_START = "^[" + "".join(re.escape(prefix) for prefix in FORMULA_PREFIXES) + "]"

PARQUET_COMPRESSION: Final = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
"""Fixed, so the Parquet bytes do not change with Polars' defaults."""

CSV_DATE_FORMAT = "%Y-%m-%d"


class SiblingKind(StrEnum):
    """Hidden siblings of a target folder: `.<name>.<kind>-<pid>-<random>`."""

    TMP = "tmp"
    TRASH = "trash"


@dataclass
class OutputFolder:
    """Where to write (`path`, a temporary folder) and what the caller should report."""

    path: Path
    warnings: list[str] = field(default_factory=list)


@contextlib.contextmanager
def locked_output(target: Path, *, force: bool, many_files: bool = False) -> Iterator[OutputFolder]:
    """Write a whole output folder so that it appears complete or not at all.

    Yields a fresh temporary sibling of `target`; write every output file into
    ``folder.path``. On normal exit the files are fsynced and the folder renamed to `target`
    (an existing `target`, allowed only with `force`, is swapped out and deleted). On any
    exception, KeyboardInterrupt included, the temporary folder is deleted and the exception
    re-raised; `target` is untouched. With `many_files` (a site's tens of thousands of pages)
    one `os.sync()` makes the files durable instead of an fsync per file (3 ms each on a
    network disk: minutes for 60,000 files).

    Raises `LockHeldError` if a live run holds the lock and `OutputExistsError` if `target`
    exists without `force` (in both cases nothing is changed), and `EnvironmentFailure`
    (exit 5) naming `target` when the machine refuses a write (no space left, permission
    denied, a read-only folder): the temporary folder and the lock are gone by then.

    Used as::

        with locked_output(Path("out/2026Q3"), force=False) as folder:
            write_csv(payouts, folder.path / "payouts.csv")
    """
    shown = target
    target = Path(os.path.abspath(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with holding_lock(target) as lock:
            if os.path.lexists(target) and not force:
                raise OutputExistsError.at(shown)
            warnings = [*lock.warnings, *_remove_stale_siblings(target)]
            temporary = _make_sibling(target, SiblingKind.TMP)
            try:
                yield OutputFolder(temporary, warnings)
                _commit(temporary, target, many_files=many_files)
            except BaseException:
                _remove(temporary)
                raise
    except IncentcalcError:
        raise
    except BaseException as exc:
        number = environment_errno(exc)
        if number is None:
            raise
        kept = f"Nothing was written there: {shown} is as it was before the command."
        raise EnvironmentFailure.writing(shown, number, kept) from exc


def formula_safe(expr: pl.Expr | str) -> pl.Expr:
    """Text that a spreadsheet would run as a formula, prefixed with `'` so it stays text.

    For String (or Categorical) columns only: casting a numeric column through this would
    turn ``-12.50`` into ``'-12.50``. Idempotent, because the escaped value starts with `'`.

    >>> pl.select(formula_safe(pl.lit("=1+1"))).item()
    "'=1+1"
    """
    column = (pl.col(expr) if isinstance(expr, str) else expr).cast(pl.String)
    # a test and a copy of the few risky cells: five times faster than a regex replace that
    # rewrites every cell of 250k-row columns
    plain = ~column.str.contains(_FORMULA_START)
    return pl.when(plain).then(column).otherwise(FORMULA_ESCAPE + column)


def text_columns(frame: pl.DataFrame) -> list[str]:
    """The columns whose cells are text in a CSV: String, Categorical and Enum."""
    return [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.String | pl.Categorical | pl.Enum)
    ]


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    r"""UTF-8 CSV (no BOM), header, `,`, `\n`, nulls empty, dates ISO, booleans true/false.

    Decimal columns are written at their scale, so money reads ``0.00`` and ``-12.50``
    exactly; text cells are made formula-safe (see `formula_safe`).
    """
    formula_safe_frame(frame).write_csv(
        path,
        include_bom=False,
        include_header=True,
        separator=",",
        line_terminator="\n",
        quote_char='"',
        null_value="",
        date_format=CSV_DATE_FORMAT,
    )


def formula_safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of `frame` made formula-safe (see `formula_safe`): once for a frame
    that is then written as many small files (the site's per-partner CSVs)."""
    return frame.with_columns(formula_safe(name) for name in text_columns(frame))


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet with fixed compression and statistics: same frame, same bytes.

    Polars stamps only its version into the file (no time, host or path), and Decimal
    columns are stored as Parquet decimals, so money keeps its exact value and scale. The
    frame is written as one chunk: Polars makes a row group per chunk, and how a lazy query
    chunks its result is not part of the result.
    """
    frame.rechunk().write_parquet(
        path,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
        statistics=True,
    )


def write_json(document: dict[str, Any], path: Path) -> None:
    """Pretty JSON in the document's own key order, non-JSON values (Decimal, dates) as str."""
    text = json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _commit(temporary: Path, target: Path, *, many_files: bool = False) -> None:
    """`fsync` the new folder, then swap it in: target -> trash, tmp -> target, drop trash.

    Signals are held back during the two renames so Ctrl-C cannot land between them; if
    the second rename fails, the old folder is put back.
    """
    if many_files and hasattr(os, "sync"):
        os.sync()
    else:
        _fsync_tree(temporary)
    trash: Path | None = None
    with _signals_deferred():
        if os.path.lexists(target):
            trash = _make_sibling(target, SiblingKind.TRASH, create=False)
            os.rename(target, trash)
        try:
            os.rename(temporary, target)
        except BaseException:
            if trash is not None:
                os.rename(trash, target)
            raise
        _fsync_directory(target.parent)
    if trash is not None:
        # A failure here only leaves a hidden trash folder, removed by the next run.
        _remove(trash)


def _sibling_pattern(target: Path) -> re.Pattern[str]:
    kinds = "|".join(kind.value for kind in SiblingKind)
    return re.compile(rf"\.{re.escape(target.name)}\.({kinds})-(\d+)-[0-9a-f]+")


def _make_sibling(target: Path, kind: SiblingKind, *, create: bool = True) -> Path:
    """A new `.<name>.<kind>-<pid>-<random>` path beside target (created as a folder if asked).

    ``os.mkdir`` rather than ``tempfile.mkdtemp``: the folder becomes the output and should
    get the user's normal permissions (umask), not mkdtemp's private 0700.
    """
    while True:
        path = target.with_name(f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")
        if not create:
            if not os.path.lexists(path):
                return path
            continue
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


def _remove_stale_siblings(target: Path) -> list[str]:
    """Delete tmp/trash siblings whose run is dead; one warning per folder removed.

    Called while holding the lock, so no live run of ours can be writing them. A sibling
    whose pid is alive (pid reuse, or another host sharing the folder) is left alone.
    """
    pattern = _sibling_pattern(target)
    warnings = []
    for entry in sorted(target.parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        pid = int(match.group(2))
        if pid != os.getpid() and pid_is_alive(pid):
            continue
        _remove(entry)
        warnings.append(
            f"Removed {entry}, left by an earlier run (pid {pid}) that was interrupted before "
            f"it finished writing {target}."
        )
    return warnings


def _remove(path: Path) -> None:
    """Delete a file or folder tree if it exists, without following symlinks."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_tree(root: Path) -> None:
    """`fsync` every file and folder under root, so the rename publishes data, not promises."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_directory(Path(folder))


def _fsync_directory(folder: Path) -> None:
    """`fsync` a folder's entries (new names); a no-op where the OS cannot (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Block SIGINT/SIGTERM/SIGHUP for a moment; they are delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    deferred = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, deferred)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
