"""The exceptions output: everything finance should look at besides the payouts themselves
(integrity hits, ignored adjustments, pending renewals, quarantined rows)."""

from __future__ import annotations

import polars as pl

from incentcalc.engine.kpis import in_period
from incentcalc.inputs import RenewalStatus
from incentcalc.io.rejected import partners_hit
from incentcalc.periods import Period
from incentcalc.result import EXCEPTION_COLUMNS, LEDGER_NOTE_SCHEMA, ExceptionKind, Status

_SCHEMA = dict.fromkeys(EXCEPTION_COLUMNS, pl.String())


def _shape(frame: pl.DataFrame, kind: ExceptionKind) -> pl.DataFrame:
    """Fill the exceptions columns a frame does not have with nulls, in the fixed order."""
    return frame.with_columns(pl.lit(kind.value).alias("kind")).select(
        [
            (pl.col(c) if c in frame.columns or c == "kind" else pl.lit(None))
            .cast(pl.String)
            .alias(c)
            for c in EXCEPTION_COLUMNS
        ]
    )


def _adjustment_exceptions(
    adjustments: pl.DataFrame, scope: pl.DataFrame, period: Period
) -> list[pl.DataFrame]:
    current = adjustments.filter(pl.col("period") == period.label).join(
        scope.select("partner_id", "scope_status", "scope_reason"), on="partner_id", how="left"
    )
    amount = pl.col("amount").cast(pl.String)
    ignored = current.filter(pl.col("scope_status") == Status.INELIGIBLE).select(
        "partner_id",
        pl.col("adjustment_id").alias("record_id"),
        pl.lit("ineligible partner").alias("rule"),
        pl.lit("ignored").alias("action"),
        pl.format("{} not applied ({}): {}", amount, "scope_reason", "reason").alias("detail"),
    )
    unscoped = current.join(scope.select("partner_id"), on="partner_id", how="anti").select(
        "partner_id",
        pl.col("adjustment_id").alias("record_id"),
        pl.lit("partner not in scope").alias("rule"),
        pl.lit("ignored").alias("action"),
        pl.format(
            "{} not applied: partner not in the program this period: {}", amount, "reason"
        ).alias("detail"),
    )
    return [
        _shape(ignored, ExceptionKind.ADJUSTMENT_IGNORED),
        _shape(unscoped, ExceptionKind.OUT_OF_SCOPE),
    ]


def _pending_renewals(renewals: pl.DataFrame, scope: pl.DataFrame, period: Period) -> pl.DataFrame:
    pending = renewals.filter(
        in_period("due_date", period) & (pl.col("status") == RenewalStatus.PENDING)
    ).join(scope.select("partner_id"), on="partner_id", how="semi")
    return _shape(
        pending.select(
            "partner_id",
            pl.col("contract_id").alias("record_id"),
            pl.lit("pending renewal").alias("rule"),
            pl.lit("not counted").alias("action"),
            pl.format(
                "due {}, original {} {}: not decided, left out of renewal KPIs",
                "due_date",
                "original_amount",
                "currency",
            ).alias("detail"),
        ),
        ExceptionKind.RENEWAL_PENDING,
    )


def _quarantined(rejected: pl.DataFrame) -> pl.DataFrame:
    """One row per row quarantine left out, with its partner_id (whose numbers it is missing
    from), its deal_id for a deals row, `file:row` as record_id and every failure in detail."""
    cell = pl.format(
        "{} {}: {}",
        "column",
        pl.when(pl.col("value").is_null())
        .then(pl.lit("(empty)"))
        .otherwise(pl.format("'{}'", "value")),
        "rule",
    )
    rows = rejected.group_by("source", "file", "row", maintain_order=True).agg(
        pl.col("record_id").first(), pl.col("partner_id").first(), cell.str.join("; ")
    )
    summary = rows.select(
        "partner_id",
        pl.when(pl.col("source") == "deals").then(pl.col("record_id")).alias("deal_id"),
        pl.format("{}:{}", "file", "row").alias("record_id"),
        pl.format("rejected {} row", "source").alias("rule"),
        pl.lit("quarantined").alias("action"),
        pl.format("left out of the calculation: {}", "column").alias("detail"),
    )
    return _shape(summary, ExceptionKind.QUARANTINED)


REJECTED_LINE = "rejected_rows"
"""The `line` of a partner's note (LEDGER_NOTE_SCHEMA) on rows quarantine left out."""


def rejected_notes(rejected: pl.DataFrame) -> pl.DataFrame:
    """One note per partner whose numbers leave out rejected rows (their count in `amount`'s
    place is not money, so it stays null), for that partner's statement and `explain`."""
    return pl.DataFrame(
        [
            {"partner_id": partner, "line": REJECTED_LINE, "amount": None,
             "note": f"{rows} row(s) of your data were set aside by quarantine and are left "
             f"out of this statement until fixed: {listing}"}
            for partner, rows, listing in partners_hit(rejected)
        ],
        schema=LEDGER_NOTE_SCHEMA,
    )  # fmt: skip


def build_exceptions(
    hits: pl.DataFrame,
    adjustments: pl.DataFrame,
    renewals: pl.DataFrame,
    rejected: pl.DataFrame,
    scope: pl.DataFrame,
    period: Period,
    ledger: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """All exception rows, in EXCEPTION_COLUMNS order, sorted for byte-stable output.
    `ledger` holds the clawback and forfeit rows (kind `ledger`), already shaped."""
    parts = [
        _shape(hits, ExceptionKind.INTEGRITY),
        *_adjustment_exceptions(adjustments, scope, period),
        _pending_renewals(renewals, scope, period),
        _quarantined(rejected),
        *([] if ledger is None else [ledger]),
    ]
    order = {kind.value: i for i, kind in enumerate(ExceptionKind)}
    return (
        pl.concat([pl.DataFrame(schema=_SCHEMA), *parts])
        .with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.Int64).alias("_k"))
        .sort("_k", "partner_id", "deal_id", "record_id", "rule", nulls_last=True)
        .drop("_k")
    )
