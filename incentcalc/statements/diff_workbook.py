"""diff.xlsx: a ProgramDiff as a workbook (summary, partners, tier migration, groups, movers).

Every figure is already in the ProgramDiff, computed exactly in `reports/compare.py`; the
terminal report and the `--json` document are `cli.diff_report`. The workbook is
byte-identical on reruns (fixed created date, xlsxwriter's fixed zip timestamps) so a diff
folder can be checked in or compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from incentcalc.reports.compare import DIFF_COLUMNS, GROUP_COLUMNS, ProgramDiff, migration_grid
from incentcalc.reports.config_diff import show_value
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

_MONEY_DIFF_COLUMNS = frozenset(c for c in DIFF_COLUMNS if c.endswith(("_gross", "_payable")))
_SCORE_DIFF_COLUMNS = frozenset({"baseline_composite", "candidate_composite"})


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
