"""Writing many partner statements: choosing the partners, building their payloads and
handing them to the worker processes (`parallel`)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from incentcalc.result import QuarterResult
from incentcalc.statements.parallel import (
    OnProgress,
    start_forkserver,
    uses_workers,
    write_in_parallel,
)
from incentcalc.statements.payload import build_context, chosen_rows, select_partners


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
) -> None:
    """Start what `write_statements` will need (the forkserver of its workers), so it gets
    ready while the caller does other work (the summary workbook)."""
    count = result.payouts.height if partner_ids is None else len(partner_ids)
    if uses_workers(count, workers):
        start_forkserver()


def write_statements(
    result: QuarterResult,
    folder: Path,
    partner_ids: Collection[str] | None = None,
    workers: int | None = None,
    on_progress: OnProgress | None = None,
) -> int:
    """Write one statement per in-scope partner (or per id in `partner_ids` that is in scope;
    other ids are skipped) into `folder`, creating it if missing. Returns how many were written.

    `workers` is the number of processes (default: the CPUs available); small batches are
    written in this process. `on_progress(done, total)` follows the writing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    chosen = select_partners(result, partner_ids)
    _check_inside(folder, chosen["file_stem"].to_list())
    if uses_workers(chosen.height, workers):
        start_forkserver()  # it starts up while the rows are picked
    rows = chosen_rows(result, chosen)
    return write_in_parallel(rows, build_context(result), folder, workers, on_progress)
