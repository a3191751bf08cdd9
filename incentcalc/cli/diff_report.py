"""Render a ProgramDiff on the terminal (rich) and as the `--json` document; diff.xlsx is
`statements.diff_workbook`.

Rendering only: every figure is already in the ProgramDiff, computed exactly in
`reports/compare.py`. Money is shown with 2 decimals and a sign on changes; percentages are
the Decimal display figures of `compare.percent`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from incentcalc.reports.compare import (
    Change,
    Movement,
    ProgramDiff,
    Side,
    Totals,
    migration_grid,
)
from incentcalc.result import BudgetUse

NO_VALUE = "-"


def money(value: Decimal | None, *, signed: bool = False) -> str:
    """``1,234.50`` (``+1,234.50`` when signed); ``-`` for a missing value."""
    if value is None:
        return NO_VALUE
    return f"{value:+,.2f}" if signed and value != 0 else f"{value:,.2f}"


def pct(value: Decimal | None) -> str:
    """``+12.5%``; ``-`` when the baseline was 0 and a percentage means nothing."""
    if value is None:
        return NO_VALUE
    return f"{value:+}%" if value != 0 else f"{abs(value)}%"


# --- terminal -----------------------------------------------------------------------------


def render_diff(diff: ProgramDiff, console: Console) -> None:
    """Print the whole diff report: totals, movements, budgets, cohort, tiers, movers, groups,
    config changes."""
    console.print(
        f"[bold]Diff {diff.period}[/]: baseline [cyan]{diff.baseline.label}[/] vs candidate "
        f"[cyan]{diff.candidate.label}[/]"
    )
    console.print(_totals_table(diff))
    counts = diff.counts
    console.print(
        f"Partners by payable: [green]{counts[Movement.UP]} up[/], "
        f"[red]{counts[Movement.DOWN]} down[/], {counts[Movement.UNCHANGED]} unchanged "
        f"(of {diff.candidate.totals.partners})"
    )
    console.print(_budget_table(diff.baseline, diff.candidate))
    if diff.cohort is not None:
        console.print(_cohort_table(diff))
    console.print(_migration_table(diff))
    for title, frame in (("Largest gains", diff.gains), ("Largest losses", diff.losses)):
        if not frame.is_empty():
            console.print(_movers_table(title, frame))
    console.print(_group_table("Change by segment", diff.by_segment, "segment"))
    console.print(_group_table("Change by region", diff.by_region, "region"))
    _print_config_changes(diff, console)
    for note in diff.notes:
        console.print(f"[yellow]Note:[/] {note}")


def _totals_table(diff: ProgramDiff) -> Table:
    table = Table(title="Totals", title_justify="left")
    for name in ("", "baseline", "candidate", "change", "change %"):
        table.add_column(name, justify="left" if not name else "right")
    change = diff.change
    base, cand = diff.baseline.totals, diff.candidate.totals
    table.add_row(
        "gross",
        money(base.gross),
        money(cand.gross),
        money(change.gross, signed=True),
        pct(change.pct_gross),
    )
    table.add_row(
        "payable",
        money(base.payable),
        money(cand.payable),
        money(change.payable, signed=True),
        pct(change.pct_payable),
    )
    return table


def _budget_table(*sides: Side) -> Table:
    table = Table(title="Budget use", title_justify="left")
    for name in ("", "budget", "gross capped", "factor", "scaled"):
        table.add_column(name, justify="left" if not name else "right")
    for name, side in zip(("baseline", "candidate"), sides, strict=True):
        use = side.budget
        table.add_row(
            name,
            money(use.budget) if use.budget is not None else "none",
            money(use.total_capped),
            f"{use.factor:.6f}",
            "yes" if use.scaled else "no",
        )
    return table


def _cohort_table(diff: ProgramDiff) -> Table:
    cohort = diff.cohort
    assert cohort is not None
    table = Table(
        title=f"Pilot cohort: {cohort.matched} of {cohort.requested} partners in scope",
        title_justify="left",
        caption=(
            f"Not in scope for {diff.period}: {', '.join(cohort.unknown[:10])}"
            + (" ..." if len(cohort.unknown) > 10 else "")
            if cohort.unknown
            else None
        ),
        caption_justify="left",
    )
    for name in ("", "partners", "baseline payable", "candidate payable", "change", "change %"):
        table.add_column(name, justify="left" if not name else "right")
    total = Totals(
        diff.candidate.totals.partners, diff.candidate.totals.gross, diff.candidate.totals.payable
    )
    for name, base, cand, change in (
        ("cohort", cohort.totals_baseline, cohort.totals_candidate, cohort.change),
        ("all partners", diff.baseline.totals, total, diff.change),
    ):
        table.add_row(
            name,
            str(cand.partners),
            money(base.payable),
            money(cand.payable),
            money(change.payable, signed=True),
            pct(change.pct_payable),
        )
    return table


def _migration_table(diff: ProgramDiff) -> Table:
    rows, cols, counts = migration_grid(diff)
    table = Table(title="Tier migration", title_justify="left")
    table.add_column("baseline \\ candidate")
    for col in cols:
        table.add_column(col, justify="right")
    for row in rows:
        cells = []
        for col in cols:
            count = counts.get((row, col), 0)
            text = str(count) if count else "."
            cells.append(f"[bold]{text}[/]" if row == col and count else text)
        table.add_row(row, *cells)
    return table


def _movers_table(title: str, frame: pl.DataFrame) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("partner", "left"),
        ("name", "left"),
        ("tier", "left"),
        ("baseline payable", "right"),
        ("candidate payable", "right"),
        ("change", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in frame.iter_rows(named=True):
        tier = f"{row['baseline_tier'] or NO_VALUE} -> {row['candidate_tier'] or NO_VALUE}"
        table.add_row(
            row["partner_id"],
            row["name"] or "",
            tier,
            money(row["baseline_payable"]),
            money(row["candidate_payable"]),
            money(row["delta_payable"], signed=True),
        )
    return table


def _group_table(title: str, frame: pl.DataFrame, key: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    for name in (
        "partners",
        "up",
        "down",
        "baseline payable",
        "candidate payable",
        "change",
        "change %",
    ):
        table.add_column(name, justify="right")
    for row in frame.iter_rows(named=True):
        table.add_row(
            row[key] or NO_VALUE,
            str(row["partners"]),
            str(row["up"]),
            str(row["down"]),
            money(row["baseline_payable"]),
            money(row["candidate_payable"]),
            money(row["delta_payable"], signed=True),
            pct(row["pct_payable"]),
        )
    return table


def _print_config_changes(diff: ProgramDiff, console: Console) -> None:
    if not diff.config_changes:
        console.print("Config changes: none")
        return
    console.print("[bold]Config changes[/] (baseline -> candidate):")
    for change in diff.config_changes:
        console.print(f"  {change.describe()}", markup=False)


# --- JSON ---------------------------------------------------------------------------------


def diff_document(diff: ProgramDiff) -> dict[str, Any]:
    """The `--json` document. Money and percentages are strings of exact decimals."""
    document: dict[str, Any] = {
        "command": "diff",
        "status": "ok",
        "period": diff.period,
        "baseline": _side_json(diff.baseline),
        "candidate": _side_json(diff.candidate),
        "change": _change_json(diff.change),
        "partners": {movement.value: count for movement, count in diff.counts.items()},
        "migration": diff.migration.to_dicts(),
        "largest_gains": _frame_json(diff.gains),
        "largest_losses": _frame_json(diff.losses),
        "by_segment": _frame_json(diff.by_segment),
        "by_region": _frame_json(diff.by_region),
        "config_changes": [change.as_json() for change in diff.config_changes],
        "cohort": None,
        "notes": list(diff.notes),
    }
    if diff.cohort is not None:
        cohort = diff.cohort
        document["cohort"] = {
            "requested": cohort.requested,
            "matched": cohort.matched,
            "not_in_scope": list(cohort.unknown),
            "baseline": _totals_json(cohort.totals_baseline),
            "candidate": _totals_json(cohort.totals_candidate),
            "change": _change_json(cohort.change),
        }
    return document


def _side_json(side: Side) -> dict[str, Any]:
    return {"source": side.label, **_totals_json(side.totals), "budget": _budget_json(side.budget)}


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {"partners": totals.partners, "gross": str(totals.gross), "payable": str(totals.payable)}


def _budget_json(use: BudgetUse) -> dict[str, Any]:
    return {
        "budget": None if use.budget is None else str(use.budget),
        "total_capped": str(use.total_capped),
        "factor": str(use.factor),
        "scaled": use.scaled,
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "gross": str(change.gross),
        "payable": str(change.payable),
        "pct_gross": None if change.pct_gross is None else str(change.pct_gross),
        "pct_payable": None if change.pct_payable is None else str(change.pct_payable),
    }


def _frame_json(frame: pl.DataFrame) -> list[dict[str, Any]]:
    decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.String)).to_dicts()


# --- diff.xlsx ----------------------------------------------------------------------------
