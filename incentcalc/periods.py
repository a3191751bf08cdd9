"""Fiscal quarters: parsing labels and turning them into inclusive date ranges (RULES.md 1).

With fiscal_year_start_month M, fiscal year Y is named by the calendar year in which it ends
and its Q1 starts on month M. Example: M=7 makes 2027Q1 run 2026-07-01..2026-09-30.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import polars as pl

from incentcalc.errors import UsageError

_DAY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_LABEL = re.compile(r"^\s*(?:FY)?(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Period:
    """One fiscal quarter and its inclusive calendar dates.

    `as_of` marks a progress run (RULES.md 12): the quarter read as if it ended on that day.
    It does not take part in comparisons: a progress run of 2026Q3 is still 2026Q3 for the
    ledger (the entries before it, the holdbacks it releases), only its reading stops early.
    """

    year: int
    quarter: int
    start: date
    end: date
    as_of: date | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """Canonical label, e.g. ``2026Q3``."""
        return f"{self.year}Q{self.quarter}"

    @property
    def days(self) -> int:
        """Number of days in the quarter, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def last_day(self) -> date:
        """The last day this calculation reads: the as-of day of a progress run, else the
        quarter's end. Every "dated in the period" test uses start..last_day."""
        return self.end if self.as_of is None else self.as_of

    @property
    def elapsed_days(self) -> int:
        """Days from the start to `last_day`, both included (`days` for an ordinary run)."""
        return (self.last_day - self.start).days + 1

    @property
    def complete(self) -> bool:
        """True when the reading reaches the quarter's end (ordinary runs, and progress runs
        as of the end): only then does the quarter-end spike rule apply (RULES.md 12)."""
        return self.last_day == self.end

    def progress_to(self, day: date) -> Period:
        """This quarter as it stands on `day`, which must be one of its days (exit 2 if not).

        >>> parse_period("2026Q3").progress_to(date(2026, 8, 15)).elapsed_days
        46
        """
        if not self.start <= day <= self.end:
            raise UsageError(
                f"--as-of {day.isoformat()} is outside {self.label} ({self.start.isoformat()} "
                f"to {self.end.isoformat()}): a progress run reads a day of its own period. "
                "Pick a date in the period, or the period that holds the date."
            )
        return replace(self, as_of=day)

    def shifted(self, quarters: int) -> Period:
        """The quarter `quarters` away (negative for earlier ones), same fiscal calendar."""
        index = self.year * 4 + (self.quarter - 1) + quarters
        start = _add_months(self.start, 3 * quarters)
        return _make(index // 4, index % 4 + 1, start)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + (day.month - 1) + months
    return date(total // 12, total % 12 + 1, 1)


def _make(year: int, quarter: int, start: date) -> Period:
    end = _add_months(start, 3) - timedelta(days=1)
    return Period(year, quarter, start, end)


def quarter_start(year: int, quarter: int, fiscal_year_start_month: int = 1) -> date:
    """First day of fiscal quarter `quarter` of fiscal year `year`."""
    fy_start_year = year if fiscal_year_start_month == 1 else year - 1
    return _add_months(date(fy_start_year, fiscal_year_start_month, 1), 3 * (quarter - 1))


def parse_period(label: str, fiscal_year_start_month: int = 1) -> Period:
    """Parse ``2026Q3``, ``2026-Q3``, ``2026q3`` (or ``FY2026Q3``) into a Period.

    >>> parse_period("2026-q3").start.isoformat()
    '2026-07-01'

    With another fiscal year start month, the year is the one in which the fiscal year
    ends: with July, FY2027Q1 is July to September 2026.

    >>> q1 = parse_period("2027Q1", fiscal_year_start_month=7)
    >>> q1.start.isoformat(), q1.end.isoformat()
    ('2026-07-01', '2026-09-30')
    """
    match = _LABEL.match(label)
    if match is None:
        raise UsageError.bad_period(label)
    year, quarter = int(match.group(1)), int(match.group(2))
    return _make(year, quarter, quarter_start(year, quarter, fiscal_year_start_month))


def parse_day(text: str, option: str = "--as-of") -> date:
    """An ISO date (2026-08-15) given on the command line; exit 2 with the fix if not one."""
    try:
        if _DAY.match(text) is None:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-08-15."
        ) from None


def day_text(day: date) -> str:
    """A date as partners read it: 15 Aug 2026."""
    return f"{day.day} {day:%b %Y}"


def progress_title(as_of: date | None) -> str | None:
    """What every output of a progress run as of `as_of` says ("Progress to 15 Aug 2026
    (provisional)"), None for an ordinary run (`as_of` None)."""
    if as_of is None:
        return None
    return f"Progress to {day_text(as_of)} (provisional)"


def canonical_label_expr(column: str) -> pl.Expr:
    """Polars expression turning any accepted label form into ``YYYYQn`` (null if not a label)."""
    parts = (
        pl.col(column)
        .str.strip_chars()
        .str.to_uppercase()
        .str.extract_groups(r"^(?:FY)?(\d{4})\s*-?\s*Q([1-4])$")
    )
    return pl.concat_str([parts.struct.field("1"), pl.lit("Q"), parts.struct.field("2")]).alias(
        column
    )
