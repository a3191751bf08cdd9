"""Composite score, tier with gates, and team tier (RULES.md 6 and 7)."""

from __future__ import annotations

import polars as pl

from incentcalc.config import ProgramConfig
from incentcalc.engine.scoring import gates_table, tiers_table
from incentcalc.money import SCORE, exact, round_score
from incentcalc.result import Status


def compute_composites(kpi_rows: pl.DataFrame) -> pl.DataFrame:
    """partner_id -> composite = sum(w * score) / sum(w) over KPIs not dropped, 4 places half up;
    0 when every KPI is dropped. Example: (0.6 * 1.15 + 0.2 * 0.8 + 0.2 * 0) / 1 = 0.85.

    >>> kpis = pl.DataFrame(
    ...     {"partner_id": ["P1"] * 3, "counted_weight": ["0.6", "0.2", "0.2"],
    ...      "score": ["1.15", "0.8", "0"], "weight_total": ["1"] * 3}
    ... ).with_columns(pl.exclude("partner_id").cast(pl.Decimal(38, 4)))
    >>> compute_composites(kpis).rows()
    [('P1', Decimal('0.8500'))]
    """
    return (
        kpi_rows.group_by("partner_id")
        .agg(
            (exact(pl.col("counted_weight")) * pl.col("score")).sum().alias("weighted"),
            pl.col("weight_total").first(),
        )
        .with_columns(
            pl.when(pl.col("weight_total") > 0)
            .then(round_score(pl.col("weighted"), pl.col("weight_total")))
            .otherwise(pl.lit(0).cast(SCORE))
            .alias("composite_score")
        )
        .select("partner_id", "composite_score")
    )


def _failed_gates(kpi_rows: pl.DataFrame, config: ProgramConfig) -> pl.DataFrame:
    """(partner, tier, gate) for every gate that fails, with its `gate_note`: a gate passes
    when the raw KPI value >= minimum; missing fails. The note is written for the failed
    gates only."""
    values = kpi_rows.select("partner_id", "kpi", "num", "den", "missing", "value")
    passed = ~pl.col("missing") & (exact(pl.col("num")) >= exact(pl.col("minimum")) * pl.col("den"))
    return (
        gates_table(config)
        .join(values, on="kpi")
        .filter(~passed)
        .with_columns(
            pl.format(
                "{} requires {} >= {} (value {})",
                "tier",
                "kpi",
                pl.col("minimum").cast(pl.String).str.replace(r"\.?0+$", ""),
                pl.when(pl.col("missing"))
                .then(pl.lit("missing"))
                .otherwise(pl.col("value").cast(pl.String)),
            ).alias("gate_note"),
        )
    )


def assign_tiers(
    composites: pl.DataFrame, kpi_rows: pl.DataFrame, config: ProgramConfig
) -> pl.DataFrame:
    """partner_id -> tier_index, tier, blocked_by: the highest tier whose min_score <= composite
    and whose gates all pass. `blocked_by` lists failed gates of tiers the score reached.

    Example: composite 0.9375 reaches Gold (0.9) but Gold requires nps >= 30 and NPS is
    missing, so the tier is Silver and blocked_by names the NPS gate.
    """
    tiers = tiers_table(config).select("tier_index", "tier", "min_score")
    reached = composites.join(tiers, how="cross").filter(
        pl.col("min_score") <= pl.col("composite_score")
    )
    failed = _failed_gates(kpi_rows, config)
    qualified = reached.join(failed, on=["partner_id", "tier_index"], how="anti")
    best = qualified.group_by("partner_id").agg(pl.col("tier_index").max())
    blocked = (
        failed.join(reached.select("partner_id", "tier_index"), on=["partner_id", "tier_index"])
        .join(best.rename({"tier_index": "best"}), on="partner_id")
        .filter(pl.col("tier_index") > pl.col("best"))
        .sort("tier_index", "kpi")
        .group_by("partner_id")
        .agg(pl.col("gate_note").str.join("; ").alias("blocked_by"))
    )
    return (
        best.join(tiers.select("tier_index", "tier"), on="tier_index")
        .join(blocked, on="partner_id", how="left")
        .select("partner_id", "tier_index", "tier", "blocked_by")
    )


def assign_team_tiers(partners: pl.DataFrame, config: ProgramConfig) -> pl.DataFrame:
    """Add team_score and team_tier_index/team_tier to `partners`.

    `partners` needs partner_id, team_id, scope_status, composite_score, bonus_base and
    tier_index. Members are partners with a team_id that are not ineligible; the team score is
    the members' composites weighted by bonus base (plain mean when every base is 0), 4 places
    half up; the team tier ignores gates. Others keep their own composite and tier.
    Example: T1 = (0.85 * 115,000 + 1.38 * 150,000 + 0.80 * 80,000) / 345,000 = 1.0688.
    """
    member = (
        pl.col("team_id").is_not_null()
        & (pl.col("team_id") != "")
        & (pl.col("scope_status").fill_null("") != Status.INELIGIBLE)
    )
    teams = (
        partners.filter(member)
        .group_by("team_id")
        .agg(
            (exact(pl.col("composite_score")) * pl.col("bonus_base")).sum().alias("weighted"),
            pl.col("bonus_base").sum().alias("base_total"),
            pl.col("composite_score").sum().alias("score_total"),
            pl.len().cast(pl.Int64).alias("members"),
        )
        .select(
            "team_id",
            pl.when(pl.col("base_total") > 0)
            .then(round_score(pl.col("weighted"), pl.col("base_total")))
            .otherwise(round_score(pl.col("score_total"), pl.col("members")))
            .alias("team_only_score"),
        )
    )
    tiers = tiers_table(config).select("tier_index", "tier", "min_score")
    team_tiers = (
        teams.join(tiers, how="cross")
        .filter(pl.col("min_score") <= pl.col("team_only_score"))
        .group_by("team_id", "team_only_score")
        .agg(pl.col("tier_index").max().alias("team_only_tier"))
    )
    joined = partners.join(team_tiers, on="team_id", how="left")
    is_member = member & pl.col("team_only_score").is_not_null()
    return (
        joined.with_columns(
            pl.when(is_member)
            .then(pl.col("team_only_score"))
            .otherwise(pl.col("composite_score"))
            .alias("team_score"),
            pl.when(is_member)
            .then(pl.col("team_only_tier"))
            .otherwise(pl.col("tier_index"))
            .alias("team_tier_index"),
        )
        .drop("team_only_score", "team_only_tier")
        .join(
            tiers.select(
                pl.col("tier_index").alias("team_tier_index"), pl.col("tier").alias("team_tier")
            ),
            on="team_tier_index",
            how="left",
        )
    )
