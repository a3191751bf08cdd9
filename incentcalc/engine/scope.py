"""Who is in a quarter's outputs, how long they were active, and who cannot be paid
(RULES.md 2)."""

from __future__ import annotations

import polars as pl

from incentcalc.inputs import PartnerStatus
from incentcalc.periods import Period
from incentcalc.result import Status

SCOPE_COLUMNS = (
    "partner_id", "partner_name", "segment", "region", "team_id", "payout_currency",
    "joined_on", "left_on", "status", "active_days", "scope_status", "scope_reason",
)  # fmt: skip
"""`scope_status` is `ineligible`, `held` or null (computed normally); `scope_reason` says why."""


def compute_scope(partners: pl.DataFrame, period: Period, base_currency: str) -> pl.DataFrame:
    """In-scope partners with their active days and eligibility, sorted by partner_id.

    A partner is in scope if it joined by the period end and had not left before the period
    start. Example: joined 2026-08-16 -> 46 of 92 active days in 2026Q3. A progress run
    (RULES.md 12) uses its as-of day as the period end: as of 2026-08-15 that partner is not in
    scope yet, and one leaving on 2026-08-31 has not left.
    """
    start, end = pl.lit(period.start), pl.lit(period.last_day)  # a progress run: its as-of day
    left_inside = pl.col("left_on").is_between(start, end)
    return (
        partners.filter(
            (pl.col("joined_on") <= end)
            & (pl.col("left_on").is_null() | (pl.col("left_on") >= start))
        )
        .with_columns(
            pl.col("payout_currency").fill_null(base_currency),
            (
                (
                    pl.min_horizontal(pl.col("left_on").fill_null(end), end)
                    - pl.max_horizontal(pl.col("joined_on"), start)
                ).dt.total_days()
                + 1
            ).alias("active_days"),
            pl.when(pl.col("status") == PartnerStatus.TERMINATED)
            .then(pl.lit(Status.INELIGIBLE.value))
            .when(left_inside)
            .then(pl.lit(Status.INELIGIBLE.value))
            .when(pl.col("status") == PartnerStatus.SUSPENDED)
            .then(pl.lit(Status.HELD.value))
            .alias("scope_status"),
            pl.when(pl.col("status") == PartnerStatus.TERMINATED)
            .then(pl.lit("terminated"))
            .when(left_inside)
            .then(pl.format("left program on {}", pl.col("left_on").dt.to_string("%Y-%m-%d")))
            .when(pl.col("status") == PartnerStatus.SUSPENDED)
            .then(pl.lit("suspended"))
            .alias("scope_reason"),
        )
        .select(SCOPE_COLUMNS)
        .sort("partner_id")
    )
