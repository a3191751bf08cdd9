"""The Polars row rules (`schemas.ROW_RULES`) and the pandera models that list failures
(`schema_models.MODELS`) must say the same thing: a rule only one of them had would let a
bad row through the fast check, or make pandera report a rule the fast check never saw."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from incentcalc.config import SourceName
from incentcalc.schema_models import MODELS
from incentcalc.schemas import ROW_RULES, UNIQUE_CHECK, rows_pass, validate_rows


def _statistic(name: str, statistics: dict[str, object]) -> object:
    """The pandera check's argument in ROW_RULES' form."""
    if name == "isin":
        return tuple(statistics["allowed_values"])  # type: ignore[arg-type]
    if name == "in_range":
        assert statistics["include_min"] and statistics["include_max"]
        return (statistics["min_value"], statistics["max_value"])
    if name == "str_matches":
        return statistics["pattern"]
    return statistics.get("min_value", statistics.get("max_value"))


@pytest.mark.parametrize("source", list(SourceName))
def test_row_rules_match_the_pandera_models(source: SourceName) -> None:
    schema = MODELS[source].to_schema()
    assert not schema.strict and not schema.coerce
    assert [check.name for check in schema.checks] == [UNIQUE_CHECK]
    rules = ROW_RULES[source]
    assert list(schema.columns) == list(rules)
    for name, column in schema.columns.items():
        rule = rules[name]
        assert column.required and not column.unique
        assert column.dtype.type == rule.dtype, name
        assert column.nullable == rule.nullable, name
        checks = tuple((c.name, _statistic(c.name, c.statistics)) for c in column.checks)
        assert checks == rule.checks, name


def _deals(**changes: object) -> pl.DataFrame:
    row = {
        "_row": 2, "deal_id": "D1", "partner_id": "P1", "customer_id": "C1",
        "stage": "closed_won", "close_date": None, "amount": Decimal("10.00"),
        "currency": "USD", "deal_type": "new", "registered_on": None, "product": None,
    } | changes  # fmt: skip
    schema = {name: rule.dtype for name, rule in ROW_RULES[SourceName.DEALS].items()}
    return pl.DataFrame(
        [row, {**row, "_row": 3, "deal_id": "D2"}], schema={"_row": pl.Int64(), **schema}
    )


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"stage": "won"}, "stage"),
        ({"amount": Decimal("-1.00")}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"partner_id": None}, "partner_id"),
        ({"deal_id": "D2"}, "deal_id"),
    ],
)
def test_a_failing_cell_falls_back_to_pandera(changes: dict[str, object], column: str) -> None:
    frame = _deals(**changes)
    assert not rows_pass(SourceName.DEALS, frame)
    assert column in validate_rows(SourceName.DEALS, frame)["column"].to_list()


def test_clean_rows_pass_without_pandera() -> None:
    frame = _deals()
    assert rows_pass(SourceName.DEALS, frame)
    assert validate_rows(SourceName.DEALS, frame).is_empty()
    assert not rows_pass(SourceName.DEALS, frame.drop("product"))
    assert not rows_pass(SourceName.DEALS, frame.with_columns(pl.col("amount").cast(pl.String)))
