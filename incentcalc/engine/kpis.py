"""Metric values per in-scope partner (RULES.md 4), as exact rationals.

Every metric is kept as a numerator and a denominator (``value = num / den``) so that scores,
gates and steps can compare and round it exactly; e.g. win_rate 2 / 3 is (2, 3), never
0.666.... `available` is false where RULES.md says the value is missing.
"""

from __future__ import annotations

import polars as pl

from incentcalc.config import Metric
from incentcalc.inputs import DealType, RenewalStatus, Stage
from incentcalc.money import QUOTIENT
from incentcalc.periods import Period

METRIC_COLUMNS = ("partner_id", "metric", "num", "den", "available", "responses")


def in_period(column: str, period: Period) -> pl.Expr:
    """True where the date column falls in the period (both ends included); a progress run
    reads the period up to its as-of day (RULES.md 12)."""
    return pl.col(column).is_between(pl.lit(period.start), pl.lit(period.last_day))


def _count(condition: pl.Expr) -> pl.Expr:
    """How many rows meet `condition`, as a signed integer: Polars counts are UInt32, and
    promoters - detractors on them wraps around (-100 becomes 4294967196)."""
    return condition.sum().cast(pl.Int64)


def _deal_totals(deals: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Per partner: revenue and expansion_revenue over every counted deal (credits net in),
    the won deals, their amounts (`sales`, for avg_deal_size) and new logos over the counted
    deals that are not credits (RULES.md 4).

    Only the rows a total reads are grouped: the counted deals (all in the period) and the
    period's lost ones; a partner with neither gets no row here and 0 everywhere from the
    caller, as its empty sums would give. Lazy, so the filter copies only these columns of
    the deals window, not all of them."""
    counted = pl.col("counted")
    won = counted & ~pl.col("credit")
    lost = (pl.col("stage") == Stage.CLOSED_LOST) & in_period("close_date", period)
    return (
        deals.lazy()
        .filter(counted | lost)
        .group_by("partner_id")
        .agg(
            pl.col("amount_base").filter(counted).sum().alias("revenue"),
            pl.col("amount_base")
            .filter(counted & (pl.col("deal_type") == DealType.EXPANSION))
            .sum()
            .alias("expansion_revenue"),
            pl.col("amount_base").filter(won).sum().alias("sales"),
            _count(won).alias("won"),
            _count(lost).alias("lost"),
            pl.col("customer_id")
            .filter(won & (pl.col("deal_type") == DealType.NEW))
            .n_unique()
            .cast(pl.Int64)
            .alias("new_logos"),
        )
        .collect(engine="in-memory")
    )


def _nps_totals(nps: pl.DataFrame, period: Period) -> pl.DataFrame:
    score = pl.col("score")
    return (
        nps.filter(in_period("responded_on", period))
        .group_by("partner_id")
        .agg(
            pl.len().cast(pl.Int64).alias("responses"),
            _count(score >= 9).alias("promoters"),
            _count(score <= 6).alias("detractors"),
        )
    )


def _renewal_totals(renewals: pl.DataFrame, period: Period) -> pl.DataFrame:
    renewed_base = (
        pl.when(pl.col("status") == RenewalStatus.RENEWED).then(pl.col("renewed_base")).otherwise(0)
    )
    return (
        renewals.filter(decided_renewal(period))
        .group_by("partner_id")
        .agg(
            pl.len().cast(pl.Int64).alias("decided"),
            _count(pl.col("status") == RenewalStatus.RENEWED).alias("renewed"),
            pl.col("original_base").sum().alias("original_sum"),
            pl.min_horizontal(renewed_base, pl.col("original_base")).sum().alias("kept_sum"),
            renewed_base.sum().alias("renewed_sum"),
        )
    )


def decided_renewal(period: Period) -> pl.Expr:
    """A renewal due in the period whose outcome is known (renewed or churned)."""
    return in_period("due_date", period) & pl.col("status").is_in(
        [RenewalStatus.RENEWED, RenewalStatus.CHURNED]
    )


def _ratio(metric: Metric, num: pl.Expr, den: pl.Expr) -> list[pl.Expr]:
    return [
        pl.lit(metric.value).alias("metric"),
        num.cast(QUOTIENT).alias("num"),
        den.cast(QUOTIENT).alias("den"),
    ]


def compute_metric_values(
    partner_ids: pl.Series,
    deals: pl.DataFrame,
    nps: pl.DataFrame,
    renewals: pl.DataFrame,
    period: Period,
) -> pl.DataFrame:
    """One row per (partner, metric) with num, den, available and the NPS response count.

    `deals` needs `amount_base` and booleans `counted` (closed_won, in period, not excluded
    by an integrity rule) and `credit` (a negative closed_won amount, RULES.md 4);
    `renewals` needs `original_base` and `renewed_base`.
    """
    totals = (
        pl.DataFrame({"partner_id": partner_ids})
        .join(_deal_totals(deals, period), on="partner_id", how="left")
        .join(_nps_totals(nps, period), on="partner_id", how="left")
        .join(_renewal_totals(renewals, period), on="partner_id", how="left")
        .fill_null(0)
    )
    c = pl.col
    one = pl.lit(1)
    ratios = [
        _ratio(Metric.REVENUE, c("revenue"), one),
        _ratio(Metric.EXPANSION_REVENUE, c("expansion_revenue"), one),
        _ratio(Metric.WON_DEALS, c("won"), one),
        _ratio(Metric.NEW_LOGOS, c("new_logos"), one),
        _ratio(Metric.WIN_RATE, c("won"), c("won") + c("lost")),
        _ratio(Metric.AVG_DEAL_SIZE, c("sales"), c("won")),
        _ratio(Metric.NPS, (c("promoters") - c("detractors")) * 100, c("responses")),
        _ratio(Metric.GROSS_RENEWAL_RATE, c("kept_sum"), c("original_sum")),
        _ratio(Metric.NET_REVENUE_RETENTION, c("renewed_sum"), c("original_sum")),
        _ratio(Metric.LOGO_RETENTION, c("renewed"), c("decided")),
    ]
    keys = [c("partner_id"), c("responses").cast(pl.Int64)]
    return (
        pl.concat([totals.select(*keys, *ratio) for ratio in ratios])
        .with_columns((c("den") > 0).alias("available"))
        .select(METRIC_COLUMNS)
    )
