"""What a finished run says: the JSON document for cron and the rich tables for people."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from incentcalc.errors import ExitCode
from incentcalc.outputs import as_of_text, result_facts
from incentcalc.periods import progress_title
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
        "as_of": as_of_text(result),
        "recalculation": result.recalculation,
        "out": str(out),
        "statements": statements,
        **result_facts(result),
        "warnings": warnings,
        "timings": dict(result.timings),
    }


def _money(value: Decimal | str | None) -> str:
    """775000 -> '775,000.00' (exact: Decimal, never float)."""
    return f"{Decimal(value or 0):,.2f}"


TIER_TABLE_MONEY = ("gross", "holdback", "adjustments", "carried_forward", "payable")
"""Money by tier in the console: gross - holdback + adjustments - carried forward = payable.
A program with a ledger gets a `ledger` column too (loyalty bonus + carried in + holdback
released - clawback), between adjustments and carried forward."""

LEDGER = "ledger"
_LEDGER_NET = (
    pl.col("loyalty_bonus")
    + pl.col("carried_in")
    + pl.col("holdback_released")
    - pl.col("clawback")
)
_HEADERS = {
    "gross": "Gross",
    "holdback": "Holdback",
    "adjustments": "Adjustments",
    LEDGER: "Ledger",
    "carried_forward": "Carried fwd",
    "payable": "Payable",
}


def tier_table_money(result: QuarterResult) -> tuple[str, ...]:
    """The money columns of the console's tier table for this program."""
    if result.config.ledger is None:
        return TIER_TABLE_MONEY
    return (*TIER_TABLE_MONEY[:3], LEDGER, *TIER_TABLE_MONEY[3:])


def totals_by_tier(result: QuarterResult) -> pl.DataFrame:
    """Partners and money per tier, every configured tier in order (0 when it has nobody),
    then any tier found only in the data, then a "Total" row."""
    money = tier_table_money(result)
    payouts = result.payouts
    if LEDGER in money:
        payouts = payouts.with_columns(_LEDGER_NET.alias(LEDGER))
    sums = [pl.col(c).sum() for c in money]
    order = pl.DataFrame({"tier": [t.name for t in result.config.tiers]}).with_row_index("order")
    by_tier = payouts.group_by("tier").agg(pl.len().cast(pl.Int64).alias("partners"), *sums)
    total = payouts.select(
        pl.lit("Total").alias("tier"), pl.len().cast(pl.Int64).alias("partners"), *sums
    )
    tiers = (
        order.join(by_tier, on="tier", how="full", coalesce=True)
        .with_columns(pl.col("partners").fill_null(0), *(pl.col(c).fill_null(0) for c in money))
        .sort(pl.col("order").fill_null(len(result.config.tiers)), "tier")
        .drop("order")
    )
    return pl.concat([tiers, total.select(tiers.columns)], how="vertical_relaxed")


def render_run(console: Console, result: QuarterResult, summary: dict[str, Any]) -> None:
    """Totals by tier (every tier, also with no partners) and status, budget use, integrity
    hits and warnings; numbers with thousands separators."""
    progress = progress_title(result.period.as_of)
    title = f"{result.config.program.name} - {result.period.label}"
    table = Table(
        title=title if progress is None else f"{title} - {progress}", title_justify="left"
    )
    money = tier_table_money(result)
    headers = ("Tier", "Partners", *(_HEADERS[c] for c in money))
    rows = [
        [row["tier"], f"{row['partners']:,}", *(_money(row[c]) for c in money)]
        for row in totals_by_tier(result).iter_rows(named=True)
    ]
    for index, header in enumerate(headers):
        widest = max(len(header), *(len(row[index]) for row in rows))
        table.add_column(
            header, justify="left" if index == 0 else "right", no_wrap=True, min_width=widest
        )
    for row in rows[:-1]:
        table.add_row(*row)
    table.add_row(*rows[-1], style="bold")
    # Numbers are never cut: wider than the console (80 columns in a pipe), the table runs on.
    natural = console.measure(table, options=console.options.update_width(1_000)).maximum
    if result.recalculation:
        console.print(
            f"[bold yellow]RECALCULATION[/] of {result.period.label} on the ledger's entries "
            "before it: for review only, it can never be closed."
        )
    if progress is not None:
        console.print(
            f"[bold yellow]{progress}[/]: {result.period.label} read from "
            f"{result.period.start.isoformat()} to {result.period.last_day.isoformat()} of "
            f"{result.period.end.isoformat()}, targets and budget prorated to "
            f"{result.period.elapsed_days} of {result.period.days} days; it can never be closed."
        )
    console.print(table, width=max(console.width, natural), crop=False)

    status = Table(title="By status", title_justify="left")
    status.add_column("Status")
    status.add_column("Partners", justify="right")
    zero = summary["payable_zero"]
    for name, count in summary["counts_by_status"].items():
        if name == "payable" and zero:
            status.add_row(name, f"{count - zero:,}")
            status.add_row("payable, 0.00", f"{zero:,}")
        else:
            status.add_row(name, f"{count:,}")
    console.print(status)

    budget = summary["budget"]
    if budget["budget"] is not None:
        used = "scaled by " + budget["factor"] if budget["scaled"] else "not exceeded"
        console.print(
            f"Budget {_money(budget['budget'])}: capped gross {_money(budget['total_capped'])}, "
            f"{used}."
        )
    rows_of = {f.name.value: f.rows_of for f in result.inputs.files}
    for source, skipped in summary["skipped_rows"].items():
        console.print(
            f"Skipped {skipped:,} row(s) of {source} (skip_rows_where) among the rows read: "
            f"{rows_of.get(source, 'every row')}."
        )
    for hit in summary["integrity_hits"]:
        console.print(f"Integrity: {hit['rule']} ({hit['action']}): {hit['hits']:,} deal(s)")
    for warning in summary["warnings"]:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    console.print(f"Wrote {summary['out']} ({summary['statements']:,} statements).")
