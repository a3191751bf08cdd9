"""Writing many partner statements: choosing the partners, picking the rows their statements
read, and handing them to the worker processes (`parallel`), which build the payloads."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from incentcalc.result import QuarterResult
from incentcalc.statements.parallel import (
    OnProgress,
    start_forkserver,
    uses_workers,
    write_in_parallel,
)
from incentcalc.statements.payload import (
    ChosenRows,
    build_context,
    chosen_rows,
    select_partners,
)


class UnsafeStatementPath(ValueError):
    """A file name would land outside the statements folder (a bug in name sanitising)."""


def _check_inside(folder: Path, stems: list[str]) -> None:
    """Refuse any stem that would write outside `folder` (defence in depth: the stems are
    already made safe by `incentcalc.io.names.safe_file_stems`)."""
    root = folder.resolve()
    for stem in stems:
        target = (root / f"{stem}.xlsx").resolve()
        if target.parent != root:
            raise UnsafeStatementPath(f"statement file name {stem!r} would leave {root}")


def prepare_statements(
    result: QuarterResult, partner_ids: Collection[str] | None, workers: int | None = None
) -> Future[ChosenRows]:
    """Start what `write_statements` needs, so it gets ready while the caller does other work
    (the summary workbook): the workers' forkserver, and in a thread the rows the statements
    read (`chosen_rows`, ~0.2 s for 2,000 partners; Polars lets go of the GIL, and the summary
    is mostly Python, so the two share the CPUs)."""
    chosen = select_partners(result, partner_ids)
    if uses_workers(chosen.height, workers):
        start_forkserver()
    picker = ThreadPoolExecutor(max_workers=1)
    rows = picker.submit(chosen_rows, result, chosen)
    picker.shutdown(wait=False)
    return rows


def write_statements(
    result: QuarterResult,
    folder: Path,
    partner_ids: Collection[str] | None = None,
    workers: int | None = None,
    on_progress: OnProgress | None = None,
    prepared: Future[ChosenRows] | None = None,
) -> int:
    """Write one statement per in-scope partner (or per id in `partner_ids` that is in scope;
    other ids are skipped) into `folder`, creating it if missing. Returns how many were written.

    `workers` is the number of processes (default: the CPUs available); small batches are
    written in this process. `on_progress(done, total)` follows the writing. `prepared` is
    what `prepare_statements` started for the same partners, if it was called.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = (prepared or prepare_statements(result, partner_ids, workers)).result()
    _check_inside(folder, rows.payouts["file_stem"].to_list())
    return write_in_parallel(rows, build_context(result), folder, workers, on_progress)
