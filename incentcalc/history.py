"""Stub of ledger-rules' history module (the interface only), replaced when that branch is
merged: the closed entries before the period being calculated."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from incentcalc.output_names import (
    DEAL_BONUSES_PARQUET,
    LEDGER_LINES_PARQUET,
    MANIFEST_JSON,
    PAYOUTS_PARQUET,
)
from incentcalc.periods import Period, parse_period


@dataclass(frozen=True)
class ClosedPeriod:
    """One closed entry as the rules read it."""

    period: Period
    payouts: pl.DataFrame
    deal_bonuses: pl.DataFrame
    ledger_lines: pl.DataFrame
    holdback_release_after: int


@dataclass(frozen=True)
class History:
    """The closed entries before the period being calculated, oldest first."""

    periods: tuple[ClosedPeriod, ...] = ()

    @classmethod
    def empty(cls) -> History:
        return cls()


def read_history(entry_folders: Sequence[Path], fiscal_year_start_month: int) -> History:
    """Each entry folder's parquet files and manifest, in the order given."""
    closed = []
    for folder in entry_folders:
        manifest = json.loads((folder / MANIFEST_JSON).read_text(encoding="utf-8"))
        closed.append(
            ClosedPeriod(
                period=parse_period(manifest["period"], fiscal_year_start_month),
                payouts=pl.read_parquet(folder / PAYOUTS_PARQUET),
                deal_bonuses=pl.read_parquet(folder / DEAL_BONUSES_PARQUET),
                ledger_lines=pl.read_parquet(folder / LEDGER_LINES_PARQUET),
                holdback_release_after=int(
                    manifest.get("ledger", {}).get("holdback_release_after", 1)
                ),
            )
        )
    return History(tuple(closed))
