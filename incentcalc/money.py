"""Exact decimal arithmetic on Polars expressions: the only place money and scores are rounded.

Polars Decimal products keep the larger input scale and division rounds half-even at the
result scale, so neither can be trusted for a rule like "round half up to 4 places". Here:
- `exact()` lifts an expression to a scale wide enough that products of config numbers
  (at most 6 places) and money (2 places) lose nothing;
- `round_money()` rounds a product to cents in the program's rounding mode;
- `round_quotient()` rounds num/den exactly, by floor division and the remainder, never by
  an inexact intermediate quotient.

12,345.00 / 100,000 = 0.12345 exactly, which half up makes 0.1235 (a float says 0.1234):

>>> shares = pl.DataFrame({"num": [12345], "den": [100000]})
>>> shares.select(round_quotient(pl.col("num"), pl.col("den"), 4, Rounding.HALF_UP)).item()
Decimal('0.1235')

Minor units of payout currencies (ISO 4217), for RULES.md 8.11: payable_local is rounded to
the payout currency's smallest coin, so a yen payout is whole yen and a dinar payout has fils.

>>> minor_unit("JPY"), minor_unit("KWD"), minor_unit("EUR")
(0, 3, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

import polars as pl

from incentcalc.config import Rounding

WORK = pl.Decimal(38, 18)
"""Scale for exact products: 6 (rate) + 6 (share) + 2 (money) places fit with room to spare."""

QUOTIENT = pl.Decimal(38, 12)
"""Scale of numerators and denominators handed to `round_quotient` (keeps i128 headroom)."""

MONEY = pl.Decimal(38, 2)
SCORE = pl.Decimal(38, 4)
FACTOR = pl.Decimal(38, 6)

_POLARS_MODE = {Rounding.HALF_UP: "half_away_from_zero", Rounding.HALF_EVEN: "half_to_even"}


def decimal_lit(value: Decimal, dtype: pl.Decimal | None = None) -> pl.Expr:
    """`pl.lit(value)` made from the value's text (which casts to a decimal type exactly):
    of `dtype`, else of the value's own places, the type `pl.lit` gives a Decimal.

    Polars imports numpy (0.1 s of CPU at every start of `explain`) the first time it
    converts a Python Decimal, and incentcalc uses no numpy: the engine hands config numbers
    to Polars through here and `decimal_frame` (docs/performance.md, issue 28).

    >>> pl.select(decimal_lit(Decimal("0.035"))).to_series().dtype
    Decimal(precision=38, scale=3)
    """
    text = f"{value:f}"
    return pl.lit(text).cast(dtype or pl.Decimal(38, len(text.partition(".")[2])))


def decimal_frame(
    rows: Sequence[Mapping[str, Any]], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """`pl.DataFrame(rows, schema=schema)` for rows holding Python Decimals: the decimal
    columns are made from the values' text and cast, for `decimal_lit`'s reason.

    >>> tiers = decimal_frame([{"tier": "Gold", "rate": Decimal("0.035")}],
    ...                       {"tier": pl.String(), "rate": FACTOR})
    >>> tiers.row(0)
    ('Gold', Decimal('0.035000'))
    """
    decimals = {name: dtype for name, dtype in schema.items() if isinstance(dtype, pl.Decimal)}
    text = [
        {**row, **{name: None if row[name] is None else f"{row[name]:f}" for name in decimals}}
        for row in rows
    ]
    frame = pl.DataFrame(text, schema={**schema, **dict.fromkeys(decimals, pl.String())})
    return frame.with_columns(pl.col(name).cast(dtype) for name, dtype in decimals.items())


def money_total(frame: pl.DataFrame, column: str, where: pl.Expr | None = None) -> Decimal:
    """Exact sum of a money column (over the rows matching `where`); 0 when there are none."""
    rows = frame if where is None else frame.filter(where)
    total = rows[column].sum() if rows.height else None
    return Decimal(total) if total is not None else Decimal(0)


def exact(expr: pl.Expr) -> pl.Expr:
    """`expr` at the working scale, so that multiplying by it keeps every digit."""
    return expr.cast(WORK)


def round_money(expr: pl.Expr, mode: Rounding) -> pl.Expr:
    """RULES.md's round(): 2 places in the program's mode (half up = away from zero).

    2098.74 * 0.1 = 209.874 -> 209.87; 1459.99 * 0.1 = 145.999 -> 146.00; a tie goes away
    from zero in half up, to the even cent in half even:

    >>> products = pl.DataFrame({"x": ["209.874", "145.999", "0.125", "-0.125"]})
    >>> x = pl.col("x").cast(pl.Decimal(38, 3))
    >>> [str(v) for v in products.select(round_money(x, Rounding.HALF_UP)).to_series()]
    ['209.87', '146.00', '0.13', '-0.13']
    >>> [str(v) for v in products.select(round_money(x, Rounding.HALF_EVEN)).to_series()]
    ['209.87', '146.00', '0.12', '-0.12']
    """
    return exact(expr).round(2, mode=_POLARS_MODE[mode]).cast(MONEY)  # type: ignore[arg-type]


def _nonzero(den: pl.Expr) -> pl.Expr:
    """`den` with 0 turned into null: Polars evaluates every when/then branch, so a guarded
    division by zero would still raise."""
    return pl.when(den != 0).then(den.cast(QUOTIENT))


def round_quotient(num: pl.Expr, den: pl.Expr, places: int, mode: Rounding) -> pl.Expr:
    """`num` / `den` rounded to `places` exactly (den > 0), in `mode`; null if den is 0 or null.

    Works on |num| and restores the sign, so half up rounds ties away from zero like
    Python's ROUND_HALF_UP:

    >>> pairs = pl.DataFrame({"num": [368750, -1, 1], "den": [345000, 8, 0]})
    >>> ratio = round_quotient(pl.col("num"), pl.col("den"), 4, Rounding.HALF_UP)
    >>> [str(v) for v in pairs.select(ratio).to_series()]  # 1.06884..., -0.125, 1/0
    ['1.0688', '-0.1250', 'None']
    >>> cents = round_quotient(pl.col("num"), pl.col("den"), 2, Rounding.HALF_UP)
    >>> pairs.select(cents).to_series()[1]  # -0.125: the tie goes away from zero
    Decimal('-0.13')

    Both sides are brought to QUOTIENT's scale as decimals (Polars checks |num| * 10^places
    against the 38 digits and raises on an overflow), then divided as the decimals' integer
    forms, whose ratio is the same: integer division is several times faster than decimal
    division, and no step below can leave Int128 (`_rounded_division`).
    """
    scaled = (num.cast(QUOTIENT).abs() * 10**places).to_physical()
    magnitude = _rounded_division(scaled, _nonzero(den).to_physical(), mode)
    return _from_units(magnitude * _sign(num), places)


def _sign(value: pl.Expr) -> pl.Expr:
    """-1 where `value` < 0, else 1, as Int128: a magnitude times it is the signed integer
    (Polars cannot negate an Int128, and negating the decimal would repeat its work)."""
    one = pl.lit(1, dtype=pl.Int128)
    return pl.when(value < 0).then(-one).otherwise(one)


def _rounded_division(scaled: pl.Expr, divisor: pl.Expr, mode: Rounding) -> pl.Expr:
    """`scaled` / `divisor` (integers, scaled >= 0) rounded to a whole number in `mode`, from
    the floor and the remainder: never through an inexact quotient. The remainder is compared
    with what is left of the divisor (2 x rest >= divisor, without doubling), so nothing
    here exceeds its inputs' magnitude."""
    floor = scaled // divisor
    rest = scaled - floor * divisor
    other = divisor - rest
    if mode is Rounding.HALF_UP:
        bump = rest >= other
    else:
        bump = (rest > other) | ((rest == other) & ((floor % 2) == 1))
    return floor + bump.cast(pl.Int128)


def _from_units(units: pl.Expr, places: int) -> pl.Expr:
    """A whole number of 10^-places units (Int128) as a decimal with `places` places: the
    same integer read at that scale, exactly."""
    unit = pl.lit(f"{Decimal(1).scaleb(-places):f}").cast(pl.Decimal(38, places))
    return units.cast(pl.Decimal(38, 0)) * unit


LINE_PRODUCT_LIMIT = 10**38
"""`round_line`'s integer product must stay below this (Int128 holds 1.7 x 10^38; Polars'
integers wrap around silently where its decimals would raise)."""


def line_product_bound(amounts: pl.DataFrame, rates: pl.Series) -> int:
    """The largest |amount in cents| x |rate in millionths| `round_line` would compute for
    every money column of `amounts` and the `rates`; compare with LINE_PRODUCT_LIMIT."""
    cents = amounts.select(pl.max_horizontal(_whole_cents(pl.all()).abs().max())).item()
    rate = rates.cast(FACTOR).to_physical().abs().max()
    return cast(int, cents or 0) * cast(int, rate or 0)


def round_line(amount: pl.Expr, rate: pl.Expr, mode: Rounding) -> pl.Expr:
    """RULES.md's round(amount * rate) for money (2 places) times a rate (6 places), on
    their integer forms: cents times millionths is the exact product in units of 10^-8,
    and rounding that to cents is an integer division by 10^6 in `mode`. The same as
    `round_money` of the Decimal product, 3x faster on a million lines. The caller checks
    `line_product_bound` first: the integers do not report an overflow.

    50,000.00 EUR at 1.081932: 5,000,000 x 1,081,932 = 5,409,660,000,000 -> 54,096.60:

    >>> line = pl.DataFrame({"amount": ["50000.00"], "rate": ["1.081932"]})
    >>> amount, rate = pl.col("amount").cast(MONEY), pl.col("rate").cast(FACTOR)
    >>> line.select(round_line(amount, rate, Rounding.HALF_UP)).item()
    Decimal('54096.60')
    """
    product = _whole_cents(amount) * rate.cast(FACTOR).to_physical()
    cents = _rounded_by_constant(product.abs(), 10**6, mode)
    return _from_units(cents * _sign(product), 2)


def _rounded_by_constant(scaled: pl.Expr, divisor: int, mode: Rounding) -> pl.Expr:
    """`_rounded_division` by a constant divisor > 0. Half up is then one integer division,
    (scaled + divisor // 2) // divisor, a quarter of the general form's cost on millions of
    lines (`scaled` is below LINE_PRODUCT_LIMIT, so the sum stays in Int128)."""
    constant = pl.lit(divisor, dtype=pl.Int128)
    if mode is Rounding.HALF_UP:
        return (scaled + pl.lit(divisor // 2, dtype=pl.Int128)) // constant
    return _rounded_division(scaled, constant, mode)


def round_score(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """A score or composite: num / den to 4 places, half up (RULES.md 5), whatever the
    program's money rounding mode."""
    return round_quotient(num, den, 4, Rounding.HALF_UP)


def _whole_cents(money: pl.Expr) -> pl.Expr:
    """A money amount (2 places) as an exact integer number of cents (Int128): the decimal's
    own integer form."""
    return money.cast(MONEY).to_physical()


def _sorted(frame: pl.DataFrame, tie: str, by: str | None) -> pl.DataFrame:
    """`frame` sorted by `by`, then `tie` (rows equal on both keep their order): one stable
    sort on the text `tie`, skipped when the rows already come in that order (as exports by
    deal_id do: a sort would copy every column for nothing), then a stable sort on `by`. Two
    one-column sorts beat one sort on two text columns, the more so with an integer `by`."""
    ordered = frame if frame[tie].is_sorted() else frame.sort(tie, maintain_order=True)
    return ordered if by is None else ordered.sort(by, maintain_order=True)


def split_cents(
    frame: pl.DataFrame,
    weight: pl.Expr,
    total: pl.Expr,
    *,
    tie: str,
    by: str | None = None,
    alias: str,
) -> pl.DataFrame:
    """Add `alias` (money): `total` split over the rows of each `by` group (the whole frame
    when None) in proportion to `weight` (money >= 0): total * weight / sum of weights cut to
    whole cents, then one more cent each for the largest cut-off remainders (ties: `tie`
    ascending as text) so the group's shares add up to `total` exactly. A group whose weights
    sum to 0 gets 0 everywhere. Used by the budget (RULES.md 8.6) and the deal bonuses
    (11.2); the result is sorted by `by`, `tie`. An integer `by` keeps the group windows
    cheap on millions of rows.

    Integer arithmetic on cents (Int128): exact, and several times faster than Decimal
    division on millions of rows. Only the columns the next step reads are kept (the total's
    cents and the rank are expressions): at 2.5M deal rows each is 40 MB. Example: 100.00
    over weights 1, 1, 1 -> 33.34, 33.33, 33.33 (the extra cent to the first by `tie`).
    """

    def per_group(expr: pl.Expr) -> pl.Expr:
        return expr.over(by) if by else expr

    frame = _sorted(frame, tie, by)  # the caller passes its rows on: unsorted, they go here
    total_cents = _whole_cents(total)
    share = total_cents * pl.col("_weight")
    whole = pl.when(pl.col("_sum") > 0).then(share // pl.col("_sum")).otherwise(0)
    ranked = (
        frame.with_columns(_whole_cents(weight).alias("_weight"))
        .with_columns(per_group(pl.col("_weight").sum()).alias("_sum"))
        .with_columns(whole.alias("_cents"))
        .with_columns(
            (share - pl.col("_cents") * pl.col("_sum")).alias("_rest"),
            (total_cents - per_group(pl.col("_cents").sum())).alias("_left"),
        )
    )
    rank = per_group(pl.col("_rest").rank("ordinal", descending=True)).cast(pl.Int128)
    bump = (pl.col("_sum") > 0) & (rank <= pl.col("_left"))
    cents = pl.col("_cents") + bump.cast(pl.Int128)
    return ranked.with_columns(_from_units(cents, 2).alias(alias)).drop(
        "_weight", "_sum", "_cents", "_rest", "_left"
    )


_WHOLE = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THOUSANDTHS = "BHD IQD JOD KWD LYD OMR TND"
_TEN_THOUSANDTHS = "CLF UYW"
_PLACES_BY_CURRENCY = {
    **dict.fromkeys(_WHOLE.split(), 0),
    **dict.fromkeys(_THOUSANDTHS.split(), 3),
    **dict.fromkeys(_TEN_THOUSANDTHS.split(), 4),
}
DEFAULT_PLACES = 2
_ALL_PLACES = sorted({DEFAULT_PLACES, *_PLACES_BY_CURRENCY.values()})
LOCAL = pl.Decimal(38, 4)
"""Scale of payable_local: wide enough for every minor unit; the value is already rounded."""


def minor_unit(currency: str) -> int:
    """Decimal places of `currency`'s minor unit (2 unless ISO 4217 says otherwise)."""
    return _PLACES_BY_CURRENCY.get(currency.upper(), DEFAULT_PLACES)


def _places(currency: pl.Expr) -> pl.Expr:
    return currency.replace_strict(
        _PLACES_BY_CURRENCY, default=DEFAULT_PLACES, return_dtype=pl.Int8
    )


def round_local(amount: pl.Expr, rate: pl.Expr, currency: pl.Expr, mode: Rounding) -> pl.Expr:
    """`amount` / `rate` rounded in `mode` to `currency`'s minor unit, as LOCAL.

    Example: 7,200.00 USD at 0.0065 USD per JPY -> 1,107,692 JPY (not 1,107,692.31).
    """
    places = _places(currency)
    return pl.coalesce(
        pl.when(places == n).then(round_quotient(amount, rate, n, mode).cast(LOCAL))
        for n in _ALL_PLACES
    )


def local_amount_text(amount: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """A LOCAL amount written with exactly its currency's minor unit (`1107692`, `12.345`)."""
    places = _places(currency)
    return pl.coalesce(
        pl.when(places == n).then(amount.cast(pl.Decimal(38, n)).cast(pl.String))
        for n in _ALL_PLACES
    )
