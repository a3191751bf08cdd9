"""Reading the program YAML and the canonical CSV sources (CONFIG.md, DATA.md) into plain
Python: dicts of text with dates as `date` and amounts as `Decimal`.

Only canonical column names and ISO dates are supported: the reference checks the rules,
not the mapping of real exports.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

Row = dict[str, Any]

DATE_COLUMNS = {"joined_on", "left_on", "close_date", "registered_on", "responded_on", "due_date"}
COLUMNS = {
    "partners": "partner_id partner_name segment region team_id payout_currency joined_on "
    "left_on status",
    "deals": "deal_id partner_id customer_id stage close_date amount currency deal_type "
    "registered_on product",
    "nps": "response_id partner_id customer_id responded_on score",
    "renewals": "contract_id partner_id customer_id due_date original_amount renewed_amount "
    "currency status",
    "targets": "partner_id period kpi target",
    "fx_rates": "period currency rate_to_base",
    "adjustments": "adjustment_id partner_id period amount reason approved_by",
}
"""DATA.md's canonical columns per source; optional ones absent from a file read as None."""
DECIMAL_COLUMNS = {"amount", "original_amount", "renewed_amount", "target", "rate_to_base"}


class _ExactLoader(yaml.SafeLoader):
    """YAML floats become exact Decimals from their written form (0.035 is 35/1000)."""


_ExactLoader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: Decimal(str(loader.construct_scalar(node))),  # type: ignore[arg-type]
)


def number(value: Any) -> Decimal:
    """A config number written as a YAML number or a string."""
    return value if isinstance(value, Decimal) else Decimal(str(value).strip())


@dataclass
class Sources:
    """The canonical rows of every source; optional sources are empty lists when absent."""

    partners: list[Row]
    deals: list[Row]
    nps: list[Row]
    renewals: list[Row]
    targets: list[Row] = field(default_factory=list)
    fx_rates: list[Row] = field(default_factory=list)
    adjustments: list[Row] = field(default_factory=list)


def read_program(path: Path) -> dict[str, Any]:
    """The config as nested dicts with Decimal numbers."""
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_ExactLoader)
    return loaded


def read_sources(program: dict[str, Any], folder: Path) -> Sources:
    """Every configured source, paths relative to the config's folder."""
    tables = {
        name: read_csv(folder / entry["path"], COLUMNS[name].split())
        for name, entry in program["sources"].items()
    }
    return Sources(**tables)


def read_csv(path: Path, columns: list[str]) -> list[Row]:
    """Rows of a canonical CSV: empty or absent cells are None, dates and amounts parsed."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{**dict.fromkeys(columns), **_typed(row)} for row in csv.DictReader(handle)]


def _typed(row: dict[str, str]) -> Row:
    typed: Row = {}
    for column, text in row.items():
        value: Any = text.strip() if text is not None and text.strip() else None
        if value is not None and column in DATE_COLUMNS:
            value = date.fromisoformat(value)
        elif value is not None and column in DECIMAL_COLUMNS:
            value = Decimal(value)
        elif value is not None and column == "score":
            value = int(value)
        typed[column] = value
    return typed
