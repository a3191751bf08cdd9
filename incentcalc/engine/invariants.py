"""What must hold in every calculated quarter, checked before anything is written.

A wrong payout file is worse than none: a bug that slipped past the tests (an unsigned count
wrapping around, a stage dropping a column) must stop the run with exit 4 and name the
partner, the column and the value, not reach finance. The checks are a handful of vectorised
comparisons over the payout and KPI rows:
- KPI values within their metric's range (NPS -100..100, rates 0..1, money and counts >= 0);
- scores within 0..the curve's cap, composites within 0..the largest cap;
- tiers consistent with composite and gates, team tiers with team scores;
- RULES.md section 9: net is the sum of its lines, payable + carried_forward = net, ineligible
  rows carry no money (ledger lines included), grosses within the budget (exactly the budget
  when scaled), and each eligible partner's deal bonuses add up to its gross whenever its
  base deals' amounts sum above 0 (11.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from incentcalc.config import MONEY_METRICS, Metric, ProgramConfig
from incentcalc.engine.scoring import gates_table, tiers_table
from incentcalc.errors import InvariantError
from incentcalc.money import decimal_lit
from incentcalc.result import LEDGER_LINE_COLUMNS, BudgetUse, Status

_VALUE_RANGES: dict[Metric, tuple[Decimal | None, Decimal | None]] = {
    Metric.NPS: (Decimal(-100), Decimal(100)),
    Metric.WIN_RATE: (Decimal(0), Decimal(1)),
    Metric.GROSS_RENEWAL_RATE: (Decimal(0), Decimal(1)),
    Metric.LOGO_RETENTION: (Decimal(0), Decimal(1)),
}
"""Metric -> (lowest, highest) value; every other metric is money, a count or a ratio >= 0."""

_DISPLAY_SLACK = Decimal("0.00005")
"""kpis.value is rounded to 4 places: a gate is judged only where that rounding cannot matter."""

_AFTER_BONUS = (
    "individual_bonus", "team_bonus", "fixed_bonus", "gross_uncapped", "gross_capped", "gross",
    "holdback", *LEDGER_LINE_COLUMNS, "adjustments", "net", "payable", "carried_forward",
    "payable_local",
)  # fmt: skip
"""Money columns that RULES.md 8 sets to 0 for an ineligible partner."""


@dataclass(frozen=True)
class Violation:
    """One broken invariant: the partner, the column, its value and the rule broken."""

    partner_id: str
    column: str
    value: str
    rule: str


def check_invariants(
    config: ProgramConfig,
    payouts: pl.DataFrame,
    kpis: pl.DataFrame,
    budget: BudgetUse,
    deal_bonuses: pl.DataFrame | None = None,
) -> None:
    """Raise InvariantError (exit 4) naming every broken rule; return quietly otherwise."""
    found = [
        *_kpi_violations(config, kpis),
        *_tier_violations(config, payouts, kpis),
        *_money_violations(payouts),
        *_budget_violations(payouts, budget),
        *([] if deal_bonuses is None else _deal_bonus_violations(payouts, deal_bonuses)),
    ]
    if found:
        raise InvariantError.broken(
            [f"partner {v.partner_id}, {v.column} = {v.value}: {v.rule}" for v in found]
        )


Check = tuple[pl.Expr, str, str]
"""A rule on each row: (broken where true, the column to show, the rule in words)."""


def _violations(frame: pl.DataFrame, checks: list[Check]) -> list[Violation]:
    """One Violation per row of `frame` and check that the row breaks, showing the check's
    column, in the order of `checks`. All checks are tested in one pass; only a broken one
    (normally none) lists its rows."""
    if not checks:
        return []
    tests = [bad.fill_null(False) for bad, _, _ in checks]
    broken = frame.select(test.any().alias(str(i)) for i, test in enumerate(tests)).row(0)
    found: list[Violation] = []
    for any_row, test, (_, column, rule) in zip(broken, tests, checks, strict=True):
        if any_row:
            rows = frame.filter(test).select("partner_id", pl.col(column).cast(pl.String))
            found += [Violation(pid, column, str(value), rule) for pid, value in rows.iter_rows()]
    return found


def _kpi_violations(config: ProgramConfig, kpis: pl.DataFrame) -> list[Violation]:
    checks: list[Check] = []
    value, score = pl.col("value"), pl.col("score")
    for name, kpi in config.kpis.items():
        this = pl.col("kpi") == name
        low, high = _VALUE_RANGES.get(kpi.metric, (Decimal(0), None))
        if kpi.metric in MONEY_METRICS and config.sources.deals.credits:
            low = None  # credits above the quarter's sales (RULES.md 4)
        present = this & ~pl.col("missing")
        if low is not None:
            checks.append((present & (value < decimal_lit(low)), "value", f"{name} below {low}"))
        if high is not None:
            checks.append((present & (value > decimal_lit(high)), "value", f"{name} above {high}"))
        floor, cap = _score_bounds(config, name)
        checks.append((this & (score < decimal_lit(floor)), "score", f"{name} score below {floor}"))
        if cap is not None:
            checks.append(
                (this & (score > decimal_lit(cap)), "score", f"{name} score above its cap {cap}")
            )
    return _violations(kpis, checks)


def _score_bounds(config: ProgramConfig, kpi: str) -> tuple[Decimal, Decimal | None]:
    """(lowest, highest) score the KPI's curve can give, as scores are reported: rounded to
    4 places half up (a cap of 1.23456 gives scores up to 1.2346); highest None when
    uncapped."""
    curve = config.kpis[kpi].score
    if curve.steps is not None:
        scores = [Decimal(0), *(step[1] for step in curve.steps)]
        return _as_score(min(scores)), _as_score(max(scores))
    shaped = curve.attainment or curve.linear  # ScoreCurve holds exactly one of the three
    cap = shaped.cap if shaped is not None else None
    return Decimal(0), None if cap is None else _as_score(cap)


def _as_score(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _tier_violations(
    config: ProgramConfig, payouts: pl.DataFrame, kpis: pl.DataFrame
) -> list[Violation]:
    """Composite within 0..the largest cap; earned tier reached and its gates passed; no
    higher tier both reached and clearly passed; team tier = the highest tier its score reaches."""
    bounds = [_score_bounds(config, name)[1] for name in config.kpis]
    composite = pl.col("composite_score")
    checks: list[Check] = [(composite < 0, "composite_score", "composite below 0")]
    if bounds and all(b is not None for b in bounds):
        top = max(b for b in bounds if b is not None)
        checks.append((composite > decimal_lit(top), "composite_score", f"above {top}"))
    found = _violations(payouts, checks)

    tiers = tiers_table(config).select("tier_index", "tier", "min_score")
    reached = _reached_tiers(payouts, tiers, "composite_score")
    earned = payouts.select("partner_id", "earned_tier", "composite_score").join(
        tiers.rename({"tier": "earned_tier"}), on="earned_tier", how="left"
    )
    unreached = pl.col("tier_index").is_null() | (pl.col("min_score") > composite)
    found += _violations(
        earned, [(unreached, "earned_tier", "tier not reached by the composite score")]
    )
    gates = _gate_checks(config, kpis)
    failed_own = earned.join(gates, on=["partner_id", "tier_index"]).filter(pl.col("clearly_fails"))
    found += _violations(failed_own, [(pl.lit(True), "earned_tier", "a gate of this tier fails")])
    higher = (
        reached.join(earned.select("partner_id", pl.col("tier_index").alias("own")), "partner_id")
        .filter(pl.col("tier_index") > pl.col("own"))
        .join(gates, on=["partner_id", "tier_index"], how="left")
        .group_by("partner_id", "tier")
        .agg(pl.col("clearly_passes").fill_null(True).all().alias("all_pass"))
        .filter("all_pass")
        .join(payouts.select("partner_id", "earned_tier"), on="partner_id")
    )
    found += _violations(higher, [(pl.lit(True), "earned_tier", "a higher tier is reached")])

    best_team = (
        _reached_tiers(payouts, tiers, "team_score")
        .group_by("partner_id")
        .agg(pl.col("tier").sort_by("tier_index").last().alias("expected_team_tier"))
    )
    in_team = (pl.col("team_id").fill_null("") != "") & (pl.col("status") != Status.INELIGIBLE)
    team = (
        payouts.filter(in_team)
        .select("partner_id", "team_tier")
        .join(best_team, on="partner_id", how="left")
    )
    wrong_team = pl.col("team_tier") != pl.col("expected_team_tier")
    return found + _violations(
        team, [(wrong_team, "team_tier", "not the highest tier the team score reaches")]
    )


def _reached_tiers(payouts: pl.DataFrame, tiers: pl.DataFrame, score: str) -> pl.DataFrame:
    """(partner_id, tier_index, tier) for every tier whose min_score <= the partner's `score`."""
    return (
        payouts.select("partner_id", score)
        .join(tiers, how="cross")
        .filter(pl.col("min_score") <= pl.col(score))
        .select("partner_id", "tier_index", "tier")
    )


def _gate_checks(config: ProgramConfig, kpis: pl.DataFrame) -> pl.DataFrame:
    """(partner_id, tier_index) -> whether the gate surely passes / surely fails, judged on
    the 4-place display value with its rounding slack (undecidable gates are neither)."""
    gates = gates_table(config).select("tier_index", "kpi", "minimum")
    values = kpis.select("partner_id", "kpi", "value", "missing")
    slack = decimal_lit(_DISPLAY_SLACK)
    judged = values.join(gates, on="kpi").with_columns(
        (~pl.col("missing") & (pl.col("value") - slack > pl.col("minimum"))).alias("passes"),
        (pl.col("missing") | (pl.col("value") + slack < pl.col("minimum"))).alias("fails"),
    )
    return judged.group_by("partner_id", "tier_index").agg(
        pl.col("passes").all().alias("clearly_passes"),
        pl.col("fails").any().alias("clearly_fails"),
    )


def _money_violations(payouts: pl.DataFrame) -> list[Violation]:
    """RULES.md 8 and 9 on every row."""
    c = pl.col
    ineligible = c("status") == Status.INELIGIBLE
    carried = c("status").is_in([Status.NEGATIVE, Status.BELOW_MINIMUM, Status.HELD])
    net = (
        c("gross") - c("holdback") + c("adjustments") + c("loyalty_bonus") + c("carried_in")
        + c("holdback_released") - c("clawback")
    )  # fmt: skip
    checks: list[Check] = [
        (~ineligible & (c("net") != net), "net", "net != sum of lines"),
        (
            ~ineligible & (c("payable") + c("carried_forward") != c("net")),
            "carried_forward",
            "payable + carried_forward != net",
        ),
        (carried & (c("payable") != 0), "payable", "paid although carried forward"),
        (c("payable") < 0, "payable", "negative payable"),
    ]
    for column in (
        "bonus_base", "gross_uncapped", "gross_capped", "gross", "holdback", "loyalty_bonus",
        "holdback_released", "clawback",
    ):  # fmt: skip
        checks.append((c(column) < 0, column, "negative"))
    checks.append((c("gross_capped") > c("gross_uncapped"), "gross_capped", "above gross_uncapped"))
    for column in _AFTER_BONUS:
        checks.append((ineligible & (c(column) != 0), column, "ineligible, not 0"))
    return _violations(payouts, checks)


def _deal_bonus_violations(payouts: pl.DataFrame, deal_bonuses: pl.DataFrame) -> list[Violation]:
    """Deal bonuses of an eligible partner add up to its gross when its base deals' amounts
    sum above 0 (RULES.md 9, 11.2); ineligible partners have none."""
    sums = deal_bonuses.group_by("partner_id").agg(
        pl.col("amount_base").sum().alias("deal_amounts"), pl.col("bonus").sum().alias("bonuses")
    )
    rows = payouts.join(sums, on="partner_id", how="left")
    eligible = pl.col("status") != Status.INELIGIBLE
    amounts, bonuses = pl.col("deal_amounts"), pl.col("bonuses")
    return _violations(
        rows,
        [
            (
                eligible & (amounts > 0) & (bonuses != pl.col("gross")),
                "gross",
                "deal bonuses do not add up to the gross",
            ),
            (~eligible & bonuses.is_not_null(), "status", "ineligible partner with deal bonuses"),
            (
                eligible & (pl.col("bonus_base") > 0) & amounts.is_null(),
                "bonus_base",
                "base above 0 but no deal bonus rows",
            ),
        ],
    )


def _budget_violations(payouts: pl.DataFrame, budget: BudgetUse) -> list[Violation]:
    """sum(gross) <= budget, and = budget exactly when scaling applied (RULES.md 9)."""
    if budget.budget is None:
        return []
    eligible = payouts.filter(pl.col("status") != Status.INELIGIBLE)
    total = Decimal(eligible["gross"].sum() or 0)
    if total > budget.budget or (budget.scaled and total != budget.budget):
        return [Violation("(all)", "gross", f"{total:.2f}", f"budget is {budget.budget:.2f}")]
    return []
