"""Synthetic results for statement tests and the statements/second benchmark.

`synthetic_result(partners, deals)` builds a QuarterResult with the result.py columns and
dtypes directly (no engine run), so the workbook writers can be measured and tested on any
size. Run the benchmark with::

    .venv/bin/python -m bench.statements --partners 2000 --deals 50

It writes the statements into a temporary folder and prints statements/second.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import polars as pl

from incentcalc.config import ProgramConfig, SourceName, parse_config
from incentcalc.inputs import Inputs, canonical_schema
from incentcalc.periods import parse_period
from incentcalc.result import (
    DEAL_LINE_COLUMNS,
    EXCEPTION_COLUMNS,
    KPI_COLUMNS,
    LEDGER_LINE_COLUMNS,
    NPS_LINE_COLUMNS,
    PAYOUT_COLUMNS,
    RENEWAL_LINE_COLUMNS,
    BudgetUse,
    QuarterResult,
)

MONEY = pl.Decimal(38, 2)
SCORE = pl.Decimal(38, 4)
NUMBER = pl.Decimal(38, 6)

PROGRAM_YAML = """
program: {name: Synthetic program, base_currency: USD}
sources:
  partners: {path: partners.csv}
  deals: {path: deals.csv}
  nps: {path: nps.csv}
  renewals: {path: renewals.csv}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0.5, cap: 1.5}}}
  nps: {metric: nps, min_responses: 3, score: {linear: {floor: 0, target: 50, cap: 1.2}}}
  grr: {metric: gross_renewal_rate, score: {steps: [[0, 0], [0.8, 0.5], [0.9, 1.0], [0.95, 1.2]]}}
segments:
  reseller: {weights: {revenue: 0.6, nps: 0.2, grr: 0.2}, targets: {revenue: 100000}}
  distributor: {weights: {revenue: 0.7, nps: 0.1, grr: 0.2}, targets: {revenue: 1000000}}
tiers:
  - {name: Bronze, min_score: 0, rate: 0}
  - {name: Silver, min_score: 0.6, rate: 0.02, perks: ["Co-marketing funds"]}
  - {name: Gold, min_score: 0.9, rate: 0.04, requires: {nps: 30}, perks: ["2 training seats"]}
  - {name: Platinum, min_score: 1.2, rate: 0.05, fixed: 2000}
payout: {base: revenue, individual_share: 0.7, team_share: 0.3, cap: {amount: 8000},
         holdback_pct: 0.1, min_payout: 100}
"""

PERIOD = "2026Q3"


def synthetic_config() -> ProgramConfig:
    return parse_config(PROGRAM_YAML, Path("/tmp/synthetic/program.yaml"))


def _ids(prefix: str, count: int) -> pl.Expr:
    return pl.format(prefix + "{}", pl.int_range(0, count).cast(pl.String).str.zfill(5))


def _payouts(partners: int) -> pl.DataFrame:
    i = pl.int_range(0, partners)
    money = (i * 7919 % 1_000_000 + 5000).cast(pl.Int64)
    frame = pl.DataFrame({"n": range(partners)}).select(
        pl.lit(PERIOD).alias("period"),
        _ids("P", partners).alias("partner_id"),
        pl.format("Partner {} Ltd", i).alias("partner_name"),
        pl.when(i % 5 == 0)
        .then(pl.lit("distributor"))
        .otherwise(pl.lit("reseller"))
        .alias("segment"),
        pl.when(i % 3 == 0)
        .then(pl.lit("EMEA"))
        .when(i % 3 == 1)
        .then(pl.lit("AMER"))
        .otherwise(None)
        .alias("region"),
        pl.when(i % 4 == 0).then(pl.format("T{}", i % 40)).otherwise(None).alias("team_id"),
        pl.when(i % 17 == 0).then(pl.lit("held")).otherwise(pl.lit("payable")).alias("status"),
        pl.when(i % 17 == 0).then(pl.lit("suspended")).otherwise(None).alias("reason"),
        pl.lit(["Bronze", "Silver", "Gold", "Platinum"]).list.get(i % 4).alias("tier"),
        pl.lit(["Bronze", "Silver", "Gold", "Platinum"]).list.get((i + 1) % 4).alias("team_tier"),
        ((i * 37 % 140).cast(pl.Int64) * 100)
        .cast(SCORE)
        .truediv(10000)
        .cast(SCORE)
        .alias("composite_score"),
        pl.lit(Decimal("0.95")).cast(SCORE).alias("team_score"),
        money.cast(MONEY).alias("bonus_base"),
    )
    base = pl.col("bonus_base")
    return (
        frame.with_columns(
            (base / 50).cast(MONEY).alias("individual_bonus"),
            (base / 100).cast(MONEY).alias("team_bonus"),
            pl.lit(Decimal("0")).cast(MONEY).alias("fixed_bonus"),
        )
        .with_columns(
            (pl.col("individual_bonus") + pl.col("team_bonus") + pl.col("fixed_bonus"))
            .cast(MONEY)
            .alias("gross_uncapped"),
        )
        .with_columns(
            (pl.col("gross_uncapped") > 8000).alias("cap_applied"),
            pl.min_horizontal("gross_uncapped", pl.lit(Decimal("8000")).cast(MONEY))
            .cast(MONEY)
            .alias("gross_capped"),
            pl.lit(Decimal(1)).cast(NUMBER).alias("budget_factor"),
        )
        .with_columns(pl.col("gross_capped").alias("gross"))
        .with_columns(
            (pl.col("gross") / 10).cast(MONEY).alias("holdback"),
            pl.lit(Decimal("0")).cast(MONEY).alias("adjustments"),
            pl.col("tier").alias("earned_tier"),
            *(pl.lit(Decimal("0")).cast(MONEY).alias(c) for c in LEDGER_LINE_COLUMNS),
        )
        .with_columns(
            (pl.col("gross") - pl.col("holdback") + pl.col("adjustments")).cast(MONEY).alias("net")
        )
        .with_columns(
            pl.when(pl.col("status") == "payable")
            .then(pl.col("net"))
            .otherwise(0)
            .cast(MONEY)
            .alias("payable"),
            pl.lit(Decimal("0")).cast(MONEY).alias("carried_forward"),
            pl.lit("USD").alias("payout_currency"),
            pl.lit(Decimal(1)).cast(NUMBER).alias("fx_rate"),
        )
        .with_columns(pl.col("payable").alias("payable_local"))
        .select(PAYOUT_COLUMNS)
    )


def _kpis(payouts: pl.DataFrame) -> pl.DataFrame:
    kpis = pl.DataFrame(
        {
            "kpi": ["revenue", "nps", "grr"],
            "metric": ["revenue", "nps", "gross_renewal_rate"],
            "value": [None, Decimal("35.5"), Decimal("0.92")],
            "target": [Decimal(100000), None, None],
            "score": [Decimal("1.15"), Decimal("0.71"), Decimal("1")],
            "weight": [Decimal("0.6"), Decimal("0.2"), Decimal("0.2")],
        },
        schema_overrides={"value": NUMBER, "target": NUMBER, "score": SCORE, "weight": NUMBER},
    )
    return (
        payouts.select("period", "partner_id", "bonus_base")
        .join(kpis, how="cross")
        .with_columns(
            pl.coalesce(pl.col("value"), pl.col("bonus_base").cast(NUMBER)).alias("value"),
            pl.when(pl.col("kpi") == "revenue")
            .then(pl.col("bonus_base").cast(NUMBER) / 100000)
            .cast(SCORE)
            .alias("attainment"),
            pl.col("weight").alias("weight_used"),
            (pl.col("weight") * pl.col("score")).cast(SCORE).alias("contribution"),
            pl.lit(False).alias("missing"),
            pl.lit(None, dtype=pl.String).alias("missing_reason"),
        )
        .select(KPI_COLUMNS)
    )


def _rows_per_partner(payouts: pl.DataFrame, per_partner: int) -> pl.DataFrame:
    """partner_id x k (0..per_partner-1) with a running row number n, for line ids."""
    return (
        payouts.select("partner_id")
        .join(pl.DataFrame({"k": range(per_partner)}), how="cross")
        .with_columns(pl.int_range(0, pl.len()).alias("n"))
    )


def _deal_lines(payouts: pl.DataFrame, per_partner: int) -> pl.DataFrame:
    return (
        _rows_per_partner(payouts, per_partner)
        .select(
            "partner_id",
            pl.format("D{}", pl.col("n").cast(pl.String).str.zfill(7)).alias("deal_id"),
            pl.format("C{}", pl.col("n") % 997).alias("customer_id"),
            pl.when(pl.col("k") % 7 == 0)
            .then(pl.lit("closed_lost"))
            .otherwise(pl.lit("closed_won"))
            .alias("stage"),
            (pl.lit(parse_period(PERIOD).start) + pl.duration(days=pl.col("k") % 92)).alias(
                "close_date"
            ),
            ((pl.col("n") * 131 % 90000) + 1000).cast(MONEY).alias("amount"),
            pl.when(pl.col("k") % 5 == 0)
            .then(pl.lit("EUR"))
            .otherwise(pl.lit("USD"))
            .alias("currency"),
            pl.when(pl.col("k") % 5 == 0)
            .then(pl.lit(Decimal("1.1")))
            .otherwise(pl.lit(Decimal(1)))
            .cast(NUMBER)
            .alias("fx_rate"),
        )
        .with_columns(
            (pl.col("amount") * pl.col("fx_rate")).cast(MONEY).alias("amount_base"),
            pl.lit("new").alias("deal_type"),
            (pl.col("close_date") - pl.duration(days=30)).alias("registered_on"),
            pl.lit("Widget Pro").alias("product"),
            (pl.col("stage") == "closed_won").alias("counted"),
        )
        .with_columns(
            pl.when(pl.col("counted"))
            .then(pl.lit("counted"))
            .otherwise(pl.lit("lost: counts toward win rate only"))
            .alias("note")
        )
        .select(DEAL_LINE_COLUMNS)
    )


def _nps_lines(payouts: pl.DataFrame) -> pl.DataFrame:
    return (
        _rows_per_partner(payouts, 5)
        .select(
            "partner_id",
            pl.format("R{}", pl.col("n")).alias("response_id"),
            pl.format("C{}", pl.col("n") % 997).alias("customer_id"),
            (pl.lit(parse_period(PERIOD).start) + pl.duration(days=pl.col("k") * 10)).alias(
                "responded_on"
            ),
            (pl.col("n") % 11).cast(pl.Int64).alias("score"),
            pl.lit(True).alias("counted"),
            pl.lit("promoter").alias("note"),
        )
        .select(NPS_LINE_COLUMNS)
    )


def _renewal_lines(payouts: pl.DataFrame) -> pl.DataFrame:
    return (
        _rows_per_partner(payouts, 2)
        .select(
            "partner_id",
            pl.format("K{}", pl.col("n")).alias("contract_id"),
            pl.format("C{}", pl.col("n") % 997).alias("customer_id"),
            (pl.lit(parse_period(PERIOD).start) + pl.duration(days=pl.col("k") * 30)).alias(
                "due_date"
            ),
            pl.lit(Decimal("12000")).cast(MONEY).alias("original_amount"),
            pl.lit(Decimal("11000")).cast(MONEY).alias("renewed_amount"),
            pl.lit("USD").alias("currency"),
            pl.lit(Decimal("12000")).cast(MONEY).alias("original_base"),
            pl.lit(Decimal("11000")).cast(MONEY).alias("renewed_base"),
            pl.lit("renewed").alias("status"),
            pl.lit(True).alias("counted"),
            pl.lit("renewed").alias("note"),
        )
        .select(RENEWAL_LINE_COLUMNS)
    )


def synthetic_result(partners: int = 2000, deals: int = 50) -> QuarterResult:
    """A QuarterResult of `partners` partners with `deals` deal lines each (5 NPS responses,
    2 renewals, 3 KPIs, an adjustment for every tenth partner)."""
    config = synthetic_config()
    payouts = _payouts(partners)
    adjustments = (
        payouts.filter(pl.int_range(0, pl.len()) % 10 == 0)
        .select(
            pl.int_range(0, pl.len()).alias("_row"),
            pl.format("A{}", pl.col("partner_id")).alias("adjustment_id"),
            "partner_id",
            pl.lit(PERIOD).alias("period"),
            pl.lit(Decimal("-25.50")).cast(MONEY).alias("amount"),
            pl.lit("Returned hardware credit").alias("reason"),
            pl.lit("finance.lead").alias("approved_by"),
        )
        .cast(canonical_schema(SourceName.ADJUSTMENTS))  # type: ignore[arg-type]
    )
    exceptions = pl.DataFrame(
        {name: [None] for name in EXCEPTION_COLUMNS},
        schema=dict.fromkeys(EXCEPTION_COLUMNS, pl.String()),
    ).with_columns(
        pl.lit("integrity").alias("kind"),
        pl.lit("P00000").alias("partner_id"),
        pl.lit("D0000001").alias("deal_id"),
        pl.lit("registration").alias("rule"),
        pl.lit("exclude").alias("action"),
        pl.lit("registered after close").alias("detail"),
    )
    total = payouts["gross_capped"].sum()
    return QuarterResult(
        config=config,
        period=parse_period(PERIOD),
        inputs=Inputs({SourceName.ADJUSTMENTS: adjustments}),
        payouts=payouts,
        kpis=_kpis(payouts),
        exceptions=exceptions,
        deal_lines=_deal_lines(payouts, deals).lazy(),
        nps_lines=_nps_lines(payouts).lazy(),
        renewal_lines=_renewal_lines(payouts).lazy(),
        budget=BudgetUse(None, Decimal(total), Decimal(1), False),
    )


def main() -> None:
    """Measure statements/second on a synthetic result and print it."""
    from incentcalc.statements.batch import write_statements

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partners", type=int, default=2000)
    parser.add_argument("--deals", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--out", type=Path, default=Path.cwd(), help="folder to write a temporary folder into"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    result = synthetic_result(args.partners, args.deals)
    built = time.perf_counter() - started
    with tempfile.TemporaryDirectory(dir=args.out, prefix="statements-bench-") as folder:
        started = time.perf_counter()
        written = write_statements(result, Path(folder), workers=args.workers)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(folder).iterdir()) / max(written, 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{written} statements ({args.deals} deals each) in {seconds:.2f} s: "
        f"{written / seconds:.0f} statements/second "
        f"(synthetic result built in {built:.2f} s; {size / 1024:.1f} KiB per file; "
        f"load average before the end {load:.2f})"
    )


if __name__ == "__main__":
    main()
