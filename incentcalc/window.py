"""The rows a period can use (DATA.md, Validation): what a run reads of a growing export.

A run of period P needs the rows dated in P, the rows the integrity rules and the statements
look at around it, the rows the ledger's clawbacks look back at, and every undated row (open
deals, the partner master, FX rates). Rows of other periods are history the run does not
read, so the cost of a run follows the quarter, not the export: the readers push these
windows into the scans (`io.readers`), and validation checks only what they keep
(`validate --all-rows` checks the whole history).

Example: for 2026Q3 with reversal.within_days 30 and payout.clawback_within_days 90, deals
closed 2026-04-01..2026-10-31 (or not closed) are read; NPS responses 2026-05-31..2026-10-31.
With a ledger and clawbacks, the deals window also keeps every row whose deal_id is a stored
deal bonus still open (RULES.md 11.5): the CRM turns a deal itself into a cancellation and
keeps its close_date, so that row can claw back a share of any age. Example: D7 closed
2026-06-11, stored in 2026Q2's entry, exported as cancelled (close_date 2026-06-11) in 2026Q4:
2026Q4's run reads it although its window starts on 2026-07-03.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from incentcalc.config import ProgramConfig, SourceName
from incentcalc.history import History
from incentcalc.ledger_rules.clawbacks import open_shares
from incentcalc.periods import Period

NEIGHBOURHOOD = timedelta(days=31)
"""Rows this close to the period are listed too (marked out of period) so a partner sees
why a deal that closed on the 30th of the previous month did not count."""


@dataclass(frozen=True)
class Window:
    """Rows of one source whose `column` is null (undated, or a cell that did not parse and
    must be reported) or falls in `first..last` (both included), or equals `label`."""

    column: str
    first: date | None = None
    last: date | None = None
    label: str | None = None
    kept_ids: pl.Series | None = field(default=None, compare=False)
    """deal_ids kept whatever their date: the stored deals with an open share (deals only)."""
    kept_since: date | None = None
    """The earliest close_date of those deals (a database query's `:window_start`)."""

    KEPT_ID = "deal_id"

    def keeps(self, value: pl.Expr, deal_id: pl.Expr | None = None) -> pl.Expr:
        """True for the rows to read, given the column's parsed value (and the row's
        deal_id when the window keeps listed deals: `columns`)."""
        if self.kept_ids is None:
            return self.dated(value)
        assert deal_id is not None, "this window keeps listed deals: pass the deal_id"
        return self.dated(value) | self.listed(deal_id)

    def dated(self, value: pl.Expr) -> pl.Expr:
        """True for the rows whose date (or label) the window keeps."""
        if self.label is not None:
            return value.is_null() | (value == self.label)
        return value.is_null() | value.is_between(pl.lit(self.first), pl.lit(self.last))

    def listed(self, deal_id: pl.Expr) -> pl.Expr:
        """True for the rows of a kept deal, whatever their date."""
        if self.kept_ids is None:
            return pl.lit(False)
        return deal_id.is_in(self.kept_ids.implode())

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns `keeps` reads, in its arguments' order."""
        return (self.column,) if self.kept_ids is None else (self.column, self.KEPT_ID)


def near_period(column: str, period: Period, after: timedelta = NEIGHBOURHOOD) -> pl.Expr:
    """True where the date falls in the period or within NEIGHBOURHOOD before it (and
    `after` past its end)."""
    return pl.col(column).is_between(
        pl.lit(period.start - NEIGHBOURHOOD), pl.lit(period.end + max(after, NEIGHBOURHOOD))
    )


def deal_window(config: ProgramConfig, period: Period, history: History | None = None) -> Window:
    """Deals: the period, the listed neighbourhood, the reversal rule's look-ahead
    (RULES.md 10) and the clawback look-back (RULES.md 11.5); with clawbacks and closed
    entries in `history`, also the rows of the stored deals whose share is still open."""
    reversal = config.integrity.reversal
    after = timedelta(days=reversal.within_days if reversal else 0)
    clawback = config.payout.clawback_within_days
    before = timedelta(days=clawback or 0)
    kept = None
    if clawback is not None and history is not None and history.entries:
        kept = open_shares(history)
    return Window(
        "close_date",
        period.start - max(before, NEIGHBOURHOOD),
        period.end + max(after, NEIGHBOURHOOD),
        kept_ids=None if kept is None else kept["deal_id"],
        kept_since=None if kept is None else kept["close_date"].min(),  # type: ignore[arg-type]
    )


def read_windows(
    config: ProgramConfig, period: Period, history: History | None = None
) -> dict[SourceName, Window]:
    """Source -> the window of its rows the period can use (`history`: the closed entries
    the run builds on); sources not listed are read whole (partners, FX rates: undated or
    small)."""
    first, last = period.start - NEIGHBOURHOOD, period.end + NEIGHBOURHOOD
    return {
        SourceName.DEALS: deal_window(config, period, history),
        SourceName.NPS: Window("responded_on", first, last),
        SourceName.RENEWALS: Window("due_date", first, last),
        SourceName.TARGETS: Window("period", label=period.label),
        SourceName.ADJUSTMENTS: Window("period", label=period.label),
    }
