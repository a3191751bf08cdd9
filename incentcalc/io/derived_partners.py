"""Partners from the deals (DATA.md, `partners: {from: deals, defaults: {...}}`): a CRM export
often has no partner master, the "partner" being the opportunity owner.

The partners are the distinct partner_id values of the whole deals export (every row, not
only the period's: a partner's NPS or renewal rows may fall in a quarter without deals; read
as text, nothing else parsed, which keeps the second read of the export cheap), in
the order they first appear; partner_name is the deals' mapped `partner_name` column, else
the id; every other partners column is the constant `defaults` gives it, read and checked
like a cell of a partners file. One id under two names is a failure naming both (it stops
the run: which name is right is not ours to guess).

Example: deals rows (P1, "Ann Lee"), (P2, empty), (P1, "Ann Lee") with
``defaults: {segment: reseller, joined_on: 2024-01-01, status: active}`` give partners P1
"Ann Lee" and P2 "P2", both resellers since 2024-01-01.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from incentcalc.config import Source, SourceName
from incentcalc.inputs import EXTRA_COLUMNS, FAILURE_SCHEMA, ROW, SOURCE_COLUMNS, SourceFile
from incentcalc.io.readers import SourceRead, check_mapping, parse_columns, read_source

ID, NAME = "partner_id", "partner_name"
MAX_CONFLICTS_NAMED = 3
"""Rows quoted per name in a two-names failure (the report lists the ids one by one)."""


def read_partners_from_deals(
    partners: Source,
    deals: Source,
    *,
    partner: str | None = None,
    dates: dict[str, date] | None = None,
    sha256: bool = True,
) -> tuple[SourceRead, pl.DataFrame]:
    """The partners source made from the deals export, and the failures of ids that have
    two names there (FAILURE_SCHEMA, against the deals file's rows); `sha256` as in
    `read_source`."""
    check_mapping(SourceName.PARTNERS, partners)
    whole = read_source(
        SourceName.DEALS, deals, partner=partner, dates=dates,
        extra=EXTRA_COLUMNS[SourceName.DEALS], text_only=True, sha256=sha256,
    )  # fmt: skip
    ids, names = pl.col(ID).cast(pl.String()), pl.col(NAME).cast(pl.String())
    rows = whole.frame.filter(ids.is_not_null()).select(
        ROW, ids.alias(ID), pl.coalesce(names, ids).alias(NAME)
    )
    first = rows.unique(ID, keep="first", maintain_order=True)
    constants = [
        pl.lit(partners.defaults.get(column.name), dtype=pl.String()).alias(column.name)
        for column in SOURCE_COLUMNS[SourceName.PARTNERS]
        if column.name not in (ID, NAME)
    ]
    written = first.with_columns(constants)
    frame, failures = parse_columns(SourceName.PARTNERS, partners, written)
    # one name for the source everywhere (failures, quarantine, manifest); the manifest's
    # sha256 is that of the deals bytes the partners were made from
    file = SourceFile(SourceName.PARTNERS, partners.location, whole.file.sha256, frame.height)
    read = SourceRead(SourceName.PARTNERS, partners.location, frame, written, failures, file)
    return read, two_names(rows, whole.path)


def two_names(rows: pl.DataFrame, path: Path | str) -> pl.DataFrame:
    """One failure per partner_id written with two or more names: at the first row of its
    second name, naming every name with the rows it is on."""
    names = rows.group_by(ID, NAME, maintain_order=True).agg(pl.col(ROW))
    ids = (
        names.group_by(ID, maintain_order=True)
        .agg(pl.col(NAME), pl.col(ROW))
        .filter(pl.col(NAME).list.len() > 1)
    )
    failures = []
    for partner_id, found, row_lists in ids.iter_rows():
        listed = " and ".join(
            f"{name!r} (row{'s' if len(at) > 1 else ''} {_rows(at)})"
            for name, at in zip(found, row_lists, strict=True)
        )
        failures.append(
            {"file": str(path), "row": row_lists[1][0], "column": NAME, "value": found[1],
             "rule": f"partner_id {partner_id!r} has {len(found)} names in the deals: {listed}; "
             "partners from deals take one name per id: correct the name in the export, or "
             "map partner_name to a column that has one name per partner_id"}
        )  # fmt: skip
    return pl.DataFrame(failures, schema=FAILURE_SCHEMA)


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:MAX_CONFLICTS_NAMED])
    more = len(rows) - MAX_CONFLICTS_NAMED
    return f"{shown} and {more} more" if more > 0 else shown
