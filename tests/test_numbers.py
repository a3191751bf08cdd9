"""Numbers are read strictly in the source's declared format: never a different number.

A misread amount is a defect of the highest class, so every combination of separators is
tried against values that fit and values that do not (table), and a property formats random
amounts in one format and reads them in every other.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.config import Source, SourceName, parse_config
from incentcalc.errors import ConfigError
from incentcalc.inputs import ROW, SOURCE_COLUMNS
from incentcalc.io.readers import parse_columns

FORMATS: list[tuple[str | None, str]] = [
    (None, "."),
    (",", "."),
    (" ", "."),
    ("'", "."),
    (None, ","),
    (".", ","),
    (" ", ","),
]
"""(thousands_separator, decimal_separator) pairs a source may declare."""


def read_amounts(cells: list[str], thousands: str | None, decimal: str) -> list[Any]:
    """Each cell read as a deal amount: its Decimal, or the failure rule's text."""
    source = Source(
        path=Path("deals.csv"),
        thousands_separator=thousands,
        decimal_separator=decimal,  # type: ignore[arg-type]
        currency_symbols=["€", "$"],
    )
    columns = [c.name for c in SOURCE_COLUMNS[SourceName.DEALS]]
    mapped = pl.DataFrame(
        {ROW: range(2, len(cells) + 2), **{c: ["x"] * len(cells) for c in columns}},
        schema={ROW: pl.Int64(), **dict.fromkeys(columns, pl.String())},
    ).with_columns(pl.Series("amount", cells, dtype=pl.String()))
    frame, failures = parse_columns(SourceName.DEALS, source, mapped)
    amount = failures.filter(pl.col("column") == "amount")
    rules = dict(zip(amount["row"], amount["rule"], strict=True))
    return [rules.get(row, amount) for row, amount in zip(frame[ROW], frame["amount"], strict=True)]


def fails(result: Any, *parts: str) -> bool:
    return isinstance(result, str) and all(part in result for part in parts)


@pytest.mark.parametrize(
    ("thousands", "decimal", "cell", "expected"),
    [
        # US format with grouping
        (",", ".", "1,234,567.89", Decimal("1234567.89")),
        (",", ".", "$12,500.00", Decimal("12500.00")),
        (",", ".", "1234.56", Decimal("1234.56")),
        (",", ".", "12.5", Decimal("12.50")),
        (",", ".", "-1,000", Decimal("-1000.00")),
        (",", ".", "12,50", None),
        (",", ".", "1,23,456.00", None),
        (",", ".", "60.000,00 €", None),
        (",", ".", "12,50 €", None),
        (",", ".", "1.234,56", None),
        (",", ".", ",5", None),
        # European format
        (".", ",", "1.234,56", Decimal("1234.56")),
        (".", ",", "60.000,00 €", Decimal("60000.00")),
        (".", ",", "12,50 €", Decimal("12.50")),
        (".", ",", "1.234.567", Decimal("1234567.00")),
        (".", ",", "1234,5", Decimal("1234.50")),
        (".", ",", "1234.56", None),
        (".", ",", "12.5", None),
        (".", ",", "1,234.56", None),
        (".", ",", "1,234", None),
        # decimal comma, no grouping
        (None, ",", "1234,56", Decimal("1234.56")),
        (None, ",", "1.234,56", None),
        (None, ",", "1.5", None),
        # plain (the default)
        (None, ".", "1234.56", Decimal("1234.56")),
        (None, ".", ".5", Decimal("0.50")),
        (None, ".", "12.5000", Decimal("12.50")),
        (None, ".", "1,234.56", None),
        (None, ".", "12,50", None),
        (None, ".", "1.500", None),
        (None, ".", "1e3", None),
        # spaces and apostrophes group thousands in French and Swiss exports
        (" ", ",", "1 234 567,5", Decimal("1234567.50")),
        (" ", ",", "1 23,5", None),
        ("'", ".", "1'234.50", Decimal("1234.50")),
        ("'", ".", "1,234.50", None),
    ],
)
def test_each_separator_combination_reads_only_values_written_its_way(
    thousands: str | None, decimal: str, cell: str, expected: Decimal | None
) -> None:
    result = read_amounts([cell], thousands, decimal)[0]
    if expected is None:
        assert fails(result, "decimal separator", repr(decimal)) or fails(result, "ambiguous")
    else:
        assert result == expected


def test_a_failure_names_the_format_it_expected() -> None:
    result = read_amounts(["1234.56"], ".", ",")[0]
    assert fails(result, "decimal separator ','", "thousands separator '.'", "1.234,56")
    assert "decimal places" not in result


def test_a_three_decimal_amount_is_ambiguous_not_silently_rounded() -> None:
    assert fails(read_amounts(["1,500"], ".", ",")[0], "ambiguous amount", "decimal_separator")
    assert fails(read_amounts(["1.500"], None, ".")[0], "ambiguous amount")


@pytest.mark.parametrize("separator", [".", ","])
def test_thousands_separator_equal_to_the_decimal_separator_is_a_config_error(
    separator: str,
) -> None:
    with pytest.raises(ValueError, match="also the decimal separator"):
        Source(
            path=Path("x.csv"),
            thousands_separator=separator,
            decimal_separator=separator,  # type: ignore[arg-type]
        )


def test_plain_numbers_with_thousands_dot_are_refused_before_reading(tmp_path: Path) -> None:
    """`1234.56` and `12.5` with thousands_separator "." once became 123,456.00 and 125.00."""
    with pytest.raises(ConfigError, match=r"sources\.deals.*decimal_separator: ','"):
        parse_config(
            "program: {name: X, base_currency: USD}\n"
            "sources:\n"
            "  partners: {path: p.csv}\n"
            "  deals: {path: d.csv, thousands_separator: '.'}\n"
            "kpis: {revenue: {metric: revenue, score: {attainment: {}}}}\n"
            "segments: {s: {weights: {revenue: 1}}}\n"
            "tiers: [{name: B, min_score: 0}]\n",
            tmp_path / "program.yaml",
        )


def written(amount: Decimal, thousands: str | None, decimal: str, grouped: bool) -> str:
    """`amount` as an export in that format writes it (2 decimals, or none if whole)."""
    text = f"{abs(amount):,.2f}" if grouped and thousands else f"{abs(amount):.2f}"
    if amount == amount.to_integral_value():
        text = text[:-3]
    text = text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands or "")
    return ("-" if amount < 0 else "") + text


SAMPLES = [
    Decimal(text) for text in ("1234.56", "60000", "12.5", "1.5", "1500", "-987654.3", "0.07")
]


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "plain"])
@pytest.mark.parametrize("other", FORMATS, ids=[f"written{f}" for f in FORMATS])
@pytest.mark.parametrize("declared", FORMATS, ids=[f"declared{f}" for f in FORMATS])
def test_every_pair_of_formats_reads_the_same_number_or_fails(
    declared: tuple[str | None, str], other: tuple[str | None, str], grouped: bool
) -> None:
    """Every declared format against amounts written in every format (itself included)."""
    results = read_amounts([written(a, *other, grouped) for a in SAMPLES], *declared)
    for amount, result in zip(SAMPLES, results, strict=True):
        if other == declared:
            assert result == amount
        else:
            assert result == amount or isinstance(result, str), (amount, result)


AMOUNTS = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False).map(
    lambda d: d.quantize(Decimal("0.01"))
)


@settings(max_examples=300, deadline=None)
@given(
    amounts=st.lists(AMOUNTS, min_size=1, max_size=8),
    declared=st.sampled_from(FORMATS),
    other=st.sampled_from(FORMATS),
    grouped=st.booleans(),
)
def test_a_value_reads_back_identically_or_fails_never_a_different_number(
    amounts: list[Decimal],
    declared: tuple[str | None, str],
    other: tuple[str | None, str],
    grouped: bool,
) -> None:
    """Written in the declared format, every amount reads back as itself; written in any
    other format, each one reads as itself or is a failure, never another number."""
    own = read_amounts([written(a, *declared, grouped) for a in amounts], *declared)
    assert own == amounts
    foreign = read_amounts([written(a, *other, grouped) for a in amounts], *declared)
    for amount, result in zip(amounts, foreign, strict=True):
        assert result == amount or isinstance(result, str), (amount, result, declared, other)
