"""The money a period takes over from closed ones (RULES.md 11.3-11.5, 11.8): carried_in,
holdback_released and clawback per partner, or, for a partner that is ineligible or out of
scope in P, the forfeits and unrecovered clawbacks recorded instead.

Every amount starts as one `source` row (partner, line, amount, where it came from), so the
payout columns, the ledger lines, the exceptions and explain's notes all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from incentcalc.config import ProgramConfig, SourceName
from incentcalc.engine.clawbacks import match_clawbacks
from incentcalc.history import History
from incentcalc.inputs import Inputs
from incentcalc.money import MONEY
from incentcalc.periods import Period
from incentcalc.result import (
    EXCEPTION_COLUMNS,
    LEDGER_LINE_COLUMNS,
    LEDGER_LINE_SCHEMA,
    LEDGER_NOTE_SCHEMA,
    ExceptionKind,
    LedgerLineKind,
    Status,
)

_SOURCE_SCHEMA: dict[str, pl.DataType] = {
    **LEDGER_NOTE_SCHEMA,
    "from_period": pl.String(),
    "deal_id": pl.String(),
    "deal_period": pl.String(),
    "cancellation_deal_id": pl.String(),
    "cancelled_on": pl.Date(),
}

_FORFEIT_KIND = {
    "carried_in": LedgerLineKind.FORFEITED_CARRY.value,
    "holdback_released": LedgerLineKind.FORFEITED_HOLDBACK.value,
    "clawback": LedgerLineKind.UNRECOVERED_CLAWBACK.value,
}

_ACTION = {
    LedgerLineKind.CLAWBACK.value: "clawed back",
    LedgerLineKind.FORFEITED_CARRY.value: "forfeited",
    LedgerLineKind.FORFEITED_HOLDBACK.value: "forfeited",
    LedgerLineKind.UNRECOVERED_CLAWBACK.value: "not recovered",
}


@dataclass(frozen=True)
class Balances:
    """What the closed periods hand to P: `columns` (partner_id and the ledger columns but
    loyalty, for partners paid in P), `lines` (LEDGER_LINE_SCHEMA), `exceptions`
    (EXCEPTION_COLUMNS, kind `ledger`) and `notes` (LEDGER_NOTE_SCHEMA)."""

    columns: pl.DataFrame
    lines: pl.DataFrame
    exceptions: pl.DataFrame
    notes: pl.DataFrame


def _carry_sources(history: History, period: Period) -> pl.DataFrame:
    """carried_in = the partner's carried_forward in the entry of P-1 (11.3)."""
    previous = history.previous(period)
    if previous is None:
        return pl.DataFrame(schema=_SOURCE_SCHEMA)
    label = previous.period.label
    return previous.payouts.filter(pl.col("carried_forward") != 0).select(
        "partner_id",
        pl.lit("carried_in").alias("line"),
        pl.col("carried_forward").alias("amount"),
        pl.format("carried in from {} (status {} there)", pl.lit(label), "status").alias("note"),
        pl.lit(label).alias("from_period"),
    )


def _holdback_sources(history: History, period: Period) -> pl.DataFrame:
    """holdback_released = the stored holdbacks whose release period is P (11.4)."""
    frames = [
        entry.payouts.filter(pl.col("holdback") != 0).select(
            "partner_id",
            pl.lit("holdback_released").alias("line"),
            pl.col("holdback").alias("amount"),
            pl.lit(
                f"holdback of {entry.period.label} released "
                f"({entry.holdback_release_after} quarter(s) later)"
            ).alias("note"),
            pl.lit(entry.period.label).alias("from_period"),
        )
        for entry in history.entries
        if entry.release_period == period
    ]
    return pl.concat([pl.DataFrame(schema=_SOURCE_SCHEMA), *frames], how="diagonal_relaxed")


def _clawback_sources(
    inputs: Inputs, history: History, config: ProgramConfig, period: Period
) -> pl.DataFrame:
    matched = match_clawbacks(
        inputs[SourceName.DEALS], history, config.payout.clawback_within_days, period
    )
    days = (pl.col("cancelled_on") - pl.col("close_date")).dt.total_days()
    return matched.select(
        "partner_id",
        pl.lit("clawback").alias("line"),
        "amount",
        pl.format(
            "deal {} of {} (closed {}) clawed back: cancelled by {} on {}, {} days after closing",
            "deal_id", "deal_period", "close_date", "cancellation_deal_id", "cancelled_on", days,
        ).alias("note"),
        pl.col("deal_period").alias("from_period"),
        "deal_id",
        "deal_period",
        "cancellation_deal_id",
        "cancelled_on",
    )  # fmt: skip


def compute_balances(
    scope: pl.DataFrame,
    inputs: Inputs,
    history: History,
    config: ProgramConfig,
    period: Period,
) -> Balances:
    """carried_in, holdback_released and clawback of every partner paid in P, and the
    forfeits of the others (RULES.md 11.3-11.5, 11.8).

    `scope` has partner_id, scope_status, scope_reason of the partners in scope for P.
    Example: L6 leaves during 2026Q2 (ineligible): its 400.00 holdback of 2026Q1 due in
    2026Q2 becomes a `forfeited_holdback` line instead of holdback_released.
    """
    sources = pl.concat(
        [
            pl.DataFrame(schema=_SOURCE_SCHEMA),
            _carry_sources(history, period),
            _holdback_sources(history, period),
            _clawback_sources(inputs, history, config, period),
        ],
        how="diagonal_relaxed",
    ).join(scope.select("partner_id", "scope_status", "scope_reason"), on="partner_id", how="left")
    in_scope = pl.col("partner_id").is_in(scope["partner_id"].implode())
    paid = in_scope & (pl.col("scope_status").fill_null("") != Status.INELIGIBLE)
    kept, lost = sources.filter(paid), sources.filter(~paid)
    columns = kept.group_by("partner_id").agg(
        pl.col("amount").filter(pl.col("line") == line).sum().cast(MONEY).alias(line)
        for line in LEDGER_LINE_COLUMNS
        if line != "loyalty_bonus"
    )
    why = (
        pl.when(in_scope)
        .then(pl.format("ineligible in {} ({})", pl.lit(period.label), "scope_reason"))
        .otherwise(pl.lit(f"not in scope in {period.label}"))
    )
    clawed = kept.filter(pl.col("line") == "clawback").with_columns(
        pl.lit(LedgerLineKind.CLAWBACK.value).alias("kind"),
        pl.format("{}; {}", "note", "amount").alias("detail"),
    )
    forfeits = (
        lost.with_columns(
            pl.col("line").replace_strict(_FORFEIT_KIND).alias("kind"),
            why.alias("why"),
            pl.when(pl.col("line") == "holdback_released")
            .then(
                pl.format(
                    "holdback of {} due for release in {}", "from_period", pl.lit(period.label)
                )
            )
            .otherwise("note")
            .alias("note"),
        )
        .group_by("partner_id", "kind", "deal_id", maintain_order=True)
        .agg(
            pl.col("amount").sum(),
            pl.col("note").str.join("; "),
            *(
                pl.col(c).first()
                for c in ("why", "deal_period", "cancellation_deal_id", "cancelled_on")
            ),
        )
        .with_columns(
            pl.format(
                "{}; {} {}: the partner is {}",
                "note",
                "amount",
                pl.col("kind").replace_strict(_ACTION),
                "why",
            ).alias("detail")
        )
    )
    recorded = pl.concat([clawed, forfeits], how="diagonal_relaxed").sort(
        "partner_id", "kind", "deal_id", nulls_last=True
    )
    lines = recorded.with_columns(pl.lit(period.label).alias("period")).select(
        pl.col(c).cast(t) for c, t in LEDGER_LINE_SCHEMA.items()
    )
    exceptions = recorded.select(
        pl.lit(ExceptionKind.LEDGER.value).alias("kind"),
        "partner_id",
        "deal_id",
        pl.col("cancellation_deal_id").alias("record_id"),
        pl.col("kind").alias("rule"),
        pl.col("kind").replace_strict(_ACTION).alias("action"),
        "detail",
    ).select(pl.col(c).cast(pl.String) for c in EXCEPTION_COLUMNS)
    notes = kept.select(pl.col(c).cast(t) for c, t in LEDGER_NOTE_SCHEMA.items())
    return Balances(columns, lines, exceptions, notes)
