"""RULES.md 1: fiscal quarters and their inclusive date ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

_LABEL = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True)
class Period:
    """Fiscal quarter `quarter` of the fiscal year named `year`, with its calendar dates."""

    year: int
    quarter: int
    start: date
    end: date
    fiscal_year_start_month: int
    quarter_end: date | None = None
    """RULES.md 12: a progress run reads the period as if it ended on DATE (then `end` is
    DATE); the quarter's own end is kept here, because period days stay the quarter's."""

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def days(self) -> int:
        return ((self.quarter_end or self.end) - self.start).days + 1

    @property
    def elapsed(self) -> int:
        """Days from the period start to the day it is read to (= days without as-of)."""
        return (self.end - self.start).days + 1

    @property
    def at_quarter_end(self) -> bool:
        return self.quarter_end is None or self.quarter_end == self.end

    def as_of(self, day: date) -> Period:
        """RULES.md 12: the period as it stands on `day`, one of its days."""
        assert self.start <= day <= self.end, (self.label, day)
        return replace(self, end=day, quarter_end=self.end)

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end

    def next(self) -> Period:
        """The quarter after this one (2026Q4 -> 2027Q1)."""
        year, quarter = (self.year + 1, 1) if self.quarter == 4 else (self.year, self.quarter + 1)
        return period(f"{year}Q{quarter}", self.fiscal_year_start_month)

    def previous(self) -> Period:
        """The quarter before this one (2027Q1 -> 2026Q4)."""
        year, quarter = (self.year - 1, 4) if self.quarter == 1 else (self.year, self.quarter - 1)
        return period(f"{year}Q{quarter}", self.fiscal_year_start_month)


def label_of(text: str) -> str | None:
    """Canonical form of a period label (`2026-q3` -> `2026Q3`), None if it is not one."""
    match = _LABEL.match(text)
    return f"{match.group(1)}Q{match.group(2)}" if match else None


def period(label: str, fiscal_year_start_month: int = 1) -> Period:
    """RULES.md 1. Fiscal year Y is named by the calendar year in which it ends; its Q1
    starts on month M. With M = 7, 2027Q1 is 2026-07-01..2026-09-30."""
    match = _LABEL.match(label)
    if match is None:
        raise ValueError(f"not a period label: {label!r}")
    year, quarter = int(match.group(1)), int(match.group(2))
    first_year = year if fiscal_year_start_month == 1 else year - 1
    start_index = first_year * 12 + fiscal_year_start_month - 1 + 3 * (quarter - 1)
    start = date(start_index // 12, start_index % 12 + 1, 1)
    after = start_index + 3
    end = date(after // 12, after % 12 + 1, 1) - timedelta(days=1)
    return Period(year, quarter, start, end, fiscal_year_start_month)
