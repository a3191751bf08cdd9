"""The loaded, validated inputs of one run: canonical frames plus where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from incentcalc.columns import canonical_schema
from incentcalc.config import SourceName

FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "row": pl.Int64(),
    "column": pl.String(),
    "value": pl.String(),
    "rule": pl.String(),
}
"""One validation failure per row: the file, the row as a person sees it (header = 1), the
canonical column, the offending value as written, and the rule in plain words."""


def empty_failures() -> pl.DataFrame:
    """A failures frame with no rows (FAILURE_SCHEMA)."""
    return pl.DataFrame(schema=FAILURE_SCHEMA)


REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "row": pl.Int64(),
    "record_id": pl.String(),
    "partner_id": pl.String(),
    "column": pl.String(),
    "value": pl.String(),
    "rule": pl.String(),
}
"""rejected_rows.csv: a failure (FAILURE_SCHEMA) of a row quarantine set aside, with whose
row it was: the source, the row's own id as written (deal_id, response_id, contract_id,
adjustment_id, partner_id of a partners row; empty for targets and FX rates) and the
partner_id it belongs to, so finance sees whom leaving it out hurts."""


def empty_rejected() -> pl.DataFrame:
    """A rejected-rows frame with no rows (REJECTED_SCHEMA)."""
    return pl.DataFrame(schema=REJECTED_SCHEMA)


@dataclass(frozen=True)
class SourceFile:
    """Audit facts about one input, for the manifest: a file (path, sha256 of its bytes) or
    a database source (`Source.location`, sha256 of the rows as read, and in `database` the
    URL without credentials, the table or query sha256); `rows` read, and `skipped` rows that
    `skip_rows_where` left out of the source."""

    name: SourceName
    path: Path | str
    sha256: str
    rows: int
    skipped: int = 0
    database: dict[str, str] | None = None
    rows_of: str = "every row"
    """Which rows `rows` and `skipped` count: the window read for the period
    ("close_date 2026-05-31..2026-10-31 or empty") or every row of the file."""


@dataclass(frozen=True)
class Inputs:
    """Canonical, validated frames of every source (an absent optional source is empty).

    Each frame has the columns of `columns.SOURCE_COLUMNS` with their canonical dtypes and
    a leading `_row` column. Periods (targets, fx_rates, adjustments) are canonical labels.
    `rejected` holds the rows quarantined with `--quarantine` (REJECTED_SCHEMA columns);
    `warnings` what a person must hear about the inputs (an empty source, rejected rows).
    """

    frames: dict[SourceName, pl.DataFrame]
    files: tuple[SourceFile, ...] = ()
    rejected: pl.DataFrame = field(default_factory=empty_rejected)
    warnings: tuple[str, ...] = ()

    def __getitem__(self, name: SourceName) -> pl.DataFrame:
        """The parsed frame of source `name`; an empty canonical frame when it was not read."""
        frame = self.frames.get(name)
        if frame is None:
            return pl.DataFrame(schema=canonical_schema(name))
        return frame
