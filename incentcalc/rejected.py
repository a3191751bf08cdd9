"""Naming rejected rows: which rows quarantine set aside, by number, id and partner, for
the warnings, the `--max-rejected` message, the manifest, exceptions and statements.

Rejected rows are REJECTED_SCHEMA frames (`inputs`): source, file, row, record_id,
partner_id, then the failure. Example: ``row 12 (deal_id D011, partner P8), row 15``.
"""

from __future__ import annotations

import polars as pl

from incentcalc.config import SourceName

ROW_ID: dict[SourceName, str] = {
    SourceName.PARTNERS: "partner_id",
    SourceName.DEALS: "deal_id",
    SourceName.NPS: "response_id",
    SourceName.RENEWALS: "contract_id",
    SourceName.ADJUSTMENTS: "adjustment_id",
}
"""The column that names a row of each source (targets and FX rates have none)."""

MAX_ROWS_NAMED = 5
"""Rejected rows named one by one in a warning or message (rejected_rows.csv has all)."""


def rejected_row_names(rejected: pl.DataFrame, limit: int = MAX_ROWS_NAMED) -> str:
    """The first rejected rows by number and id: "row 12 (deal_id D7, partner P3), row 15"."""
    rows = rejected.unique(subset=["file", "row"], keep="first", maintain_order=True).sort(
        "row", maintain_order=True
    )
    names = []
    for source, row, record, partner in (
        rows.head(limit).select("source", "row", "record_id", "partner_id").iter_rows()
    ):
        ids = [] if record is None else [f"{ROW_ID[SourceName(source)]} {record}"]
        if partner is not None and source != SourceName.PARTNERS:
            ids.append(f"partner {partner}")
        names.append(f"row {row}" + (f" ({', '.join(ids)})" if ids else ""))
    more = rows.height - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def partners_hit(rejected: pl.DataFrame) -> list[tuple[str, int, str]]:
    """(partner_id, rows, listing) for each partner whose numbers leave out rejected rows of a
    source other than partners, by partner_id."""
    rows = rejected.filter(
        (pl.col("source") != SourceName.PARTNERS) & pl.col("partner_id").is_not_null()
    ).unique(subset=["file", "row"], keep="first", maintain_order=True)
    return [
        (str(partner), own.height, rejected_row_names(own))
        for (partner,), own in rows.sort("partner_id", "row").group_by(
            "partner_id", maintain_order=True
        )
    ]
