"""Fiscal quarters: parsing labels and turning them into inclusive date ranges (RULES.md 1).

With fiscal_year_start_month M, fiscal year Y is named by the calendar year in which it ends
and its Q1 starts on month M. Example: M=7 makes 2027Q1 run 2026-07-01..2026-09-30.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from incentcalc.errors import UsageError

_LABEL = re.compile(r"^\s*(?:FY)?(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Period:
    """One fiscal quarter and its inclusive calendar dates."""

    year: int
    quarter: int
    start: date
    end: date

    @property
    def label(self) -> str:
        """Canonical label, e.g. ``2026Q3``."""
        return f"{self.year}Q{self.quarter}"

    @property
    def days(self) -> int:
        """Number of days in the quarter, both ends included."""
        return (self.end - self.start).days + 1

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
    """
    match = _LABEL.match(label)
    if match is None:
        raise UsageError.bad_period(label)
    year, quarter = int(match.group(1)), int(match.group(2))
    return _make(year, quarter, quarter_start(year, quarter, fiscal_year_start_month))


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
