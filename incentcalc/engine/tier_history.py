"""Tier grace (RULES.md 11.6) and loyalty streaks (11.7): both count consecutive closed
quarters back from P-1 in which a partner's row meets a condition on its tiers.

Tiers are compared by rank, their position in the current config's `tiers` (history is read
with the current rules); a name the config no longer lists has no rank.
"""

from __future__ import annotations

import polars as pl

from incentcalc.config import ProgramConfig
from incentcalc.history import History
from incentcalc.money import MONEY, decimal_frame
from incentcalc.periods import Period
from incentcalc.result import LEDGER_NOTE_SCHEMA, Status


def _ranks(config: ProgramConfig) -> dict[str, int]:
    return {tier.name: index for index, tier in enumerate(config.tiers)}


def _rank(column: str, ranks: dict[str, int]) -> pl.Expr:
    """The tier name's rank, null for a name the config does not list."""
    return pl.col(column).replace_strict(ranks, default=None, return_dtype=pl.Int64)


def leading_run(rows: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """`by` -> `run`: how many quarters back from P-1 (back = 1, 2, ...) the condition `ok`
    held without a break. A quarter without a row breaks the run like a failing row.

    Example: ok at back 1 and 2, not at 3, ok at 4 -> run 2.
    """
    return (
        rows.filter(pl.col("ok"))
        .sort("back")
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(by).alias("_position"))
        .group_by(by)
        .agg((pl.col("back") == pl.col("_position")).sum().cast(pl.Int64).alias("run"))
    )


def apply_tier_grace(
    tiers: pl.DataFrame, history: History, config: ProgramConfig, period: Period
) -> pl.DataFrame:
    """Turn the earned tiers into the tiers that pay (RULES.md 11.6).

    `tiers` has partner_id, tier_index, tier (the earned tier of section 6). Adds
    earned_tier, earned_tier_index and grace_note; tier_index and tier become the tier that
    pays. A partner whose P-1 tier ranks above its earned tier keeps the P-1 tier while the
    k quarters it already kept a tier by grace are fewer than tier_grace_quarters.
    Example: G = 1, Gold in 2026Q1, earns Silver in 2026Q2 -> paid Gold, "quarter 1 of 1".
    """
    earned = tiers.with_columns(
        pl.col("tier").alias("earned_tier"),
        pl.col("tier_index").alias("earned_tier_index"),
        pl.lit(None, pl.String).alias("grace_note"),
    )
    grace = config.tier_grace_quarters
    rows = history.recent_payouts(period)
    if grace == 0 or rows.is_empty():
        return earned
    ranks = _ranks(config)
    paid, own = _rank("tier", ranks), _rank("earned_tier", ranks)
    graced_row = pl.when(paid.is_not_null() & own.is_not_null()).then(paid > own)
    # A row whose tier names left the config: only grace ever paid another tier than earned.
    rows = rows.with_columns(
        graced_row.otherwise(pl.col("tier") != pl.col("earned_tier")).alias("ok"),
        paid.alias("previous_index"),
    )
    kept = leading_run(rows, ["partner_id"])
    previous = rows.filter(pl.col("back") == 1).select(
        "partner_id", "previous_index", pl.col("tier").alias("previous_tier")
    )
    frame = earned.join(previous, on="partner_id", how="left").join(
        kept, on="partner_id", how="left"
    )
    quarter = pl.col("run").fill_null(0) + 1
    applies = (pl.col("previous_index") > pl.col("earned_tier_index")) & (quarter <= grace)
    return frame.with_columns(
        pl.when(applies).then(pl.col("previous_index")).otherwise("tier_index").alias("tier_index"),
        pl.when(applies).then(pl.col("previous_tier")).otherwise("tier").alias("tier"),
        pl.when(applies)
        .then(
            pl.format(
                "tier grace: {} kept, quarter {} of {} (earned {})",
                "previous_tier",
                quarter,
                pl.lit(grace),
                "earned_tier",
            )
        )
        .alias("grace_note"),
    ).drop("previous_index", "previous_tier", "run")


def _milestone_streaks(
    partners: pl.DataFrame, history: History, config: ProgramConfig, period: Period
) -> pl.DataFrame:
    """Every eligible partner x loyalty milestone (partner_id, milestone_tier, quarters, bonus)
    with `streak`: 1 + the consecutive closed quarters ending at P-1 with an earned tier at or
    above the milestone's when the partner earned that tier in P, else 0."""
    milestones = (
        decimal_frame(
            [
                {"milestone_tier": m.tier, "quarters": m.quarters, "bonus": m.bonus}
                for m in config.payout.loyalty
            ],
            {"milestone_tier": pl.String(), "quarters": pl.Int64(), "bonus": MONEY},
        )
        .with_row_index("milestone")
        .with_columns(_rank("milestone_tier", _ranks(config)).alias("need"))
    )
    eligible = partners.filter(pl.col("scope_status").fill_null("") != Status.INELIGIBLE).join(
        milestones, how="cross"
    )
    current = eligible.filter(pl.col("earned_tier_index") >= pl.col("need"))
    earlier = (
        history.recent_payouts(period)
        .join(current.select("partner_id", "milestone", "need"), on="partner_id")
        .with_columns(
            (_rank("earned_tier", _ranks(config)) >= pl.col("need")).fill_null(False).alias("ok")
        )
    )
    runs = current.select("partner_id", "milestone").join(
        leading_run(earlier, ["partner_id", "milestone"]),
        on=["partner_id", "milestone"],
        how="left",
    )
    return eligible.join(
        runs.with_columns((pl.col("run").fill_null(0) + 1).alias("streak")).drop("run"),
        on=["partner_id", "milestone"],
        how="left",
    ).with_columns(pl.col("streak").fill_null(0))


def compute_loyalty(
    partners: pl.DataFrame, history: History, config: ProgramConfig, period: Period
) -> pl.DataFrame:
    """Loyalty milestones (RULES.md 11.7): LEDGER_NOTE_SCHEMA rows (line `loyalty_bonus`),
    one per partner and milestone whose tier the partner earned in P; amount = the bonus
    when the streak is a positive multiple of `quarters`, else 0. Ineligible partners get
    none (their ledger columns are 0).

    `partners` has partner_id, earned_tier_index, scope_status. The streak is 1 + the
    consecutive closed quarters ending at P-1 with an earned tier at or above the milestone's.
    Example: Gold, quarters 2, bonus 1,000: Gold in 2026Q1 and 2026Q2 -> streak 2, paid in Q2.
    """
    streaks = _milestone_streaks(partners, history, config, period).filter(pl.col("streak") > 0)
    position = (pl.col("streak") - 1) % pl.col("quarters") + 1
    paid = position == pl.col("quarters")
    horizon = max((m.quarters for m in config.payout.loyalty), default=1)
    next_label = (pl.col("quarters") - position).replace_strict(
        {n: period.shifted(n).label for n in range(horizon)}, return_dtype=pl.String
    )
    return streaks.select(
        "partner_id",
        pl.lit("loyalty_bonus").alias("line"),
        pl.when(paid).then(pl.col("bonus")).otherwise(pl.lit(0).cast(MONEY)).alias("amount"),
        pl.when(paid)
        .then(
            pl.format(
                "{} streak {} of {}: milestone paid ({} quarters in a row)",
                "milestone_tier",
                position,
                "quarters",
                "streak",
            )
        )
        .otherwise(
            pl.format(
                "{} streak {} of {}: the milestone pays {} in {} if the tier holds",
                "milestone_tier",
                position,
                "quarters",
                "bonus",
                next_label,
            )
        )
        .alias("note"),
    ).cast(LEDGER_NOTE_SCHEMA)  # type: ignore[arg-type]


def next_milestones(
    partners: pl.DataFrame, history: History, config: ProgramConfig, period: Period
) -> pl.DataFrame:
    """The next payment of each loyalty milestone (11.7) for every eligible partner, as
    LEDGER_NOTE_SCHEMA rows with line `next_milestone` and no amount (it is not paid in P),
    for statements and explain: after a streak of s quarters, q - (s mod q) more quarters at
    the tier pay the bonus in P + that many.
    Example: Gold, quarters 2, bonus 1000, paid in 2026Q2 -> "2 more quarters at Gold pay
    1000.00 in 2026Q4"; streak 1 of 2 in 2026Q3 -> "one more quarter at Gold pays 1000.00
    in 2026Q4"."""
    streaks = _milestone_streaks(partners, history, config, period)
    more = pl.col("quarters") - pl.col("streak") % pl.col("quarters")
    horizon = max((m.quarters for m in config.payout.loyalty), default=1)
    in_period = more.replace_strict(
        {n: period.shifted(n).label for n in range(1, horizon + 1)}, return_dtype=pl.String
    )
    return (
        streaks.sort("partner_id", "milestone")
        .select(
            "partner_id",
            pl.lit("next_milestone").alias("line"),
            pl.lit(None, MONEY).alias("amount"),
            pl.when(more == 1)
            .then(
                pl.format(
                    "one more quarter at {} pays {} in {}", "milestone_tier", "bonus", in_period
                )
            )
            .otherwise(
                pl.format(
                    "{} more quarters at {} pay {} in {}",
                    more,
                    "milestone_tier",
                    "bonus",
                    in_period,
                )
            )
            .alias("note"),
        )
        .cast(LEDGER_NOTE_SCHEMA)  # type: ignore[arg-type]
    )
