"""Clawbacks (RULES.md 11.5): which cancellation takes back which stored deal bonus.

Cancellations are taken in order of date, then deal_id; each takes its own deal if that is
a stored deal (and nothing else), otherwise the matching deal of the same partner and
customer with the latest close_date. Only the stored deals a cancellation can reach (by its
deal_id, or its partner and customer) are joined. A cancellation that shares no candidate
deal with another one takes its best deal directly (nearly all of them); the others are
settled in vectorised rounds: a deal is only ever wanted by cancellations of its own
(partner, customer) group, so in each round every group settles its cancellations in order
up to the first one whose best deal an earlier one of the round already wants; the rest try
again with what is left. Rows come out by partner, customer and the cancellations' order.
"""

from __future__ import annotations

import polars as pl

from incentcalc.history import History, still_open
from incentcalc.inputs import Stage
from incentcalc.money import MONEY
from incentcalc.periods import Period

CLAWBACK_COLUMNS = (
    "partner_id", "deal_id", "deal_period", "close_date", "cancellation_deal_id",
    "cancelled_on", "amount",
)  # fmt: skip
"""One row per deal clawed back in P: the stored deal, the cancellation, the whole share."""

_GROUP = ["partner_id", "customer_id"]
_DEAL = ["deal_period", "deal_id"]
_ORDER = ["cancelled_on", "cancellation_deal_id"]


def match_clawbacks(
    deals: pl.DataFrame, history: History, within_days: int | None, period: Period
) -> pl.DataFrame:
    """CLAWBACK_COLUMNS rows for the cancellations in `deals` (the export read for P).

    A stored deal (share > 0, not clawed back before) matches a cancellation dated at most
    `within_days` after its close_date, either by its own deal_id (dated on or after the
    close) or as another deal of the same partner and customer dated after the deal's
    period. A cancellation that clawed back a deal in an earlier entry is used up.
    Example: D31 closed 2026-03-20 (Q1), D33 of the same customer cancelled 2026-04-29 ->
    D31's 2,400.00 is clawed back in 2026Q2, 40 days after closing.
    """
    empty = pl.DataFrame(
        schema={
            "partner_id": pl.String(), "deal_id": pl.String(), "deal_period": pl.String(),
            "close_date": pl.Date(), "cancellation_deal_id": pl.String(),
            "cancelled_on": pl.Date(), "amount": MONEY,
        }
    )  # fmt: skip
    if within_days is None or not history.entries:
        return empty
    firsts = [
        entry.deal_bonuses.select(pl.col("close_date").min()).item() for entry in history.entries
    ]
    earliest = min((first for first in firsts if first is not None), default=None)
    done = history.taken_shares()
    cancellations = deals.filter(
        (pl.col("stage") == Stage.CANCELLED)
        & pl.col("close_date").is_between(pl.lit(earliest), pl.lit(period.last_day))
        & ~pl.col("deal_id").is_in(done["cancellation_deal_id"].drop_nulls().implode())
    ).select(
        pl.col("deal_id").alias("cancellation_deal_id"),
        pl.col("close_date").alias("cancelled_on"),
        *_GROUP,
    )
    # Only the few stored deals a cancellation can reach are looked at further.
    cancelled = pl.col("deal_id").is_in(cancellations["cancellation_deal_id"].implode())
    same_customer = pl.col("customer_id").is_in(cancellations["customer_id"].unique().implode())
    stored = history.stored_deals(cancelled | same_customer)
    own_stored = stored.filter(cancelled)
    near_stored = stored.filter(same_customer).join(
        cancellations.select(_GROUP).unique(), on=_GROUP, how="semi"
    )
    window = pl.col("cancelled_on") <= pl.col("close_date") + pl.duration(days=within_days)
    is_stored = pl.col("cancellation_deal_id").is_in(own_stored["deal_id"].implode())
    own = (
        cancellations.filter(is_stored)
        .select("cancellation_deal_id", "cancelled_on")
        .join(still_open(own_stored, done), left_on="cancellation_deal_id", right_on="deal_id")
        .with_columns(pl.col("cancellation_deal_id").alias("deal_id"))
        .filter(window & (pl.col("cancelled_on") >= pl.col("close_date")))
    )
    other = (
        cancellations.filter(~is_stored)
        .join(still_open(near_stored, done), on=_GROUP)
        .filter(window & (pl.col("cancelled_on") > pl.col("period_end")))
    )
    candidates = pl.concat([own.select(other.columns), other]).drop("period_end")
    return _settle(candidates).sort([*_GROUP, *_ORDER]).select(CLAWBACK_COLUMNS)


def _settle(candidates: pl.DataFrame) -> pl.DataFrame:
    """The greedy assignment of the module docstring. A cancellation none of whose candidate
    deals another cancellation wants takes its best one whatever the order (almost all of
    them); only the others go through the rounds."""
    # Two steps on purpose: the same window nested in one expression missed shared deals.
    shared = pl.col("cancellation_deal_id").n_unique().over(_DEAL) > 1
    split = candidates.with_columns(shared.alias("_contested")).with_columns(
        pl.col("_contested").any().over("cancellation_deal_id")
    )
    alone = _best(split.filter(~pl.col("_contested")).drop("_contested"))
    return pl.concat([alone, _settle_in_order(split.filter("_contested").drop("_contested"))])


def _best(candidates: pl.DataFrame) -> pl.DataFrame:
    """Each cancellation's preferred candidate: the latest close_date, ties deal_id ascending."""
    return (
        candidates.sort(["close_date", "deal_id"], descending=[True, False])
        .group_by("cancellation_deal_id", maintain_order=True)
        .first()
    )


def _settle_in_order(candidates: pl.DataFrame) -> pl.DataFrame:
    """The greedy assignment of the module docstring for contested cancellations, one
    vectorised round at a time."""
    settled = candidates.clear()
    while not candidates.is_empty():
        best = (
            _best(candidates)
            .sort([*_GROUP, *_ORDER])
            .with_columns(pl.int_range(pl.len()).over(_GROUP).alias("_pos"))
            .with_columns(
                (pl.col("_pos") > pl.col("_pos").min().over([*_GROUP, *_DEAL])).alias(
                    "_wanted_before"
                )
            )
            .with_columns(
                pl.col("_pos").filter("_wanted_before").min().over(_GROUP).alias("_blocked")
            )
        )
        accepted = best.filter(
            pl.col("_blocked").is_null() | (pl.col("_pos") < pl.col("_blocked"))
        ).drop("_pos", "_wanted_before", "_blocked")
        settled = pl.concat([settled, accepted])
        candidates = candidates.join(
            accepted.select("cancellation_deal_id"), on="cancellation_deal_id", how="anti"
        ).join(accepted.select(_DEAL), on=_DEAL, how="anti")
    return settled
