"""Strict reading of numbers written as text (DATA.md "Mapping real exports").

A source declares how its numbers are written: a `decimal_separator` (``.`` or ``,``) and an
optional `thousands_separator`. A cell is read only when it is written exactly that way:

- plain: ``1234.56``, ``-12.5``, ``.5`` (with the declared decimal separator);
- grouped, when a thousands separator is declared: ``1,234,567.89``: one to three digits,
  then groups of exactly three. ``12,50`` is never a grouped number.

Anything else is a failure that names the format expected, never a guess: a German
``60.000,00`` read as US format fails instead of becoming 60.00. One shape is ambiguous
between the two conventions even so: ``1.500`` is 1.5 in one and 1500 in the other. Money
is never written with three decimals, so for an amount that shape is a failure too (rates
and targets keep up to six decimals and read it as a decimal).

Example: ``NumberFormat(thousands=".", decimal=",")`` reads ``1.234,56`` as 1234.56 and
rejects ``1234.56``, ``12.5`` and ``1,234.56``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

MONEY_PLACES = 2
"""Decimal places of an amount; a `1.500`-shaped amount is ambiguous (see module docstring)."""


@dataclass(frozen=True)
class NumberFormat:
    """How one source writes its numbers; `thousands` is None when it does not group them."""

    decimal: str = "."
    thousands: str | None = None

    def describe(self) -> str:
        """The format in words, with an example, for failure messages."""
        grouped = f"1{self.thousands}234{self.decimal}56 or " if self.thousands else ""
        thousands = (
            f"thousands separator {self.thousands!r}"
            if self.thousands
            else "no thousands separator"
        )
        return (
            f"decimal separator {self.decimal!r}, {thousands}: "
            f"write it like {grouped}1234{self.decimal}56"
        )

    def _plain(self) -> str:
        d = re.escape(self.decimal)
        return rf"^[+-]?(\d+({d}\d*)?|{d}\d+)$"

    def _grouped(self) -> str | None:
        if self.thousands is None:
            return None
        t, d = re.escape(self.thousands), re.escape(self.decimal)
        return rf"^[+-]?[1-9]\d{{0,2}}({t}\d{{3}})+({d}\d*)?$"

    def ambiguous(self, text: pl.Expr) -> pl.Expr:
        """True for ``1.500``-shaped text: one decimal separator with exactly three digits
        after it, which an export grouping thousands with that character means as 1500."""
        d = re.escape(self.decimal)
        return text.str.contains(rf"^[+-]?[1-9]\d{{0,2}}{d}\d{{3}}$")

    def normalized(self, text: pl.Expr) -> pl.Expr:
        """`text` as a canonical number (``-1234.56``), or null when it is not written in this
        format."""
        plain = pl.when(text.str.contains(self._plain())).then(text)
        grouped = self._grouped()
        if grouped is not None and self.thousands is not None:
            ungrouped = text.str.replace_all(self.thousands, "", literal=True)
            fitting = plain.when(text.str.contains(grouped)).then(ungrouped).otherwise(None)
        else:
            fitting = plain.otherwise(None)
        return fitting.str.replace(self.decimal, ".", literal=True)


CANONICAL = NumberFormat()
"""How typed cells (Excel numbers, Parquet floats) read once turned into text."""
