"""Deal bonuses (RULES.md 11.2): each eligible partner's gross split over the deals that make
up its bonus base, so a later cancellation can claw back exactly that deal's share."""

from __future__ import annotations

import polars as pl

from incentcalc.config import Metric
from incentcalc.inputs import DealType
from incentcalc.money import split_cents
from incentcalc.periods import Period
from incentcalc.result import DEAL_BONUS_COLUMNS, Status


def compute_deal_bonuses(
    payouts: pl.DataFrame, deals: pl.DataFrame, base_metric: Metric, period: Period
) -> pl.DataFrame:
    """One row per base deal of a partner that is not ineligible: share = gross * amount_base /
    sum of amount_base, cut to cents, leftover cents to the largest remainders (ties deal_id).

    `deals` needs counted, credit, deal_type, amount_base. The base deals are the counted ones that
    are not credits (only the expansion deals for an expansion_revenue base): a credit gets no
    share (RULES.md 8). Example: gross 4,000.00 over deals of 60,000 and 40,000 -> 2,400.00
    and 1,600.00; amounts summing to 0 give 0 each.
    """
    base = pl.col("counted") & ~pl.col("credit")
    if base_metric == Metric.EXPANSION_REVENUE:
        base = base & (pl.col("deal_type") == DealType.EXPANSION)
    # The partners numbered in partner_id order: grouping and sorting the deals on that
    # integer rather than on the text partner_id gives the same order, several times faster.
    eligible = (
        payouts.filter(pl.col("status") != Status.INELIGIBLE)
        .select("partner_id", "gross")
        .sort("partner_id")
        .with_row_index("_partner")
    )
    # Lazy: the filter copies only the columns selected, not every column of the window. The
    # deals' order kept: an export by deal_id then costs `split_cents` no sort by it. Handed
    # on, not kept here, so `split_cents` lets these rows go once it has sorted them.
    return (
        split_cents(
            deals.lazy()
            .filter(base)
            .select("deal_id", "partner_id", "customer_id", "close_date", "amount_base")
            .join(eligible.lazy(), on="partner_id", maintain_order="left")
            .collect(engine="in-memory"),
            pl.col("amount_base"),
            pl.col("gross"),
            tie="deal_id",
            by="_partner",
            alias="bonus",
        )
        .with_columns(pl.lit(period.label).alias("period"))
        .select(DEAL_BONUS_COLUMNS)
    )
