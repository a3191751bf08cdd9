"""What a finished run says: the JSON document for cron and the rich tables for people."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from incentcalc.errors import ExitCode
from incentcalc.manifest import result_facts
from incentcalc.result import QuarterResult


def summarize_run(
    result: QuarterResult, out: Path, statements: int, warnings: list[str]
) -> dict[str, Any]:
    """One JSON-able document: status, exit code, counts, totals, output paths."""
    return {
        "command": "run",
        "status": "ok",
        "exit_code": int(ExitCode.OK),
        "period": result.period.label,
        "out": str(out),
        "statements": statements,
        **result_facts(result),
        "warnings": warnings,
        "timings": dict(result.timings),
    }


def _money(value: Decimal | None) -> str:
    return f"{Decimal(value or 0):,.2f}"


def render_run(console: Console, result: QuarterResult, summary: dict[str, Any]) -> None:
    """Totals by tier and status, budget use, integrity hits and warnings."""
    payouts = result.payouts
    by_tier = (
        payouts.group_by("tier")
        .agg(pl.len().alias("partners"), pl.col("gross").sum(), pl.col("payable").sum())
        .join(
            pl.DataFrame({"tier": [t.name for t in result.config.tiers]}).with_row_index("order"),
            on="tier",
        )
        .sort("order")
    )
    table = Table(
        title=f"{result.config.program.name} - {result.period.label}", title_justify="left"
    )
    for column in ("Tier", "Partners", "Gross", "Payable"):
        table.add_column(column, justify="left" if column == "Tier" else "right")
    for row in by_tier.iter_rows(named=True):
        table.add_row(
            row["tier"], str(row["partners"]), _money(row["gross"]), _money(row["payable"])
        )
    totals = summary["totals"]
    table.add_row(
        "Total",
        str(payouts.height),
        _money(Decimal(totals["gross"])),
        _money(Decimal(totals["payable"])),
        style="bold",
    )
    console.print(table)

    status = Table(title="By status", title_justify="left")
    status.add_column("Status")
    status.add_column("Partners", justify="right")
    for name, count in summary["counts_by_status"].items():
        status.add_row(name, str(count))
    console.print(status)

    budget = summary["budget"]
    if budget["budget"] is not None:
        used = "scaled by " + budget["factor"] if budget["scaled"] else "not exceeded"
        console.print(f"Budget {budget['budget']}: capped gross {budget['total_capped']}, {used}.")
    for source, skipped in summary["skipped_rows"].items():
        console.print(f"Skipped {skipped:,} row(s) of {source} (skip_rows_where).")
    for hit in summary["integrity_hits"]:
        console.print(f"Integrity: {hit['rule']} ({hit['action']}): {hit['hits']} deal(s)")
    for warning in summary["warnings"]:
        console.print(f"[yellow]Warning:[/] {warning}")
    console.print(f"Wrote {summary['out']} ({summary['statements']} statements).")
