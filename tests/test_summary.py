"""summary.xlsx: the payout table adds up to the payouts frame, totals are exact, charts are
there, text stays text, and re-runs give identical bytes."""

from __future__ import annotations

import dataclasses
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from test_statements import AT_NAME, FORMULA_NAME, hostile_result

from incentcalc.result import (
    EXCEPTION_COLUMNS,
    MONEY_COLUMNS,
    PAYOUT_COLUMNS,
    QuarterResult,
    Status,
)
from incentcalc.statements import summary as summary_module
from incentcalc.statements.summary import (
    EXCEPTIONS_SHEET,
    OVERVIEW_SHEET,
    PAYOUTS_SHEET,
    TOTAL_COLUMNS,
    TOTALS_SHEET,
    composite_histogram,
    exceptions_note,
    title,
    totals_by,
    write_summary,
)


@pytest.fixture(scope="module")
def result() -> QuarterResult:
    return hostile_result(partners=40, deals=2)


@pytest.fixture(scope="module")
def summary(result: QuarterResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("summary") / "summary.xlsx"
    write_summary(result, path)
    return path


def cents(value: object) -> Decimal:
    """A money cell read back: the float Excel stores, as the exact 2-place Decimal."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_payout_table_adds_up_to_the_payouts_frame(result: QuarterResult, summary: Path) -> None:
    sheet = openpyxl.load_workbook(summary)[PAYOUTS_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [title(name) for name in PAYOUT_COLUMNS]
    assert rows[0][:3] == ("Period", "Partner ID", "Partner name")
    assert len(rows) - 1 == result.payouts.height
    for index, name in enumerate(PAYOUT_COLUMNS):
        if name in MONEY_COLUMNS:
            total = sum((cents(row[index]) for row in rows[1:]), Decimal(0))
            assert total == result.payouts[name].sum(), name
    ids = [row[PAYOUT_COLUMNS.index("partner_id")] for row in rows[1:]]
    cap_applied = [row[PAYOUT_COLUMNS.index("cap_applied")] for row in rows[1:]]
    expected = result.payouts.sort("partner_id")["cap_applied"].to_list()
    assert cap_applied == ["Yes" if flag else "No" for flag in expected]
    assert ids == result.payouts.sort("partner_id")["partner_id"].to_list()
    assert sheet.auto_filter.ref is not None
    assert sheet.freeze_panes == "C2"


def test_totals_by_tier_list_every_tier_and_add_up(result: QuarterResult) -> None:
    table = totals_by(result.payouts, "tier", [t.name for t in result.config.tiers])
    assert table["group"].to_list() == ["Bronze", "Silver", "Gold", "Platinum"]
    assert table["partners"].sum() == result.payouts.height
    for name in TOTAL_COLUMNS:
        assert table[name].sum() == result.payouts[name].sum()


def test_totals_sheet_has_each_grouping_with_a_grand_total(
    result: QuarterResult, summary: Path
) -> None:
    rows = list(openpyxl.load_workbook(summary)[TOTALS_SHEET].iter_rows(values_only=True))
    headings = [row[0] for row in rows if isinstance(row[0], str) and row[0].startswith("By ")]
    assert headings == ["By tier", "By status", "By segment", "By region", "By payout currency"]
    grand = [row for row in rows if row[0] == "All partners"]
    assert len(grand) == 4
    payable = 2 + TOTAL_COLUMNS.index("payable")
    assert {cents(row[payable]) for row in grand} == {result.payouts["payable"].sum()}
    statuses = {row[0] for row in rows} & {s.value for s in Status}
    assert statuses == {s.value for s in Status}


def test_exceptions_sheet_lists_every_exception(result: QuarterResult, summary: Path) -> None:
    rows = list(openpyxl.load_workbook(summary)[EXCEPTIONS_SHEET].iter_rows(values_only=True))
    assert rows[0][0] == exceptions_note(result.exceptions.height, result.exceptions.height)
    assert list(rows[1]) == [title(name) for name in EXCEPTION_COLUMNS]
    assert len(rows) - 2 == result.exceptions.height


def many_exceptions(result: QuarterResult, count: int) -> QuarterResult:
    """`result` with `count` integrity exceptions, two rules, deal ids D0..D<count-1>."""
    n = pl.int_range(0, count)
    exceptions = (
        pl.DataFrame({"n": range(count)})
        .select(
            pl.lit("integrity").alias("kind"),
            pl.lit("P00003").alias("partner_id"),
            pl.format("D{}", n).alias("deal_id"),
            pl.lit(None, dtype=pl.String).alias("record_id"),
            pl.when(n % 3 == 0).then(pl.lit("reversal")).otherwise(pl.lit("registration")),
            pl.lit("exclude").alias("action"),
            pl.lit(FORMULA_NAME).alias("detail"),
        )
        .rename({"literal": "rule"})
    )
    return dataclasses.replace(result, exceptions=exceptions)


def test_a_long_exception_list_is_cut_with_a_note_and_counted_on_the_overview(
    result: QuarterResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first EXCEPTION_ROWS_SHOWN rows are listed; the note says exceptions.csv has
    them all, and the Overview's counts by kind and rule still cover every row."""
    monkeypatch.setattr(summary_module, "EXCEPTION_ROWS_SHOWN", 4)
    many = many_exceptions(result, 10)
    write_summary(many, tmp_path / "summary.xlsx")
    book = openpyxl.load_workbook(tmp_path / "summary.xlsx")
    rows = list(book[EXCEPTIONS_SHEET].iter_rows(values_only=True))
    assert rows[0][0] == (
        "The first 4 of 10 exceptions; exceptions.csv has every row "
        "(counts by kind and rule: Overview)."
    )
    assert [row[2] for row in rows[2:]] == ["D0", "D1", "D2", "D3"]
    assert book[EXCEPTIONS_SHEET].auto_filter.ref == "A2:G6"
    assert book[EXCEPTIONS_SHEET].freeze_panes == "A3"
    overview = list(book[OVERVIEW_SHEET].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(overview) if row[0] == "Exceptions by kind and rule")
    assert overview[start + 1][:3] == ("Kind", "Rule", "Rows")
    assert overview[start + 2][:3] == ("integrity", "registration", 6)
    assert overview[start + 3][:3] == ("integrity", "reversal", 4)


def test_summary_has_three_charts(summary: Path) -> None:
    with zipfile.ZipFile(summary) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
    assert len(charts) == 3


def test_composite_histogram_counts_every_partner(result: QuarterResult) -> None:
    histogram = composite_histogram(result.payouts)
    assert histogram["partners"].sum() == result.payouts.height
    assert histogram["composite"][0] == "0.0-0.1"


def test_formula_like_names_stay_text_in_the_summary(summary: Path) -> None:
    sheet = openpyxl.load_workbook(summary)[PAYOUTS_SHEET]
    column = PAYOUT_COLUMNS.index("partner_name") + 1
    cells = {
        sheet.cell(row=r, column=column).value: sheet.cell(row=r, column=column)
        for r in range(2, sheet.max_row + 1)
    }
    for name in (FORMULA_NAME, AT_NAME):
        assert cells[name].data_type == "s"


def test_two_writes_give_identical_bytes(
    result: QuarterResult, summary: Path, tmp_path: Path
) -> None:
    again = tmp_path / "summary.xlsx"
    write_summary(result, again)
    assert again.read_bytes() == summary.read_bytes()


def test_empty_result_still_writes_a_summary(result: QuarterResult, tmp_path: Path) -> None:
    empty = dataclasses.replace(
        result, payouts=result.payouts.clear(), exceptions=result.exceptions.clear()
    )
    write_summary(empty, tmp_path / "summary.xlsx")
    rows = list(
        openpyxl.load_workbook(tmp_path / "summary.xlsx")[PAYOUTS_SHEET].iter_rows(values_only=True)
    )
    assert len(rows) == 1
    exceptions = list(
        openpyxl.load_workbook(tmp_path / "summary.xlsx")[EXCEPTIONS_SHEET].iter_rows(
            values_only=True
        )
    )
    assert exceptions[0][0] == "no exceptions this period"
    assert len(exceptions) == 2
