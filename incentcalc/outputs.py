"""Writing one calculated quarter into an output folder (CLI.md "Outputs of run").

File names are in `output_names`; the folder is made atomic by `io.writers.locked_output`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from incentcalc.currencies import local_amount_text
from incentcalc.io.writers import write_csv, write_json, write_parquet
from incentcalc.manifest import build_manifest
from incentcalc.output_names import (
    DEAL_BONUSES_CSV,
    DEAL_BONUSES_PARQUET,
    EXCEPTIONS_CSV,
    KPIS_CSV,
    KPIS_PARQUET,
    LEDGER_LINES_PARQUET,
    MANIFEST_JSON,
    PAYOUTS_CSV,
    PAYOUTS_PARQUET,
    REJECTED_CSV,
    STATEMENTS_DIR,
    SUMMARY_XLSX,
)
from incentcalc.result import QuarterResult
from incentcalc.statements.summary import Provenance, write_summary

if TYPE_CHECKING:
    from incentcalc.statements.parallel import OnProgress


def write_tables(result: QuarterResult, folder: Path) -> list[Path]:
    """payouts, kpis, exceptions, deal bonuses, ledger lines (and rejected rows when
    quarantining), timed as the "write" stage; returns the paths."""
    tables = [
        (payouts_as_text(result.payouts), PAYOUTS_CSV, write_csv),
        (result.payouts, PAYOUTS_PARQUET, write_parquet),
        (result.kpis, KPIS_CSV, write_csv),
        (result.kpis, KPIS_PARQUET, write_parquet),
        (result.exceptions, EXCEPTIONS_CSV, write_csv),
        (result.deal_bonuses, DEAL_BONUSES_CSV, write_csv),
        (result.deal_bonuses, DEAL_BONUSES_PARQUET, write_parquet),
        (result.ledger_lines, LEDGER_LINES_PARQUET, write_parquet),
    ]
    if result.inputs.rejected.height:
        tables.append((result.inputs.rejected, REJECTED_CSV, write_csv))
    with result.timings.stage("write"):
        for frame, name, writer in tables:
            writer(frame, folder / name)
    return [folder / name for _, name, _ in tables]


def payouts_as_text(payouts: pl.DataFrame) -> pl.DataFrame:
    """payouts.csv's cells: payable_local with exactly its currency's minor unit (JPY
    `1107692`, KWD `12.345`); every other column as it is."""
    return payouts.with_columns(
        local_amount_text(pl.col("payable_local"), pl.col("payout_currency"))
    )


def write_workbooks(
    result: QuarterResult,
    folder: Path,
    *,
    statements: bool,
    partner_ids: Collection[str] | None,
    provenance: Provenance | None = None,
    on_stage: Callable[[str], None] = lambda _: None,
    on_progress: OnProgress | None = None,
) -> tuple[list[Path], int]:
    """summary.xlsx (with the run's `provenance` on its first sheet) and (unless skipped) the
    partner statements, `on_progress` following them; returns (paths, statements). The
    statement machinery is imported only when statements are written."""
    if statements:
        from incentcalc.statements import batch

        prepared = batch.prepare_statements(result, partner_ids)
    on_stage("summary")
    with result.timings.stage("summary"):
        write_summary(result, folder / SUMMARY_XLSX, provenance)
    written = 0
    if statements:
        on_stage("statements")
        with result.timings.stage("statements"):
            written = batch.write_statements(
                result,
                folder / STATEMENTS_DIR,
                partner_ids,
                on_progress=on_progress,
                prepared=prepared,
            )
    return [folder / SUMMARY_XLSX], written


def write_manifest(
    result: QuarterResult,
    folder: Path,
    *,
    config_path: Path,
    outputs: list[Path],
    statements: int,
    started_at: datetime,
    warnings: list[str],
) -> Path:
    """The manifest, written last: its presence means every other file is complete."""
    document = build_manifest(
        result,
        config_path=config_path,
        outputs=outputs,
        output_root=folder,
        started_at=started_at,
        finished_at=datetime.now().astimezone(),
        warnings=warnings,
    )
    document["statements"] = statements
    write_json(document, folder / MANIFEST_JSON)
    return folder / MANIFEST_JSON
