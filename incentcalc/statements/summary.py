"""summary.xlsx: the finance workbook of one run.

Sheets:
- Overview: program, period, partner counts by status, the run's totals, the budget and how it
  was used (BudgetUse), exception counts by kind and rule, warnings;
- Payouts: every payout row in payouts.csv's column order, autofilter, frozen header;
- Totals: partners and money by tier, status, segment, region and payout currency;
- Exceptions: the first EXCEPTION_ROWS_SHOWN rows of exceptions.csv, autofilter, and a note
  saying how many there are in all;
- Charts: payable by tier, payable by segment, and the distribution of composite scores.

All totals are exact Decimal sums made with Polars; cells hold values, never formulas, so the
workbook shows the same numbers in any viewer and a re-run writes identical bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from incentcalc.output_names import EXCEPTIONS_CSV
from incentcalc.result import (
    EXCEPTION_COLUMNS,
    MONEY_COLUMNS,
    PAYOUT_COLUMNS,
    QuarterResult,
    Status,
)
from incentcalc.statements.formats import (
    Column,
    Formats,
    Kind,
    add_table_sheet,
    open_workbook,
    set_print_layout,
    write_cell,
    write_frame_table,
    write_table,
)
from incentcalc.statements.payload import excel_display

OVERVIEW_SHEET = "Overview"
PAYOUTS_SHEET = "Payouts"
TOTALS_SHEET = "Totals"
EXCEPTIONS_SHEET = "Exceptions"
CHARTS_SHEET = "Charts"

TOTAL_COLUMNS = (
    "bonus_base", "gross", "holdback", "adjustments", "net", "payable", "carried_forward",
)  # fmt: skip
"""Money summed in every Totals block."""

EXCEPTION_ROWS_SHOWN = 5_000
"""Exceptions listed on the Exceptions sheet (the first ones, in exceptions.csv's order).

A large quarter has tens of thousands of integrity hits; listing them all made summary.xlsx
seconds slower to write and no easier to read. exceptions.csv has every row, and the Overview
counts them all by kind and rule."""

NO_REGION = "(none)"
BIN_WIDTH_TENTHS = 1
"""Composite score histogram bins are 0.1 wide."""

_PAYOUT_KINDS: dict[str, Kind] = {
    "composite_score": Kind.SCORE,
    "team_score": Kind.SCORE,
    "budget_factor": Kind.FACTOR,
    "fx_rate": Kind.FACTOR,
    "cap_applied": Kind.BOOLEAN,
}


def payout_columns(base: str) -> list[Column]:
    """Payouts sheet columns: payouts.csv's names, money in the base currency except
    payable_local, which is in each row's payout_currency."""
    kinds = {**dict.fromkeys(MONEY_COLUMNS, Kind.MONEY), **_PAYOUT_KINDS}
    columns = [Column(name, name, kinds.get(name, Kind.TEXT), base) for name in PAYOUT_COLUMNS]
    local = PAYOUT_COLUMNS.index("payable_local")
    columns[local] = Column(
        "payable_local", "payable_local", Kind.MONEY, currency_key="payout_currency"
    )
    return columns


def frame_data(frame: pl.DataFrame) -> dict[str, list[Any]]:
    """A frame's display values by column name (see `payload.excel_display`)."""
    shown = excel_display(frame)
    return {name: shown[name].to_list() for name in shown.columns}


def totals_by(payouts: pl.DataFrame, key: str, order: Sequence[str] | None = None) -> pl.DataFrame:
    """Partners and money totals per value of `key` (exact Decimal sums).

    With `order`, every listed group appears in that order (0 when empty) and unlisted ones
    follow, sorted; without it groups are sorted. A missing key is shown as "(none)".
    """
    sums = [pl.col(name).sum() for name in TOTAL_COLUMNS]
    grouped = (
        payouts.with_columns(pl.col(key).cast(pl.String).fill_null(NO_REGION).alias("group"))
        .group_by("group")
        .agg(pl.len().alias("partners"), *sums)
    )
    listed = list(order or [])
    frame = pl.DataFrame({"group": listed}, schema={"group": pl.String()})
    extra = grouped.filter(~pl.col("group").is_in(pl.Series(listed, dtype=pl.String).implode()))
    groups = pl.concat([frame, extra.select("group").sort("group")])
    dtypes = payouts.select(TOTAL_COLUMNS).schema
    return (
        groups.join(grouped, on="group", how="left", maintain_order="left")
        .with_columns(
            pl.col("partners").fill_null(0),
            *(pl.col(n).fill_null(0).cast(dtypes[n]) for n in TOTAL_COLUMNS),
        )
        .select("group", "partners", *TOTAL_COLUMNS)
    )


def grand_total(payouts: pl.DataFrame) -> pl.DataFrame:
    """One row: all partners and their money totals."""
    return payouts.select(
        pl.lit("All partners").alias("group"),
        pl.len().alias("partners"),
        *(pl.col(name).sum() for name in TOTAL_COLUMNS),
    )


def composite_histogram(payouts: pl.DataFrame) -> pl.DataFrame:
    """Partners per composite score bin of 0.1 (every bin from 0 to the highest present)."""
    bins = payouts.select(
        (pl.col("composite_score") * (10 // BIN_WIDTH_TENTHS)).cast(pl.Int64).alias("bin")
    ).drop_nulls()
    top = int(bins["bin"].max() or 0) if not bins.is_empty() else 0  # type: ignore[arg-type]
    counts = bins.group_by("bin").len()
    return (
        pl.DataFrame({"bin": pl.int_range(0, top + 1, eager=True)})
        .join(counts, on="bin", how="left", maintain_order="left")
        .select(
            pl.format(
                "{}-{}",
                (pl.col("bin") / 10).round(1).cast(pl.String),
                ((pl.col("bin") + 1) / 10).round(1).cast(pl.String),
            ).alias("composite"),
            pl.col("len").fill_null(0).alias("partners"),
        )
    )


@dataclass(frozen=True)
class _Block:
    """Where a Totals block landed: first data row, last data row (inclusive)."""

    first: int
    last: int


def write_summary(result: QuarterResult, path: Path) -> None:
    """Write the finance workbook for `result` to `path` (its folder must exist)."""
    created = datetime.combine(result.period.end, time())
    workbook = open_workbook(path, created)
    formats = Formats(workbook)
    _overview_sheet(workbook, formats, result)
    _payouts_sheet(workbook, formats, result)
    blocks = _totals_sheet(workbook, formats, result)
    _exceptions_sheet(workbook, formats, result)
    _charts_sheet(workbook, formats, result, blocks)
    workbook.close()


def _overview_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> None:
    sheet = workbook.add_worksheet(OVERVIEW_SHEET)
    base = result.config.program.base_currency
    payouts, budget = result.payouts, result.budget
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 22)
    sheet.set_column(2, 2, 60)
    marked = " - RECALCULATION, never closed (RULES.md 11.1)" if result.recalculation else ""
    sheet.write_string(0, 0, f"Payout summary {result.period.label}{marked}", formats.title)
    sheet.write_string(1, 0, result.config.program.name, formats.label)
    set_print_layout(sheet, header_row=None, landscape=False)
    money = formats.number(Kind.MONEY, base)
    lines: list[tuple[str, Any, Any, str]] = [
        ("Period", result.period.label, None, f"{result.period.start} to {result.period.end}"),
        ("Base currency", base, None, ""),
        ("Partners in scope", payouts.height, formats.number(Kind.INTEGER), ""),
    ]
    status_counts = payouts.group_by("status").len()
    counts = dict(status_counts.iter_rows())
    lines += [
        (f"  {status.value}", counts.get(status.value, 0), formats.number(Kind.INTEGER), "")
        for status in Status
    ]
    totals = payouts.select(pl.col(n).sum() for n in TOTAL_COLUMNS).row(0, named=True)
    lines += [
        (f"Total {name.replace('_', ' ')}", _float(totals[name]), money, "")
        for name in TOTAL_COLUMNS
    ]
    lines += [
        (
            "Budget",
            _float(budget.budget) if budget.budget is not None else "none",
            money,
            "payout.budget",
        ),
        (
            "Total gross after cap",
            _float(budget.total_capped),
            money,
            "over partners that are not ineligible",
        ),
        (
            "Budget factor",
            _float(budget.factor),
            formats.number(Kind.FACTOR),
            "budget / total when scaled, else 1",
        ),
        ("Scaled to the budget", "yes" if budget.scaled else "no", None, ""),
    ]
    if budget.budget is not None:
        left = budget.budget - (totals["gross"] or 0)
        lines.append(("Budget left after gross", _float(left), money, "budget - total gross"))
    row = 3
    for label, value, fmt, note in lines:
        sheet.write_string(row, 0, label, formats.label)
        write_cell(sheet, row, 1, value, fmt)
        if note:
            sheet.write_string(row, 2, note, formats.wrap)
        row += 1
    row += 1
    sheet.write_string(row, 0, "Exceptions by kind and rule", formats.heading)
    kinds = result.exceptions.group_by("kind", "rule").len().sort("kind", "rule")
    columns = [Column("kind", "kind"), Column("rule", "rule"), Column("len", "rows", Kind.INTEGER)]
    row = write_table(sheet, formats, row + 1, columns, frame_data(kinds), widths=False)
    if result.warnings:
        row += 1
        sheet.write_string(row, 0, "Warnings", formats.heading)
        for warning in result.warnings:
            row += 1
            sheet.write_string(row, 0, warning)


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _payouts_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> None:
    sheet = add_table_sheet(workbook, PAYOUTS_SHEET)
    columns = payout_columns(result.config.program.base_currency)
    payouts = excel_display(result.payouts.select(PAYOUT_COLUMNS).sort("partner_id"))
    end = write_frame_table(sheet, formats, 0, columns, payouts)
    sheet.autofilter(0, 0, max(end - 1, 1), len(columns) - 1)
    sheet.freeze_panes(1, 2)
    set_print_layout(sheet, header_row=0, landscape=True)


def _totals_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> dict[str, _Block]:
    sheet = workbook.add_worksheet(TOTALS_SHEET)
    base = result.config.program.base_currency
    payouts = result.payouts
    money = [Column(name, name, Kind.MONEY, base) for name in TOTAL_COLUMNS]
    groups = {
        "tier": [tier.name for tier in result.config.tiers],
        "status": [status.value for status in Status],
        "segment": list(result.config.segments),
        "region": None,
    }
    blocks: dict[str, _Block] = {}
    row = 0
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 9)
    sheet.set_column(2, 1 + len(TOTAL_COLUMNS), 18)
    for key, order in groups.items():
        sheet.write_string(row, 0, f"By {key}", formats.heading)
        table = totals_by(payouts, key, order)
        columns = [Column("group", key), Column("partners", "partners", Kind.INTEGER), *money]
        end = write_table(sheet, formats, row + 1, columns, frame_data(table), widths=False)
        blocks[key] = _Block(row + 2, end - 1)
        _total_row(sheet, formats, end, payouts, base)
        row = end + 3
    sheet.write_string(row, 0, "By payout currency", formats.heading)
    local = (
        payouts.group_by("payout_currency")
        .agg(pl.len().alias("partners"), pl.col("payable").sum(), pl.col("payable_local").sum())
        .sort("payout_currency")
    )
    columns = [
        Column("payout_currency", "payout_currency"),
        Column("partners", "partners", Kind.INTEGER),
        Column("payable", "payable", Kind.MONEY, base),
        Column("payable_local", "payable_local", Kind.MONEY, currency_key="payout_currency"),
    ]
    write_table(sheet, formats, row + 1, columns, frame_data(local), widths=False)
    set_print_layout(sheet, header_row=None, landscape=True)
    return blocks


def _total_row(
    sheet: Worksheet, formats: Formats, row: int, payouts: pl.DataFrame, base: str
) -> None:
    values = frame_data(grand_total(payouts))
    sheet.write_string(row, 0, values["group"][0], formats.total)
    sheet.write_number(row, 1, values["partners"][0], formats.total)
    fmt = formats.number(Kind.MONEY, base, bold=True)
    for col, name in enumerate(TOTAL_COLUMNS, start=2):
        value = values[name][0]
        write_cell(sheet, row, col, value if value is not None else 0.0, fmt)


def exceptions_note(total: int, shown: int) -> str:
    """The line above the Exceptions table: how many rows it shows, and where the rest are
    ("The first 5,000 of 41,807 exceptions; exceptions.csv has every row ...").

    >>> exceptions_note(12, 12)
    'Every row of exceptions.csv (12).'
    """
    if total == 0:
        return "no exceptions this period"
    if shown < total:
        return (
            f"The first {shown:,} of {total:,} exceptions; {EXCEPTIONS_CSV} has every row "
            f"(counts by kind and rule: {OVERVIEW_SHEET})."
        )
    return f"Every row of {EXCEPTIONS_CSV} ({total:,})."


def _exceptions_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> None:
    sheet = add_table_sheet(workbook, EXCEPTIONS_SHEET)
    columns = [
        Column(name, name, Kind.WRAP if name == "detail" else Kind.TEXT)
        for name in EXCEPTION_COLUMNS
    ]
    exceptions = result.exceptions.select(EXCEPTION_COLUMNS)
    shown = excel_display(exceptions.head(EXCEPTION_ROWS_SHOWN))
    sheet.write_string(0, 0, exceptions_note(exceptions.height, shown.height), formats.label)
    end = write_frame_table(sheet, formats, 1, columns, shown)
    if not shown.is_empty():
        sheet.autofilter(1, 0, end - 1, len(columns) - 1)
    sheet.freeze_panes(2, 0)
    set_print_layout(sheet, header_row=1, landscape=True)


def _column_chart(workbook: Workbook, title: str, x_title: str, y_title: str) -> Any:
    chart = workbook.add_chart({"type": "column"})
    chart.set_title({"name": title})
    chart.set_x_axis({"name": x_title})
    chart.set_y_axis({"name": y_title, "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 640, "height": 320})
    return chart


def _charts_sheet(
    workbook: Workbook, formats: Formats, result: QuarterResult, blocks: dict[str, _Block]
) -> None:
    sheet = workbook.add_worksheet(CHARTS_SHEET)
    histogram = composite_histogram(result.payouts)
    sheet.write_string(0, 0, "Composite score distribution", formats.heading)
    columns = [Column("composite", "composite"), Column("partners", "partners", Kind.INTEGER)]
    end = write_table(sheet, formats, 1, columns, frame_data(histogram))
    base = result.config.program.base_currency
    payable_col = 2 + TOTAL_COLUMNS.index("payable")
    gross_col = 2 + TOTAL_COLUMNS.index("gross")
    for position, (key, title) in enumerate(
        (("tier", "Payout by tier"), ("segment", "Payout by segment"))
    ):
        block = blocks[key]
        chart = _column_chart(workbook, title, key, base)
        for col, name in ((gross_col, "gross"), (payable_col, "payable")):
            chart.add_series(
                {
                    "name": name,
                    "categories": [TOTALS_SHEET, block.first, 0, block.last, 0],
                    "values": [TOTALS_SHEET, block.first, col, block.last, col],
                }
            )
        sheet.insert_chart(1 + 17 * position, 3, chart)
    chart = _column_chart(
        workbook, "Distribution of composite scores", "composite score", "partners"
    )
    chart.add_series(
        {
            "name": "partners",
            "categories": [CHARTS_SHEET, 2, 0, max(end - 1, 2), 0],
            "values": [CHARTS_SHEET, 2, 1, max(end - 1, 2), 1],
            "gap": 10,
        }
    )
    sheet.insert_chart(1 + 17 * 2, 3, chart)
    set_print_layout(sheet, header_row=None, landscape=True)
