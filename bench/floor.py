"""The bench's floor: a bare Polars scan of the benchmark quarter, and nothing else.

Reads the inputs (Parquet), keeps the quarter's rows and aggregates them per partner (won
revenue and deals, NPS responses, renewal amounts), in one `collect_all`. No config, no
validation, no FX, no rules, no output: the least any tool must do to see the quarter.
Run as a child process so interpreter start and the Polars import are included::

    python -m bench.floor DATA_DIR 2026-07-01 2026-09-30
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl


def quarter_per_partner(folder: Path, start: date, end: date) -> pl.DataFrame:
    """One row per partner with the quarter's aggregates."""

    def dated(name: str, column: str) -> pl.LazyFrame:
        return pl.scan_parquet(folder / f"{name}.parquet").filter(
            pl.col(column).is_between(start, end)
        )

    won = pl.col("stage") == "closed_won"
    deals = (
        dated("deals", "close_date")
        .group_by("partner_id")
        .agg(pl.col("amount").filter(won).sum().alias("revenue"), won.sum().alias("won"))
    )
    nps = (
        dated("nps", "responded_on")
        .group_by("partner_id")
        .agg(pl.len().alias("responses"), (pl.col("score") >= 9).sum().alias("promoters"))
    )
    renewals = (
        dated("renewals", "due_date")
        .group_by("partner_id")
        .agg(pl.col("original_amount").sum(), pl.col("renewed_amount").sum())
    )
    partners = pl.scan_parquet(folder / "partners.parquet").select("partner_id")
    frames = pl.collect_all([partners, deals, nps, renewals])
    result = frames[0]
    for frame in frames[1:]:
        result = result.join(frame, on="partner_id", how="left")
    return result


def main(argv: list[str]) -> int:
    folder, start, end = Path(argv[0]), date.fromisoformat(argv[1]), date.fromisoformat(argv[2])
    result = quarter_per_partner(folder, start, end)
    print(f"{result.height} partners")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
