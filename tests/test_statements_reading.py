"""Partner statements read as a partner reads them (issue 14): rows tall enough for wrapped
text, only true lines for held and ineligible partners, budget scaling without the budget's
amount, curves in words, integrity hits in partner words, and units as people read them.

Built on the spec's basic example (the real engine), read back with openpyxl."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from conftest import EXAMPLE
from openpyxl.worksheet.worksheet import Worksheet

from incentcalc.config import Kpi
from incentcalc.result import QuarterResult
from incentcalc.statements.batch import write_statements
from incentcalc.statements.cell_formats import LINE_HEIGHT, money_format, row_height, wrapped_lines
from incentcalc.statements.partner import (
    DEALS_SHEET,
    KPI_SHEET,
    STATEMENT_SHEET,
    describe_curve,
    money,
    value_text,
    write_partner_statement,
)
from incentcalc.statements.payload import (
    build_context,
    build_payloads,
    chosen_rows,
    select_partners,
)

api = pytest.importorskip("incentcalc.api", reason="the engine (incentcalc.api) is not importable")

LONG_REASON = (
    "Correction for the co-marketing event in Lyon that was invoiced twice in July and credited "
    "back in August after the partner's finance team raised it with the channel desk"
)


@pytest.fixture(scope="module")
def result() -> QuarterResult:
    return api.run_quarter(EXAMPLE / "program.yaml", "2026Q3")


@pytest.fixture(scope="module")
def budget_result() -> QuarterResult:
    return api.run_quarter(EXAMPLE / "program_budget.yaml", "2026Q3")


@pytest.fixture(scope="module")
def folder(result: QuarterResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("basic") / "statements"
    write_statements(result, out, workers=1)
    return out


def sheet(path: Path, name: str) -> Worksheet:
    return openpyxl.load_workbook(path)[name]


def lines(path: Path) -> list[tuple[str, object, str]]:
    """Statement rows as (label, value, note)."""
    return [
        (str(row[0] or ""), row[1], str(row[2] or ""))
        for row in sheet(path, STATEMENT_SHEET).iter_rows(values_only=True)
        if len(row) > 2
    ]


def line(path: Path, label: str) -> tuple[str, object, str]:
    found = [entry for entry in lines(path) if entry[0] == label]
    assert len(found) == 1, (label, found)
    return found[0]


def all_text(path: Path, name: str = STATEMENT_SHEET) -> str:
    return "\n".join(
        str(value) for row in sheet(path, name).iter_rows(values_only=True) for value in row
    )


def height_of(ws: Worksheet, label: str) -> float | None:
    row = next(r for r in ws.iter_rows() if r[0].value == label)
    return ws.row_dimensions[row[0].row].height


def write_with(
    result: QuarterResult, folder: Path, partner_id: str, column: str, value: str
) -> None:
    """Write `partner_id`'s statement with its payout row's `column` set to `value`."""
    payouts = result.payouts.with_columns(
        pl.when(pl.col("partner_id") == partner_id)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    replaced = dataclasses.replace(result, payouts=payouts)
    write_statements(replaced, folder, partner_ids=[partner_id], workers=1)


# --- row heights -------------------------------------------------------------------------


def test_wrapped_lines_count_word_wrap() -> None:
    assert wrapped_lines("short", 20) == 1
    assert wrapped_lines("FX rate to USD", 10) == 2  # "FX rate to" | "USD"
    assert wrapped_lines(LONG_REASON, 70) == 3
    assert row_height([("a", 10), (LONG_REASON, 70)]) == 3 * LINE_HEIGHT
    assert row_height([("a", 10)]) is None


def test_long_adjustment_reason_gets_a_row_tall_enough(
    result: QuarterResult, tmp_path: Path
) -> None:
    """P8's adjustment with a three-line reason: the row is three lines tall, so the reason
    does not overprint the next row in print or PDF."""
    chosen = select_partners(result, ["P8"])
    (payload,) = build_payloads(chosen_rows(result, chosen))
    adjustments = {**payload.adjustments, "reason": [LONG_REASON]}
    path = write_partner_statement(
        dataclasses.replace(payload, adjustments=adjustments), build_context(result), tmp_path
    )
    ws = sheet(path, STATEMENT_SHEET)
    assert height_of(ws, "Adjustment A01") == 3 * LINE_HEIGHT
    assert height_of(ws, "Partner") is None  # one-line rows keep the default height
    note = line(path, "Adjustment A01")[2]
    assert LONG_REASON in note


def test_deals_header_and_kpi_notes_are_tall_enough(folder: Path) -> None:
    path = folder / "P3.xlsx"
    deals = sheet(path, DEALS_SHEET)
    headers = [cell.value for cell in deals[1]]
    assert "FX rate to USD" in headers
    fx_width = deals.column_dimensions["F"].width
    assert wrapped_lines("FX rate to USD", fx_width) == 2
    assert deals.row_dimensions[1].height == 2 * LINE_HEIGHT
    kpis = sheet(path, KPI_SHEET)
    nps_row = next(r for r in kpis.iter_rows(min_row=2) if r[0].value == "nps")
    note = str(nps_row[-1].value)
    assert note.startswith("missing:")
    expected = row_height(
        [
            (note, kpis.column_dimensions["K"].width),
            (str(nps_row[-2].value), kpis.column_dimensions["J"].width),
        ]
    )
    assert expected is not None
    assert kpis.row_dimensions[nps_row[0].row].height == expected
    assert nps_row[-1].alignment.wrap_text and nps_row[2].alignment.vertical == "top"


# --- true statements -----------------------------------------------------------------------


def test_ineligible_statement_says_why_and_that_nothing_is_payable(folder: Path) -> None:
    """P6 left the program: no cap, budget, holdback, carry or next-tier lines."""
    path = folder / "P6.xlsx"
    labels = [entry[0] for entry in lines(path)]
    for absent in (
        "Cap", "Gross after cap", "Budget factor", "Holdback", "Net", "Carried forward",
        "Next tier", "Requirement", "Perks", "Individual bonus",
    ):  # fmt: skip
        assert absent not in labels, absent
    status = line(path, "Status")
    assert status[1] == "ineligible"
    assert "left program on 2026-08-31" in status[2] and "nothing is payable" in status[2]
    assert line(path, "Payable")[1] == 0
    assert "nothing is carried forward" in line(path, "Payable")[2]
    adjustment = line(path, "Adjustment A02")
    assert adjustment[2].startswith("not applied")
    assert labels.count("Status") == 1


def test_held_statement_says_the_net_is_withheld_and_carried_forward(folder: Path) -> None:
    path = folder / "P5.xlsx"
    status = line(path, "Status")
    assert status[1] == "held"
    assert "withheld and carried forward until the hold ends" in status[2]
    assert "not forfeited" in status[2]
    carry = line(path, "Carried forward")
    assert "withheld" in carry[2] and "until the hold ends" in carry[2]
    assert line(path, "Payable")[1] == 0
    assert "held: nothing is paid" in line(path, "Payable")[2]


def test_a_program_without_budget_has_no_budget_line(folder: Path) -> None:
    text = all_text(folder / "P1.xlsx")
    assert "Budget factor" not in text and "budget" not in text.lower()


def test_budget_scaling_is_said_without_the_budget_amount(
    budget_result: QuarterResult, tmp_path: Path
) -> None:
    assert budget_result.budget.scaled
    write_statements(budget_result, tmp_path, partner_ids=["P1"], workers=1)
    path = tmp_path / "P1.xlsx"
    factor = line(path, "Budget factor")
    assert f"{budget_result.budget.factor:.6f}" in factor[2]
    assert "exceeded its budget" in factor[2]
    text = all_text(path)
    assert not re.search(r"(?<![\d,])15,?000(\.00)?\b", text)  # 115,000.00 is P1's revenue
    assert "budget of" not in text
    assert "within the budget" not in text


# --- units and words -----------------------------------------------------------------------


def test_status_team_and_gates_read_as_people_read_them(folder: Path) -> None:
    path = folder / "P1.xlsx"  # Silver, in team T1; Gold requires nps >= 30
    labels = [entry[0] for entry in lines(path)]
    assert labels.count("Status") == 1
    assert line(path, "Team")[1] == "T1" and line(path, "Team tier")[1] == "Gold"
    requirement = line(path, "Requirement")
    assert requirement[1] == "nps at least 30.0"
    assert requirement[2] == "now 40.0: met"
    lone = folder / "P4.xlsx"  # no team: no "Team tier" beside "Team: none"
    assert "Team tier" not in [entry[0] for entry in lines(lone)]
    assert "own tier" in line(lone, "Team")[2]


def test_next_tier_lists_the_cheapest_routes_in_kpi_units(folder: Path) -> None:
    """P1 (Silver, composite 0.85) to Gold (0.9): revenue 8,325.00 more is the cheapest
    route; GRR, now below the 0.5 step, needs only the 80% step (0.2 * 0.5 = 0.1)."""
    path = folder / "P1.xlsx"
    routes = [entry for entry in lines(path) if entry[0].endswith(" needed")]
    assert [entry[0] for entry in routes][0:1] == ["revenue needed"]
    revenue = line(path, "revenue needed")
    assert Decimal(str(revenue[1])) == Decimal("123325")
    assert revenue[2].startswith("now 115,000.00 USD: 8,325.00 USD more")
    grr = line(path, "grr needed")
    assert grr[1] == pytest.approx(0.8)
    assert grr[2].startswith("now ") and "% more, the other KPIs unchanged" in grr[2]
    kpis = sheet(path, KPI_SHEET)
    assert kpis["C2"].number_format.startswith("#,##0.00")
    nps_row = next(r for r in kpis.iter_rows(min_row=2) if r[0].value == "nps")
    assert nps_row[2].number_format == "#,##0.0"


def test_kpi_sheet_explains_each_curve_in_words(folder: Path) -> None:
    kpis = sheet(folder / "P1.xlsx", KPI_SHEET)
    assert kpis["J1"].value == "How it is scored"
    curves = {row[0]: row[9] for row in kpis.iter_rows(min_row=2, values_only=True) if row[9]}
    assert curves["grr"] == "0 below 80%; 0.5 from 80%; 1.0 from 90%; 1.2 from 95%"
    assert curves["revenue"] == "score = value / target; 0 below 50% of target; at most 1.5"
    assert curves["nps"] == (
        "0 at 0.0 or below; 1.0 at 50.0; in proportion in between; at most 1.2"
    )


def test_describe_curve_for_counts_and_money() -> None:
    steps = Kpi.model_validate(
        {"metric": "won_deals", "score": {"steps": [[3, 0.5], [10, 1], [20, 1.25]]}}
    )
    assert describe_curve(steps, "USD") == "0 below 3; 0.5 from 3; 1.0 from 10; 1.25 from 20"
    linear = Kpi.model_validate(
        {"metric": "avg_deal_size", "score": {"linear": {"floor": 1000, "target": 25000}}}
    )
    assert describe_curve(linear, "EUR") == (
        "0 at 1,000.00 EUR or below; 1.0 at 25,000.00 EUR; in proportion in between"
    )


def test_money_follows_each_currencys_minor_unit() -> None:
    assert money(Decimal("1234567"), "JPY") == "1,234,567 JPY"
    assert money(Decimal("12.5"), "KWD") == "12.500 KWD"
    assert money(Decimal("8000"), "USD") == "8,000.00 USD"
    assert money_format("JPY") == '#,##0 "JPY"'
    assert money_format("EUR") == '#,##0.00 "EUR"'
    assert value_text(Decimal("0.9"), "gross_renewal_rate", "USD") == "90%"
    assert value_text(Decimal("33.3333"), "nps", "USD") == "33.3"
    assert value_text(Decimal("12"), "won_deals", "USD") == "12"


def test_payable_in_yen_has_no_decimals(result: QuarterResult, tmp_path: Path) -> None:
    write_with(result, tmp_path, "P1", "payout_currency", "JPY")
    ws = sheet(tmp_path / "P1.xlsx", STATEMENT_SHEET)
    cell = next(r[1] for r in ws.iter_rows() if r[0].value == "Payable in JPY")
    assert cell.number_format == '#,##0 "JPY"'
    note = line(tmp_path / "P1.xlsx", "Payable in JPY")[2]
    assert "rounded to whole JPY" in note


def test_integrity_hits_read_in_partner_words(result: QuarterResult, tmp_path: Path) -> None:
    """Rule names, actions and thresholds stay in exceptions.csv; the Deals sheet says what
    happened to the deal."""
    hits = pl.DataFrame(
        {
            "kind": ["integrity", "integrity", "integrity"],
            "partner_id": ["P1", "P1", "P1"],
            "deal_id": ["D001", "D002", "D002"],
            "record_id": [None, None, None],
            "rule": ["registration", "quarter_end_spike", "reversal"],
            "action": ["exclude", "flag", "exclude"],
            "detail": [
                "registered 2026-08-02, after the close date 2026-08-01",
                "last 10 days 70% of the quarter's revenue, above 60%",
                "cancelled D099 within 30 days",
            ],
        },
        schema=result.exceptions.schema,
    )
    flagged = dataclasses.replace(result, exceptions=pl.concat([result.exceptions, hits]))
    write_statements(flagged, tmp_path, partner_ids=["P1"], workers=1)
    notes = {
        row[0]: row[-1]
        for row in sheet(tmp_path / "P1.xlsx", DEALS_SHEET).iter_rows(min_row=2, values_only=True)
    }
    assert notes["D001"] == "registered after it closed: not counted"
    assert notes["D002"] == (
        "booked in the last days of the quarter: still counted, under review; "
        "cancelled soon after it closed: not counted"
    )
    assert notes["D004"] == "outside the period: close date 2026-06-28"
    text = all_text(tmp_path / "P1.xlsx", DEALS_SHEET)
    for jargon in ("registration (", "(exclude)", "quarter_end_spike", "60%"):
        assert jargon not in text
    deals = sheet(tmp_path / "P1.xlsx", DEALS_SHEET)
    row = next(r for r in deals.iter_rows(min_row=2) if r[0].value == "D002")
    lines_needed = wrapped_lines(notes["D002"], deals.column_dimensions["M"].width)
    assert lines_needed == 2
    assert deals.row_dimensions[row[0].row].height == 2 * LINE_HEIGHT
    one_line = next(r for r in deals.iter_rows(min_row=2) if r[0].value == "D004")
    assert deals.row_dimensions[one_line[0].row].height is None


def test_a_requirement_in_the_way_and_missing_nps_responses(folder: Path) -> None:
    """P3's composite 0.9375 reaches Gold, but Gold requires nps >= 30 and P3 has 2 of the 3
    responses NPS needs: the route is one more response and an NPS of at least 30."""
    path = folder / "P3.xlsx"
    assert line(path, "Next tier")[2].endswith("your composite is 0.9375: already enough")
    requirement = line(path, "Requirement")
    assert requirement[1:] == (
        "nps at least 30.0",
        "now missing: not met yet (required for this tier)",
    )
    nps = line(path, "nps needed")
    assert nps[1] == 30
    assert nps[2] == "1 more response(s) needed before it counts, then at least 30.0"
    labels = [entry[0] for entry in lines(path)]
    assert "revenue needed" not in labels  # the composite is already enough


def calls_into(calls: list[tuple[int, int]]) -> Callable[[int, int], None]:
    """A progress callback that records its calls in `calls`."""
    return lambda done, total: calls.append((done, total))


def test_statement_progress_counts_up_to_the_total(tmp_path: Path) -> None:
    """In this process after every statement; with workers after every chunk."""
    from bench.statements import synthetic_result
    from incentcalc.statements.parallel import IN_PROCESS_LIMIT

    many = synthetic_result(IN_PROCESS_LIMIT + 8, 2)
    for workers, folder in ((1, tmp_path / "one"), (2, tmp_path / "two")):
        calls: list[tuple[int, int]] = []
        written = write_statements(many, folder, workers=workers, on_progress=calls_into(calls))
        assert written == many.payouts.height
        assert calls[-1] == (written, written)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        assert {total for _, total in calls} == {written}
        if workers == 1:
            assert len(calls) == written


def test_a_hold_by_an_integrity_rule_reads_in_partner_words(
    result: QuarterResult, tmp_path: Path
) -> None:
    write_with(result, tmp_path, "P5", "reason", "registration")
    note = line(tmp_path / "P5.xlsx", "Status")[2]
    assert note.startswith(
        "payment held (a deal is under review: registered after it closed): your net is "
        "withheld and carried forward until the hold ends; it is not forfeited."
    )
    assert "partner manager" in note
    assert "(registration)" not in all_text(tmp_path / "P5.xlsx")
