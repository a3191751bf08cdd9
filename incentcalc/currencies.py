"""Minor units of payout currencies (ISO 4217), for RULES.md 8.11: payable_local is rounded to
the payout currency's smallest coin, so a yen payout is whole yen and a dinar payout has fils.

>>> minor_unit("JPY"), minor_unit("KWD"), minor_unit("EUR")
(0, 3, 2)
"""

from __future__ import annotations

import polars as pl

from incentcalc.config import Rounding
from incentcalc.money import round_quotient

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
