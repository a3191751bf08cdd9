"""Statements and summary.xlsx on the ledger's worked example (RULES.md 11): the example's
quarters run and closed through the CLI (the `runs` fixture of test_ledger_example), the
2026Q2 workbooks read back with openpyxl."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from conftest import EXAMPLES
from test_ledger_example import cli, read_rows, runs  # noqa: F401  (runs: the module-scoped fixture)

from incentcalc.api import run_quarter
from incentcalc.statements.batch import write_statements
from incentcalc.statements.summary import write_summary


def statement_rows(runs: dict[str, Path], period: str, partner: str, sheet: str) -> list[tuple]:  # noqa: F811
    workbook = openpyxl.load_workbook(runs[period] / "statements" / f"{partner}.xlsx")
    return [row for row in workbook[sheet].iter_rows(values_only=True) if any(row)]


def summary_line(rows: list[tuple[Any, ...]], label: str) -> tuple[Any, ...]:
    """The first row labelled `label` (the header's "Tier" comes before the Tier heading)."""
    return next(r for r in rows if r[0] == label)


def test_l3_statement_shows_the_clawback_of_d31_with_its_cancellation(
    runs: dict[str, Path],  # noqa: F811
) -> None:
    rows = statement_rows(runs, "2026Q2", "L3", "Statement")
    assert summary_line(rows, "Clawback") == (
        "Clawback",
        -2400.00,
        "deal D31 of 2026Q1 (closed 2026-03-20) clawed back: cancelled by D33 on 2026-04-29, "
        "40 days after closing",
    )
    assert summary_line(rows, "Holdback released")[1:] == (
        400.00,
        "holdback of 2026Q1 released (1 quarter(s) later)",
    )
    assert summary_line(rows, "Net")[1] == 1240.00


def test_l1_statement_shows_the_loyalty_bonus_and_its_streak(
    runs: dict[str, Path],  # noqa: F811
) -> None:
    rows = statement_rows(runs, "2026Q2", "L1", "Statement")
    assert summary_line(rows, "Loyalty bonus")[1:] == (
        1000.00,
        "Gold streak 2 of 2: milestone paid (2 quarters in a row)",
    )


def test_l4_statement_shows_what_was_carried_in(runs: dict[str, Path]) -> None:  # noqa: F811
    rows = statement_rows(runs, "2026Q2", "L4", "Statement")
    assert summary_line(rows, "Carried in")[1:] == (
        -64.00,
        "carried in from 2026Q1 (status negative there)",
    )


def test_l2_statement_says_the_tier_was_kept_by_grace(runs: dict[str, Path]) -> None:  # noqa: F811
    rows = statement_rows(runs, "2026Q2", "L2", "Statement")
    tier = summary_line(rows, "Tier")
    assert tier[1] == "Gold"
    assert tier[2].startswith("tier grace: Gold kept, quarter 1 of 1 (earned ")


def test_deals_sheet_shows_the_bonus_of_each_counted_deal(
    runs: dict[str, Path],  # noqa: F811
) -> None:
    header, *deals = statement_rows(runs, "2026Q2", "L3", "Deals")
    counted, bonus = header.index("Counted"), header.index("Bonus (USD)")
    bonuses = {row[0]: (row[counted], row[bonus]) for row in deals}
    assert bonuses == {"D31": ("no", None), "D33": ("no", None), "D35": ("yes", 3600.00)}


def history_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows under the History heading, its column header left out."""
    start = rows.index(("History", None, None))
    return rows[start + 2 :]


def test_history_table_has_each_closed_quarter_and_the_next_milestone(
    runs: dict[str, Path],  # noqa: F811
) -> None:
    q1 = {row["partner_id"]: row for row in read_rows(runs["2026Q1"] / "payouts.csv")}
    rows = history_rows(statement_rows(runs, "2026Q2", "L1", "Statement"))
    assert rows == [
        ("2026Q1", float(q1["L1"]["payable"]), q1["L1"]["tier"]),
        ("Next milestone", "-", "2 more quarters at Gold pay 1000.00 in 2026Q4"),
    ]
    assert q1["L1"]["tier"] == "Gold" and q1["L1"]["payable"] == "3960.00"
    q3 = history_rows(statement_rows(runs, "2026Q3", "L1", "Statement"))
    assert [row[0] for row in q3] == ["2026Q1", "2026Q2", "Next milestone"]
    assert q3[1][1:] == (5400.00, "Gold")
    assert q3[2][2] == "one more quarter at Gold pays 1000.00 in 2026Q4"


def test_history_names_a_tier_kept_by_grace(runs: dict[str, Path]) -> None:  # noqa: F811
    rows = history_rows(statement_rows(runs, "2026Q3", "L2", "Statement"))
    (q2,) = [row for row in rows if row[0] == "2026Q2"]
    assert q2[2].startswith("Gold (earned ") and q2[2].endswith(", kept by grace)")


def test_summary_ledger_sheet_totals_match_the_payouts_and_list_each_clawback_and_forfeit(
    runs: dict[str, Path],  # noqa: F811
) -> None:
    payouts = read_rows(runs["2026Q2"] / "payouts.csv")

    def total(column: str) -> float:
        return float(sum(Decimal(row[column]) for row in payouts))

    workbook = openpyxl.load_workbook(runs["2026Q2"] / "summary.xlsx")
    rows = [row for row in workbook["Ledger"].iter_rows(values_only=True) if any(row)]
    totals = {row[0]: row[1] for row in rows[2:12]}
    assert totals == {
        "Holdback held back this period": total("holdback"),
        "Holdback released": total("holdback_released"),
        "Holdback forfeited": 400.00,
        "Holdback outstanding after this period": total("holdback"),
        "Carried in": total("carried_in"),
        "Carried forward (out)": total("carried_forward"),
        "Carry forfeited": 0,
        "Clawbacks": total("clawback"),
        "Clawbacks not recovered": 0,
        "Milestones paid": total("loyalty_bonus"),
    }
    assert (totals["Clawbacks"], totals["Milestones paid"]) == (2400.00, 1000.00)
    assert [row[:5] + row[6:] for row in rows[-2:]] == [
        ("clawback", "L3", "D31", "2026Q1", "D33", 2400.00),
        ("forfeited_holdback", "L6", None, None, None, 400.00),
    ]
    assert rows[-2][5] == datetime(2026, 4, 29)


def test_summary_has_no_ledger_sheet_without_a_ledger(tmp_path: Path) -> None:
    out = tmp_path / "basic"
    cli("run", "--config", str(EXAMPLES / "basic" / "program.yaml"), "--period", "2026Q3",
        "--out", str(out), "--quiet")  # fmt: skip
    assert "Ledger" not in openpyxl.load_workbook(out / "summary.xlsx").sheetnames


def test_ledger_workbooks_are_byte_identical_when_written_again(
    runs: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    config = runs["2026Q2"].parents[1] / "example" / "program.yaml"
    result = run_quarter(config, "2026Q2")
    for folder in ("a", "b"):
        write_statements(result, tmp_path / folder, partner_ids=["L1", "L3", "L4"], workers=1)
        write_summary(result, tmp_path / folder / "summary.xlsx")
    for name in ("L1.xlsx", "L3.xlsx", "L4.xlsx", "summary.xlsx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "L3.xlsx").read_bytes() == (
        runs["2026Q2"] / "statements" / "L3.xlsx"
    ).read_bytes()
