"""Tiny canonical input frames for rule tests: write rows as dicts of text, get the frames
the engine sees (canonical dtypes, `_row` numbers)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from incentcalc.config import ProgramConfig, SourceName, parse_config
from incentcalc.inputs import ROW, SOURCE_COLUMNS, Inputs, Kind, canonical_schema

SOURCES_BLOCK = {name: {"path": f"{name}.csv"} for name in ("partners", "deals", "nps", "renewals")}


def frame(source: SourceName, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Canonical frame from rows of plain values (dates and amounts as ISO text)."""
    schema = canonical_schema(source)
    columns: dict[str, list[Any]] = {name: [] for name in schema}
    for index, row in enumerate(rows):
        for column in SOURCE_COLUMNS[source]:
            value = row.get(column.name)
            if value is not None and column.kind in (
                Kind.MONEY,
                Kind.SIGNED_MONEY,
                Kind.RATE,
                Kind.TARGET,
            ):
                value = Decimal(str(value))
            columns[column.name].append(value)
        columns[ROW].append(index + 2)
    text = {n: pl.String() if schema[n] == pl.Date() else schema[n] for n in schema}
    built = pl.DataFrame(columns, schema=text)
    dates = [n for n, t in schema.items() if t == pl.Date()]
    built = built.with_columns(pl.col(d).str.to_date("%Y-%m-%d") for d in dates)
    if source == SourceName.DEALS:
        built = built.with_columns(pl.col("deal_type").fill_null("new"))
    return built.cast(schema)  # type: ignore[arg-type]


def inputs(**sources: list[dict[str, Any]]) -> Inputs:
    """Inputs from keyword lists of rows: inputs(partners=[...], deals=[...])."""
    return Inputs(
        {SourceName(name): frame(SourceName(name), rows) for name, rows in sources.items()}
    )


def program(text: str) -> ProgramConfig:
    """A config from YAML text without `sources` (a dummy block is added)."""
    raw = yaml.safe_load(text)
    raw.setdefault("sources", SOURCES_BLOCK)
    return parse_config(yaml.safe_dump(raw), Path("/tmp/program.yaml"))


def partner(pid: str, **extra: Any) -> dict[str, Any]:
    """An active reseller since 2020 unless `extra` says otherwise."""
    return {"partner_id": pid, "partner_name": f"Partner {pid}", "segment": "reseller",
            "joined_on": "2020-01-01", "status": "active", **extra}  # fmt: skip


def deal(
    did: str, pid: str, amount: str, close: str = "2026-08-01", **extra: Any
) -> dict[str, Any]:
    """A closed_won USD deal registered well before it closed unless `extra` says otherwise."""
    return {"deal_id": did, "partner_id": pid, "customer_id": f"C-{did}", "stage": "closed_won",
            "close_date": close, "amount": amount, "currency": "USD",
            "registered_on": "2026-01-01", **extra}  # fmt: skip
