"""The reference implementation (tests/reference) checked on its own: against the spec's
worked examples to the cent, on the NPS edges, and for its independence from the engine."""

from __future__ import annotations

import ast
import sys
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLES
from reference import compute_quarter
from reference.compare import compare_rows, read_csv_text
from reference.ledger import Entry
from reference.rules import Facts, kpi_value

REFERENCE = Path(__file__).parent / "reference"
ALLOWED_THIRD_PARTY = {"yaml"}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_reference_imports_only_the_standard_library_yaml_and_itself() -> None:
    files = sorted(REFERENCE.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        outside = imported_modules(path) - sys.stdlib_module_names - ALLOWED_THIRD_PARTY
        assert outside <= {"reference"}, (path.name, outside)


@pytest.mark.parametrize(
    ("config", "expected", "as_of"),
    [("program.yaml", "expected_payouts.csv", None),
     ("program_budget.yaml", "expected_payouts_budget.csv", None),
     ("program.yaml", "expected_payouts_as_of_2026-08-15.csv", date(2026, 8, 15)),
     ("program_budget.yaml", "expected_payouts_budget_as_of_2026-08-15.csv", date(2026, 8, 15))],
)  # fmt: skip
def test_reference_matches_the_worked_example_to_the_cent(
    config: str, expected: str, as_of: date | None
) -> None:
    result = compute_quarter(EXAMPLE / config, "2026Q3", as_of=as_of)
    want = read_csv_text(EXAMPLE / expected)
    assert [row["partner_id"] for row in result.payouts] == [row["partner_id"] for row in want]
    assert list(result.payouts[0]) == list(want[0])
    if as_of is not None:  # the progress files leave P5's "suspended" out of `reason`
        for row in (*result.payouts, *want):
            row.pop("reason")
    assert compare_rows(result.payouts, want, "partner_id", "payouts") == []


def test_reference_matches_the_credits_example_to_the_cent() -> None:
    """RULES.md 4 and 8: credits net revenue, pay no deal bonus, a negative base pays 0."""
    credits = EXAMPLES / "credits"
    result = compute_quarter(credits / "program.yaml", "2026Q3")
    want = read_csv_text(credits / "expected_payouts.csv")
    got = [{**row, "reason": ""} for row in result.payouts]  # the example leaves reasons out
    assert compare_rows(got, want, "partner_id", "payouts") == []
    by_deal = {row["deal_id"]: row["bonus"] for row in result.deal_bonuses}
    assert (by_deal["D001"], by_deal["D002"]) == (Decimal("1288.70"), Decimal("1181.30"))
    assert not {"D020", "D021", "D022", "D023"} & set(by_deal)


def test_reference_splits_the_worked_example_gross_over_deals() -> None:
    bonuses = compute_quarter(EXAMPLE / "program_budget.yaml", "2026Q3").deal_bonuses
    by_deal = {row["deal_id"]: row["bonus"] for row in bonuses}
    # P1's 2,098.74 over 60,000 and 55,000 (the EUR deal at 1.10): 1,094.99 + 1,003.75.
    assert by_deal == {"D001": Decimal("1094.99"), "D002": Decimal("1003.75"),
                       "D005": Decimal("5615.35"), "D007": Decimal("5264.39"),
                       "D008": Decimal("561.53"), "D009": Decimal("1459.99"),
                       "D011": Decimal("0.00")}  # fmt: skip


def nps(scores: list[int], min_responses: int = 1) -> Fraction | None:
    facts = Facts(counted=[], lost=0, nps_scores=scores, renewals=[])
    return kpi_value({"metric": "nps", "min_responses": min_responses}, facts)


@pytest.mark.parametrize(
    ("scores", "value"),
    [([0, 3, 6], -100), ([9, 10, 10], 100), ([6], -100), ([10, 9, 9, 0, 1, 2, 3, 4, 5, 6], -40),
     ([9, 7, 8, 0], 0)],
)  # fmt: skip
def test_reference_nps_is_signed_and_bounded(scores: list[int], value: int) -> None:
    assert nps(scores) == value


def test_reference_nps_is_missing_below_min_responses() -> None:
    assert nps([0, 0], min_responses=3) is None
    assert nps([], min_responses=1) is None


NPS_PROGRAM = """\
program: {name: NPS edges, base_currency: USD}
sources:
  partners: {path: partners.csv}
  deals: {path: deals.csv}
  nps: {path: nps.csv}
  renewals: {path: renewals.csv}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 1}}}
  nps: {metric: nps, score: {linear: {floor: -100, target: 100, cap: 1}}}
segments:
  s: {weights: {nps: 1}, targets: {revenue: 1000}}
tiers:
  - {name: Base, min_score: 0, rate: 0.01}
  - {name: Top, min_score: 0.5, rate: 0.1, requires: {nps: -100}}
"""


def test_reference_nps_extremes_drive_composite_and_gates(tmp_path: Path) -> None:
    """All detractors: NPS -100, composite 0, and a `nps: -100` gate still passes (value >=
    minimum) but the score keeps the partner in Base; all promoters: NPS 100, Top."""
    (tmp_path / "program.yaml").write_text(NPS_PROGRAM)
    (tmp_path / "partners.csv").write_text(
        "partner_id,partner_name,segment,joined_on,status\n"
        "A,Only detractors,s,2020-01-01,active\nB,Only promoters,s,2020-01-01,active\n"
        "C,Three each,s,2020-01-01,active\n"
    )
    (tmp_path / "deals.csv").write_text(
        "deal_id,partner_id,customer_id,stage,close_date,amount,currency\n"
        "D1,A,X,closed_won,2026-08-01,1000.00,USD\nD2,B,Y,closed_won,2026-08-01,1000.00,USD\n"
    )
    responses = [("A", 0), ("A", 6), ("A", 3), ("B", 9), ("B", 10)]
    responses += [("C", s) for s in (9, 9, 9, 0, 0, 0)]
    (tmp_path / "nps.csv").write_text(
        "response_id,partner_id,responded_on,score\n"
        + "".join(f"R{i},{p},2026-07-0{i % 9 + 1},{s}\n" for i, (p, s) in enumerate(responses))
    )
    (tmp_path / "renewals.csv").write_text(
        "contract_id,partner_id,customer_id,due_date,original_amount,renewed_amount,currency,"
        "status\n"
    )
    rows = {
        r["partner_id"]: r for r in compute_quarter(tmp_path / "program.yaml", "2026Q3").payouts
    }
    assert (rows["A"]["composite_score"], rows["A"]["tier"]) == (Decimal("0.0000"), "Base")
    assert (rows["B"]["composite_score"], rows["B"]["tier"]) == (Decimal("1.0000"), "Top")
    assert (rows["C"]["composite_score"], rows["C"]["tier"]) == (Decimal("0.5000"), "Top")
    assert rows["B"]["individual_bonus"] == Decimal("100.00")


LEDGER = EXAMPLE.parent / "ledger"


def test_reference_ledger_matches_three_closed_quarters_exactly() -> None:
    """RULES.md 11 on the ledger example: each quarter runs with the entries before it and
    is then closed. The example leaves `reason` free (empty), so it is not compared."""
    history: list[Entry] = []
    exceptions: list[dict[str, str]] = []
    for label in ("2026Q1", "2026Q2", "2026Q3"):
        result = compute_quarter(LEDGER / "program.yaml", label, history)
        payouts = [{**row, "reason": ""} for row in result.payouts]
        want = read_csv_text(LEDGER / f"expected_payouts_{label}.csv")
        assert [row["partner_id"] for row in payouts] == [row["partner_id"] for row in want]
        assert compare_rows(payouts, want, "partner_id", label) == []
        bonuses = read_csv_text(LEDGER / f"expected_deal_bonuses_{label}.csv")
        assert [row["deal_id"] for row in result.deal_bonuses] == [r["deal_id"] for r in bonuses]
        assert compare_rows(result.deal_bonuses, bonuses, "deal_id", label) == []
        exceptions += [{k: str(v) for k, v in row.items()} for row in result.ledger_exceptions]
        history.append(result.close(release_after=1))
    expected = read_csv_text(LEDGER / "expected_ledger_exceptions.csv")
    assert sorted(exceptions, key=str) == sorted(expected, key=str)
