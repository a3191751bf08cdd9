"""Statements and summary of the spec's basic example, 2026Q3, from the real engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import EXAMPLE
from test_statements import labelled, sheet_values

from incentcalc.result import QuarterResult
from incentcalc.statements.batch import write_statements
from incentcalc.statements.partner import DEALS_SHEET, KPI_SHEET, STATEMENT_SHEET
from incentcalc.statements.summary import PAYOUTS_SHEET, write_summary

api = pytest.importorskip("incentcalc.api", reason="the engine (incentcalc.api) is not importable")


@pytest.fixture(scope="module")
def result() -> QuarterResult:
    return api.run_quarter(EXAMPLE / "program.yaml", "2026Q3")


@pytest.fixture(scope="module")
def folder(result: QuarterResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("basic")
    assert write_statements(result, out / "statements", workers=1) == 7  # P7 is not in scope
    write_summary(result, out / "summary.xlsx")
    return out


def statement(folder: Path, partner_id: str) -> Path:
    for path in (folder / "statements").iterdir():
        if labelled(sheet_values(path, STATEMENT_SHEET)).get("Partner ID") == partner_id:
            return path
    raise AssertionError(f"no statement for {partner_id}")


def test_p1_statement_shows_its_payout_and_the_revenue_that_reaches_gold(folder: Path) -> None:
    """P1: composite 0.85, Silver; Gold needs revenue 123,325.00 (8,325.00 more)."""
    values = labelled(sheet_values(statement(folder, "P1"), STATEMENT_SHEET))
    assert values["Partner"] == "Acme Systems"
    assert values["Tier"] == "Silver"
    assert values["Team tier"] == "Gold"
    assert Decimal(str(values["Bonus base"])) == Decimal("115000")
    assert Decimal(str(values["Net"])) == Decimal("2691")
    assert values["Next tier"] == "Gold"
    assert Decimal(str(values["revenue needed"])) == Decimal("123325")


def test_p1_deals_show_counted_and_excluded_rows_with_reasons(
    folder: Path, result: QuarterResult
) -> None:
    rows = sheet_values(statement(folder, "P1"), DEALS_SHEET)
    header, body = rows[0], rows[1:]
    expected = result.deal_lines.filter(pl.col("partner_id") == "P1").sort("deal_id").collect()
    assert [r[0] for r in body] == expected["deal_id"].to_list()
    counted = header.index("Counted")
    assert {r[counted] for r in body} <= {"yes", "no"}
    assert any(r[counted] == "no" for r in body)  # the lost deal


def test_p2_pays_in_eur(folder: Path) -> None:
    sheet = openpyxl.load_workbook(statement(folder, "P2"))[STATEMENT_SHEET]
    cell = next(row[1] for row in sheet.iter_rows() if row[0].value == "Payable in EUR")
    assert Decimal(str(cell.value)) == Decimal("6545.45")
    assert "EUR" in cell.number_format


def test_p3_missing_kpis_are_marked_with_why(folder: Path) -> None:
    rows = sheet_values(statement(folder, "P3"), KPI_SHEET)
    notes = {row[0]: row[-1] for row in rows[1:]}
    assert str(notes["nps"]).startswith("missing:")
    assert "left out" in str(notes["nps"])
    assert str(notes["grr"]).startswith("missing:")


def test_p6_adjustment_is_listed_but_not_applied(folder: Path) -> None:
    rows = sheet_values(statement(folder, "P6"), STATEMENT_SHEET)
    line = next(row for row in rows if row[0] == "Adjustment A02")
    assert "not applied" in str(line[2]) and "Spiff for Q3 launch" in str(line[2])


def test_summary_payables_match(folder: Path, result: QuarterResult) -> None:
    rows = list(
        openpyxl.load_workbook(folder / "summary.xlsx")[PAYOUTS_SHEET].iter_rows(values_only=True)
    )
    column = rows[0].index("Payable")
    total = sum((Decimal(str(r[column])).quantize(Decimal("0.01")) for r in rows[1:]), Decimal(0))
    assert total == result.payouts["payable"].sum()
