"""The diff report renders every section, the JSON document is plain JSON, and diff.xlsx is
readable, formula-safe and byte-identical on reruns."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
from rich.console import Console
from test_diff import BASE, CAND, NO_BUDGET, TIERS

from incentcalc.cli.diff_report import diff_document, render_diff
from incentcalc.reports.compare import DIFF_COLUMNS, ProgramDiff, compute_diff
from incentcalc.reports.config_diff import ConfigChange
from incentcalc.statements.diff_workbook import (
    SHEET_MIGRATION,
    SHEET_PARTNERS,
    SHEET_SUMMARY,
    write_diff_workbook,
)

CHANGES = (ConfigChange("payout.budget", None, Decimal("15000")),)


def make_diff(cohort: list[str] | None = None) -> ProgramDiff:
    base = BASE.with_columns(
        pl.when(pl.col("partner_id") == "P3").then(pl.lit("=1+1")).otherwise("partner_name")
        .alias("partner_name")
    )  # fmt: skip
    return compute_diff(
        base, CAND, period="2026Q3", baseline_side=("a.yaml", NO_BUDGET),
        candidate_side=("b.yaml", NO_BUDGET), tier_order=TIERS, config_changes=CHANGES,
        cohort=cohort,
    )  # fmt: skip


def rendered(diff: ProgramDiff) -> str:
    buffer = io.StringIO()
    render_diff(diff, Console(file=buffer, width=160, color_system=None))
    return buffer.getvalue()


def test_report_shows_every_section() -> None:
    text = rendered(make_diff())
    for expected in ("Totals", "405.00", "360.00", "-45.00", "-11.1%", "1 up", "1 down",
                     "2 unchanged", "Budget use", "Tier migration", "Largest gains",
                     "Largest losses", "Change by segment", "Change by region",
                     "payout.budget: (absent) -> 15000"):  # fmt: skip
        assert expected in text, expected


def test_report_shows_cohort_and_total_effects() -> None:
    text = rendered(make_diff(cohort=["P1", "PX"]))
    assert "Pilot cohort: 1 of 2 partners in scope" in text
    assert "PX" in text and "all partners" in text


def test_json_document_is_plain_json() -> None:
    document = json.loads(json.dumps(diff_document(make_diff(cohort=["P1"]))))
    assert document["change"]["payable"] == "45.00"
    assert document["partners"] == {"up": 1, "down": 0, "unchanged": 3}
    assert document["config_changes"] == [
        {"key": "payout.budget", "baseline": None, "candidate": "15000"}
    ]
    assert document["cohort"]["matched"] == 1
    assert {"baseline_tier": "Silver", "candidate_tier": "Gold", "partners": 1} in document[
        "migration"
    ]


def test_workbook_is_formula_safe_and_identical_on_rerun(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    diff = make_diff()
    write_diff_workbook(diff, first)
    write_diff_workbook(diff, second)
    assert first.read_bytes() == second.read_bytes()
    book = openpyxl.load_workbook(first)
    assert book.sheetnames[:3] == [SHEET_SUMMARY, SHEET_PARTNERS, SHEET_MIGRATION]
    partners = book[SHEET_PARTNERS]
    assert [c.value for c in partners[1]] == list(DIFF_COLUMNS)
    assert partners.cell(4, 2).value == "=1+1" and partners.cell(4, 2).data_type == "s"
    assert partners.max_row == 5
