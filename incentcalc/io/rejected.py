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


def row_label() -> pl.Expr:
    """A rejected row in words: "row 12 (deal_id D7, partner P3)", "row 4 (partner_id P4)",
    "row 9" (a targets row has no id)."""
    id_name = pl.col("source").replace_strict(
        {name.value: column for name, column in ROW_ID.items()}, default=None
    )
    ids = pl.concat_str(
        pl.when(pl.col("record_id").is_not_null()).then(pl.format("{} {}", id_name, "record_id")),
        pl.when(
            pl.col("partner_id").is_not_null() & (pl.col("source") != SourceName.PARTNERS)
        ).then(pl.format("partner {}", "partner_id")),
        separator=", ",
        ignore_nulls=True,
    )
    return (
        pl.when(ids.fill_null("") != "")
        .then(pl.format("row {} ({})", "row", ids))
        .otherwise(pl.format("row {}", "row"))
    )


def _listing(labels: pl.Expr, count: pl.Expr, limit: int) -> pl.Expr:
    """The first `limit` labels joined, then "and N more"."""
    more = (
        pl.when(count > limit).then(pl.format(" and {} more", count - limit)).otherwise(pl.lit(""))
    )
    return pl.concat_str(labels.head(limit).str.join(", "), more)


def rejected_row_names(rejected: pl.DataFrame, limit: int = MAX_ROWS_NAMED) -> str:
    """The first rejected rows by number and id: "row 12 (deal_id D7, partner P3), row 15"."""
    rows = rejected.unique(subset=["file", "row"], keep="first", maintain_order=True).sort(
        "row", maintain_order=True
    )
    return str(rows.select(_listing(row_label(), pl.len(), limit)).item())


def partners_hit(rejected: pl.DataFrame) -> list[tuple[str, int, str]]:
    """(partner_id, rows, listing) for each partner whose numbers leave out rejected rows of a
    source other than partners, by partner_id (one pass, also for 20,000 partners)."""
    rows = rejected.filter(
        (pl.col("source") != SourceName.PARTNERS) & pl.col("partner_id").is_not_null()
    ).unique(subset=["file", "row"], keep="first", maintain_order=True)
    hit = (
        rows.sort("partner_id", "row")
        .group_by("partner_id", maintain_order=True)
        .agg(pl.len().alias("rows"), _listing(row_label(), pl.len(), MAX_ROWS_NAMED).alias("which"))
    )
    return [(str(partner), int(count), str(which)) for partner, count, which in hit.iter_rows()]
