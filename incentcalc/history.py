"""The closed periods a run builds on (RULES.md 11), as frames the ledger rules read.

The ledger store finds, verifies and orders the entry folders; this module only turns them
into `History`: each entry's payout rows, deal bonuses and ledger lines, and the
`holdback_release_after` it was closed with. A run folder has the same files, so a finished
run can be read as if it were an entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc.errors import DataError
from incentcalc.periods import Period, parse_period
from incentcalc.result import (
    CLOSED_HISTORY_COLUMNS,
    DEAL_BONUSES_PARQUET,
    LEDGER_LINE_SCHEMA,
    LEDGER_LINES_PARQUET,
    MANIFEST_JSON,
    PAYOUTS_PARQUET,
    LedgerLineKind,
)

HISTORY_PAYOUT_COLUMNS = (
    "partner_id", "status", "tier", "earned_tier", "holdback", "carried_forward", "payable",
)  # fmt: skip
"""The payout columns the ledger rules read from an entry (payable: for statements' history
table)."""

TAKEN_KINDS = (LedgerLineKind.CLAWBACK.value, LedgerLineKind.UNRECOVERED_CLAWBACK.value)
"""Ledger line kinds that use a stored deal share up (RULES.md 11.5)."""

HISTORY_DEAL_BONUS_COLUMNS = ("deal_id", "partner_id", "customer_id", "close_date", "bonus")
"""The deal bonus columns the clawback rule reads (millions of rows: only these are loaded)."""


@dataclass(frozen=True)
class ClosedPeriod:
    """One ledger entry: a closed period's payouts, deal bonuses and ledger lines, and the
    K of `payout.holdback_release_after` in force when it was closed (its holdbacks are
    released in period + K). `read_history` loads the columns the rules read
    (HISTORY_PAYOUT_COLUMNS, HISTORY_DEAL_BONUS_COLUMNS, every ledger line column)."""

    period: Period
    payouts: pl.DataFrame
    deal_bonuses: pl.DataFrame
    ledger_lines: pl.DataFrame
    holdback_release_after: int

    @property
    def release_period(self) -> Period:
        """The period this entry's holdbacks are released in."""
        return self.period.shifted(self.holdback_release_after)


@dataclass(frozen=True)
class History:
    """The closed entries before the period being calculated, oldest first."""

    entries: tuple[ClosedPeriod, ...] = ()

    @classmethod
    def empty(cls) -> History:
        """No ledger, or an empty one: every period is calculated alone."""
        return cls()

    def recent(self, period: Period) -> list[tuple[int, ClosedPeriod]]:
        """(quarters back, entry) for the unbroken run of entries right before `period`:
        (1, entry of P-1), (2, entry of P-2), ...; stops at the first quarter with no entry."""
        by_period = {entry.period: entry for entry in self.entries}
        found = []
        back = 1
        while (entry := by_period.get(period.shifted(-back))) is not None:
            found.append((back, entry))
            back += 1
        return found

    def recent_payouts(self, period: Period) -> pl.DataFrame:
        """The payout rows of `recent(period)` stacked, with `back` (1 = P-1) and `from_period`."""
        frames = [
            entry.payouts.select(HISTORY_PAYOUT_COLUMNS).with_columns(
                pl.lit(back, pl.Int64).alias("back"),
                pl.lit(entry.period.label).alias("from_period"),
            )
            for back, entry in self.recent(period)
        ]
        schema = {**_PAYOUT_SCHEMA, "back": pl.Int64(), "from_period": pl.String()}
        return pl.concat([pl.DataFrame(schema=schema), *frames], how="vertical_relaxed")

    def closed_payouts(self) -> pl.DataFrame:
        """Every entry's CLOSED_HISTORY_COLUMNS rows, oldest first: the history table of a
        partner statement and the outstanding holdbacks of summary.xlsx."""
        frames = [
            entry.payouts.select(
                pl.lit(entry.period.label).alias("period"),
                *CLOSED_HISTORY_COLUMNS[1:-1],
                pl.lit(entry.release_period.label).alias("released_in"),
            )
            for entry in self.entries
        ]
        schema = {
            "period": pl.String(),
            **{c: _PAYOUT_SCHEMA[c] for c in CLOSED_HISTORY_COLUMNS[1:-1]},
            "released_in": pl.String(),
        }
        return pl.concat([pl.DataFrame(schema=schema), *frames], how="vertical_relaxed")

    def previous(self, period: Period) -> ClosedPeriod | None:
        """The entry of P-1, if there is one."""
        recent = self.recent(period)
        return recent[0][1] if recent else None

    def ledger_lines(self) -> pl.DataFrame:
        """Every clawback and forfeit the entries applied."""
        return pl.concat(
            [pl.DataFrame(schema=LEDGER_LINE_SCHEMA), *(e.ledger_lines for e in self.entries)],
            how="vertical_relaxed",
        )

    def taken_shares(self) -> pl.DataFrame:
        """The clawback lines the entries applied (a clawback, or one left unrecovered): the
        deal shares and the cancellations they used up."""
        return self.ledger_lines().filter(pl.col("kind").is_in(TAKEN_KINDS))

    def stored_deals(self, reachable: pl.Expr) -> pl.DataFrame:
        """The stored deal bonuses where `reachable` holds, with their period and its last day
        (filtered entry by entry: four quarters hold a million deal bonuses, a cancellation
        reaches a few)."""
        frames = [
            entry.deal_bonuses.filter(reachable)
            .select(
                "deal_id",
                "partner_id",
                "customer_id",
                "close_date",
                pl.col("bonus").alias("amount"),
            )
            .with_columns(
                pl.lit(entry.period.label).alias("deal_period"),
                pl.lit(entry.period.end).alias("period_end"),
            )
            for entry in self.entries
        ]
        return pl.concat(frames, how="vertical_relaxed")

    def open_shares(self) -> pl.DataFrame:
        """deal_id and close_date of every stored deal bonus a cancellation can still claw
        back (share > 0, not clawed back before): the rows of the deals export a run must read
        whatever their date (`io.window.deal_window`; the clawbacks themselves are
        `engine.clawbacks`)."""
        stored = self.stored_deals(pl.col("bonus") > 0)
        return still_open(stored, self.taken_shares()).select("deal_id", "close_date")


def still_open(stored: pl.DataFrame, taken: pl.DataFrame) -> pl.DataFrame:
    """The deals of `stored` (`History.stored_deals`) that can still be clawed back: share > 0,
    not taken before (`taken`: `History.taken_shares`)."""
    return stored.filter(pl.col("amount") > 0).join(
        taken.select("deal_period", "deal_id"), on=["deal_period", "deal_id"], how="anti"
    )


_PAYOUT_SCHEMA: dict[str, pl.DataType] = {
    "partner_id": pl.String(), "status": pl.String(), "tier": pl.String(),
    "earned_tier": pl.String(), "holdback": pl.Decimal(38, 2),
    "carried_forward": pl.Decimal(38, 2), "payable": pl.Decimal(38, 2),
}  # fmt: skip


ENTRY_READERS = 4
"""Closed entries read at once (a thread each)."""


def read_history(entry_folders: Sequence[Path], fiscal_year_start_month: int) -> History:
    """History from entry folders in close order (each holds the ENTRY_FILES of a run).

    The period and K come from each entry's manifest; a missing file or manifest key is
    reported naming the folder (the store verifies hashes before this is called).
    """
    # a thread per entry: Polars lets go of the GIL while it reads, and each entry is a few
    # small files whose fixed cost per read dominates (four entries: 56-59 -> 34-36 ms)
    with ThreadPoolExecutor(max_workers=ENTRY_READERS) as pool:
        entries = pool.map(
            lambda folder: _read_entry(folder, fiscal_year_start_month), entry_folders
        )
        return History(tuple(entries))


def _read_entry(folder: Path, fiscal_year_start_month: int) -> ClosedPeriod:
    manifest = _read_manifest(folder / MANIFEST_JSON)
    try:
        label = manifest["period"]
        release_after = int(manifest["ledger"]["holdback_release_after"])
    except (KeyError, TypeError, ValueError):
        raise DataError(
            f"Ledger entry {folder}: {MANIFEST_JSON} has no period or no "
            "ledger.holdback_release_after. The entry was not written by this version of "
            "incentcalc's `run`; restore it from the run it was closed from."
        ) from None
    return ClosedPeriod(
        period=parse_period(label, fiscal_year_start_month),
        payouts=_read_parquet(folder / PAYOUTS_PARQUET, list(HISTORY_PAYOUT_COLUMNS)),
        deal_bonuses=_read_parquet(folder / DEAL_BONUSES_PARQUET, list(HISTORY_DEAL_BONUS_COLUMNS)),
        ledger_lines=_read_parquet(folder / LEDGER_LINES_PARQUET, list(LEDGER_LINE_SCHEMA)),
        holdback_release_after=release_after,
    )


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"Ledger entry file {path} cannot be read: {exc}.") from None
    if not isinstance(document, dict):
        raise DataError(f"Ledger entry file {path} is not a JSON object.")
    return document


def _read_parquet(path: Path, columns: list[str]) -> pl.DataFrame:
    try:
        return pl.read_parquet(path, columns=columns)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(
            f"Ledger entry file {path} cannot be read ({exc}). Check the ledger with "
            "`incentcalc ledger --verify`."
        ) from None
