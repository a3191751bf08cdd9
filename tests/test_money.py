"""Exact money: our rounding agrees with Python's decimal module, and the Polars Decimal
pitfalls we guard against are real (so the guards stay necessary)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.config import Rounding
from incentcalc.money import floor_cents, round_money, round_quotient, round_score

PYTHON_MODE = {Rounding.HALF_UP: ROUND_HALF_UP, Rounding.HALF_EVEN: ROUND_HALF_EVEN}
decimals = st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False)
positive = st.decimals(min_value=Decimal("0.000001"), max_value=10**9, places=6)


def _frame(num: Decimal, den: Decimal) -> pl.DataFrame:
    return pl.DataFrame(
        {"n": [num], "d": [den]}, schema={"n": pl.Decimal(38, 6), "d": pl.Decimal(38, 6)}
    )


@settings(max_examples=300, deadline=None)
@given(decimals, positive, st.sampled_from(list(Rounding)), st.sampled_from([2, 4, 6]))
def test_round_quotient_matches_python_decimal(
    num: Decimal, den: Decimal, mode: Rounding, places: int
) -> None:
    got = _frame(num, den).select(round_quotient(pl.col("n"), pl.col("d"), places, mode)).item()
    with localcontext() as context:
        context.prec = 80
        want = (num / den).quantize(Decimal(10) ** -places, rounding=PYTHON_MODE[mode])
    assert got == want


def test_score_tie_rounds_half_up() -> None:
    assert _frame(Decimal("12345"), Decimal("100000")).select(
        round_score(pl.col("n"), pl.col("d"))
    ).item() == Decimal("0.1235")


def test_division_by_zero_gives_null_not_an_error() -> None:
    assert (
        _frame(Decimal(1), Decimal(0)).select(round_score(pl.col("n"), pl.col("d"))).item() is None
    )


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("209.874", Rounding.HALF_UP, "209.87"),
        ("145.999", Rounding.HALF_UP, "146.00"),
        ("0.125", Rounding.HALF_UP, "0.13"),
        ("-0.125", Rounding.HALF_UP, "-0.13"),
        ("0.125", Rounding.HALF_EVEN, "0.12"),
        ("0.135", Rounding.HALF_EVEN, "0.14"),
    ],
)
def test_round_money_in_each_mode(value: str, mode: Rounding, expected: str) -> None:
    frame = pl.DataFrame({"x": [Decimal(value)]}, schema={"x": pl.Decimal(38, 6)})
    assert frame.select(round_money(pl.col("x"), mode)).item() == Decimal(expected)


def test_floor_cents_and_remainder_are_exact() -> None:
    frame = _frame(Decimal("2990") * 15000, Decimal("21370"))
    cents, rest = frame.select(
        floor_cents(pl.col("n"), pl.col("d"))[0].alias("c"),
        floor_cents(pl.col("n"), pl.col("d"))[1].alias("r"),
    ).row(0)
    assert cents == 209873
    assert cents * Decimal("21370") + rest == Decimal("2990") * 15000 * 100


def test_polars_pitfall_product_keeps_the_larger_scale() -> None:
    """Why money.exact() exists: 0.01 * 0.000001 vanishes at scale 6."""
    frame = pl.DataFrame(
        {"a": [Decimal("0.01")], "b": [Decimal("0.000001")]},
        schema={"a": pl.Decimal(38, 2), "b": pl.Decimal(38, 6)},
    )
    assert frame.select(pl.col("a") * pl.col("b")).item() == 0


def test_polars_pitfall_round_defaults_to_half_even() -> None:
    """Why round_money() always passes a mode: plain round(2) of 0.125 gives 0.12."""
    frame = pl.DataFrame({"x": [Decimal("0.125")]}, schema={"x": pl.Decimal(38, 3)})
    assert frame.select(pl.col("x").round(2)).item() == Decimal("0.12")


def test_polars_pitfall_to_decimal_silently_rounds() -> None:
    """Why readers check digits with a regex before str.to_decimal."""
    assert pl.Series(["1.115"]).str.to_decimal(scale=2).item() == Decimal("1.12")
