"""Compare two calculated quarters partner by partner: the logic behind `incentcalc diff`.

Ops dry-run a rule change by calculating the same quarter under a baseline and a candidate
config and asking: what does it cost, who gains, who loses, who changes tier? Everything
here is pure Polars on payout frames (PAYOUT_COLUMNS), so it is tested on tiny literal
frames and does not care whether the baseline was just calculated or read back from a
previous `run` (`--baseline-run`).

Joining rule: the two sides are joined on partner_id (full join). Both sides normally hold
the same partners, because scope depends only on the partner master and the period. When
the configs read different sources a partner may exist on one side only: its money on the
missing side counts as 0.00 and its tier there is empty, so totals still add up.

Pilot cohort (`--partners`, `--partners-file`): each side is calculated on its own config for
everybody (budget scaling included), then the candidate figures are kept only for cohort
partners; every other partner keeps its baseline figures. The mixed candidate total is therefore
baseline (outside the cohort) + candidate (inside), and with a budget it may exceed the
budget: the budget was applied to the candidate's whole population, not to the mix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path

import polars as pl

from incentcalc.config import Rounding
from incentcalc.errors import UsageError
from incentcalc.money import MONEY, SCORE, round_quotient
from incentcalc.reports.config_diff import ConfigChange
from incentcalc.result import (
    BudgetUse,
    Status,
)

DIFF_COLUMNS = (
    "partner_id", "name", "segment", "region", "baseline_tier", "candidate_tier",
    "baseline_composite", "candidate_composite", "baseline_gross", "candidate_gross",
    "delta_gross", "baseline_payable", "candidate_payable", "delta_payable",
)  # fmt: skip
"""diff.csv, in issue #5's order: one row per partner, sorted by partner_id."""

ROW_EXTRA_COLUMNS = ("in_cohort", "movement")
"""Kept on `ProgramDiff.rows` after DIFF_COLUMNS for grouping; not written to diff.csv."""

GROUP_COLUMNS = (
    "partners", "up", "down", "unchanged", "baseline_gross", "candidate_gross", "delta_gross",
    "baseline_payable", "candidate_payable", "delta_payable", "pct_payable",
)  # fmt: skip
"""Columns of every per-group change table (segment, region), after the group key."""

MIGRATION_COLUMNS = ("baseline_tier", "candidate_tier", "partners")
"""Tier migration matrix in long form: one row per (baseline tier, candidate tier) pair seen."""

TOP_MOVERS = 10
"""How many largest gains and losses the report lists."""

PERCENT_PLACES = Decimal("0.1")
"""Percent changes are display figures: exact Decimal quotients rounded to 0.1, half up."""

COHORT_COLUMN = "partner_id"
"""The one column a `--partners` pilot-cohort CSV must have."""

ABSENT_TIER = "(none)"
"""How a missing tier (partner absent on one side) is shown in the migration matrix."""

_VIEW_COLUMNS = (
    "partner_id", "partner_name", "segment", "region", "tier", "composite_score",
    "gross", "payable",
)  # fmt: skip
"""The payout columns a comparison needs."""


class Movement(StrEnum):
    """How a partner's payable moved from baseline to candidate."""

    UP = "up"
    DOWN = "down"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Totals:
    """Sums of one side's payout rows."""

    partners: int
    gross: Decimal
    payable: Decimal


@dataclass(frozen=True)
class Change:
    """Candidate minus baseline, in money and percent (percent None when the baseline is 0)."""

    gross: Decimal
    payable: Decimal
    pct_gross: Decimal | None
    pct_payable: Decimal | None

    @classmethod
    def between(cls, baseline: Totals, candidate: Totals) -> Change:
        """The change from `baseline` to `candidate`.

        >>> Change.between(Totals(1, Decimal("200.00"), Decimal("100.00")),
        ...                Totals(1, Decimal("250.00"), Decimal("90.00"))).pct_payable
        Decimal('-10.0')
        """
        gross = candidate.gross - baseline.gross
        payable = candidate.payable - baseline.payable
        return cls(
            gross, payable, percent(gross, baseline.gross), percent(payable, baseline.payable)
        )


@dataclass(frozen=True)
class Side:
    """One side of the comparison: where it came from, its totals and its budget use."""

    label: str
    totals: Totals
    budget: BudgetUse


@dataclass(frozen=True)
class Cohort:
    """A pilot cohort: who was asked for, who was found in scope, and the cohort-only totals
    (everybody else's change is 0 by construction, so the total effect equals the cohort's)."""

    requested: int
    matched: int
    unknown: tuple[str, ...]
    totals_baseline: Totals
    totals_candidate: Totals

    @property
    def change(self) -> Change:
        return Change.between(self.totals_baseline, self.totals_candidate)


@dataclass(frozen=True)
class ProgramDiff:
    """Everything the diff report, diff.csv, diff.xlsx and `--json` are rendered from.

    `baseline.totals` and `candidate.totals` are over all partners; with a pilot cohort the
    candidate side is the mix (see the module docstring) and `cohort` holds the cohort-only
    figures. `candidate.budget` is always the candidate config's own budget use on its
    whole population.
    """

    period: str
    baseline: Side
    candidate: Side
    rows: pl.DataFrame
    counts: dict[Movement, int]
    migration: pl.DataFrame
    tier_order: tuple[str, ...]
    gains: pl.DataFrame
    losses: pl.DataFrame
    by_segment: pl.DataFrame
    by_region: pl.DataFrame
    config_changes: tuple[ConfigChange, ...] = ()
    cohort: Cohort | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def change(self) -> Change:
        return Change.between(self.baseline.totals, self.candidate.totals)

    @property
    def diff_rows(self) -> pl.DataFrame:
        """The rows of diff.csv, exactly DIFF_COLUMNS."""
        return self.rows.select(DIFF_COLUMNS)


def percent(delta: Decimal, base: Decimal) -> Decimal | None:
    """delta as a percent of base, to 0.1 half up; None when base is 0 (no meaningful %).

    >>> percent(Decimal("1.00"), Decimal("3.00"))
    Decimal('33.3')
    """
    if base == 0:
        return None
    return (delta * 100 / base).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def compare_payouts(
    baseline: pl.DataFrame, candidate: pl.DataFrame, *, cohort: Iterable[str] | None = None
) -> pl.DataFrame:
    """One row per partner: DIFF_COLUMNS + `in_cohort` + `movement`, sorted by partner_id.

    With `cohort`, partners outside it keep their baseline figures on the candidate side
    (their delta is 0). `movement` compares payable: up, down or unchanged.
    """
    left = _view(baseline).rename(lambda c: c if c == "partner_id" else f"b_{c}")
    right = _view(candidate).rename(lambda c: c if c == "partner_id" else f"c_{c}")
    joined = left.join(right, on="partner_id", how="full", coalesce=True)
    if cohort is None:
        in_cohort = pl.lit(True)
    else:
        in_cohort = pl.col("partner_id").is_in(pl.Series(list(cohort), dtype=pl.String).implode())

    def side(name: str, *, money: bool = False) -> tuple[pl.Expr, pl.Expr]:
        base = pl.col(f"b_{name}")
        cand = pl.col(f"c_{name}")
        if money:
            base, cand = base.fill_null(0).cast(MONEY), cand.fill_null(0).cast(MONEY)
        return base, pl.when(pl.col("in_cohort")).then(cand).otherwise(base)

    b_tier, c_tier = side("tier")
    b_comp, c_comp = side("composite_score")
    b_gross, c_gross = side("gross", money=True)
    b_pay, c_pay = side("payable", money=True)
    rows = joined.with_columns(in_cohort.alias("in_cohort")).select(
        "partner_id",
        pl.coalesce("b_partner_name", "c_partner_name").alias("name"),
        pl.coalesce("b_segment", "c_segment").alias("segment"),
        pl.coalesce("b_region", "c_region").alias("region"),
        b_tier.alias("baseline_tier"),
        c_tier.alias("candidate_tier"),
        b_comp.alias("baseline_composite"),
        c_comp.alias("candidate_composite"),
        b_gross.alias("baseline_gross"),
        c_gross.alias("candidate_gross"),
        b_pay.alias("baseline_payable"),
        c_pay.alias("candidate_payable"),
        "in_cohort",
    )
    delta_pay = pl.col("candidate_payable") - pl.col("baseline_payable")
    movement = (
        pl.when(delta_pay > 0)
        .then(pl.lit(Movement.UP.value))
        .when(delta_pay < 0)
        .then(pl.lit(Movement.DOWN.value))
        .otherwise(pl.lit(Movement.UNCHANGED.value))
    )
    return (
        rows.with_columns(
            (pl.col("candidate_gross") - pl.col("baseline_gross")).cast(MONEY).alias("delta_gross"),
            delta_pay.cast(MONEY).alias("delta_payable"),
            movement.alias("movement"),
        )
        .select(*DIFF_COLUMNS, *ROW_EXTRA_COLUMNS)
        .sort("partner_id")
    )


def totals_of(rows: pl.DataFrame, side: str) -> Totals:
    """Totals of `side` ("baseline" or "candidate") over comparison rows."""
    sums = rows.select(
        pl.len().alias("partners"),
        pl.col(f"{side}_gross").sum().alias("gross"),
        pl.col(f"{side}_payable").sum().alias("payable"),
    ).row(0, named=True)
    return Totals(int(sums["partners"]), Decimal(sums["gross"]), Decimal(sums["payable"]))


def count_movements(rows: pl.DataFrame) -> dict[Movement, int]:
    """Partners up / down / unchanged by payable (every Movement present, 0 if none)."""
    found = dict(rows.group_by("movement").len().iter_rows())
    return {movement: int(found.get(movement.value, 0)) for movement in Movement}


def tier_order_of(*tier_lists: Sequence[str], seen: Iterable[str | None] = ()) -> tuple[str, ...]:
    """Tier names low to high: the first list's order, then new names of later lists, then
    names only seen in the data (a `--baseline-run` may hold tiers no config lists), sorted."""
    order: list[str] = []
    for names in tier_lists:
        order.extend(name for name in names if name not in order)
    extra = sorted({name for name in seen if name is not None and name not in order})
    return (*order, *extra)


def migration_matrix(rows: pl.DataFrame, tier_order: Sequence[str]) -> pl.DataFrame:
    """Counts of partners per (baseline tier, candidate tier), in tier order (MIGRATION_COLUMNS).

    A tier missing on one side (partner absent there) shows as ABSENT_TIER, ranked lowest.
    """
    rank = {name: index for index, name in enumerate(tier_order)}
    keys = ("baseline_tier", "candidate_tier")
    return (
        rows.group_by(*keys)
        .agg(pl.len().cast(pl.Int64).alias("partners"))
        .with_columns(
            pl.col(key).replace_strict(rank, default=-1, return_dtype=pl.Int32).alias(f"_{key}")
            for key in keys
        )
        .sort("_baseline_tier", "_candidate_tier")
        .select(
            pl.col("baseline_tier").fill_null(ABSENT_TIER),
            pl.col("candidate_tier").fill_null(ABSENT_TIER),
            "partners",
        )
    )


def top_movers(rows: pl.DataFrame, n: int = TOP_MOVERS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The `n` largest gains and the `n` largest losses by payable (ties: partner_id)."""
    gains = rows.filter(pl.col("delta_payable") > 0).sort(
        ["delta_payable", "partner_id"], descending=[True, False]
    )
    losses = rows.filter(pl.col("delta_payable") < 0).sort(["delta_payable", "partner_id"])
    return gains.head(n).select(DIFF_COLUMNS), losses.head(n).select(DIFF_COLUMNS)


def change_by(rows: pl.DataFrame, key: str) -> pl.DataFrame:
    """Per-`key` change table (`key` then GROUP_COLUMNS), sorted by key with nulls last.

    `pct_payable` is delta_payable as a percent of baseline_payable (null when that is 0).
    """
    money = ("baseline_gross", "candidate_gross", "delta_gross",
             "baseline_payable", "candidate_payable", "delta_payable")  # fmt: skip
    grouped = rows.group_by(key).agg(
        pl.len().cast(pl.Int64).alias("partners"),
        *((pl.col("movement") == m.value).sum().cast(pl.Int64).alias(m.value) for m in Movement),
        *(pl.col(c).sum().cast(MONEY) for c in money),
    )
    base = pl.col("baseline_payable")
    safe_base = pl.when(base == 0).then(pl.lit(1).cast(MONEY)).otherwise(base)
    pct = pl.when(base != 0).then(
        round_quotient(pl.col("delta_payable") * 100, safe_base, 1, Rounding.HALF_UP)
    )
    return (
        grouped.with_columns(pct.alias("pct_payable"))
        .sort(key, nulls_last=True)
        .select(key, *GROUP_COLUMNS)
    )


def budget_use_from_payouts(payouts: pl.DataFrame) -> BudgetUse:
    """Rebuild a BudgetUse from payout rows alone (for `--baseline-run`).

    The budget itself is not in payouts.parquet. When scaling applied, RULES.md 9 says the
    grosses of the non-ineligible partners add up to the budget exactly, so that sum is the
    budget; when it did not apply the budget (if any) is unknown and reported as None.
    """
    counted = payouts.filter(pl.col("status") != Status.INELIGIBLE.value)
    sums = counted.select(
        pl.col("gross_capped").cast(MONEY).sum().alias("capped"),
        pl.col("gross").cast(MONEY).sum().alias("gross"),
        pl.col("budget_factor").cast(pl.Decimal(38, 6)).min().alias("factor"),
    ).row(0, named=True)
    factor = Decimal(sums["factor"]) if sums["factor"] is not None else Decimal(1)
    scaled = factor != 1
    return BudgetUse(
        budget=Decimal(sums["gross"]) if scaled else None,
        total_capped=Decimal(sums["capped"]),
        factor=factor,
        scaled=scaled,
    )


def compute_diff(
    baseline: pl.DataFrame,
    candidate: pl.DataFrame,
    *,
    period: str,
    baseline_side: tuple[str, BudgetUse],
    candidate_side: tuple[str, BudgetUse],
    tier_order: Sequence[str] = (),
    config_changes: Sequence[ConfigChange] = (),
    cohort: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> ProgramDiff:
    """Compare two payout frames (PAYOUT_COLUMNS) of the same period.

    `baseline_side`/`candidate_side` are (label, budget use) of each side; `tier_order`
    lists tier names low to high (names only found in the data are appended); `cohort`
    restricts the candidate to a pilot (see the module docstring).
    """
    rows = compare_payouts(baseline, candidate, cohort=cohort)
    order = tier_order_of(
        tier_order,
        seen=pl.concat([rows["baseline_tier"], rows["candidate_tier"]]).unique().to_list(),
    )
    gains, losses = top_movers(rows)
    return ProgramDiff(
        period=period,
        baseline=Side(baseline_side[0], totals_of(rows, "baseline"), baseline_side[1]),
        candidate=Side(candidate_side[0], totals_of(rows, "candidate"), candidate_side[1]),
        rows=rows,
        counts=count_movements(rows),
        migration=migration_matrix(rows, order),
        tier_order=order,
        gains=gains,
        losses=losses,
        by_segment=change_by(rows, "segment"),
        by_region=change_by(rows, "region"),
        config_changes=tuple(config_changes),
        cohort=None if cohort is None else _cohort(rows, cohort),
        notes=tuple(notes),
    )


def read_cohort(path: Path) -> list[str]:
    """Partner ids of a pilot-cohort CSV (a `partner_id` column; blanks and repeats ignored)."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except FileNotFoundError:
        raise UsageError(
            f"Pilot cohort file not found: {path}. Pass a CSV with a partner_id column to "
            "--partners-file."
        ) from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise UsageError(
            f"Cannot read the pilot cohort file {path}: {exc}. It must be a UTF-8 CSV with a "
            "header row and a partner_id column."
        ) from None
    columns = {name.strip().lstrip("\ufeff"): name for name in frame.columns}
    if COHORT_COLUMN not in columns:
        raise UsageError(
            f"Pilot cohort file {path} has no {COHORT_COLUMN} column (found: "
            f"{', '.join(frame.columns) or 'none'}). Add a header row with {COHORT_COLUMN}."
        )
    ids = (
        frame.select(pl.col(columns[COHORT_COLUMN]).str.strip_chars().alias("id"))
        .filter(pl.col("id").is_not_null() & (pl.col("id") != ""))
        .unique(maintain_order=True)
    )
    return ids["id"].to_list()


def _view(payouts: pl.DataFrame) -> pl.DataFrame:
    """The compared columns at fixed dtypes, whatever file or engine they came from."""
    dtypes = {"composite_score": SCORE, "gross": MONEY, "payable": MONEY}
    return payouts.select(pl.col(c).cast(dtypes.get(c, pl.String())) for c in _VIEW_COLUMNS)


def _cohort(rows: pl.DataFrame, requested: Sequence[str]) -> Cohort:
    members = rows.filter(pl.col("in_cohort"))
    asked = pl.Series("partner_id", list(requested), dtype=pl.String)
    unknown = asked.filter(~asked.is_in(members["partner_id"].implode())).sort()
    return Cohort(
        requested=len(requested),
        matched=members.height,
        unknown=tuple(unknown.to_list()),
        totals_baseline=totals_of(members, "baseline"),
        totals_candidate=totals_of(members, "candidate"),
    )


def migration_grid(diff: ProgramDiff) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(baseline tiers, candidate tiers, counts) of the matrix: every tier in tier order on
    both axes (a zero row says as much as a full one), plus ABSENT_TIER where it occurs."""
    counts = {(str(b), str(c)): int(n) for b, c, n in diff.migration.iter_rows()}
    rows = [ABSENT_TIER] if any(b == ABSENT_TIER for b, _ in counts) else []
    cols = [ABSENT_TIER] if any(c == ABSENT_TIER for _, c in counts) else []
    return [*rows, *diff.tier_order], [*cols, *diff.tier_order], counts
