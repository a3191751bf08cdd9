"""The run folder (CLI.md "Outputs of run"): its tables written, its audit record
(`manifest.json`: what was run, on which bytes, with what result) and the one reader of a
finished run folder (`explain --run`, `site`, `diff --baseline-run`).

File names are in `result`; the folder is made atomic by `io.writers.locked_output`; the
workbooks are written by `api.write_run`, which calls this module for the rest. The manifest
is versioned like dbt's artifacts: `manifest_version` changes when the layout does.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc import __version__
from incentcalc.errors import UsageError
from incentcalc.inputs import SourceFile
from incentcalc.io.digest import file_sha256
from incentcalc.io.rejected import partners_hit
from incentcalc.io.writers import write_csv, write_json, write_parquet
from incentcalc.money import LOCAL, MONEY, local_amount_text
from incentcalc.result import (
    DEAL_BONUSES_CSV,
    DEAL_BONUSES_PARQUET,
    EXCEPTIONS_CSV,
    KPIS_CSV,
    KPIS_PARQUET,
    LEDGER_LINES_PARQUET,
    MANIFEST_JSON,
    MONEY_COLUMNS,
    PAYOUT_COLUMNS,
    PAYOUTS_CSV,
    PAYOUTS_PARQUET,
    REJECTED_CSV,
    BudgetUse,
    QuarterResult,
    Status,
)


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


def read_run(
    run_dir: Path, partner_id: str | None
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
    """The manifest, the payouts and the partner's deal bonuses (every partner's when
    `partner_id` is None: the site) of a `run` output folder."""
    own = pl.lit(True) if partner_id is None else pl.col("partner_id") == partner_id
    try:
        manifest = json.loads((run_dir / MANIFEST_JSON).read_text(encoding="utf-8"))
        payouts = pl.read_parquet(run_dir / PAYOUTS_PARQUET)
        deal_bonuses = pl.scan_parquet(run_dir / DEAL_BONUSES_PARQUET).filter(own).collect()
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise UsageError(
            f"--run {run_dir}: not a readable run folder ({exc}). Point --run at the --out "
            "folder of `incentcalc run`, or leave --run out to calculate the quarter."
        ) from None
    return manifest, payouts, deal_bonuses


def read_run_tables(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The KPIs, the exceptions (as text, as written) and the ledger lines of a run folder
    (the site shows them beside `read_run`'s); OSError or PolarsError when one is unreadable."""
    kpis = pl.read_parquet(folder / KPIS_PARQUET)
    exceptions = pl.read_csv(folder / EXCEPTIONS_CSV, infer_schema=False)
    ledger_lines = pl.read_parquet(folder / LEDGER_LINES_PARQUET)
    return kpis, exceptions, ledger_lines


def read_baseline_run(folder: Path, period: str) -> pl.DataFrame:
    """The payout rows a previous `run` wrote to `folder`, checked to be of `period`."""
    path = folder / PAYOUTS_PARQUET
    if not path.is_file():
        raise UsageError(
            f"No {PAYOUTS_PARQUET} in {folder}. --baseline-run must name the output folder "
            "of a previous `incentcalc run` (e.g. out/2026Q3)."
        )
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise UsageError(
            f"Cannot read {path}: {exc}. Rerun `incentcalc run` to rewrite it."
        ) from None
    missing = [c for c in PAYOUT_COLUMNS if c not in frame.columns]
    if missing:
        raise UsageError(
            f"{path} is not a payouts file of this version: it lacks {', '.join(missing)}. "
            "Rerun `incentcalc run` for that period and pass its folder."
        )
    periods = frame["period"].unique().drop_nulls().to_list()
    if periods and periods != [period]:
        raise UsageError(
            f"{path} holds period {', '.join(sorted(periods))}, not {period}. Pass the run "
            f"folder of {period}, or --period {periods[0]}."
        )
    return frame.with_columns(
        *(pl.col(c).cast(MONEY) for c in MONEY_COLUMNS), pl.col("payable_local").cast(LOCAL)
    )


MANIFEST_VERSION = 1


def compute_totals(payouts: pl.DataFrame) -> dict[str, str]:
    """Sum of every money column, as exact decimal strings."""
    sums = payouts.select(pl.col(c).sum() for c in MONEY_COLUMNS)
    row = sums.row(0, named=True) if sums.height else {}
    return {c: f"{Decimal(row.get(c) or 0):.2f}" for c in sums.columns}


def count_by_status(payouts: pl.DataFrame) -> dict[str, int]:
    """Partners per payout status, every status listed (0 when none)."""
    counts = dict(payouts.group_by("status").len().iter_rows())
    return {status.value: int(counts.get(status.value, 0)) for status in Status}


def paid_nothing(payouts: pl.DataFrame) -> int:
    """Partners of status payable whose payable is 0.00 (a Bronze tier at rate 0, a base of
    0): counted apart, so "payable 57" is not read as 57 partners paid."""
    zero = (pl.col("status") == Status.PAYABLE.value) & (pl.col("payable") == 0)
    return int(payouts.select(zero.sum()).item() or 0)


def budget_document(budget: BudgetUse) -> dict[str, Any]:
    """The budget's use as JSON-able text: budget, capped total, factor, whether it scaled."""
    return {
        "budget": None if budget.budget is None else f"{budget.budget:.2f}",
        "total_capped": f"{budget.total_capped:.2f}",
        "factor": f"{budget.factor:.6f}",
        "scaled": budget.scaled,
    }


def as_of_text(result: QuarterResult) -> str | None:
    """A progress run's day (RULES.md 12) as YYYY-MM-DD; None for an ordinary run. `close`
    refuses a run whose manifest has one."""
    as_of = result.period.as_of
    return None if as_of is None else as_of.isoformat()


def rejected_partners(rejected: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """partner_id -> the rows quarantine left out of that partner's numbers (`rows`, `which`),
    and for a rejected partners row `calculated: false`."""
    lost = rejected.filter(pl.col("source") == "partners")["partner_id"].drop_nulls().unique()
    hurt: dict[str, dict[str, Any]] = {
        partner: {"calculated": False} for partner in sorted(lost.to_list())
    }
    for partner, rows, listing in partners_hit(rejected):
        hurt.setdefault(partner, {}).update(rows=rows, which=listing)
    return dict(sorted(hurt.items()))


def result_facts(result: QuarterResult) -> dict[str, Any]:
    """What a run found, shared by the manifest and the `--json` summary: partners, counts by
    status, money totals, budget use, exceptions and integrity hits, rejected rows, and the
    rows `skip_rows_where` left out per source."""
    hits = result.exceptions.filter(pl.col("kind") == "integrity")
    return {
        "partners": result.payouts.height,
        "counts_by_status": count_by_status(result.payouts),
        "payable_zero": paid_nothing(result.payouts),
        "totals": compute_totals(result.payouts),
        "budget": budget_document(result.budget),
        "exceptions": dict(result.exceptions.group_by("kind").len().sort("kind").iter_rows()),
        "integrity_hits": hits.group_by("rule", "action")
        .len()
        .sort("rule", "action")
        .rename({"len": "hits"})
        .to_dicts(),
        "rejected_rows": result.inputs.rejected.select("file", "row").n_unique(),
        "rejected_partners": rejected_partners(result.inputs.rejected),
        "skipped_rows": {f.name.value: f.skipped for f in result.inputs.files if f.skipped},
    }


def input_document(file: SourceFile) -> dict[str, Any]:
    """One input: source, where it was read (path, or a database source's location), sha256
    of its bytes (of its rows as read, for a database) and data rows; for a database also
    the URL without credentials, table or query sha256 (DATA.md)."""
    document: dict[str, Any] = {"source": file.name.value, "path": str(file.path),
                                "sha256": file.sha256, "rows": file.rows,
                                "skipped_rows": file.skipped,
                                "rows_of": file.rows_of}  # fmt: skip
    if file.database is not None:
        document["database"] = file.database
    return document


def ledger_document(result: QuarterResult) -> dict[str, Any]:
    """The history the run stood on (`close` compares `head` with the ledger's head, and
    refuses a recalculation), the history rules in force (a closed entry's holdbacks are
    released K quarters after its period, K as configured when it was closed) and the
    clawbacks and forfeits this run applied, summed by kind."""
    ledger = result.config.ledger
    lines = result.ledger_lines.group_by("kind").agg(pl.col("amount").sum()).sort("kind")
    return {
        "path": None if ledger is None else str(ledger.path),
        "head": result.ledger_head,
        "recalculation": result.recalculation,
        "holdback_release_after": result.config.payout.holdback_release_after,
        "clawback_within_days": result.config.payout.clawback_within_days,
        "tier_grace_quarters": result.config.tier_grace_quarters,
        "lines": {kind: f"{Decimal(amount):.2f}" for kind, amount in lines.iter_rows()},
    }


def build_manifest(
    result: QuarterResult,
    *,
    config_path: Path,
    outputs: list[Path],
    output_root: Path,
    started_at: datetime,
    finished_at: datetime,
    warnings: list[str],
) -> dict[str, Any]:
    """The manifest document; `outputs` are files already written under `output_root`."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "incentcalc_version": __version__,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "program": result.config.program.name,
        "period": result.period.label,
        "period_start": result.period.start.isoformat(),
        "period_end": result.period.end.isoformat(),
        "as_of": as_of_text(result),
        "config": {"path": str(config_path), "sha256": file_sha256(config_path)},
        "inputs": [input_document(f) for f in result.inputs.files],
        **result_facts(result),
        "ledger": ledger_document(result),
        "outputs": [
            {"path": str(p.relative_to(output_root)), "sha256": file_sha256(p)} for p in outputs
        ],
        "warnings": warnings,
        "timings": dict(result.timings),
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": finished_at.isoformat(timespec="seconds"),
    }
