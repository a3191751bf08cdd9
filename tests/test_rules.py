"""RULES.md 2-8 one rule at a time, on tiny literal inputs, figures to the cent."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from builders import deal, inputs, partner, program

from incentcalc.engine.quarter import calculate_quarter
from incentcalc.periods import parse_period
from incentcalc.result import QuarterResult

Q3 = parse_period("2026Q3")

BASE = """
program: {name: T, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0.5, cap: 1.5}}}
segments:
  reseller: {weights: {revenue: 1}, targets: {revenue: 100000}}
tiers:
  - {name: Bronze, min_score: 0}
  - {name: Silver, min_score: 0.5, rate: 0.1}
"""


def run(text: str = BASE, **sources: list[dict[str, object]]) -> QuarterResult:
    sources.setdefault("partners", [partner("P1")])
    return calculate_quarter(program(text), Q3, inputs(**sources))


def row(result: QuarterResult, pid: str = "P1") -> dict[str, object]:
    return result.payouts.filter(pl.col("partner_id") == pid).row(0, named=True)


def kpi(result: QuarterResult, name: str, pid: str = "P1") -> dict[str, object]:
    rows = result.kpis.filter((pl.col("partner_id") == pid) & (pl.col("kpi") == name))
    return rows.row(0, named=True)


def test_scope_excludes_partners_joining_after_or_leaving_before_the_period() -> None:
    result = run(
        partners=[
            partner("IN"),
            partner("LATE", joined_on="2026-10-01"),
            partner("GONE", left_on="2026-06-30"),
            partner("EDGE", joined_on="2026-09-30", left_on="2026-07-01"),
        ]
    )
    assert result.payouts["partner_id"].to_list() == ["EDGE", "IN"]


def test_partner_leaving_on_the_last_day_is_ineligible_and_terminated_says_so() -> None:
    result = run(partners=[partner("P1", left_on="2026-09-30"), partner("P2", status="terminated")])
    assert (row(result, "P1")["status"], row(result, "P1")["reason"]) == (
        "ineligible",
        "left program on 2026-09-30",
    )
    assert (row(result, "P2")["status"], row(result, "P2")["reason"]) == (
        "ineligible",
        "terminated",
    )


def test_additive_target_is_prorated_by_active_days() -> None:
    result = run(
        partners=[partner("P1", joined_on="2026-08-16")], deals=[deal("D1", "P1", "40000")]
    )
    assert kpi(result, "revenue")["target"] == Decimal("50000.0000")
    assert kpi(result, "revenue")["score"] == Decimal("0.8000")


def test_attainment_tie_rounds_half_up_exactly() -> None:
    """12,345.00 / 100,000 = 0.12345: a float would give 0.1234."""
    text = BASE.replace("threshold: 0.5", "threshold: 0")
    result = run(text, deals=[deal("D1", "P1", "12345.00")])
    assert kpi(result, "revenue")["score"] == Decimal("0.1235")


def test_attainment_below_threshold_scores_zero_and_cap_bites() -> None:
    low = run(deals=[deal("D1", "P1", "49999.99")])
    high = run(deals=[deal("D1", "P1", "999999.00")])
    at = run(deals=[deal("D1", "P1", "50000.00")])
    assert kpi(low, "revenue")["score"] == 0
    assert kpi(high, "revenue")["score"] == Decimal("1.5")
    assert kpi(at, "revenue")["score"] == Decimal("0.5")


def test_fx_conversion_is_line_by_line_with_the_period_rate() -> None:
    deals = [deal("D1", "P1", "0.05", currency="EUR"), deal("D2", "P1", "0.05", currency="EUR")]
    fx = [
        {"period": "2026Q3", "currency": "EUR", "rate_to_base": "1.1"},
        {"period": "2026Q2", "currency": "EUR", "rate_to_base": "9"},
    ]
    result = run(deals=deals, fx_rates=fx)
    # each line: round(0.05 * 1.1 = 0.055) = 0.06; summed after rounding = 0.12 (not 0.11)
    assert row(result)["bonus_base"] == Decimal("0.12")


LINEAR_AND_STEPS = """
program: {name: T, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 2}}}
  win: {metric: win_rate, score: {linear: {floor: 0.1, target: 0.4, cap: 1.25}}}
  grr:
    metric: gross_renewal_rate
    when_missing: zero
    score: {steps: [[0, 0], [0.8, 0.5], [0.9, 1.0]]}
segments:
  reseller: {weights: {revenue: 0.5, win: 0.3, grr: 0.2}, targets: {revenue: 100000}}
tiers:
  - {name: Bronze, min_score: 0}
"""


def test_linear_curve_clamps_and_missing_zero_keeps_its_weight() -> None:
    deals = [
        deal("D1", "P1", "100000"),
        deal("D2", "P1", "1", stage="closed_lost"),
        deal("D3", "P1", "1", stage="closed_lost"),
    ]
    result = run(LINEAR_AND_STEPS, deals=deals)
    # win rate 1/3: (0.3333.. - 0.1) / 0.3 = 0.7778 (exact quotient, then 4 places)
    assert kpi(result, "win")["score"] == Decimal("0.7778")
    assert kpi(result, "grr")["missing"] is True
    assert kpi(result, "grr")["score"] == 0
    # composite = (0.5 * 1 + 0.3 * 0.7778 + 0.2 * 0) / 1 = 0.73334 -> 0.7333
    assert row(result)["composite_score"] == Decimal("0.7333")


def test_steps_pick_the_last_step_reached_compared_exactly() -> None:
    renewals = [
        {"contract_id": "K1", "partner_id": "P1", "customer_id": "C", "due_date": "2026-08-01",
         "original_amount": "9", "renewed_amount": "8.1", "currency": "USD", "status": "renewed"},
        {"contract_id": "K2", "partner_id": "P1", "customer_id": "C", "due_date": "2026-08-01",
         "original_amount": "1", "renewed_amount": None, "currency": "USD", "status": "churned"},
    ]  # fmt: skip
    result = run(LINEAR_AND_STEPS, deals=[deal("D1", "P1", "100000")], renewals=renewals)
    # grr = 8.1 / 10 = 0.81 -> step 0.8 -> 0.5
    assert kpi(result, "grr")["score"] == Decimal("0.5")
    assert kpi(result, "win")["score"] == Decimal("1.25")


NEUTRAL_AND_GATES = """
program: {name: T, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 2}}}
  nps: {metric: nps, min_responses: 2, score: {linear: {floor: 0, target: 50, cap: 1.2}}}
segments:
  reseller: {weights: {revenue: 0.6, nps: 0.4}, targets: {revenue: 100000}}
tiers:
  - {name: Bronze, min_score: 0}
  - {name: Silver, min_score: 0.5, rate: 0.01}
  - {name: Gold, min_score: 0.9, rate: 0.02, requires: {nps: 30}}
"""


def _responses(pid: str, *scores: int) -> list[dict[str, object]]:
    return [
        {"response_id": f"{pid}-{i}", "partner_id": pid, "responded_on": "2026-08-01", "score": s}
        for i, s in enumerate(scores)
    ]


def test_missing_neutral_kpi_is_dropped_and_its_gate_fails() -> None:
    result = run(NEUTRAL_AND_GATES, deals=[deal("D1", "P1", "100000")], nps=_responses("P1", 10))
    assert kpi(result, "nps")["missing"] is True
    assert kpi(result, "revenue")["weight_used"] == 1
    assert row(result)["composite_score"] == 1
    assert row(result)["tier"] == "Silver"
    assert "Gold requires nps >= 30 (value missing)" in result.details["blocked_by"][0]


def test_gate_compares_the_raw_value_not_the_score() -> None:
    # nps = 100 * (1 - 1) / 2 = 0 -> fails nps >= 30; then 2 promoters -> passes
    failing = run(
        NEUTRAL_AND_GATES, deals=[deal("D1", "P1", "200000")], nps=_responses("P1", 10, 0)
    )
    passing = run(
        NEUTRAL_AND_GATES, deals=[deal("D1", "P1", "200000")], nps=_responses("P1", 10, 9)
    )
    assert failing.payouts["tier"][0] == "Silver"
    assert passing.payouts["tier"][0] == "Gold"


TEAMS = """
program: {name: T, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 2}}}
segments:
  reseller: {weights: {revenue: 1}, targets: {revenue: 100}}
tiers:
  - {name: Bronze, min_score: 0, rate: 0.01}
  - {name: Silver, min_score: 0.5, rate: 0.02}
payout: {individual_share: 0.5, team_share: 0.5}
"""


def test_team_of_zero_bases_uses_the_plain_mean_and_ineligible_are_not_members() -> None:
    partners = [
        partner("A", team_id="T"),
        partner("B", team_id="T"),
        partner("X", team_id="T", status="terminated"),
    ]
    result = run(TEAMS, partners=partners, deals=[deal("D1", "X", "1000")])
    assert result.payouts.filter(pl.col("partner_id") != "X")["team_score"].to_list() == [0, 0]
    assert row(result, "X")["team_score"] == Decimal("2")  # its own composite


def test_team_bonus_uses_the_team_tier_rate() -> None:
    partners = [partner("A", team_id="T"), partner("B", team_id="T")]
    deals = [deal("D1", "A", "100"), deal("D2", "B", "20")]
    result = run(TEAMS, partners=partners, deals=deals)
    # team score = (1 * 100 + 0.2 * 20) / 120 = 0.8667 -> Silver; B alone is Bronze
    assert row(result, "B")["team_tier"] == "Silver"
    assert row(result, "B")["individual_bonus"] == Decimal("0.10")  # 0.5 * 20 * 0.01
    assert row(result, "B")["team_bonus"] == Decimal("0.20")  # 0.5 * 20 * 0.02


BUDGET = """
program: {name: T, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 2}}}
segments:
  reseller: {weights: {revenue: 1}, targets: {revenue: 1}}
tiers:
  - {name: Bronze, min_score: 0, rate: 1}
payout: {budget: 100}
"""


def test_budget_leftover_cents_go_to_largest_remainders_ties_by_partner_id() -> None:
    partners = [partner(p) for p in ("C", "A", "B")]
    deals = [deal(f"D{p}", p, "100") for p in ("A", "B", "C")]
    result = run(BUDGET, partners=partners, deals=deals)
    # 100 / 3 = 33.333..: equal remainders, so the one leftover cent goes to A
    assert result.payouts["gross"].to_list() == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    assert result.budget.factor == Decimal("0.333333")
    assert sum(result.payouts["gross"].to_list()) == Decimal("100")


def test_budget_not_exceeded_leaves_grosses_alone() -> None:
    result = run(BUDGET, deals=[deal("D1", "P1", "60")])
    assert row(result)["gross"] == Decimal("60.00")
    assert row(result)["budget_factor"] == 1
    assert result.budget.scaled is False


PAYOUT = """
program: {name: T, base_currency: USD, rounding: half_even}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 2}}}
segments:
  reseller: {weights: {revenue: 1}, targets: {revenue: 1}}
tiers:
  - {name: Bronze, min_score: 0, rate: 0.1}
payout: {holdback_pct: 0.5, min_payout: 100, cap: {amount: 1000, pct_of_base: 0.05}}
"""


@pytest.mark.parametrize(
    ("amount", "adjustment", "status", "payable", "carried"),
    [
        ("3000", "-200", "negative", "0.00", "-125.00"),  # gross 150 (cap 5%), holdback 75
        ("3000", "0", "below_minimum", "0.00", "75.00"),
        ("3000", "-75", "payable", "0.00", "0.00"),  # net exactly 0 is payable
        ("5000", "0", "payable", "125.00", "0.00"),
    ],
)
def test_net_decides_status_payable_and_carried_forward(
    amount: str, adjustment: str, status: str, payable: str, carried: str
) -> None:
    adjustments = [{"adjustment_id": "A1", "partner_id": "P1", "period": "2026Q3",
                    "amount": adjustment, "reason": "r", "approved_by": "f"}]  # fmt: skip
    result = run(PAYOUT, deals=[deal("D1", "P1", amount)], adjustments=adjustments)
    got = row(result)
    assert (got["status"], got["payable"], got["carried_forward"]) == (
        status,
        Decimal(payable),
        Decimal(carried),
    )
    assert got["net"] == got["gross"] - got["holdback"] + got["adjustments"]
    assert got["cap_applied"] is True


def test_half_even_mode_rounds_money_ties_to_even() -> None:
    # base 0.25 -> 10% = 0.025 -> half_even 0.02 (half_up would give 0.03)
    result = run(PAYOUT.replace("holdback_pct: 0.5, ", ""), deals=[deal("D1", "P1", "0.25")])
    assert row(result)["individual_bonus"] == Decimal("0.02")


def test_held_partner_is_computed_but_not_paid_and_local_currency_rounds() -> None:
    partners = [partner("H", status="suspended"), partner("E", payout_currency="EUR")]
    fx = [{"period": "2026Q3", "currency": "EUR", "rate_to_base": "1.1"}]
    deals = [deal("D1", "H", "5000"), deal("D2", "E", "5000")]
    result = run(
        PAYOUT.replace(", min_payout: 100", ""), partners=partners, deals=deals, fx_rates=fx
    )
    held = row(result, "H")
    assert (held["status"], held["net"], held["payable"]) == ("held", Decimal("125.00"), 0)
    # 125.00 / 1.1 = 113.6363.. -> 113.64
    assert row(result, "E")["payable_local"] == Decimal("113.64")


INTEGRITY = (
    BASE
    + """
integrity:
  duplicate_deals: {action: exclude}
  registration: {required: true, action: hold}
"""
)


def test_excluded_duplicate_is_not_counted_and_a_hold_rule_holds_the_partner() -> None:
    deals = [
        deal("D1", "P1", "60000", customer_id="C"),
        deal("D2", "P1", "60000", customer_id="C"),  # twin of D1: excluded
        deal("D3", "P2", "60000", registered_on="2026-08-02"),  # registered after close
    ]
    result = run(INTEGRITY, partners=[partner("P1"), partner("P2")], deals=deals)
    assert row(result, "P1")["bonus_base"] == Decimal("60000.00")
    assert (row(result, "P2")["status"], row(result, "P2")["reason"]) == ("held", "registration")
    assert row(result, "P2")["payable"] == 0
    hits = result.exceptions.filter(pl.col("kind") == "integrity")
    assert hits.select("deal_id", "rule", "action").rows() == [
        ("D2", "duplicate_deals", "exclude"),
        ("D3", "registration", "hold"),
    ]
    lines = result.deal_lines.filter(pl.col("deal_id") == "D2").collect()
    assert lines["counted"][0] is False
    assert lines["note"][0].startswith("excluded; duplicate_deals (exclude)")


def test_a_decimal_overflow_is_recognised_as_bad_data_not_a_bug() -> None:
    """compute_quarter turns such Polars errors into exit 1 with advice (never exit 4)."""
    from incentcalc.api import _is_decimal_overflow

    huge = pl.DataFrame({"a": [Decimal("9" * 30)]}, schema={"a": pl.Decimal(38, 2)})
    with pytest.raises(pl.exceptions.PolarsError) as overflow:
        huge.select(pl.col("a").cast(pl.Decimal(38, 18)))
    with pytest.raises(pl.exceptions.PolarsError) as other:
        huge.select(pl.col("missing"))
    assert _is_decimal_overflow(overflow.value)
    assert not _is_decimal_overflow(other.value)
