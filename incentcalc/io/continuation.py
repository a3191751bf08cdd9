"""Order-line continuation rows: what an ERP or a shop export does to a multi-line order.

Odoo writes an order's extra lines as rows whose order fields (reference, customer, date,
total) are empty; Shopify repeats the order number on every line, with the order-level
fields (total, status) empty on all but the first. Mapped as deals, they fail by the
thousand ("must not be empty", "duplicate deal_id"), though they are not broken deals.
When most failing rows of a source look like that, validation says so and shows the
`skip_rows_where` that leaves them out (issue 26).

Example hint: ``1,217 of the 1,217 failing rows of deals look like order-line continuation
rows (deal_id, close_date, stage empty while other cells are filled: rows 3, 4, 6 and 1,214
more). If they are an order's extra lines, leave them out with `skip_rows_where: {deal_id:
[""]}`.``
"""

from __future__ import annotations

import polars as pl

from incentcalc.config import SourceName
from incentcalc.inputs import ROW, SOURCE_COLUMNS
from incentcalc.io.readers import SourceRead

MIN_ROWS = 3
"""Fewer failing rows than this are a few bad rows, not a pattern."""

PREFERRED = ("amount", "stage", "close_date", "partner_id", "customer_id", "currency")
"""The order-level column a hint skips on, in this order, when several are empty on the
repeated rows (the total is the field an order line never repeats)."""


def continuation_hints(read: SourceRead, failures: pl.DataFrame, key: str) -> list[str]:
    """Hints for one source: its failing rows (`failures` of `read`'s file) when most of
    them are continuation rows of the `key` column (deal_id)."""
    failing = failures.filter(pl.col("file") == str(read.path))["row"].drop_nulls().unique()
    if failing.len() < MIN_ROWS or key not in read.written.columns:
        return []
    columns = [c.name for c in SOURCE_COLUMNS[read.name] if c.name in read.written.columns]
    rows = read.written.filter(pl.col(ROW).is_in(failing.implode()))
    hints = [_empty_key(read.name, rows, columns, key, failing.len())]
    hints.append(_repeated_key(read, columns, key, failing.len()))
    return [hint for hint in hints if hint]


def _empty_key(
    name: SourceName, rows: pl.DataFrame, columns: list[str], key: str, failing: int
) -> str | None:
    """Failing rows with the key empty but some other cell filled (Odoo's extra lines)."""
    others = [c for c in columns if c != key]
    lines = rows.filter(
        pl.col(key).is_null() & pl.any_horizontal(pl.col(c).is_not_null() for c in others)
    )
    if lines.height < MIN_ROWS or 2 * lines.height < failing:
        return None
    empty = [c for c in columns if lines[c].null_count() == lines.height]
    return _hint(
        name, lines, failing, f"{', '.join(empty)} empty while other cells are filled", key
    )


def _repeated_key(read: SourceRead, columns: list[str], key: str, failing: int) -> str | None:
    """Rows repeating the key of the row above them in the file, with an order-level column
    that the first row of each key fills and every repeat leaves empty (Shopify's lines)."""
    keyed = read.written.filter(pl.col(key).is_not_null()).sort(ROW)
    first = pl.col(ROW) == pl.col(ROW).min().over(key)
    repeats = keyed.filter(~first & (pl.len().over(key) > 1))
    if repeats.height < MIN_ROWS or 2 * repeats.height < failing:
        return None
    heads = keyed.filter(first & (pl.len().over(key) > 1))
    candidates = [c for c in (*PREFERRED, *columns) if c in columns and c != key]
    for column in dict.fromkeys(candidates):
        if repeats[column].null_count() == repeats.height and heads[column].null_count() == 0:
            how = f"the {key} of an earlier row repeated, {column} empty"
            return _hint(read.name, repeats, failing, how, column)
    return None


def _hint(name: SourceName, lines: pl.DataFrame, failing: int, how: str, column: str) -> str:
    shown = ", ".join(str(r) for r in lines[ROW].head(3).to_list())
    more = lines.height - 3
    listed = f"{shown} and {more:,} more" if more > 0 else shown
    return (
        f"{lines.height:,} of the {failing:,} failing rows of {name} look like order-line "
        f"continuation rows ({how}: rows {listed}). If they are an order's extra lines, "
        f'leave them out with `skip_rows_where: {{{column}: [""]}}` on sources.{name}.'
    )
