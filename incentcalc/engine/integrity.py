"""Deal-level integrity rules (RULES.md 10): find the deals finance must look at before KPIs.

Four rules run in a fixed order, each on the deals still standing after the previous ones:

1. ``duplicate_deals``: the same sale entered twice by one partner.
2. ``registration``: a deal registered late or never (deal registration is the proof that the
   partner sourced the deal, so it must exist on or before the close date).
3. ``quarter_end_spike``: a partner booking most of its quarter in the last few days.
4. ``reversal``: a won deal cancelled soon after it closed.

A deal that a rule hits with action ``exclude`` is no longer counted, so the later rules do not
examine it and it does not add to a partner's revenue in the spike rule. ``hold`` and ``flag``
leave the deal counted. Every hit is one row: deal_id, partner_id, rule, action, detail.

Everything is vectorised Polars (window functions, group_by, joins, an as-of join for the
reversal look-up) and exact decimals: about a second for 5 million deals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

import polars as pl

from incentcalc.config import (
    Action,
    Integrity,
    ReversalRule,
    Rounding,
    SpikeRule,
)
from incentcalc.inputs import Stage, is_credit
from incentcalc.io.rules import key_hash
from incentcalc.money import WORK, decimal_lit, exact, round_quotient
from incentcalc.periods import Period


class Rule(StrEnum):
    """Integrity rules by their config key, in the order they run (RULES.md 10)."""

    DUPLICATE_DEALS = "duplicate_deals"
    REGISTRATION = "registration"
    QUARTER_END_SPIKE = "quarter_end_spike"
    REVERSAL = "reversal"


RULE_ORDER: tuple[Rule, ...] = tuple(Rule)
"""The order rules run in, and the first sort key of the hits."""

HIT_COLUMNS = ("deal_id", "partner_id", "rule", "action", "detail")
"""Columns of `compute_integrity_hits`' result, all String, in this order."""

HIT_SCHEMA: dict[str, pl.DataType] = dict.fromkeys(HIT_COLUMNS, pl.String())

DUPLICATE_KEY = ("partner_id", "customer_id", "amount", "currency", "close_date")
"""Deals equal on all of these are one sale entered more than once."""

REVERSAL_KEY = ("partner_id", "customer_id")
"""A cancellation reverses a won deal of the same partner and customer."""

_IDX = "_integrity_idx"
"""Private row number: deal_id is not trusted to be unique here, the row is."""

_FOUND = (_IDX, "deal_id", "partner_id", "detail")
"""What each rule's finder returns: the rows it hits and the evidence in words."""

_STANDING_COLUMNS = (
    "deal_id", "partner_id", "customer_id", "stage", "close_date", "amount", "currency",
    "registered_on", "amount_base",
)  # fmt: skip
"""The deal columns the rules read; the others are dropped before any work."""

_Finder = Callable[[pl.DataFrame, pl.DataFrame, Period], pl.DataFrame]


def _text(column: str) -> pl.Expr:
    """A column as text for a detail sentence (dates ISO, money with its 2 places)."""
    return pl.col(column).cast(pl.String)


def _pct(value: Decimal) -> str:
    """A config share as a percentage without noise: Decimal("0.6") -> "60"."""
    return f"{(value * 100).normalize():f}"


def find_duplicates(standing: pl.DataFrame) -> pl.DataFrame:
    """Deals that repeat an earlier one: same partner, customer, amount, currency, close date.

    The first by deal_id compared as text is kept, the others are hits. Why text: deal ids
    are opaque codes, so "D10" sorts before "D9" and D10 is the one kept.

    >>> # D9 and D10: partner P1, customer C1, 100.00 EUR, 2026-08-01 -> D9 is a hit, D10 kept
    """
    kept = pl.col("deal_id").min().over(DUPLICATE_KEY)
    return (
        # cheap tests first: a deal whose key hash is unique repeats no other deal, and the
        # text minimum over the key is ten times slower than a count on all deals
        standing.filter(key_hash(DUPLICATE_KEY).is_duplicated())
        .filter(pl.len().over(DUPLICATE_KEY) > 1)
        .with_columns(kept.alias("_kept"))
        .filter(pl.col("deal_id") != pl.col("_kept"))
        .select(
            _IDX,
            "deal_id",
            "partner_id",
            pl.format(
                "duplicate of {} (kept): same customer {}, amount {} {}, close date {}",
                "_kept",
                "customer_id",
                _text("amount"),
                "currency",
                _text("close_date"),
            ).alias("detail"),
        )
    )


def find_unregistered(standing: pl.DataFrame) -> pl.DataFrame:
    """Counted deals registered after their close date, or never.

    Registration on the close date itself is in time.

    >>> # closed 2026-08-01: registered 2026-08-01 ok; 2026-08-02 hit; empty hit
    """
    registered = pl.col("registered_on")
    detail = (
        pl.when(registered.is_null())
        .then(pl.format("no registration date; closed {}", _text("close_date")))
        .otherwise(
            pl.format(
                "registered {}, after the close date {}", _text("registered_on"), "close_date"
            )
        )
    )
    return standing.filter(registered.is_null() | (registered > pl.col("close_date"))).select(
        _IDX, "deal_id", "partner_id", detail.alias("detail")
    )


def find_spikes(standing: pl.DataFrame, period: Period, rule: SpikeRule) -> pl.DataFrame:
    """Every counted deal in the window of a partner whose window revenue is too big a share.

    The window is the last `last_days` days of the period, both ends included
    (period.end - last_days + 1 .. period.end). The partner is a hit when
    window revenue > max_share * period revenue, strictly, compared as exact decimals
    (amount_base of counted deals).

    >>> # max_share 0.6, period revenue 10,000.00: window 6,000.00 no hit; 6,000.01 hit
    """
    window_start = period.end - timedelta(days=rule.last_days - 1)
    in_window = pl.col("close_date") >= pl.lit(window_start)
    revenue = pl.col("amount_base")
    partners = (
        standing.group_by("partner_id")
        .agg(
            revenue.sum().alias("_total"),
            revenue.filter(in_window).sum().alias("_window"),
        )
        .filter(
            exact(pl.col("_window")) > exact(pl.col("_total")) * decimal_lit(rule.max_share, WORK)
        )
    )
    share = round_quotient(pl.col("_window") * 100, pl.col("_total"), 2, Rounding.HALF_UP)
    return (
        standing.filter(in_window)
        .join(partners, on="partner_id", how="inner")
        .select(
            _IDX,
            "deal_id",
            "partner_id",
            pl.format(
                "{}% of period revenue closed in the last {} days ({}..{}): window revenue {} "
                "of period revenue {}, above the {}% maximum",
                share.cast(pl.String),
                pl.lit(rule.last_days),
                pl.lit(window_start.isoformat()),
                pl.lit(period.end.isoformat()),
                _text("_window"),
                _text("_total"),
                pl.lit(_pct(rule.max_share)),
            ).alias("detail"),
        )
    )


def find_reversals(
    standing: pl.DataFrame, deals: pl.DataFrame, period: Period, rule: ReversalRule
) -> pl.DataFrame:
    """Counted deals whose partner and customer have a cancelled deal soon after the close.

    A cancellation 0 to `within_days` days after the won deal's close date (both ends
    included) is a hit, even when it falls after the period; one before the close is not.
    The evidence is the earliest such cancellation (smallest deal_id on a tie), found with an
    as-of join, so a customer with many cancellations does not multiply rows.

    >>> # within_days 30, won 2026-09-01: cancelled 2026-09-01 hit; 2026-10-01 hit; 10-02 no
    """
    cancellations = (
        deals.lazy()
        .filter(
            (pl.col("stage") == Stage.CANCELLED)
            # only these dates can reverse a deal won in the period
            & pl.col("close_date").is_between(
                pl.lit(period.start), pl.lit(period.last_day + timedelta(days=rule.within_days))
            )
            & pl.all_horizontal(pl.col(key).is_not_null() for key in REVERSAL_KEY)
        )
        .group_by(*REVERSAL_KEY, pl.col("close_date").alias("_cancelled_on"))
        .agg(pl.col("deal_id").min().alias("_cancel_id"))
        .sort("_cancelled_on")
        .collect(engine="in-memory")
    )
    gap = (pl.col("_cancelled_on") - pl.col("close_date")).dt.total_days()
    # only the deals of a partner and customer with a cancellation can be reversed: the
    # others are dropped before the sort by date (most deals, at a semi join's cost)
    cancelled_pairs = cancellations.select(REVERSAL_KEY).unique()
    return (
        standing.select(_IDX, "deal_id", *REVERSAL_KEY, "close_date")
        .join(cancelled_pairs, on=list(REVERSAL_KEY), how="semi")
        .sort("close_date")
        .join_asof(
            cancellations,
            left_on="close_date",
            right_on="_cancelled_on",
            by=list(REVERSAL_KEY),
            strategy="forward",
            check_sortedness=False,  # both sides are sorted on the date just above
        )
        .filter(gap <= rule.within_days)
        .select(
            _IDX,
            "deal_id",
            "partner_id",
            pl.format(
                "cancelled by {} on {}, {} day(s) after the close date {} (within {})",
                "_cancel_id",
                _text("_cancelled_on"),
                gap.cast(pl.String),
                _text("close_date"),
                pl.lit(rule.within_days),
            ).alias("detail"),
        )
    )


def _finders(rules: Integrity, period: Period) -> list[tuple[Rule, Action, _Finder]]:
    """The configured rules, in running order, each as (rule, action, finder). A credit
    (RULES.md 4) is never a registration or reversal hit: it is not a sale to register or
    reverse; duplicate_deals and quarter_end_spike see it like any counted deal. A progress run
    before the quarter's end skips `quarter_end_spike`: that end has not come yet."""
    steps: list[tuple[Rule, Action, _Finder]] = []
    duplicate = rules.duplicate_deals
    if duplicate is not None:
        steps.append((Rule.DUPLICATE_DEALS, duplicate.action, lambda s, _d, _p: find_duplicates(s)))
    registration = rules.registration
    if registration is not None and registration.required:
        steps.append(
            (Rule.REGISTRATION, registration.action,
             lambda s, _d, _p: find_unregistered(s.filter(~is_credit())))
        )  # fmt: skip
    spike = rules.quarter_end_spike
    if spike is not None and period.complete:  # before the quarter's end (RULES.md 12): skipped
        steps.append(
            (Rule.QUARTER_END_SPIKE, spike.action, lambda s, _d, p: find_spikes(s, p, spike))
        )
    reversal = rules.reversal
    if reversal is not None:
        steps.append(
            (Rule.REVERSAL, reversal.action,
             lambda s, d, p: find_reversals(s.filter(~is_credit()), d, p, reversal))
        )  # fmt: skip
    return steps


def compute_integrity_hits(deals: pl.DataFrame, period: Period, rules: Integrity) -> pl.DataFrame:
    """One row per integrity hit (HIT_COLUMNS, all String), sorted by rule order, partner_id,
    deal_id.

    `deals` holds every deal of the export (all quarters) with the canonical columns plus
    `amount_base`. Only closed_won deals closed in `period` can be hits; the reversal rule
    also looks at cancelled deals of any date. Each rule sees the deals still counted: an
    `exclude` hit leaves the later rules' view, a `hold` or `flag` hit stays in it.

    >>> # D1 duplicate (exclude) and registered late: one row, duplicate_deals only.
    >>> # The same with duplicate action flag: two rows, duplicate_deals and registration.
    """
    standing = (
        deals.select(_STANDING_COLUMNS)
        .with_row_index(_IDX)
        .filter(
            (pl.col("stage") == Stage.CLOSED_WON)
            & pl.col("close_date").is_between(pl.lit(period.start), pl.lit(period.last_day))
        )
    )
    found: list[pl.DataFrame] = []
    for rule, action, finder in _finders(rules, period):
        hits = finder(standing, deals, period).select(_FOUND)
        found.append(
            hits.with_columns(
                pl.lit(rule.value).alias("rule"),
                pl.lit(action.value).alias("action"),
                pl.lit(RULE_ORDER.index(rule)).alias("_order"),
            )
        )
        if action is Action.EXCLUDE:
            standing = standing.join(hits.select(_IDX), on=_IDX, how="anti")
    if not found:
        return pl.DataFrame(schema=HIT_SCHEMA)
    return (
        pl.concat(found)
        .sort("_order", "partner_id", "deal_id", _IDX)
        .select(pl.col(column).cast(pl.String) for column in HIT_COLUMNS)
    )
