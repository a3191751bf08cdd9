"""Exact money: our rounding agrees with Python's decimal module, and the Polars Decimal
pitfalls we guard against are real (so the guards stay necessary)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.config import Rounding
from incentcalc.engine.fx import convert
from incentcalc.errors import DataError
from incentcalc.money import (
    decimal_frame,
    decimal_lit,
    round_line,
    round_money,
    round_quotient,
    round_score,
    split_cents,
)

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


@pytest.mark.parametrize("mode", list(Rounding))
def test_round_quotient_near_38_digits_stays_exact(mode: Rounding) -> None:
    """The quotient runs on the decimals' integer forms (Int128, which wraps silently): at
    the edge of 38 digits, with a divisor as large, the remainder test must not overflow."""
    num, den = Decimal("99000000000000000000000000"), Decimal("99500000000000000000000001")
    frame = pl.DataFrame(
        {"n": [num, -num], "d": [den, den]},
        schema={"n": pl.Decimal(38, 12), "d": pl.Decimal(38, 12)},
    )
    got = frame.select(round_quotient(pl.col("n"), pl.col("d"), 0, mode)).to_series()
    assert got.to_list() == [Decimal(1), Decimal(-1)]  # 0.99497...: twice the rest is 2e38


def test_round_quotient_too_many_digits_raises() -> None:
    """|num| x 10^places beyond 38 digits is a decimal overflow (the run's `too large`), never
    a wrapped integer."""
    frame = pl.DataFrame({"n": ["99999999999999999999999999"], "d": ["1"]}).select(
        pl.all().cast(pl.Decimal(38, 12))
    )
    with pytest.raises(pl.exceptions.ComputeError):
        frame.select(round_quotient(pl.col("n"), pl.col("d"), 4, Rounding.HALF_UP))


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


amounts = st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=2)
rates = st.decimals(min_value=0, max_value=10**6 - 1, places=6)


@settings(max_examples=300, deadline=None)
@given(amounts, rates, st.sampled_from(list(Rounding)))
def test_round_line_on_integers_matches_python_decimal(
    amount: Decimal, rate: Decimal, mode: Rounding
) -> None:
    """Up to the largest amount (< 10^12) and rate (< 10^6) validation lets through."""
    frame = pl.DataFrame(
        {"a": [amount], "r": [rate]}, schema={"a": pl.Decimal(38, 2), "r": pl.Decimal(38, 6)}
    )
    got = frame.select(round_line(pl.col("a"), pl.col("r"), mode)).item()
    assert got == (amount * rate).quantize(Decimal("0.01"), rounding=PYTHON_MODE[mode])


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        ("0.25", Rounding.HALF_UP, "0.13"),
        ("-0.25", Rounding.HALF_UP, "-0.13"),
        ("0.25", Rounding.HALF_EVEN, "0.12"),
        ("-0.25", Rounding.HALF_EVEN, "-0.12"),
        ("0.35", Rounding.HALF_EVEN, "0.18"),
        (None, Rounding.HALF_UP, None),
    ],
)
def test_round_line_ties_and_nulls(
    amount: str | None, mode: Rounding, expected: str | None
) -> None:
    frame = pl.DataFrame(
        {"a": [amount], "r": ["0.5"]}, schema={"a": pl.String, "r": pl.String}
    ).select(pl.col("a").cast(pl.Decimal(38, 2)), pl.col("r").cast(pl.Decimal(38, 6)))
    got = frame.select(round_line(pl.col("a"), pl.col("r"), mode)).item()
    assert got == (None if expected is None else Decimal(expected))


def test_convert_refuses_products_the_integers_cannot_hold() -> None:
    """Integers wrap around silently where decimals raise: amounts this large (validation
    stops them first in a run) are a DataError, never a wrong amount."""
    rates = pl.DataFrame({"currency": ["EUR"], "rate_to_base": ["1.5"]}).with_columns(
        pl.col("rate_to_base").cast(pl.Decimal(38, 6))
    )
    deals = pl.DataFrame({"currency": ["EUR"], "amount": ["1" + "0" * 30]}).with_columns(
        pl.col("amount").cast(pl.Decimal(38, 2))
    )
    with pytest.raises(DataError, match="too large to calculate exactly"):
        convert(deals, rates, {"amount": "amount_base"}, Rounding.HALF_UP)
    fine = deals.with_columns(pl.col("amount") / 10**10)
    converted = convert(fine, rates, {"amount": "amount_base"}, Rounding.HALF_UP)
    assert converted["amount_base"].item() == Decimal("1" + "0" * 20) * Decimal("1.5")


def test_split_cents_is_exact_per_group_and_gives_leftover_cents_to_the_largest_remainders() -> (
    None
):
    frame = pl.DataFrame(
        {"g": ["A", "A", "A", "B", "B", "Z"], "k": ["k3", "k1", "k2", "k9", "k10", "k0"],
         "w": ["2990", "7380", "11000", "1", "1", "0"], "t": ["15000", "15000", "15000",
                                                            "0.01", "0.01", "5"]},
    ).with_columns(pl.col("w", "t").cast(pl.Decimal(38, 2)))  # fmt: skip
    got = split_cents(frame, pl.col("w"), pl.col("t"), tie="k", by="g", alias="s")
    # A cut: 5180.15 (rest .9), 7721.10 (.4), 2098.73 (.65): the 2 cents left go to k1, k3
    assert got.select("g", "k", pl.col("s").cast(pl.String)).rows() == [
        ("A", "k1", "5180.16"), ("A", "k2", "7721.10"), ("A", "k3", "2098.74"),
        ("B", "k10", "0.01"), ("B", "k9", "0.00"),  # equal remainders: "k10" < "k9" as text
        ("Z", "k0", "0.00"),  # weights sum to 0
    ]  # fmt: skip
    assert sum(got.filter(pl.col("g") == "A")["s"].to_list()) == Decimal("15000.00")


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


@settings(max_examples=200, deadline=None)
@given(decimals, st.sampled_from([None, pl.Decimal(38, 6), pl.Decimal(38, 18)]))
def test_decimal_lit_is_pl_lit_of_the_decimal(value: Decimal, dtype: pl.Decimal | None) -> None:
    """Same type and value as Polars' own literal of the Decimal, `dtype` or not."""
    want = pl.select(x=pl.lit(value, dtype=dtype))
    got = pl.select(x=decimal_lit(value, dtype))
    assert got.schema == want.schema
    assert got.item() == want.item() == value


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), decimals), max_size=4))
def test_decimal_frame_is_the_frame_of_the_rows(values: list[Decimal | None]) -> None:
    rows = [{"name": f"r{i}", "rate": value} for i, value in enumerate(values)]
    schema = {"name": pl.String(), "rate": pl.Decimal(38, 6)}
    assert decimal_frame(rows, schema).equals(pl.DataFrame(rows, schema=schema))
