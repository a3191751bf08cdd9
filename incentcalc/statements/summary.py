"""summary.xlsx: the finance workbook of one run.

Sheets:
- Overview: provenance (incentcalc version, run time, config and input files with sha256 and
  rows, warnings), program, period, partner counts by status, a reconciliation a controller
  can tick (gross to net to payable, payable per payout currency), the budget and how it was
  used (BudgetUse), exception counts by kind and rule;
- Payouts: every payout row in payouts.csv's column order under human headers, booleans as
  Yes/No, autofilter, frozen header; prints landscape on A3, one page wide, header repeated;
- Totals: partners and money by tier, status, segment, region and payout currency;
- Exceptions: the first EXCEPTION_ROWS_SHOWN rows of exceptions.csv, autofilter, and a note
  saying how many there are in all;
- Ledger (when the program keeps a ledger): holdback, carry, clawback, forfeit and milestone
  totals, and every clawback and forfeit row (`ledger_sheet`);
- Charts: payable by tier, payable by segment, and the distribution of composite scores.

All totals are exact Decimal sums made with Polars; cells hold values, never formulas, so the
workbook shows the same numbers in any viewer and a re-run writes identical bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from incentcalc import __version__
from incentcalc.io.digest import file_sha256
from incentcalc.money import money_total
from incentcalc.periods import progress_title
from incentcalc.result import (
    EXCEPTION_COLUMNS,
    EXCEPTIONS_CSV,
    MONEY_COLUMNS,
    PAYOUT_COLUMNS,
    QuarterResult,
    Status,
)
from incentcalc.statements.cell_formats import (
    Column,
    Formats,
    Kind,
    add_table_sheet,
    open_workbook,
    row_height,
    set_print_layout,
    write_cell,
    write_frame_table,
    write_table,
)
from incentcalc.statements.ledger_sheet import write_ledger_sheet
from incentcalc.statements.partner import LEDGER_LINES
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
}

BOOLEAN_COLUMNS = ("cap_applied",)
"""Payout columns shown as Yes/No."""

_TITLES = {
    "partner_id": "Partner ID",
    "team_id": "Team ID",
    "deal_id": "Deal ID",
    "record_id": "Record ID",
    "fx_rate": "FX rate",
    "payable_local": "Payable (payout currency)",
    "gross_uncapped": "Gross before cap",
    "gross_capped": "Gross after cap",
    "len": "Rows",
    "group": "Group",
}

A3_PAPER = 8
"""xlsxwriter's paper code for A3: the Payouts sheet's 29 columns stay legible on one page width."""


def title(name: str) -> str:
    """A column name as a header people read: partner_id -> "Partner ID", gross_capped ->
    "Gross after cap", bonus_base -> "Bonus base"."""
    return _TITLES.get(name, name.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Provenance:
    """Where a run's numbers come from, for the Overview's first lines: when it ran, the config
    file, and the warnings it gave (the inputs' paths, sha256 and rows are in the result)."""

    run_at: datetime | None = None
    config_path: Path | None = None
    warnings: Sequence[str] = field(default_factory=tuple)


def payout_columns(base: str) -> list[Column]:
    """Payouts sheet columns: payouts.csv's columns under human headers, money in the base
    currency except payable_local, which is in each row's payout_currency."""
    kinds = {**dict.fromkeys(MONEY_COLUMNS, Kind.MONEY), **_PAYOUT_KINDS}
    columns = [
        Column(name, title(name), kinds.get(name, Kind.TEXT), base) for name in PAYOUT_COLUMNS
    ]
    local = PAYOUT_COLUMNS.index("payable_local")
    columns[local] = Column(
        "payable_local", title("payable_local"), Kind.MONEY, currency_key="payout_currency"
    )
    return columns


def yes_no(frame: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """`frame` with the boolean columns `names` as "Yes"/"No" text (null stays null)."""
    return frame.with_columns(
        pl.col(name).replace_strict({True: "Yes", False: "No"}, return_dtype=pl.String)
        for name in names
        if name in frame.columns
    )


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


def write_summary(result: QuarterResult, path: Path, provenance: Provenance | None = None) -> None:
    """Write the finance workbook for `result` to `path` (its folder must exist).

    Without a `provenance` the run time and config lines read "not recorded" (a workbook
    written outside `run`); the warnings then are the result's own."""
    created = datetime.combine(result.period.end, time())
    workbook = open_workbook(path, created)
    formats = Formats(workbook)
    _overview_sheet(workbook, formats, result, provenance or Provenance(warnings=result.warnings))
    _payouts_sheet(workbook, formats, result)
    blocks = _totals_sheet(workbook, formats, result)
    _exceptions_sheet(workbook, formats, result)
    if result.config.ledger is not None:
        write_ledger_sheet(workbook, formats, result)
    _charts_sheet(workbook, formats, result, blocks)
    workbook.close()


OVERVIEW_WIDTHS = (36, 22, 30, 70)
"""Overview columns: label, value, check (reconciliation), note."""
NOTE_COLUMN = 3


class _Lines:
    """Rows of label | value | note on the Overview, from `row` down."""

    def __init__(self, sheet: Worksheet, formats: Formats, row: int) -> None:
        self.sheet, self.formats, self.row = sheet, formats, row

    def heading(self, text: str) -> None:
        self.row += 1
        self.sheet.write_string(self.row, 0, text, self.formats.heading)
        self.row += 1

    def add(self, label: str, value: Any, fmt: Any = None, note: str = "") -> None:
        self.sheet.write_string(self.row, 0, label, self.formats.label)
        write_cell(self.sheet, self.row, 1, value, fmt or self.formats.top)
        if note:
            self.sheet.write_string(self.row, NOTE_COLUMN, note, self.formats.wrap)
            height = row_height([(note, OVERVIEW_WIDTHS[NOTE_COLUMN])])
            if height is not None:
                self.sheet.set_row(self.row, height)
        self.row += 1


def _overview_sheet(
    workbook: Workbook, formats: Formats, result: QuarterResult, provenance: Provenance
) -> None:
    sheet = workbook.add_worksheet(OVERVIEW_SHEET)
    for col, width in enumerate(OVERVIEW_WIDTHS):
        sheet.set_column(col, col, width)
    marked = " - RECALCULATION, never closed (RULES.md 11.1)" if result.recalculation else ""
    progress = progress_title(result.period.as_of)
    marked += f" - {progress}" if progress else ""
    sheet.write_string(0, 0, f"Payout summary {result.period.label}{marked}", formats.title)
    sheet.write_string(1, 0, result.config.program.name, formats.label)
    set_print_layout(sheet, header_row=None, landscape=False)
    out = _Lines(sheet, formats, 2)
    _provenance_lines(out, result, provenance)
    _run_lines(out, result)
    _reconciliation(out, result)
    _budget_lines(out, result)
    out.heading("Exceptions by kind and rule")
    kinds = result.exceptions.group_by("kind", "rule").len().sort("kind", "rule")
    columns = [
        Column("kind", title("kind")),
        Column("rule", title("rule")),
        Column("len", title("len"), Kind.INTEGER),
    ]
    write_table(sheet, formats, out.row, columns, frame_data(kinds), widths=False)


def _provenance_lines(out: _Lines, result: QuarterResult, provenance: Provenance) -> None:
    """What produced these numbers: version, run time, config and every input file."""
    out.heading("Provenance")
    out.add("incentcalc version", __version__)
    run_at = provenance.run_at
    out.add("Run at", run_at.isoformat(timespec="seconds") if run_at else "not recorded")
    config = provenance.config_path
    if config is not None and config.is_file():
        out.add("Config", str(config), note=f"sha256 {file_sha256(config)}")
    else:
        out.add("Config", "not recorded")
    integer = out.formats.number(Kind.INTEGER)
    for source in result.inputs.files:
        rows = source.rows if source.rows is not None else "-"
        out.add(
            f"Input {source.name.value} (rows)",
            rows,
            integer,
            note=f"{source.path}; sha256 {source.sha256}",
        )
    warnings = list(provenance.warnings)
    out.add("Warnings", len(warnings) if warnings else "none", integer)
    for warning in warnings:
        out.add("", "", note=warning)


def _run_lines(out: _Lines, result: QuarterResult) -> None:
    payouts = result.payouts
    integer = out.formats.number(Kind.INTEGER)
    out.heading("Run")
    out.add("Period", result.period.label, note=f"{result.period.start} to {result.period.end}")
    if result.period.as_of is not None:
        out.add(
            "Progress to",
            result.period.as_of.isoformat(),
            note=f"provisional, never closed (RULES.md 12): read to this day, "
            f"{result.period.elapsed_days} of {result.period.days} days; additive targets and "
            "the budget are prorated to them",
        )
    out.add("Base currency", result.config.program.base_currency)
    out.add("Partners in scope", payouts.height, integer)
    counts = dict(payouts.group_by("status").len().iter_rows())
    for status in Status:
        out.add(f"  {status.value}", counts.get(status.value, 0), integer)


def ledger_columns(payouts: pl.DataFrame) -> list[tuple[str, str, int]]:
    """The ledger's net terms (RULES.md 8.9) the payouts have: label, column, sign."""
    return [line for line in LEDGER_LINES if line[1] in payouts.columns]


def reconciliation_steps(payouts: pl.DataFrame) -> list[tuple[str, Decimal, str]]:
    """Gross to net to payable as (label, amount, note); amounts signed as they enter."""
    status = pl.col("status")
    steps = [
        ("Gross", money_total(payouts, "gross"), "sum of gross"),
        ("- Holdback", -money_total(payouts, "holdback"), "sum of holdback"),
        ("+ Adjustments", money_total(payouts, "adjustments"), "applied adjustments"),
    ]
    for label, column, sign in ledger_columns(payouts):
        steps.append(
            (f"{'+' if sign > 0 else '-'} {label}", sign * money_total(payouts, column), "")
        )
    carries = (
        ("- Carried forward: negative balances", Status.NEGATIVE),
        ("- Carried forward: below the minimum", Status.BELOW_MINIMUM),
        ("- Carried forward: held partners", Status.HELD),
    )
    steps.append(("= Net", money_total(payouts, "net"), "sum of net"))
    steps += [
        (
            label,
            -money_total(payouts, "carried_forward", status == value.value),
            f"status {value.value}",
        )
        for label, value in carries
    ]
    steps.append(("= Payable", money_total(payouts, "payable"), "sum of payable"))
    return steps


def _check(expected: Decimal, reported: Decimal) -> str:
    difference = reported - expected
    return "ties" if difference == 0 else f"DOES NOT TIE: off by {difference:,.2f}"


def _reconciliation(out: _Lines, result: QuarterResult) -> None:
    """Gross - holdback + adjustments (+ ledger lines) = net; net - carried forward (by kind)
    = payable; payable per payout currency. Each total is checked against the sum of its
    terms, so a controller can tick every line."""
    base = result.config.program.base_currency
    money = out.formats.number(Kind.MONEY, base)
    bold = out.formats.number(Kind.MONEY, base, bold=True)
    out.heading("Reconciliation")
    out.sheet.write_string(out.row, 0, "Step", out.formats.header)
    out.sheet.write_string(out.row, 1, f"Amount ({base})", out.formats.header)
    out.sheet.write_string(out.row, 2, "Check", out.formats.header)
    out.sheet.write_string(out.row, 3, "From", out.formats.header)
    out.row += 1
    running = Decimal(0)
    for label, amount, note in reconciliation_steps(result.payouts):
        total = label.startswith("=")
        out.sheet.write_string(out.row, 0, label, out.formats.label)
        write_cell(out.sheet, out.row, 1, float(amount), bold if total else money)
        if total:
            out.sheet.write_string(out.row, 2, _check(running, amount), out.formats.check)
            running = amount
        else:
            running += amount
        out.sheet.write_string(out.row, 3, note, out.formats.wrap)
        out.row += 1
    out.row = _currency_table(out.sheet, out.formats, out.row + 1, result.payouts, base)
    sums = payable_by_currency(result.payouts)["payable"].sum()
    out.add(
        "Payable, all currencies",
        float(sums or 0),
        bold,
        note=_check(money_total(result.payouts, "payable"), Decimal(sums or 0)).replace(
            "ties", "ties with = Payable"
        ),
    )


def _currency_table(
    sheet: Worksheet, formats: Formats, top: int, payouts: pl.DataFrame, base: str
) -> int:
    """Partners, payable and payable_local per payout currency at `top`; returns the row
    after it."""
    columns = [
        Column("payout_currency", "Payout currency"),
        Column("partners", "Partners", Kind.INTEGER),
        Column("payable", f"Payable ({base})", Kind.MONEY, base),
        Column("payable_local", title("payable_local"), Kind.MONEY, currency_key="payout_currency"),
    ]
    table = frame_data(payable_by_currency(payouts))
    return write_table(sheet, formats, top, columns, table, widths=False)


def payable_by_currency(payouts: pl.DataFrame) -> pl.DataFrame:
    """Partners, payable (base) and payable_local per payout currency."""
    return (
        payouts.group_by("payout_currency")
        .agg(pl.len().alias("partners"), pl.col("payable").sum(), pl.col("payable_local").sum())
        .sort("payout_currency")
    )


def _budget_lines(out: _Lines, result: QuarterResult) -> None:
    base = result.config.program.base_currency
    budget = result.budget
    money = out.formats.number(Kind.MONEY, base)
    out.heading("Budget")
    out.add(
        "Budget",
        _float(budget.budget) if budget.budget is not None else "none",
        money,
        "payout.budget"
        if result.period.as_of is None
        else f"payout.budget x {result.period.elapsed_days} / {result.period.days} days, rounded",
    )
    out.add(
        "Total gross after cap",
        _float(budget.total_capped),
        money,
        "over partners that are not ineligible",
    )
    out.add(
        "Budget factor",
        _float(budget.factor),
        out.formats.number(Kind.FACTOR),
        "budget / total when scaled, else 1",
    )
    out.add("Scaled to the budget", "Yes" if budget.scaled else "No")
    if budget.budget is not None:
        left = budget.budget - money_total(result.payouts, "gross")
        out.add("Budget left after gross", _float(left), money, "budget - total gross")


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _payouts_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> None:
    sheet = add_table_sheet(workbook, PAYOUTS_SHEET)
    columns = payout_columns(result.config.program.base_currency)
    rows = yes_no(result.payouts.select(PAYOUT_COLUMNS).sort("partner_id"), BOOLEAN_COLUMNS)
    end = write_frame_table(sheet, formats, 0, columns, excel_display(rows))
    sheet.autofilter(0, 0, max(end - 1, 1), len(columns) - 1)
    sheet.freeze_panes(1, 2)
    set_print_layout(sheet, header_row=0, landscape=True)
    sheet.set_paper(A3_PAPER)


def _totals_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> dict[str, _Block]:
    sheet = workbook.add_worksheet(TOTALS_SHEET)
    base = result.config.program.base_currency
    payouts = result.payouts
    money = [Column(name, title(name), Kind.MONEY, base) for name in TOTAL_COLUMNS]
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
        columns = [
            Column("group", title(key)),
            Column("partners", "Partners", Kind.INTEGER),
            *money,
        ]
        end = write_table(sheet, formats, row + 1, columns, frame_data(table), widths=False)
        blocks[key] = _Block(row + 2, end - 1)
        _total_row(sheet, formats, end, payouts, base)
        row = end + 3
    sheet.write_string(row, 0, "By payout currency", formats.heading)
    _currency_table(sheet, formats, row + 1, payouts, base)
    set_print_layout(sheet, header_row=None, landscape=True)
    return blocks


def _total_row(
    sheet: Worksheet, formats: Formats, row: int, payouts: pl.DataFrame, base: str
) -> None:
    values = frame_data(grand_total(payouts))
    sheet.write_string(row, 0, values["group"][0], formats.total)
    sheet.write_number(row, 1, values["partners"][0], formats.total_count)
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
        Column(name, title(name), Kind.WRAP if name == "detail" else Kind.TEXT)
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
    columns = [Column("composite", "Composite"), Column("partners", "Partners", Kind.INTEGER)]
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
