"""Bonus, cap, budget, holdback, adjustments and what is payable (RULES.md 8).

Every money step is rounded by `money.round_money` exactly where RULES.md says `round()`;
the budget split is exact: whole cents by floor division, leftover cents by largest
remainder (ties: partner_id ascending), so the grosses add up to the budget to the cent.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from incentcalc.config import Payout, Rounding
from incentcalc.money import (
    FACTOR,
    MONEY,
    decimal_lit,
    exact,
    round_local,
    round_money,
    round_quotient,
    split_cents,
)
from incentcalc.result import BudgetUse, Status

_INELIGIBLE = pl.col("scope_status").fill_null("") == Status.INELIGIBLE


def compute_bonuses(
    partners: pl.DataFrame, tiers: pl.DataFrame, payout: Payout, mode: Rounding
) -> pl.DataFrame:
    """Steps 1-5: individual, team and fixed bonus, cap. Ineligible partners get 0.

    `partners` needs bonus_base, tier_index, team_tier_index, scope_status.
    Example: base 150,000, Platinum 5% individual share 0.7 -> 5,250.00; capped at 8,000.
    """
    rates = tiers.select("tier_index", "rate", "fixed")
    frame = partners.join(rates, on="tier_index", how="left").join(
        rates.select(
            pl.col("tier_index").alias("team_tier_index"), pl.col("rate").alias("team_rate")
        ),
        on="team_tier_index",
        how="left",
    )
    base = exact(pl.col("bonus_base"))
    zero = pl.lit(0).cast(MONEY)
    individual = round_money(
        base * exact(decimal_lit(payout.individual_share)) * pl.col("rate"), mode
    )
    team = round_money(base * exact(decimal_lit(payout.team_share)) * pl.col("team_rate"), mode)
    frame = frame.with_columns(
        pl.when(_INELIGIBLE).then(zero).otherwise(individual).alias("individual_bonus"),
        pl.when(_INELIGIBLE).then(zero).otherwise(team).alias("team_bonus"),
        pl.when(_INELIGIBLE).then(zero).otherwise(pl.col("fixed").cast(MONEY)).alias("fixed_bonus"),
    ).with_columns(
        (pl.col("individual_bonus") + pl.col("team_bonus") + pl.col("fixed_bonus"))
        .cast(MONEY)
        .alias("gross_uncapped")
    )
    cap = _cap_expr(payout, mode)
    if cap is None:
        return frame.with_columns(
            pl.lit(False).alias("cap_applied"), pl.col("gross_uncapped").alias("gross_capped")
        )
    return (
        frame.with_columns(cap.alias("cap_limit"))
        .with_columns(
            (pl.col("gross_uncapped") > pl.col("cap_limit")).alias("cap_applied"),
            pl.min_horizontal("gross_uncapped", "cap_limit").cast(MONEY).alias("gross_capped"),
        )
        .drop("cap_limit")
    )


def _cap_expr(payout: Payout, mode: Rounding) -> pl.Expr | None:
    """The smaller of cap.amount and round(cap.pct_of_base * base), each if set."""
    if payout.cap is None:
        return None
    limits = []
    if payout.cap.amount is not None:
        limits.append(decimal_lit(payout.cap.amount, MONEY))
    if payout.cap.pct_of_base is not None:
        limits.append(
            round_money(exact(pl.col("bonus_base")) * decimal_lit(payout.cap.pct_of_base), mode)
        )
    return pl.min_horizontal(limits).cast(MONEY)


def progress_budget(
    budget: Decimal | None, elapsed: int, days: int, mode: Rounding
) -> Decimal | None:
    """A progress run's budget (RULES.md 12): round(budget * elapsed / period days), the whole
    budget once the period has elapsed. Example: 15,000 after 46 of 92 days -> 7,500.00."""
    if budget is None or elapsed >= days:
        return budget
    share = round_quotient(decimal_lit(budget) * elapsed, pl.lit(days), 2, mode)
    return Decimal(pl.select(share).item())


def apply_budget(frame: pl.DataFrame, budget: Decimal | None) -> tuple[pl.DataFrame, BudgetUse]:
    """Step 6: scale grosses into the budget when their total S exceeds it.

    gross = gross_capped * budget / S cut to cents; the leftover cents go one each to the
    largest cut-off remainders (ties by partner_id). Example: budget 15,000 over S = 21,370
    gives factor 0.701919 and grosses that sum to exactly 15,000.00:

    >>> capped = pl.DataFrame(
    ...     {"partner_id": ["P1", "P2"], "scope_status": [None, None],
    ...      "gross_capped": ["10000.00", "11370.00"]}
    ... ).with_columns(pl.col("gross_capped").cast(MONEY))
    >>> scaled, use = apply_budget(capped, Decimal(15000))
    >>> [str(g) for g in scaled["gross"]], str(use.factor)
    (['7019.19', '7980.81'], '0.701919')
    """
    eligible = ~_INELIGIBLE
    total = frame.filter(eligible).select(pl.col("gross_capped").sum()).item()
    total = Decimal(total or 0)
    if budget is None or total <= budget:
        factor = Decimal(1)
        scaled = frame.with_columns(
            pl.col("gross_capped").alias("gross"),
            decimal_lit(factor, FACTOR).alias("budget_factor"),
        )
        return scaled, BudgetUse(budget, total, factor, scaled=False)
    factor_value = round_quotient(decimal_lit(budget), decimal_lit(total), 6, Rounding.HALF_UP)
    scaled = (
        split_cents(
            frame,
            pl.when(eligible).then(pl.col("gross_capped")).otherwise(0),
            decimal_lit(budget),
            tie="partner_id",
            alias="_scaled",
        )
        .with_columns(
            pl.when(eligible)
            .then(pl.col("_scaled"))
            .otherwise(pl.col("gross_capped"))
            .alias("gross"),
            pl.when(eligible)
            .then(factor_value)
            .otherwise(pl.lit(1))
            .cast(FACTOR)
            .alias("budget_factor"),
        )
        .drop("_scaled")
    )
    factor = scaled.filter(eligible).select(pl.col("budget_factor").first()).item()
    return scaled, BudgetUse(budget, total, Decimal(factor), scaled=True)


def compute_payable(
    frame: pl.DataFrame, adjustments: pl.DataFrame, payout: Payout, mode: Rounding
) -> pl.DataFrame:
    """Steps 7-11: holdback, adjustments, net, status, payable, carried_forward, local amount.

    `adjustments` is partner_id -> adjustments (sum of the period's rows); `frame` needs
    fx_rate (the payout currency's rate) and the ledger lines (LEDGER_LINE_COLUMNS, 0 without
    a ledger). A held partner's net is withheld and carried forward, not forfeited (8.10);
    0 < net < min_payout is carried forward as `below_minimum`, a negative net as `negative`.
    Example: held, net 1,872.00 -> payable 0.00, carried_forward 1,872.00.
    """
    zero = pl.lit(0).cast(MONEY)
    frame = frame.join(adjustments, on="partner_id", how="left").with_columns(
        round_money(exact(pl.col("gross")) * decimal_lit(payout.holdback_pct), mode).alias(
            "holdback"
        ),
        pl.when(_INELIGIBLE)
        .then(zero)
        .otherwise(pl.col("adjustments").fill_null(0))
        .cast(MONEY)
        .alias("adjustments"),
    )
    net = (
        pl.col("gross")
        - pl.col("holdback")
        + pl.col("adjustments")
        + pl.col("loyalty_bonus")
        + pl.col("carried_in")
        + pl.col("holdback_released")
        - pl.col("clawback")
    ).cast(MONEY)
    frame = frame.with_columns(net.alias("net"))
    net_col, minimum = pl.col("net"), decimal_lit(payout.min_payout, MONEY)
    status = (
        pl.when(pl.col("scope_status").is_not_null())
        .then(pl.col("scope_status"))
        .when(net_col < 0)
        .then(pl.lit(Status.NEGATIVE.value))
        .when((net_col > 0) & (net_col < minimum))
        .then(pl.lit(Status.BELOW_MINIMUM.value))
        .otherwise(pl.lit(Status.PAYABLE.value))
    )
    frame = frame.with_columns(status.alias("status"))
    paid = pl.col("status") == Status.PAYABLE
    carried = pl.col("status").is_in([Status.NEGATIVE, Status.BELOW_MINIMUM, Status.HELD])
    return frame.with_columns(
        pl.when(paid).then(net_col).otherwise(zero).alias("payable"),
        pl.when(carried).then(net_col).otherwise(zero).alias("carried_forward"),
    ).with_columns(
        round_local(pl.col("payable"), pl.col("fx_rate"), pl.col("payout_currency"), mode).alias(
            "payable_local"
        )
    )
