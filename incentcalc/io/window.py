"""The rows a period can use (DATA.md, Validation): what a run reads of a growing export.

A run of period P needs the rows dated in P, the rows the integrity rules look at around it
(the reversal rule's days after P), the rows the ledger's clawbacks look back at, and every
undated row (open deals, the partner master, FX rates): those rows are validated. Rows of
other periods are history the run does not read, so the cost of a run follows the quarter,
not the export: the readers push these windows into the scans (`io.readers`)
(`validate --all-rows` checks the whole history).

Statements also list the rows within NEIGHBOURHOOD of P (marked "outside the period"), so
they are read too; but no rule uses them, so a row there that fails validation is left off
the listing instead of being reported (DATA.md: validation checks the rows the period can
use). The validated range follows the rules configured, never the listing.

Example: for 2026Q3 with reversal.within_days 30 and payout.clawback_within_days 90, deals
closed 2026-04-02..2026-10-30 (or not closed) are validated and deals closed
2026-04-02..2026-10-31 read (the listing reaches 31 days past the period); without any of
those rules, deals closed 2026-07-01..2026-09-30 are validated and 2026-05-31..2026-10-31
read. NPS responses and renewals: validated in the period, read 31 days around it.
With a ledger and clawbacks, the deals window also keeps (and validates) every row whose
deal_id is a stored deal bonus still open (RULES.md 11.5): the CRM turns a deal itself into a
cancellation and keeps its close_date, so that row can claw back a share of any age. Example:
D7 closed 2026-06-11, stored in 2026Q2's entry, exported as cancelled (close_date 2026-06-11)
in 2026Q4: 2026Q4's run reads it although its window starts on 2026-07-03.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from incentcalc.config import ProgramConfig, SourceName
from incentcalc.history import History
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
    checked: tuple[date, date] | None = None
    """The dates validated (the rules' range, inside first..last); None: all rows read."""

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

    def describe(self) -> str:
        """The rows read, in words: "close_date 2026-05-31..2026-10-31 or empty"."""
        if self.label is not None:
            return f"{self.column} {self.label}"
        kept = "" if self.kept_ids is None else ", or a stored deal with an open share"
        return f"{self.column} {self.first}..{self.last} or empty{kept}"

    def listed_only(self, value: pl.Expr) -> pl.Expr:
        """True for rows read only to be listed (dated outside the validated range, and not
        a stored deal with an open share, which the clawback rule reads)."""
        if self.checked is None:
            return pl.lit(False)
        first, last = self.checked
        outside = value.is_not_null() & ~value.is_between(pl.lit(first), pl.lit(last))
        return outside if self.kept_ids is None else outside & ~self.listed(pl.col(self.KEPT_ID))


def near_period(column: str, period: Period, after: timedelta = NEIGHBOURHOOD) -> pl.Expr:
    """True where the date falls in the period or within NEIGHBOURHOOD before it (and
    `after` past its end)."""
    return pl.col(column).is_between(
        pl.lit(period.start - NEIGHBOURHOOD), pl.lit(period.end + max(after, NEIGHBOURHOOD))
    )


def deal_window(config: ProgramConfig, period: Period, history: History | None = None) -> Window:
    """Deals: validated over the period, the reversal rule's look-ahead (RULES.md 10) and the
    clawback look-back (RULES.md 11.5); read over those and the listed neighbourhood; with
    clawbacks and closed entries in `history`, also the rows of the stored deals whose share
    is still open (read and validated)."""
    reversal = config.integrity.reversal
    after = timedelta(days=reversal.within_days if reversal else 0)
    clawback = config.payout.clawback_within_days
    before = timedelta(days=clawback or 0)
    kept = None
    if clawback is not None and history is not None and history.entries:
        kept = history.open_shares()
    return Window(
        "close_date",
        period.start - max(before, NEIGHBOURHOOD),
        period.end + max(after, NEIGHBOURHOOD),
        kept_ids=None if kept is None else kept["deal_id"],
        kept_since=None if kept is None else kept["close_date"].min(),  # type: ignore[arg-type]
        checked=(period.start - before, period.end + after),
    )


def read_windows(
    config: ProgramConfig, period: Period, history: History | None = None
) -> dict[SourceName, Window]:
    """Source -> the window of its rows the period can use (`history`: the closed entries
    the run builds on); sources not listed are read whole (partners, FX rates: undated or
    small)."""
    first, last = period.start - NEIGHBOURHOOD, period.end + NEIGHBOURHOOD
    checked = (period.start, period.end)
    return {
        SourceName.DEALS: deal_window(config, period, history),
        SourceName.NPS: Window("responded_on", first, last, checked=checked),
        SourceName.RENEWALS: Window("due_date", first, last, checked=checked),
        SourceName.TARGETS: Window("period", label=period.label),
        SourceName.ADJUSTMENTS: Window("period", label=period.label),
    }
