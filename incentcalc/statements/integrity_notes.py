"""Integrity hits in words a partner reads on the Deals sheet.

The rule names, actions and thresholds ("registration (exclude): registered 2026-08-02, after
the close date 2026-08-01") are finance's vocabulary and stay in exceptions.csv and
summary.xlsx; a partner reads what happened to the deal ("registered after it closed: not
counted"). One phrase per rule and one consequence per action, joined with Polars.
"""

from __future__ import annotations

import polars as pl

from incentcalc.config import Action
from incentcalc.engine.integrity import Rule

RULE_WORDS: dict[str, str] = {
    Rule.DUPLICATE_DEALS: "entered twice (a duplicate of another deal)",
    Rule.REGISTRATION: "registered after it closed",
    Rule.QUARTER_END_SPIKE: "booked in the last days of the quarter",
    Rule.REVERSAL: "cancelled soon after it closed",
}
UNREGISTERED = "not registered before it closed"
"""The registration rule's words when the deal has no registration date at all."""

ACTION_WORDS: dict[str, str] = {
    Action.EXCLUDE: "not counted",
    Action.HOLD: "payment held for review",
    Action.FLAG: "still counted, under review",
}


def partner_hit_notes(hits: pl.LazyFrame) -> pl.LazyFrame:
    """deal_id -> `hit_note`: every integrity hit on the deal in partner words, "; "-joined.

    `hits` has deal_id, rule, action and detail (exceptions.csv's integrity rows)."""
    rule = pl.col("rule").cast(pl.String)
    words = (
        pl.when((rule == Rule.REGISTRATION) & pl.col("detail").str.starts_with("no registration"))
        .then(pl.lit(UNREGISTERED))
        .otherwise(rule.replace_strict(RULE_WORDS, default=rule))
    )
    consequence = pl.col("action").cast(pl.String).replace_strict(ACTION_WORDS, default="")
    return hits.group_by("deal_id").agg(
        pl.format("{}: {}", words, consequence).str.join("; ").alias("hit_note")
    )


def partner_deal_note(note: pl.Expr, hit_note: pl.Expr) -> pl.Expr:
    """The deal's note with its hits in partner words: "counted" or "excluded" (which the
    hit words already say) give way to them; other notes ("outside the period: ...") keep
    their first part and gain the hits."""
    plain = note.str.split("; ").list.first()
    return (
        pl.when(hit_note.is_null())
        .then(plain)
        .when(plain.is_in(["counted", "excluded"]))
        .then(hit_note)
        .otherwise(pl.format("{}; {}", plain, hit_note))
    )
