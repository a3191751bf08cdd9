"""From metric values to KPI scores, composites, tiers and team tiers (RULES.md 5-7).

All comparisons are made on exact rationals (`num / den` with den > 0): a value v passes a
threshold t when num >= t * den, so no quotient is ever rounded before RULES.md says so.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from incentcalc.config import ADDITIVE_METRICS, Metric, ProgramConfig, Rounding, WhenMissing
from incentcalc.money import SCORE, decimal_frame, decimal_lit, exact, round_quotient, round_score
from incentcalc.periods import Period
from incentcalc.result import KPI_COLUMNS

_NUMBER = pl.Decimal(38, 6)

KPI_ROW_COLUMNS = (
    *(column for column in KPI_COLUMNS if column != "period"),
    "curve", "additive", "base_target", "num", "den", "counted_weight", "weight_total",
)  # fmt: skip
"""What `compute_kpi_scores` returns: kpis.csv's columns (`KPI_COLUMNS`; the period is added
when it is written) and the ones the composite, the gates and a progress run's quarter
targets read. The curve parameters and the other intermediate columns are left behind: the
KPI rows live until the run ends, and at 200,000 partners those 16 columns were 0.2 GB."""

MISSING_REASONS = {
    Metric.WIN_RATE: "no counted and no lost deal in the period",
    Metric.AVG_DEAL_SIZE: "no counted deal in the period",
    Metric.GROSS_RENEWAL_RATE: "no decided renewal (or their original amounts sum to 0)",
    Metric.NET_REVENUE_RETENTION: "no decided renewal (or their original amounts sum to 0)",
    Metric.LOGO_RETENTION: "no decided renewal in the period",
}


def _kpi_table(config: ProgramConfig) -> pl.DataFrame:
    """One row per configured KPI with its curve parameters as columns."""
    rows = []
    for order, (name, kpi) in enumerate(config.kpis.items()):
        curve = kpi.score
        attainment, linear = curve.attainment, curve.linear
        rows.append(
            {
                "kpi": name,
                "kpi_order": order,
                "metric": kpi.metric.value,
                "curve": "attainment" if attainment else "linear" if linear else "steps",
                "threshold": attainment.threshold if attainment else None,
                "cap": (attainment.cap if attainment else linear.cap if linear else None),
                "floor": linear.floor if linear else None,
                "linear_target": linear.target if linear else None,
                "min_responses": kpi.min_responses,
                "when_missing": kpi.when_missing.value,
                "additive": kpi.metric in ADDITIVE_METRICS,
            }
        )
    schema = {
        "kpi": pl.String(),
        "kpi_order": pl.Int64(),
        "metric": pl.String(),
        "curve": pl.String(),
        **{k: _NUMBER for k in ("threshold", "cap", "floor", "linear_target")},
        "min_responses": pl.Int64(),
        "when_missing": pl.String(),
        "additive": pl.Boolean(),
    }
    return decimal_frame(rows, schema)


def _weights_table(config: ProgramConfig) -> pl.DataFrame:
    rows = [
        {"segment": seg, "kpi": kpi, "weight": weight}
        for seg, segment in config.segments.items()
        for kpi, weight in segment.weights.items()
    ]
    return decimal_frame(rows, {"segment": pl.String(), "kpi": pl.String(), "weight": _NUMBER})


def _segment_targets(config: ProgramConfig) -> pl.DataFrame:
    rows = [
        {"segment": seg, "kpi": kpi, "segment_target": target}
        for seg, segment in config.segments.items()
        for kpi, target in segment.targets.items()
    ]
    schema = {"segment": pl.String(), "kpi": pl.String(), "segment_target": _NUMBER}
    return decimal_frame(rows, schema)


def tiers_table(config: ProgramConfig) -> pl.DataFrame:
    """Tiers as a frame: tier_index, tier, min_score, rate, fixed (ascending)."""
    rows = [
        {
            "tier_index": i,
            "tier": t.name,
            "min_score": t.min_score,
            "rate": t.rate,
            "fixed": t.fixed,
        }
        for i, t in enumerate(config.tiers)
    ]
    schema = {
        "tier_index": pl.Int64(),
        "tier": pl.String(),
        "min_score": _NUMBER,
        "rate": _NUMBER,
        "fixed": pl.Decimal(38, 2),
    }
    return decimal_frame(rows, schema)


def gates_table(config: ProgramConfig) -> pl.DataFrame:
    """Tier gates as a frame: tier_index, tier, kpi, minimum (one row per `requires` entry)."""
    rows = [
        {"tier_index": i, "tier": t.name, "kpi": kpi, "minimum": minimum}
        for i, t in enumerate(config.tiers)
        for kpi, minimum in t.requires.items()
    ]
    schema = {"tier_index": pl.Int64(), "tier": pl.String(), "kpi": pl.String(), "minimum": _NUMBER}
    return decimal_frame(rows, schema)


def _attainment_score(a_num: pl.Expr, a_den: pl.Expr) -> pl.Expr:
    """`score` = 0 if a < threshold else min(a, cap), a = a_num / a_den.

    Revenue 96,000, 40,000 and 200,000 against a 100,000 target, threshold 0.5, cap 1.5:

    >>> kpis = pl.DataFrame(
    ...     {"num": [96000, 40000, 200000], "den": [100000] * 3, "threshold": ["0.5"] * 3,
    ...      "cap": ["1.5"] * 3}
    ... ).with_columns(pl.all().cast(pl.Decimal(38, 6)))
    >>> score = _attainment_score(pl.col("num"), pl.col("den"))
    >>> [str(s) for s in kpis.select(score).to_series()]
    ['0.9600', '0.0000', '1.5000']
    """
    cap = pl.col("cap")
    capped = pl.when(cap.is_not_null() & (a_num >= exact(cap) * a_den)).then(exact(cap) * a_den)
    return (
        pl.when(a_num < exact(pl.col("threshold")) * a_den)
        .then(pl.lit(0).cast(SCORE))
        .otherwise(round_score(capped.otherwise(a_num), a_den))
    )


def _linear_score() -> pl.Expr:
    """clamp((v - floor) / (target - floor), 0, cap) with v = num / den.

    NPS 35, -10 and 80 on a line from floor 0 to target 50, cap 1.2:

    >>> nps = pl.DataFrame(
    ...     {"num": [35, -10, 80], "den": [1] * 3, "floor": [0] * 3, "linear_target": [50] * 3,
    ...      "cap": ["1.2"] * 3}
    ... ).with_columns(pl.all().cast(pl.Decimal(38, 6)))
    >>> [str(s) for s in nps.select(_linear_score()).to_series()]
    ['0.7000', '0.0000', '1.2000']
    """
    x_num = exact(pl.col("num")) - exact(pl.col("floor")) * pl.col("den")
    x_den = exact(pl.col("den")) * (exact(pl.col("linear_target")) - pl.col("floor"))
    cap = pl.col("cap")
    capped = pl.when(cap.is_not_null() & (x_num >= exact(cap) * x_den)).then(exact(cap) * x_den)
    return (
        pl.when(x_num <= 0)
        .then(pl.lit(0).cast(SCORE))
        .otherwise(round_score(capped.otherwise(x_num), x_den))
    )


def compute_kpi_scores(
    scope: pl.DataFrame,
    metrics: pl.DataFrame,
    targets: pl.DataFrame,
    config: ProgramConfig,
    period: Period,
) -> pl.DataFrame:
    """One row per (in-scope partner, KPI): value, target, attainment, score, weights
    (KPI_ROW_COLUMNS).

    Attainment targets come from the targets file row for (partner, period, kpi), else the
    segment default; for additive metrics they are prorated by active days. Example: revenue
    40,000 against 100,000 * 46/92 = 50,000 scores 0.8.
    """
    kpis = _kpi_table(config).lazy()
    file_targets = (
        targets.lazy()
        .filter(pl.col("period") == period.label)
        .select("partner_id", "kpi", pl.col("target").cast(_NUMBER).alias("file_target"))
    )
    used_metrics = metrics.lazy().filter(
        pl.col("metric").is_in([kpi.metric.value for kpi in config.kpis.values()])
    )
    rows = (
        scope.lazy()
        .select("partner_id", "segment", "active_days")
        .with_row_index(_PARTNER)
        .join(kpis, how="cross")
        .join(used_metrics, on=["partner_id", "metric"], how="left")
        .join(file_targets, on=["partner_id", "kpi"], how="left")
        .join(_segment_targets(config).lazy(), on=["segment", "kpi"], how="left")
        .join(_weights_table(config).lazy(), on=["segment", "kpi"], how="left")
        .with_columns(
            pl.col("weight").fill_null(0),
            pl.coalesce("file_target", "segment_target").alias("base_target"),
            (pl.col("additive") & (pl.col("active_days") < period.days)).alias("prorated"),
        )
    )
    too_few = (pl.col("metric") == Metric.NPS) & (pl.col("responses") < pl.col("min_responses"))
    common = (
        rows.with_columns(
            (~pl.col("available") | too_few).alias("missing"),
            pl.when(too_few)
            .then(
                pl.format("{} responses, fewer than min_responses {}", "responses", "min_responses")
            )
            .when(~pl.col("available"))
            .then(pl.col("metric").replace_strict(MISSING_REASONS, default="no data in the period"))
            .alias("missing_reason"),
        )
        .sort(_PARTNER, "kpi_order")
        .collect(engine="in-memory")
    )
    scored = common.hstack(_curve_columns(common, config, period)).lazy()
    scored = scored.with_columns(
        pl.when(pl.col("missing"))
        .then(pl.when(pl.col("when_missing") == WhenMissing.ZERO).then(pl.lit(0).cast(SCORE)))
        .when(pl.col("curve") == "steps")
        .then(pl.col("step_score").fill_null(0).cast(SCORE))
        .otherwise(pl.col("curve_score").cast(SCORE))
        .alias("score"),
        round_quotient(pl.col("num"), pl.col("den"), 4, Rounding.HALF_UP).alias("value"),
    )
    # One lazy query so that common subexpressions (the exact quotients) are computed once;
    # the in-memory engine, as eager frames use: it is faster on these 100k rows and keeps
    # the engine's results off the streaming engine's code paths.
    return _with_weights(scored).select(KPI_ROW_COLUMNS).collect(engine="in-memory")


def _curve_columns(rows: pl.DataFrame, config: ProgramConfig, period: Period) -> pl.DataFrame:
    """_CURVE_COLUMNS for `rows`, in their order. Each curve's columns are computed on its own
    rows and on the few columns they read: a when/then over every curve would compute all of
    them (and their exact quotients) on every row."""
    position = "_position"
    inputs = rows.lazy().select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(position),
        "kpi", "curve", "num", "den", "available", "prorated", "active_days", "base_target",
        "threshold", "cap", "floor", "linear_target",
    )  # fmt: skip
    curve = pl.col("curve")
    return (
        pl.concat(
            [
                _attainment_rows(inputs.filter(curve == "attainment"), period),
                _curve_rows(inputs.filter(curve == "linear"), curve_score=_linear_score()),
                _curve_rows(inputs.filter(curve == "steps"), step_score=_step_score(config)),
            ]
        )
        .sort(position)
        .select(_CURVE_COLUMNS)
        .collect(engine="in-memory")
    )


_PARTNER = "_partner"
"""The partner's position in the scope, which is sorted by partner_id: grouping and sorting
the KPI rows on it gives partner_id order at an integer's cost."""

_CURVE_COLUMNS = ("target", "attainment", "curve_score", "step_score")
"""What the curves add to a KPI row (SCORE; null where the curve has none), in this order."""


def _curve_rows(rows: pl.LazyFrame, **columns: pl.Expr) -> pl.LazyFrame:
    """`rows` with the curve columns: those given, the others null."""
    return rows.with_columns(
        columns.get(name, pl.lit(None)).cast(SCORE).alias(name) for name in _CURVE_COLUMNS
    )


def _attainment_rows(rows: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    """Attainment KPI rows with their (prorated) target, attainment and curve score."""
    prorate = pl.col("prorated")
    days, active = pl.lit(period.days), pl.col("active_days")
    a_num = exact(pl.col("num")) * pl.when(prorate).then(days).otherwise(1)
    a_den = (
        exact(pl.col("den")) * pl.col("base_target") * pl.when(prorate).then(active).otherwise(1)
    )
    return _curve_rows(
        rows,
        target=_shown_target(prorate, active, period),
        attainment=pl.when(pl.col("available")).then(round_score(a_num, a_den)),
        curve_score=_attainment_score(a_num, a_den),
    )


def _step_score(config: ProgramConfig) -> pl.Expr:
    """A steps KPI's score: that of the last step whose min_value <= value (num >=
    min_value * den), null below the first step."""

    def reached(bound: Decimal) -> pl.Expr:
        return exact(pl.col("num")) >= exact(decimal_lit(bound, _NUMBER)) * pl.col("den")

    steps = [
        pl.when((pl.col("kpi") == name) & reached(bound)).then(_step_value(score))
        for name, kpi in config.kpis.items()
        for bound, score in reversed(kpi.score.steps or [])
    ]
    return pl.coalesce(steps) if steps else pl.lit(None)


def _step_value(score: Decimal) -> pl.Expr:
    return round_score(decimal_lit(score, _NUMBER), pl.lit(1))


def _shown_target(prorate: pl.Expr, active: pl.Expr, period: Period) -> pl.Expr:
    """An attainment KPI's target as reported (4 places, half up): base_target, times
    active / period days where `prorate`; null for the other curves."""
    days = pl.lit(period.days)
    return pl.when(pl.col("curve") == "attainment").then(
        round_quotient(
            exact(pl.col("base_target")) * pl.when(prorate).then(active).otherwise(1),
            pl.when(prorate).then(days).otherwise(1),
            4,
            Rounding.HALF_UP,
        )
    )


def quarter_targets(kpi_rows: pl.DataFrame, scope: pl.DataFrame, period: Period) -> pl.DataFrame:
    """partner_id, kpi, quarter_target: a progress run's attainment targets for the whole
    quarter (RULES.md 12), what its statements measure "by the period's end" against. An
    additive target is prorated by the days the partner is active up to the quarter's end
    (not to the as-of day), as the ordinary run of the quarter will. Example: 100,000 for a
    partner active all quarter, while the progress run as of day 46 of 92 scores 50,000."""
    start, end = pl.lit(period.start), pl.lit(period.end)
    active = (
        pl.min_horizontal(pl.col("left_on").fill_null(end), end)
        - pl.max_horizontal(pl.col("joined_on"), start)
    ).dt.total_days() + 1
    prorate = pl.col("additive") & (pl.col("quarter_active") < period.days)
    return (
        kpi_rows.filter(pl.col("curve") == "attainment")
        .select("partner_id", "kpi", "additive", "curve", "base_target")
        .join(scope.select("partner_id", active.alias("quarter_active")), on="partner_id")
        .select(
            "partner_id",
            "kpi",
            _shown_target(prorate, pl.col("quarter_active"), period).alias("quarter_target"),
        )
    )


def _with_weights(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Renormalise weights over KPIs that are not dropped (neutral + missing) and add the
    composite's parts: weight_used and contribution."""
    dropped = pl.col("missing") & (pl.col("when_missing") == WhenMissing.NEUTRAL)
    included = (pl.col("weight") > 0) & ~dropped
    rows = rows.with_columns(
        pl.when(included).then(pl.col("weight")).otherwise(0).alias("counted_weight"),
    ).with_columns(pl.col("counted_weight").sum().over(_PARTNER).alias("weight_total"))
    total = pl.col("weight_total")
    return rows.with_columns(
        pl.when(total > 0)
        .then(round_quotient(pl.col("counted_weight"), total, 6, Rounding.HALF_UP))
        .otherwise(0)
        .cast(_NUMBER)
        .alias("weight_used"),
        pl.when((total > 0) & included)
        .then(
            round_quotient(
                exact(pl.col("counted_weight")) * pl.col("score"), total, 4, Rounding.HALF_UP
            )
        )
        .otherwise(0)
        .cast(SCORE)
        .alias("contribution"),
    )
