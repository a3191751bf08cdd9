"""The loaded, validated inputs of one run: canonical frames plus where they came from, and
the canonical input columns of DATA.md they are made of: names, kinds and whether they may be
absent.

The columns are the contract between readers (which map exports onto these names and parse
them) and everything downstream. Money is ``Decimal(38, 2)``, FX rates ``Decimal(38, 6)`` and
targets ``Decimal(38, 6)``: exact, never float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl

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

    Each frame has the columns of `SOURCE_COLUMNS` with their canonical dtypes and
    a leading `_row` column. Periods (targets, fx_rates, adjustments) are canonical labels.
    `rejected` holds the rows quarantined with `--quarantine` (REJECTED_SCHEMA columns);
    `warnings` what a person must hear about the inputs (an empty source, rejected rows).
    """

    frames: dict[SourceName, pl.DataFrame]
    files: tuple[SourceFile, ...] = ()
    rejected: pl.DataFrame = field(default_factory=empty_rejected)
    warnings: tuple[str, ...] = ()

    def __getitem__(self, name: SourceName) -> pl.DataFrame:
        frame = self.frames.get(name)
        if frame is None:
            return pl.DataFrame(schema=canonical_schema(name))
        return frame


ROW = "_row"
"""Extra column on every canonical frame: the row number a person sees in the file (header = 1)."""

MONEY = pl.Decimal(38, 2)
RATE = pl.Decimal(38, 6)
TARGET = pl.Decimal(38, 6)


class Kind(StrEnum):
    TEXT = "text"
    CODE = "currency code"
    DATE = "date"
    MONEY = "amount"
    SIGNED_MONEY = "signed amount"
    RATE = "rate"
    TARGET = "target"
    INTEGER = "integer"
    PERIOD = "period label"


DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.CODE: pl.String(),
    Kind.DATE: pl.Date(),
    Kind.MONEY: MONEY,
    Kind.SIGNED_MONEY: MONEY,
    Kind.RATE: RATE,
    Kind.TARGET: TARGET,
    Kind.INTEGER: pl.Int64(),
    Kind.PERIOD: pl.String(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    optional: bool = False

    @property
    def dtype(self) -> pl.DataType:
        return DTYPES[self.kind]


T, C, D = Kind.TEXT, Kind.CODE, Kind.DATE

PAYMENT_COLUMNS = ("vendor_id", "payee_name", "iban", "bic", "payment_method")
"""The partner master's optional payment columns (PAYMENTS.md): read only by `close`, which
stores them in the ledger entry, and by `payments`; the calculation never looks at them."""

SOURCE_COLUMNS: dict[SourceName, tuple[Column, ...]] = {
    SourceName.PARTNERS: (
        Column("partner_id", T),
        Column("partner_name", T),
        Column("segment", T),
        Column("region", T, optional=True),
        Column("team_id", T, optional=True),
        Column("payout_currency", C, optional=True),
        Column("joined_on", D),
        Column("left_on", D, optional=True),
        Column("status", T),
        *(Column(name, T, optional=True) for name in PAYMENT_COLUMNS),
    ),
    SourceName.DEALS: (
        Column("deal_id", T),
        Column("partner_id", T),
        Column("customer_id", T),
        Column("stage", T),
        Column("close_date", D, optional=True),
        Column("amount", Kind.MONEY, optional=True),
        Column("currency", C),
        Column("deal_type", T, optional=True),
        Column("registered_on", D, optional=True),
        Column("product", T, optional=True),
    ),
    SourceName.NPS: (
        Column("response_id", T),
        Column("partner_id", T),
        Column("customer_id", T, optional=True),
        Column("responded_on", D),
        Column("score", Kind.INTEGER),
    ),
    SourceName.RENEWALS: (
        Column("contract_id", T),
        Column("partner_id", T),
        Column("customer_id", T),
        Column("due_date", D),
        Column("original_amount", Kind.MONEY),
        Column("renewed_amount", Kind.MONEY, optional=True),
        Column("currency", C),
        Column("status", T),
    ),
    SourceName.TARGETS: (
        Column("partner_id", T),
        Column("period", Kind.PERIOD),
        Column("kpi", T),
        Column("target", Kind.TARGET),
    ),
    SourceName.FX_RATES: (
        Column("period", Kind.PERIOD),
        Column("currency", C),
        Column("rate_to_base", Kind.RATE),
    ),
    SourceName.ADJUSTMENTS: (
        Column("adjustment_id", T),
        Column("partner_id", T),
        Column("period", Kind.PERIOD),
        Column("amount", Kind.SIGNED_MONEY),
        Column("reason", T),
        Column("approved_by", T),
    ),
}

EXTRA_COLUMNS: dict[SourceName, tuple[Column, ...]] = {
    SourceName.DEALS: (Column("partner_name", T, optional=True),),
}
"""Columns a source's `columns` may map that only some reads ask for (`read_source`'s
`extra`): the deals' partner_name names the partners of `partners: {from: deals}`."""

REQUIRED_SOURCES = (SourceName.PARTNERS, SourceName.DEALS)
"""Sources every program reads. nps and renewals are needed only by the KPIs that read them
(`validation.check_needed_sources`); the rest are optional."""


def canonical_schema(source: SourceName) -> dict[str, pl.DataType]:
    """Column name -> dtype of a parsed canonical frame, `_row` first."""
    return {ROW: pl.Int64(), **{c.name: c.dtype for c in SOURCE_COLUMNS[source]}}


class PartnerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Stage(StrEnum):
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"
    OPEN = "open"
    CANCELLED = "cancelled"


def is_credit() -> pl.Expr:
    """True for a credit (RULES.md 4): a closed_won deal with a negative amount, which only
    validation with `credits: true` on the deals source lets through. It nets against
    revenue but is not a won deal."""
    return ((pl.col("stage") == Stage.CLOSED_WON) & (pl.col("amount") < 0)).fill_null(False)


class DealType(StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    RENEWAL = "renewal"


class PaymentMethod(StrEnum):
    SEPA = "sepa"
    MANUAL = "manual"


class RenewalStatus(StrEnum):
    RENEWED = "renewed"
    CHURNED = "churned"
    PENDING = "pending"
