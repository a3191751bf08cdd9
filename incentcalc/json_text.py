"""`json.dumps(document, indent=2, default=str)`, byte for byte, at C speed.

With `indent`, the standard library encodes in Python, one generator step per value: 0.1 s
of an `explain --json` whose document lists 16,000 deals. Here every container whose values
are all scalars (a deal row, a list of perks) is encoded in one call of the C encoder, with
the newline and indent of its depth as the item separator; only the few containers that
hold containers are walked in Python.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

INDENT = "  "
SCALARS = frozenset({str, int, float, bool, type(None)})
"""The exact types written without `default` or nesting (a subclass takes the slow path)."""


def dumps_indented(document: Any) -> str:
    """The text of `json.dumps(document, indent=2, default=str)`."""
    return _encode(document, 0)


@cache
def _flat_encoder(depth: int) -> json.JSONEncoder:
    """Encodes a container of scalars whose items sit at `depth` (C encoder: no indent)."""
    return json.JSONEncoder(separators=(",\n" + INDENT * depth, ": "), default=str)


def _encode(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        items: Any = value.values()
        opening, closing = "{", "}"
    elif isinstance(value, list | tuple):
        items = value
        opening, closing = "[", "]"
    else:
        return _flat_encoder(0).encode(value)
    if not items:
        return opening + closing
    inner = "\n" + INDENT * (depth + 1)
    if _scalars(items):
        body = _flat_encoder(depth + 1).encode(value)[1:-1]
    elif closing == "]" and all(map(_flat, items)):
        body = _rows(value, depth + 1)
    elif isinstance(value, dict):
        body = ("," + inner).join(f"{_key(k)}: {_encode(v, depth + 1)}" for k, v in value.items())
    else:
        body = ("," + inner).join(_encode(item, depth + 1) for item in value)
    return opening + inner + body + "\n" + INDENT * depth + closing


def _scalars(items: Any) -> bool:
    return set(map(type, items)) <= SCALARS


def _flat(row: Any) -> bool:
    return type(row) is dict and bool(row) and _scalars(row.values())


def _rows(rows: list[dict[Any, Any]], depth: int) -> str:
    """A list of flat rows (the deals) in one C call: its items are separated as the rows'
    fields are, then each ``},<newline>{`` between two rows gets its own indent. That text
    occurs nowhere else: encoded strings hold no raw newline, and fields are scalars."""
    fields = "\n" + INDENT * (depth + 1)
    text = _flat_encoder(depth + 1).encode(rows)[2:-2]
    between = "\n" + INDENT * depth + "}," + "\n" + INDENT * depth + "{" + fields
    return "{" + fields + text.replace("}," + fields + "{", between) + "\n" + INDENT * depth + "}"


def _key(key: Any) -> str:
    """A key as `json` writes it ("deals"; True -> "true", 1.5 -> "1.5")."""
    return json.dumps({key: 0})[1:-4]
