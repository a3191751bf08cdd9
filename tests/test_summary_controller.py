"""summary.xlsx read as a finance controller reads it (issue 14): provenance on the first
sheet, a reconciliation that ties line by line, human headers, Yes/No, count formats, and a
Payouts sheet that prints legibly. Built on the spec's basic example (real engine)."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import EXAMPLE

from incentcalc import __version__
from incentcalc.io.digest import file_sha256
from incentcalc.result import QuarterResult, Status
from incentcalc.statements.summary import (
    OVERVIEW_SHEET,
    PAYOUTS_SHEET,
    TOTALS_SHEET,
    Provenance,
    reconciliation_steps,
    title,
    write_summary,
)

api = pytest.importorskip("incentcalc.api", reason="the engine (incentcalc.api) is not importable")

RUN_AT = datetime(2026, 10, 2, 8, 30, tzinfo=UTC)
CONFIG = EXAMPLE / "program.yaml"


@pytest.fixture(scope="module")
def result() -> QuarterResult:
    return api.run_quarter(CONFIG, "2026Q3")


@pytest.fixture(scope="module")
def book(result: QuarterResult, tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("summary") / "summary.xlsx"
    write_summary(result, path, Provenance(RUN_AT, CONFIG, ["a warning to read"]))
    return openpyxl.load_workbook(path)


def overview(book: openpyxl.Workbook) -> dict[str, tuple[object, ...]]:
    """Overview rows by their label (first occurrence)."""
    rows: dict[str, tuple[object, ...]] = {}
    for row in book[OVERVIEW_SHEET].iter_rows(values_only=True):
        if isinstance(row[0], str):
            rows.setdefault(row[0], row)
    return rows


def cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_provenance_comes_first(book: openpyxl.Workbook, result: QuarterResult) -> None:
    assert book.sheetnames[0] == OVERVIEW_SHEET
    rows = overview(book)
    labels = [row[0] for row in book[OVERVIEW_SHEET].iter_rows(values_only=True) if row[0]]
    assert labels.index("Provenance") < labels.index("Reconciliation")
    assert rows["incentcalc version"][1] == __version__
    assert rows["Run at"][1] == "2026-10-02T08:30:00+00:00"
    assert rows["Config"][1] == str(CONFIG)
    assert rows["Config"][3] == f"sha256 {file_sha256(CONFIG)}"
    for source in result.inputs.files:
        row = rows[f"Input {source.name.value} (rows)"]
        assert row[1] == source.rows
        assert row[3] == f"{source.path}; sha256 {source.sha256}"
    assert rows["Warnings"][1] == 1
    assert any(
        row[3] == "a warning to read" for row in book[OVERVIEW_SHEET].iter_rows(values_only=True)
    )


def test_without_warnings_the_overview_says_none(result: QuarterResult, tmp_path: Path) -> None:
    write_summary(result, tmp_path / "s.xlsx", Provenance(RUN_AT, CONFIG, []))
    rows = overview(openpyxl.load_workbook(tmp_path / "s.xlsx"))
    assert rows["Warnings"][1] == "none"


def test_reconciliation_ties_gross_to_net_to_payable(
    book: openpyxl.Workbook, result: QuarterResult
) -> None:
    """Basic example: 21,370.00 - 2,137.00 + 50.00 = 19,283.00 net... minus carries = payable;
    every total line says it ties, and payable splits by payout currency."""
    rows = overview(book)
    payouts = result.payouts
    assert cents(rows["Gross"][1]) == payouts["gross"].sum() == Decimal("21370.00")
    assert cents(rows["- Holdback"][1]) == -payouts["holdback"].sum()
    assert cents(rows["+ Adjustments"][1]) == payouts["adjustments"].sum()
    assert cents(rows["= Net"][1]) == payouts["net"].sum()
    below = payouts.filter(pl.col("status") == Status.BELOW_MINIMUM)["carried_forward"].sum()
    assert cents(rows["- Carried forward: below the minimum"][1]) == -below
    assert cents(rows["= Payable"][1]) == payouts["payable"].sum() == Decimal("17361.00")
    assert rows["= Net"][2] == "ties"
    # RULES.md 8.10 carries a held partner's net forward; an engine that does not would leave
    # the held net unexplained, and the check says by how much.
    carried = payouts.filter(pl.col("status") != Status.INELIGIBLE)["carried_forward"].sum()
    off = payouts["payable"].sum() - (payouts["net"].sum() - carried)
    assert rows["= Payable"][2] == ("ties" if off == 0 else f"DOES NOT TIE: off by {off:,.2f}")
    by_currency = {
        row[0]: row
        for row in book[OVERVIEW_SHEET].iter_rows(values_only=True)
        if row[0] in {"USD", "EUR", "GBP"}
    }
    assert set(by_currency) == set(payouts["payout_currency"].unique().to_list())
    assert sum(cents(row[2]) for row in by_currency.values()) == payouts["payable"].sum()
    assert rows["Payable, all currencies"][3] == "ties with = Payable"


def test_reconciliation_names_ledger_lines_when_the_payouts_have_them(
    result: QuarterResult,
) -> None:
    labels = [label for label, _, _ in reconciliation_steps(result.payouts)]
    assert labels[:8] == [
        "Gross", "- Holdback", "+ Adjustments", "+ Loyalty bonus", "+ Carried in",
        "+ Holdback released", "- Clawback", "= Net",
    ]  # fmt: skip
    without = result.payouts.drop("loyalty_bonus", "carried_in", "holdback_released", "clawback")
    labels = [label for label, _, _ in reconciliation_steps(without)]
    assert labels[:4] == ["Gross", "- Holdback", "+ Adjustments", "= Net"]


def test_a_reconciliation_that_does_not_tie_says_by_how_much(
    result: QuarterResult, tmp_path: Path
) -> None:
    broken = result.payouts.with_columns(
        pl.when(pl.col("partner_id") == "P1")
        .then(pl.col("net") + Decimal("1.00"))
        .otherwise(pl.col("net"))
        .alias("net")
    )
    write_summary(dataclasses.replace(result, payouts=broken), tmp_path / "s.xlsx")
    rows = overview(openpyxl.load_workbook(tmp_path / "s.xlsx"))
    assert rows["= Net"][2] == "DOES NOT TIE: off by 1.00"


def test_headers_are_human_booleans_yes_no_and_counts_formatted(
    book: openpyxl.Workbook,
) -> None:
    payouts = book[PAYOUTS_SHEET]
    headers = [cell.value for cell in payouts[1]]
    assert headers[:4] == ["Period", "Partner ID", "Partner name", "Segment"]
    assert "Gross after cap" in headers and "FX rate" in headers
    assert not any("_" in str(header) for header in headers)
    cap = headers.index(title("cap_applied"))
    assert {row[cap] for row in payouts.iter_rows(min_row=2, values_only=True)} <= {"Yes", "No"}
    totals = book[TOTALS_SHEET]
    assert [cell.value for cell in totals[2]][:3] == ["Tier", "Partners", "Bonus base"]
    grand = next(row for row in totals.iter_rows() if row[0].value == "All partners")
    assert grand[1].number_format == "#,##0"
    assert overview(book)["Scaled to the budget"][1] == "No"
    counts = next(r for r in book[OVERVIEW_SHEET].iter_rows() if r[0].value == "Partners in scope")
    assert counts[1].number_format == "#,##0"


def test_tiers_without_partners_are_listed(book: openpyxl.Workbook) -> None:
    rows = list(book[TOTALS_SHEET].iter_rows(values_only=True))
    gold = next(row for row in rows if row[0] == "Gold")
    assert gold[1] == 0


def test_payouts_sheet_prints_landscape_on_a3_with_the_header_repeated(
    book: openpyxl.Workbook,
) -> None:
    payouts = book[PAYOUTS_SHEET]
    assert payouts.page_setup.orientation == "landscape"
    assert payouts.page_setup.paperSize == 8  # A3
    assert payouts.print_title_rows == "$1:$1"
    assert payouts.sheet_properties.pageSetUpPr.fitToPage
    assert payouts.page_setup.fitToHeight == 0


def test_long_exception_details_get_tall_rows(result: QuarterResult, tmp_path: Path) -> None:
    """The Exceptions sheet is built as XML with Polars; its row heights come from the detail
    text's length (a long detail wraps onto several lines), others keep the default."""
    from incentcalc.statements.cell_formats import LINE_HEIGHT
    from incentcalc.statements.summary import EXCEPTIONS_SHEET

    long_detail = "registered 2026-08-02, after the close date 2026-08-01; " * 4
    extra = pl.DataFrame(
        {
            "kind": ["integrity"],
            "partner_id": ["P1"],
            "deal_id": ["D001"],
            "record_id": [None],
            "rule": ["registration"],
            "action": ["exclude"],
            "detail": [long_detail],
        },
        schema=result.exceptions.schema,
    )
    flagged = dataclasses.replace(result, exceptions=pl.concat([extra, result.exceptions]))
    write_summary(flagged, tmp_path / "s.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")[EXCEPTIONS_SHEET]
    assert sheet["G3"].value == long_detail
    assert sheet["G2"].value == "Detail"
    width = sheet.column_dimensions["G"].width
    lines = math.ceil(len(long_detail) / ((width - 1) * 0.9))
    assert sheet.row_dimensions[3].height == LINE_HEIGHT * lines
    assert sheet.row_dimensions[3].height >= 4 * LINE_HEIGHT
    assert (
        sheet.row_dimensions[4].height is None or sheet.row_dimensions[4].height <= 2 * LINE_HEIGHT
    )
