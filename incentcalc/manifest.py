"""The run's audit record (`manifest.json`): what was run, on which bytes, with what result.

Versioned like dbt's artifacts: `manifest_version` changes when the layout does.
"""

from __future__ import annotations

import platform
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc import __version__
from incentcalc.inputs import SourceFile
from incentcalc.io.digest import file_sha256
from incentcalc.rejected import partners_hit
from incentcalc.result import MONEY_COLUMNS, BudgetUse, QuarterResult, Status

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
