"""The pandera models of the row rules (`schemas.ROW_RULES` in pandera's terms), one per
source. Imported only when `schemas.validate_rows` found a failing row: pandera (with numpy)
costs a tenth of a second at start, and it is needed only to list the failures.

Each model checks the parsed frame (canonical dtypes, `_row` kept as an extra column) with
``lazy=True`` so every failing cell is collected, not just the first.
"""

from __future__ import annotations

import sys
from typing import Any

import polars as pl

from incentcalc.columns import DealType, PartnerStatus, RenewalStatus, Stage
from incentcalc.config import SourceName
from incentcalc.schemas import (
    CURRENCY_PATTERN,
    MAX_AMOUNT,
    MAX_RATE,
    MAX_TARGET,
    MONEY_KW,
    RATE_KW,
    UNIQUE_CHECK,
    UNIQUE_KEYS,
    unique_rows,
)

# pandera imports hypothesis whenever it is installed (for data synthesis, which incentcalc
# does not use): a fifth of a second at every start in an environment with the test tools.
# Hide it while pandera loads; a later `import hypothesis` (the tests) is not affected.
_HIDE_HYPOTHESIS = "hypothesis" not in sys.modules
if _HIDE_HYPOTHESIS:
    sys.modules["hypothesis"] = None  # type: ignore[assignment]
try:
    import pandera.polars as pa
    import pandera.strategies.base_strategies  # noqa: F401  (the module that imports it)
    from pandera.api.polars.types import PolarsData
    from pandera.engines import polars_engine as pe
finally:
    if _HIDE_HYPOTHESIS:
        del sys.modules["hypothesis"]


def unique_key_check(source: SourceName) -> Any:
    """The pandera dataframe check that `source`'s key (UNIQUE_KEYS) is not shared by two rows;
    assign it in the source's model as ``_unique = unique_key_check(SourceName.X)``."""

    @pa.dataframe_check(name=UNIQUE_CHECK)
    def _unique(cls: Any, data: PolarsData) -> pl.LazyFrame:
        return unique_rows(data.lazyframe, UNIQUE_KEYS[source])

    return _unique


def _values(enum: type[PartnerStatus | Stage | DealType | RenewalStatus]) -> list[str]:
    return [member.value for member in enum]


def _currency(*, nullable: bool = False) -> object:
    return pa.Field(str_matches=CURRENCY_PATTERN, nullable=nullable)


class _Canonical(pa.DataFrameModel):
    class Config:
        strict = False  # `_row` rides along
        coerce = False  # readers already produced the canonical dtypes


class PartnersModel(_Canonical):
    partner_id: str
    partner_name: str
    segment: str
    region: str = pa.Field(nullable=True)
    team_id: str = pa.Field(nullable=True)
    payout_currency: str = _currency(nullable=True)  # type: ignore[assignment]
    joined_on: pl.Date
    left_on: pl.Date = pa.Field(nullable=True)
    status: str = pa.Field(isin=_values(PartnerStatus))

    _unique = unique_key_check(SourceName.PARTNERS)


class DealsModel(_Canonical):
    deal_id: str
    partner_id: str
    customer_id: str
    stage: str = pa.Field(isin=_values(Stage))
    close_date: pl.Date = pa.Field(nullable=True)
    amount: pe.Decimal = pa.Field(ge=0, lt=MAX_AMOUNT, dtype_kwargs=MONEY_KW)
    currency: str = _currency()  # type: ignore[assignment]
    deal_type: str = pa.Field(isin=_values(DealType))
    registered_on: pl.Date = pa.Field(nullable=True)
    product: str = pa.Field(nullable=True)

    _unique = unique_key_check(SourceName.DEALS)


class NpsModel(_Canonical):
    response_id: str
    partner_id: str
    customer_id: str = pa.Field(nullable=True)
    responded_on: pl.Date
    score: int = pa.Field(in_range={"min_value": 0, "max_value": 10})

    _unique = unique_key_check(SourceName.NPS)


class RenewalsModel(_Canonical):
    contract_id: str
    partner_id: str
    customer_id: str
    due_date: pl.Date
    original_amount: pe.Decimal = pa.Field(ge=0, lt=MAX_AMOUNT, dtype_kwargs=MONEY_KW)
    renewed_amount: pe.Decimal = pa.Field(ge=0, lt=MAX_AMOUNT, nullable=True, dtype_kwargs=MONEY_KW)
    currency: str = _currency()  # type: ignore[assignment]
    status: str = pa.Field(isin=_values(RenewalStatus))

    _unique = unique_key_check(SourceName.RENEWALS)


class TargetsModel(_Canonical):
    partner_id: str
    period: str
    kpi: str
    target: pe.Decimal = pa.Field(gt=0, lt=MAX_TARGET, dtype_kwargs=RATE_KW)

    _unique = unique_key_check(SourceName.TARGETS)


class FxRatesModel(_Canonical):
    period: str
    currency: str = _currency()  # type: ignore[assignment]
    rate_to_base: pe.Decimal = pa.Field(gt=0, lt=MAX_RATE, dtype_kwargs=RATE_KW)

    _unique = unique_key_check(SourceName.FX_RATES)


class AdjustmentsModel(_Canonical):
    adjustment_id: str
    partner_id: str
    period: str
    amount: pe.Decimal = pa.Field(gt=-MAX_AMOUNT, lt=MAX_AMOUNT, dtype_kwargs=MONEY_KW)
    reason: str
    approved_by: str

    _unique = unique_key_check(SourceName.ADJUSTMENTS)


MODELS: dict[SourceName, type[_Canonical]] = {
    SourceName.PARTNERS: PartnersModel,
    SourceName.DEALS: DealsModel,
    SourceName.NPS: NpsModel,
    SourceName.RENEWALS: RenewalsModel,
    SourceName.TARGETS: TargetsModel,
    SourceName.FX_RATES: FxRatesModel,
    SourceName.ADJUSTMENTS: AdjustmentsModel,
}
