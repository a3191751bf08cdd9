"""The canonical input columns of DATA.md: names, kinds and whether they may be absent.

This is the contract between readers (which map exports onto these names and parse them)
and everything downstream. Money is ``Decimal(38, 2)``, FX rates ``Decimal(38, 6)`` and
targets ``Decimal(38, 6)``: exact, never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from incentcalc.config import SourceName

ROW = "_row"
"""Extra column on every canonical frame: the row number a person sees in the file (header = 1)."""

MONEY = pl.Decimal(38, 2)
RATE = pl.Decimal(38, 6)
TARGET = pl.Decimal(38, 6)


class Kind(StrEnum):
    """What a canonical column holds, as named in validation messages."""

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
    """One canonical column of a source: its name, kind and whether it may be missing."""

    name: str
    kind: Kind
    optional: bool = False

    @property
    def dtype(self) -> pl.DataType:
        """The Polars dtype a parsed frame gives this column."""
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
    """A partner's status in the partners file (DATA.md)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Stage(StrEnum):
    """A deal's stage in the CRM export (DATA.md); only closed_won deals count."""

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
    """What a deal sells: new business, an expansion, or a renewal."""

    NEW = "new"
    EXPANSION = "expansion"
    RENEWAL = "renewal"


class PaymentMethod(StrEnum):
    """How a partner is paid: by SEPA credit transfer or by hand."""

    SEPA = "sepa"
    MANUAL = "manual"


class RenewalStatus(StrEnum):
    """What became of a renewal due in the quarter (RULES.md 4)."""

    RENEWED = "renewed"
    CHURNED = "churned"
    PENDING = "pending"
