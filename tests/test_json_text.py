"""`dumps_indented` writes exactly what `json.dumps(indent=2, default=str)` writes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from incentcalc.json_text import dumps_indented


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


DOCUMENTS: list[Any] = [
    {}, [], None, 1, "x", 1.5e300, float("nan"), Decimal("1.50"), date(2026, 7, 1),
    {"a": {}, "b": [], "c": [[]], "d": [{}]},
    [{"a": 1}], [{"a": 1}, {}], [{"a": 1, "b": [1]}, {"a": 2}],
    [{"text": "},\n{", "n": None}, {"text": "},\n    {", "x": True}],
    {"rows": [{"id": "D1", "amount": "1.00"}, {"id": "D2", "amount": None}]},
    {"p": {"x": 1}, "q": {"y": "2"}},
    {"nested": [{"a": [1, 2, {"b": None}], "c": (1, 2)}], "u": "\u00e9\n\"", "e": Colour.RED,
     "i": Size.BIG, 1: "int key", False: "bool key", None: 0, 2.5: "float key"},
    {"money": [Decimal("0E-18"), date(2020, 1, 1)], "deep": [1, [2, [3, {}]]],
     "table": [[{"a": 1, "b": "x"}, {"a": 2}]], "enum rows": [{"c": Colour.RED}]},
]  # fmt: skip


@pytest.mark.parametrize("document", DOCUMENTS)
def test_same_text_as_json_dumps(document: Any) -> None:
    assert dumps_indented(document) == json.dumps(document, indent=2, default=str)
