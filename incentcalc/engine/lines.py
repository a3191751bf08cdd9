"""The rows behind each partner's numbers, each marked counted or not and why, for
statements and `explain` (deals, NPS responses, renewals).

Each builder returns a lazy plan: nothing is computed until statements or `explain` collect
the partners they render (a `run --no-statements` or a `diff` never pays for the lines). The
rows are not sorted (a million-row string sort costs more than the rest of the run);
consumers sort the slice they render."""

from __future__ import annotations

import polars as pl

from incentcalc.engine.fx import rate_of
from incentcalc.engine.kpis import decided_renewal, in_period
from incentcalc.inputs import RenewalStatus, Stage
from incentcalc.io.window import near_period
from incentcalc.periods import Period
from incentcalc.result import DEAL_LINE_COLUMNS, NPS_LINE_COLUMNS, RENEWAL_LINE_COLUMNS


def _outside(column: str, period: Period) -> pl.Expr:
    """Why a dated row does not count: "outside the period: close date 2026-06-28", or in a
    progress run (RULES.md 12) "after the progress day: close date 2026-09-02" (the output's
    title names the day; `explain` counts rows by the words before the colon). concat_str,
    not pl.format: Polars 2.1's format panics on some frames (the validated NPS source, with
    its leading `_row` column)."""
    words = pl.lit(f"outside the period: {column.replace('_', ' ')} ")
    if period.as_of is not None:
        later = pl.col(column).is_between(pl.lit(period.as_of), pl.lit(period.end), "right")
        after = "after the progress day: "
        words = pl.when(later).then(pl.lit(after + column.replace("_", " ") + " ")).otherwise(words)
    return pl.concat_str(words, pl.col(column).cast(pl.String))


def build_deal_lines(
    deals: pl.DataFrame,
    hits: pl.DataFrame,
    rates: pl.DataFrame,
    period: Period,
    *,
    win_rate: bool = True,
) -> pl.LazyFrame:
    """Deals of in-scope partners closed in or near the period, or still open.

    `deals` needs `counted`, `credit`, `amount_base`; `hits` are the integrity hits, `rates`
    the period's (`fx.period_rates`: each line's fx_rate, looked up when the lines are read).
    `win_rate`: the program has a win-rate KPI, so a lost deal counts toward it.
    """
    notes = (
        hits.lazy()
        .group_by("deal_id")
        .agg(pl.format("{} ({}): {}", "rule", "action", "detail").str.join("; ").alias("hit_note"))
    )
    stage = pl.col("stage")
    note = (
        pl.when(pl.col("counted") & pl.col("credit"))
        .then(pl.lit("credit: counted, nets against revenue"))
        .when(pl.col("counted"))
        .then(pl.lit("counted"))
        .when(pl.col("hit_note").is_not_null() & in_period("close_date", period))
        .then(pl.lit("excluded"))
        .when(stage == Stage.OPEN)
        .then(pl.lit("open: not closed yet"))
        .when(~in_period("close_date", period))
        .then(_outside("close_date", period))
        .when(stage == Stage.CLOSED_LOST)
        .then(pl.lit("lost: counts toward win rate only" if win_rate else "lost: not counted"))
        .when(stage == Stage.CANCELLED)
        .then(pl.lit("cancelled"))
        .otherwise(pl.lit("not counted"))
    )
    return (
        deals.lazy()
        .filter(near_period("close_date", period) | pl.col("close_date").is_null())
        .join(notes, on="deal_id", how="left")
        .with_columns(
            rate_of(rates).alias("fx_rate"),
            pl.when(pl.col("hit_note").is_not_null())
            .then(pl.format("{}; {}", note, "hit_note"))
            .otherwise(note)
            .alias("note"),
        )
        .select(DEAL_LINE_COLUMNS)
    )


def build_nps_lines(nps: pl.DataFrame, period: Period) -> pl.LazyFrame:
    """Responses in or near the period; counted ones say promoter, passive or detractor."""
    score = pl.col("score")
    counted = in_period("responded_on", period)
    kind = (
        pl.when(score >= 9)
        .then(pl.lit("promoter"))
        .when(score <= 6)
        .then(pl.lit("detractor"))
        .otherwise(pl.lit("passive"))
    )
    return (
        nps.lazy()
        .filter(near_period("responded_on", period))
        .with_columns(
            counted.alias("counted"),
            pl.when(counted).then(kind).otherwise(_outside("responded_on", period)).alias("note"),
        )
        .select(NPS_LINE_COLUMNS)
    )


def build_renewal_lines(renewals: pl.DataFrame, period: Period) -> pl.LazyFrame:
    """Renewals due in or near the period; decided ones in the period count."""
    status = pl.col("status")
    counted = decided_renewal(period)
    note = (
        pl.when(~in_period("due_date", period))
        .then(_outside("due_date", period))
        .when(status == RenewalStatus.PENDING)
        .then(pl.lit("pending: not decided yet"))
        .when(status == RenewalStatus.CHURNED)
        .then(pl.lit("churned: renewed amount counts as 0"))
        .otherwise(pl.lit("renewed"))
    )
    return (
        renewals.lazy()
        .filter(near_period("due_date", period))
        .with_columns(counted.alias("counted"), note.alias("note"))
        .select(RENEWAL_LINE_COLUMNS)
    )
