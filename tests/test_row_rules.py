"""The row rules (`rules.ROW_RULES`) are checked twice: in one Polars pass, and, when a row
fails, by the pandera schemas built from them (`rule_models.MODELS`), which list the
failing cells. Both must see the same failures."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from incentcalc.config import SourceName
from incentcalc.io.rules import ROW_RULES, rows_pass
from incentcalc.io.validation import validate_rows


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
        ({"amount": Decimal("1000000000000.00")}, "amount"),
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
