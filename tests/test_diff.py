"""Unit tests of the diff comparison on tiny literal payout frames (no engine, no files)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from incentcalc.errors import UsageError
from incentcalc.outputs import read_baseline_run
from incentcalc.reports.compare import (
    DIFF_COLUMNS,
    GROUP_COLUMNS,
    Movement,
    ProgramDiff,
    budget_use_from_payouts,
    compare_payouts,
    compute_diff,
    migration_matrix,
    percent,
    read_cohort,
    tier_order_of,
)
from incentcalc.result import MONEY_COLUMNS, PAYOUT_COLUMNS, BudgetUse

D = Decimal
TIERS = ("Bronze", "Silver", "Gold")
NO_BUDGET = BudgetUse(budget=None, total_capped=D("0"), factor=D("1"), scaled=False)


def payouts(rows: list[tuple[str, str, str, str, str, str, str]]) -> pl.DataFrame:
    """A PAYOUT_COLUMNS frame from (partner_id, segment, region, tier, composite, gross,
    payable) tuples; every other column gets a harmless default."""
    frame = pl.DataFrame(
        rows,
        schema=["partner_id", "segment", "region", "tier", "composite_score", "gross", "payable"],
        orient="row",
    )
    return frame.with_columns(
        pl.lit("2026Q3").alias("period"),
        ("Name " + pl.col("partner_id")).alias("partner_name"),
        pl.lit(None, pl.String).alias("team_id"),
        pl.lit("payable").alias("status"),
        pl.lit(None, pl.String).alias("reason"),
        pl.col("tier").alias("team_tier"),
        pl.col("tier").alias("earned_tier"),
        pl.col("composite_score").cast(pl.Decimal(38, 4)),
        pl.col("composite_score").cast(pl.Decimal(38, 4)).alias("team_score"),
        *(
            pl.lit(D("0")).cast(pl.Decimal(38, 2)).alias(c)
            for c in MONEY_COLUMNS
            if c not in ("gross", "payable", "gross_capped")
        ),
        pl.col("gross").cast(pl.Decimal(38, 2)).alias("gross_capped"),
        pl.col("gross").cast(pl.Decimal(38, 2)),
        pl.col("payable").cast(pl.Decimal(38, 2)),
        pl.lit(False).alias("cap_applied"),
        pl.lit(D("1")).cast(pl.Decimal(38, 6)).alias("budget_factor"),
        pl.lit("USD").alias("payout_currency"),
        pl.lit(D("1")).cast(pl.Decimal(38, 6)).alias("fx_rate"),
        pl.col("payable").cast(pl.Decimal(38, 4)).alias("payable_local"),
    ).select(PAYOUT_COLUMNS)


BASE = payouts([
    ("P1", "reseller", "NA", "Silver", "0.8500", "100.00", "90.00"),
    ("P2", "reseller", "EMEA", "Gold", "0.9500", "300.00", "270.00"),
    ("P3", "distributor", "EMEA", "Bronze", "0.3000", "0.00", "0.00"),
    ("P4", "distributor", None, "Silver", "0.7000", "50.00", "45.00"),
])  # fmt: skip
CAND = payouts([
    ("P1", "reseller", "NA", "Gold", "0.8500", "150.00", "135.00"),
    ("P2", "reseller", "EMEA", "Silver", "0.9500", "200.00", "180.00"),
    ("P3", "distributor", "EMEA", "Bronze", "0.3000", "0.00", "0.00"),
    ("P4", "distributor", None, "Silver", "0.7000", "50.00", "45.00"),
])  # fmt: skip


def diff_of(base: pl.DataFrame, cand: pl.DataFrame, cohort: list[str] | None = None) -> ProgramDiff:
    return compute_diff(
        base, cand, period="2026Q3", baseline_side=("a.yaml", NO_BUDGET),
        candidate_side=("b.yaml", NO_BUDGET), tier_order=TIERS, cohort=cohort,
    )  # fmt: skip


def test_rows_have_exactly_the_diff_columns_sorted_by_partner() -> None:
    rows = compare_payouts(CAND.reverse(), BASE)
    assert tuple(rows.select(DIFF_COLUMNS).columns) == DIFF_COLUMNS
    assert rows["partner_id"].to_list() == ["P1", "P2", "P3", "P4"]
    assert rows["delta_payable"].to_list() == [D("-45.00"), D("90.00"), D("0.00"), D("0.00")]
    assert rows.schema["delta_gross"] == pl.Decimal(38, 2)


def test_self_diff_is_zero_everywhere() -> None:
    """A config compared with itself: no money moves, nobody changes tier."""
    diff = diff_of(BASE, BASE)
    assert diff.change.gross == 0 and diff.change.payable == 0
    assert diff.change.pct_payable == D("0.0")
    assert diff.counts == {Movement.UP: 0, Movement.DOWN: 0, Movement.UNCHANGED: 4}
    migration = diff.migration
    assert (migration["baseline_tier"] == migration["candidate_tier"]).all()
    assert diff.gains.is_empty() and diff.losses.is_empty()
    assert (diff.by_segment["delta_payable"] == 0).all()


def test_totals_counts_movers_and_groups() -> None:
    diff = diff_of(BASE, CAND)
    assert diff.baseline.totals.gross == D("450.00")
    assert diff.candidate.totals.gross == D("400.00")
    assert diff.baseline.totals.payable == D("405.00")
    assert diff.change.payable == D("-45.00")
    assert diff.change.pct_payable == D("-11.1")
    assert diff.counts == {Movement.UP: 1, Movement.DOWN: 1, Movement.UNCHANGED: 2}
    assert diff.gains["partner_id"].to_list() == ["P1"]
    assert diff.losses["partner_id"].to_list() == ["P2"]
    seg = diff.by_segment
    assert seg.columns == ["segment", *GROUP_COLUMNS]
    reseller = seg.filter(pl.col("segment") == "reseller").row(0, named=True)
    assert reseller["delta_payable"] == D("-45.00")
    assert reseller["pct_payable"] == D("-12.5")
    region = diff.by_region
    assert region["region"].to_list() == ["EMEA", "NA", None]


def test_migration_matrix_counts_in_tier_order() -> None:
    rows = compare_payouts(BASE, CAND)
    expected = pl.DataFrame(
        {
            "baseline_tier": ["Bronze", "Silver", "Silver", "Gold"],
            "candidate_tier": ["Bronze", "Silver", "Gold", "Silver"],
            "partners": [1, 1, 1, 1],
        },
        schema_overrides={"partners": pl.Int64},
    )
    assert_frame_equal(migration_matrix(rows, TIERS), expected)


def test_partner_on_one_side_only_counts_as_zero_money() -> None:
    rows = compare_payouts(BASE.filter(pl.col("partner_id") != "P1"), CAND)
    p1 = rows.row(0, named=True)
    assert p1["baseline_tier"] is None and p1["baseline_gross"] == D("0.00")
    assert p1["delta_payable"] == D("135.00")
    assert "(none)" in migration_matrix(rows, TIERS)["baseline_tier"].to_list()


def test_pilot_cohort_keeps_baseline_figures_outside_cohort() -> None:
    """Only P2 is in the pilot: P1 keeps its baseline figures, so only P2's loss counts."""
    diff = diff_of(BASE, CAND, cohort=["P2", "P9"])
    rows = diff.rows
    p1 = rows.filter(pl.col("partner_id") == "P1").row(0, named=True)
    assert p1["candidate_tier"] == "Silver" and p1["candidate_payable"] == D("90.00")
    assert p1["in_cohort"] is False
    assert diff.candidate.totals.payable == D("315.00")
    cohort = diff.cohort
    assert (cohort.requested, cohort.matched, cohort.unknown) == (2, 1, ("P9",))
    assert cohort.change.payable == D("-90.00") == diff.change.payable


def test_percent_is_none_on_zero_base_and_rounds_half_up() -> None:
    assert percent(D("5"), D("0")) is None
    assert percent(D("1"), D("8")) == D("12.5")
    assert percent(D("1"), D("16")) == D("6.3")


def test_tier_order_appends_unknown_names() -> None:
    assert tier_order_of(TIERS, ("Silver", "Diamond"), seen=["Zinc", None, "Gold"]) == (
        *TIERS, "Diamond", "Zinc",
    )  # fmt: skip


def test_budget_use_from_payouts_recovers_scaled_budget() -> None:
    scaled = BASE.with_columns(pl.lit(D("0.5")).cast(pl.Decimal(38, 6)).alias("budget_factor"))
    use = budget_use_from_payouts(scaled)
    assert use.scaled and use.budget == D("450.00") and use.factor == D("0.5")
    assert budget_use_from_payouts(BASE) == BudgetUse(None, D("450.00"), D("1"), False)


def test_read_cohort(tmp_path: Path) -> None:
    good = tmp_path / "cohort.csv"
    good.write_text("\ufeffpartner_id,note\n P2 ,x\nP2,y\n,z\nP1,w\n", encoding="utf-8")
    assert read_cohort(good) == ["P2", "P1"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id\nP1\n", encoding="utf-8")
    with pytest.raises(UsageError, match="partner_id"):
        read_cohort(bad)
    with pytest.raises(UsageError, match="not found"):
        read_cohort(tmp_path / "missing.csv")


def test_read_baseline_run(tmp_path: Path) -> None:
    BASE.write_parquet(tmp_path / "payouts.parquet")
    assert_frame_equal(read_baseline_run(tmp_path, "2026Q3"), BASE)
    with pytest.raises(UsageError, match="2026Q3, not 2026Q4"):
        read_baseline_run(tmp_path, "2026Q4")
    with pytest.raises(UsageError, match=r"No payouts\.parquet"):
        read_baseline_run(tmp_path / "nope", "2026Q3")
