"""Render a ProgramDiff: the rich terminal report, the `--json` document, diff.xlsx.

Rendering only: every figure is already in the ProgramDiff, computed exactly in
`reports/compare.py`.
Money is shown with 2 decimals and a sign on changes; percentages are the Decimal display
figures of `compare.percent`. The workbook is byte-identical on reruns (fixed created date,
xlsxwriter's fixed zip timestamps) so a diff folder can be checked in or compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from incentcalc.reports.compare import (
    ABSENT_TIER,
    DIFF_COLUMNS,
    GROUP_COLUMNS,
    Change,
    Movement,
    ProgramDiff,
    Side,
    Totals,
)
from incentcalc.reports.config_diff import show_value
from incentcalc.result import BudgetUse
from incentcalc.statements.fastsheet import FastWorkbook

DIFF_CSV = "diff.csv"
DIFF_XLSX = "diff.xlsx"

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
"""Text stays text: a partner named ``=HYPERLINK(...)`` must never become a live formula."""

WORKBOOK_CREATED = datetime(2000, 1, 1)
"""Fixed document date so that rerunning a diff writes the same bytes."""

SHEET_SUMMARY, SHEET_PARTNERS, SHEET_MIGRATION = "Summary", "Partners", "Tier migration"
SHEET_SEGMENTS, SHEET_REGIONS, SHEET_MOVERS = "By segment", "By region", "Largest changes"

MONEY_FORMAT = "#,##0.00"
NO_VALUE = "-"

_MONEY_DIFF_COLUMNS = frozenset(c for c in DIFF_COLUMNS if c.endswith(("_gross", "_payable")))
_SCORE_DIFF_COLUMNS = frozenset({"baseline_composite", "candidate_composite"})


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


def migration_grid(diff: ProgramDiff) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(baseline tiers, candidate tiers, counts) of the matrix: every tier in tier order on
    both axes (a zero row says as much as a full one), plus ABSENT_TIER where it occurs."""
    counts = {(str(b), str(c)): int(n) for b, c, n in diff.migration.iter_rows()}
    rows = [ABSENT_TIER] if any(b == ABSENT_TIER for b, _ in counts) else []
    cols = [ABSENT_TIER] if any(c == ABSENT_TIER for _, c in counts) else []
    return [*rows, *diff.tier_order], [*cols, *diff.tier_order], counts


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


def write_diff_workbook(diff: ProgramDiff, path: Path) -> None:
    """diff.xlsx: summary, every partner row, migration matrix, segment and region tables,
    and a chart of the largest changes in payable."""
    workbook = FastWorkbook(str(path), WORKBOOK_OPTIONS)
    workbook.set_properties(
        {"title": f"incentcalc diff {diff.period}", "created": WORKBOOK_CREATED}
    )
    formats = {
        "bold": workbook.add_format({"bold": True}),
        "money": workbook.add_format({"num_format": MONEY_FORMAT}),
        "score": workbook.add_format({"num_format": "0.0000"}),
        "pct": workbook.add_format({"num_format": "0.0"}),
    }
    _write_summary(workbook.add_worksheet(SHEET_SUMMARY), diff, formats)
    _write_frame(workbook.add_worksheet(SHEET_PARTNERS), diff.diff_rows, formats)
    _write_migration(workbook.add_worksheet(SHEET_MIGRATION), diff, formats)
    _write_frame(workbook.add_worksheet(SHEET_SEGMENTS), diff.by_segment, formats)
    _write_frame(workbook.add_worksheet(SHEET_REGIONS), diff.by_region, formats)
    movers = pl.concat([diff.gains, diff.losses.reverse()])
    sheet = workbook.add_worksheet(SHEET_MOVERS)
    _write_frame(sheet, movers, formats)
    if not movers.is_empty():
        chart = workbook.add_chart({"type": "bar"})
        column = DIFF_COLUMNS.index("delta_payable")
        chart.add_series(
            {
                "name": "Change in payable",
                "categories": [SHEET_MOVERS, 1, 0, movers.height, 0],
                "values": [SHEET_MOVERS, 1, column, movers.height, column],
                "invert_if_negative": False,
            }
        )
        chart.set_title({"name": f"Largest changes in payable, {diff.period}"})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        chart.set_size({"width": 720, "height": max(320, 24 * movers.height)})
        sheet.insert_chart(1, len(DIFF_COLUMNS) + 1, chart)
    workbook.close()


def _write_cell(sheet: Worksheet, row: int, col: int, value: Any, fmt: Format | None) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, Decimal | int | float):
        # Excel cells are binary floats: this is display only, every figure is already exact.
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, str(value))


def _write_frame(sheet: Worksheet, frame: pl.DataFrame, formats: dict[str, Format]) -> None:
    """A header row and one typed column at a time: the per-cell type dispatch of
    `_write_cell` would cost a third of the time on a 20,000-partner diff."""
    for col, (name, dtype) in enumerate(frame.schema.items()):
        sheet.write_string(0, col, name, formats["bold"])
        fmt = _column_format(name, formats)
        values = frame[name].to_list()
        if dtype == pl.String:
            write_text = sheet.write_string
            for row, text in enumerate(values, start=1):
                if text is not None:
                    write_text(row, col, text)
        elif dtype.is_numeric():
            write_number = sheet.write_number
            for row, number in enumerate(values, start=1):
                if number is not None:
                    # Excel cells are binary floats: display only, every figure is exact here.
                    write_number(row, col, float(number), fmt)
        else:
            for row, value in enumerate(values, start=1):
                _write_cell(sheet, row, col, value, fmt)
        sheet.set_column(col, col, max(12, len(name) + 2))
    sheet.freeze_panes(1, 1)
    if frame.height:
        sheet.autofilter(0, 0, frame.height, frame.width - 1)


def _column_format(name: str, formats: dict[str, Format]) -> Format | None:
    if name in _MONEY_DIFF_COLUMNS or name in GROUP_COLUMNS[4:10]:
        return formats["money"]
    if name in _SCORE_DIFF_COLUMNS:
        return formats["score"]
    if name.startswith("pct_"):
        return formats["pct"]
    return None


def _write_summary(sheet: Worksheet, diff: ProgramDiff, formats: dict[str, Format]) -> None:
    base, cand, change = diff.baseline, diff.candidate, diff.change
    lines: list[tuple[str, Sequence[Any]]] = [
        ("period", [diff.period]),
        ("", ["baseline", "candidate", "change", "change %"]),
        ("source", [base.label, cand.label]),
        ("partners", [base.totals.partners, cand.totals.partners]),
        (
            "gross",
            _money_line(base.totals.gross, cand.totals.gross, change.gross, change.pct_gross),
        ),
        (
            "payable",
            _money_line(
                base.totals.payable, cand.totals.payable, change.payable, change.pct_payable
            ),
        ),
        ("budget", _money_line(base.budget.budget, cand.budget.budget)),
        ("gross capped", _money_line(base.budget.total_capped, cand.budget.total_capped)),
        ("budget factor", [base.budget.factor, cand.budget.factor]),
        ("", []),
        *((f"partners {m.value}", [n]) for m, n in diff.counts.items()),
    ]
    if diff.cohort is not None:
        cohort = diff.cohort
        lines += [
            ("", []),
            ("pilot cohort partners", [cohort.matched, f"of {cohort.requested} requested"]),
            (
                "cohort payable",
                _money_line(
                    cohort.totals_baseline.payable,
                    cohort.totals_candidate.payable,
                    cohort.change.payable,
                    cohort.change.pct_payable,
                ),
            ),
        ]
    lines += [("", []), ("config changes", ["key", "baseline", "candidate"])]
    lines += [
        ("", [c.key, show_value(c.baseline), show_value(c.candidate)]) for c in diff.config_changes
    ]
    for row, (label, values) in enumerate(lines):
        _write_cell(sheet, row, 0, label or None, formats["bold"])
        for col, value in enumerate(values, start=1):
            if isinstance(value, _Money):
                _write_cell(sheet, row, col, value.amount, formats["money"])
            elif isinstance(value, _Percent):
                _write_cell(sheet, row, col, value.amount, formats["pct"])
            else:
                _write_cell(sheet, row, col, value, None)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 4, 22)


@dataclass(frozen=True)
class _Money:
    amount: Decimal | None


@dataclass(frozen=True)
class _Percent:
    amount: Decimal | None


def _money_line(*amounts: Decimal | None) -> list[_Money | _Percent]:
    """Summary cells: money amounts, then (4th value) a percentage."""
    return [_Percent(a) if index == 3 else _Money(a) for index, a in enumerate(amounts)]


def _write_migration(sheet: Worksheet, diff: ProgramDiff, formats: dict[str, Format]) -> None:
    rows, cols, counts = migration_grid(diff)
    sheet.write_string(0, 0, "baseline \\ candidate", formats["bold"])
    for col, name in enumerate(cols, start=1):
        sheet.write_string(0, col, name, formats["bold"])
    for row, name in enumerate(rows, start=1):
        sheet.write_string(row, 0, name, formats["bold"])
        for col, other in enumerate(cols, start=1):
            sheet.write_number(row, col, counts.get((name, other), 0))
    sheet.set_column(0, 0, 22)
