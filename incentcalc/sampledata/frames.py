"""Small vectorised builders shared by the source generators: ids, dates, exact money.

Money is drawn as integer cents and becomes ``Decimal(38, 2)`` by an exact division, so no
binary float ever reaches an amount column.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from incentcalc.inputs import MONEY, RATE


def id_expr(prefix: str, width: int, index: pl.Expr) -> pl.Expr:
    """Zero-padded text ids from a 0-based index: ``P0001``, ``P0002``... (sort as text)."""
    return pl.concat_str(pl.lit(prefix), (index + 1).cast(pl.String).str.zfill(width))


def id_width(count: int, minimum: int = 4) -> int:
    """Digits needed so every id of `count` rows has the same length."""
    return max(minimum, len(str(count)))


def dates(days: np.ndarray) -> pl.Expr:
    """A ``Date`` literal column from days since 1970-01-01."""
    return pl.lit(pl.Series(days.astype(np.int32)).cast(pl.Date()))


def optional(value: pl.Expr, present: np.ndarray) -> pl.Expr:
    """`value` where `present` is true, null elsewhere (optional columns of DATA.md)."""
    return pl.when(pl.lit(pl.Series(present))).then(value).otherwise(None)


def money(cents: pl.Expr) -> pl.Expr:
    """Integer cents -> exact ``Decimal(38, 2)``: 12345 -> 123.45."""
    return cents.cast(MONEY) / 100


def rate(micros: pl.Expr) -> pl.Expr:
    """Integer millionths -> exact ``Decimal(38, 6)``: 1082345 -> 1.082345."""
    return micros.cast(RATE) / 1_000_000


def pick(values: tuple[str, ...], index: np.ndarray) -> pl.Expr:
    """Text column choosing ``values[index[i]]`` for each row."""
    return pl.lit(pl.Series(values, dtype=pl.String()).gather(index.astype(np.int64)))


def column(values: np.ndarray) -> pl.Expr:
    """A numpy array as a literal column."""
    return pl.lit(pl.Series(values))


def frame(length: int, **columns: pl.Expr) -> pl.DataFrame:
    """A frame of `length` rows built from literal column expressions, in the given order."""
    base = pl.DataFrame({"_i": np.arange(length, dtype=np.int64)})
    return base.select(**columns)
