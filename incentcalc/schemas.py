"""Row rules of the canonical sources (DATA.md) as pandera models, one per source.

Each model checks the parsed frame (canonical dtypes, `_row` kept as an extra column) with
``lazy=True`` so every failing cell is collected, not just the first. `validate_rows` turns
pandera's failure cases into failure rows in plain words, with the fix.

Empty text cells are already null (readers), so "non-empty" is ``nullable=False``. Rules that
compare two columns or two sources (left_on before joined_on, unknown partner_id, ...) live in
`validation`, where they can name the row and the other file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import polars as pl

from incentcalc.columns import DealType, PartnerStatus, RenewalStatus, Stage
from incentcalc.config import SourceName

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

CURRENCY_PATTERN = r"^[A-Z]{3}$"
MONEY_KW = {"precision": 38, "scale": 2}
RATE_KW = {"precision": 38, "scale": 6}
UNIQUE_CHECK = "unique_key"

MAX_AMOUNT = 10**12
"""Money cells must be below a trillion in size, FX rates and targets below a million and a
quadrillion: far above real data, and low enough that the engine's exact Decimal(38, 18)
products (amount x rate, with room for sums) cannot overflow. Without these bounds a
30-digit amount passed validation and then crashed the run (exit 4)."""
MAX_RATE = 10**6
MAX_TARGET = 10**15

UNIQUE_KEYS: dict[SourceName, tuple[str, ...]] = {
    SourceName.PARTNERS: ("partner_id",),
    SourceName.DEALS: ("deal_id",),
    SourceName.NPS: ("response_id",),
    SourceName.RENEWALS: ("contract_id", "due_date"),
    SourceName.TARGETS: ("partner_id", "period", "kpi"),
    SourceName.FX_RATES: ("period", "currency"),
    SourceName.ADJUSTMENTS: ("adjustment_id",),
}
"""The key of each source: no two rows may share it. Failures are reported against the
key's first column."""


def unique_rows(data: PolarsData, keys: tuple[str, ...]) -> pl.LazyFrame:
    """True for rows whose key is not shared with another row (rows with a null key part
    pass: the empty cell is reported on its own).

    Hashing the key and counting distinct hashes is ~10x faster than an exact duplicate
    search on 5M strings; the exact search runs only when the hashes say there may be one.
    """
    frame = data.lazyframe
    key = pl.struct(keys) if len(keys) > 1 else pl.col(keys[0])
    if frame.select(key.hash().n_unique() == pl.len()).collect().item():
        return frame.select(pl.lit(True).alias(UNIQUE_CHECK))
    has_null = pl.any_horizontal(pl.col(k).is_null() for k in keys)
    return frame.select((~key.is_duplicated() | has_null).alias(UNIQUE_CHECK))


def unique_key_check(source: SourceName) -> Any:
    """The pandera dataframe check that `source`'s key (UNIQUE_KEYS) is not shared by two rows;
    assign it in the source's model as ``_unique = unique_key_check(SourceName.X)``."""

    @pa.dataframe_check(name=UNIQUE_CHECK)
    def _unique(cls: Any, data: PolarsData) -> pl.LazyFrame:
        return unique_rows(data, UNIQUE_KEYS[source])

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


NOT_ALLOWED = "must be one of"
"""How the rule of a value outside a column's allowed set starts (`validation` lists the
distinct values found after it)."""

CELL_FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "index": pl.Int64(),
    "column": pl.String(),
    "rule": pl.String(),
}
"""A failing cell of a validated frame: row position, canonical column, rule in words."""


@dataclass(frozen=True)
class _Phrase:
    """How to say one kind of pandera check in words; `{arg}` is the check's argument with
    list brackets and quotes removed (and ``, `` read as ``to`` when `as_range`)."""

    pattern: str
    text: str
    as_range: bool = False

    def render(self, check: str) -> str | None:
        match = re.match(self.pattern, check)
        if match is None:
            return None
        arg = (match.groupdict().get("arg") or "").strip("[]").replace("'", "")
        return self.text.format(arg=arg.replace(", ", " to ") if self.as_range else arg)


_PHRASES = (
    _Phrase(r"^not_nullable$", "must not be empty; fill it in the export"),
    _Phrase(
        r"^isin\((?P<arg>.*)\)$",
        NOT_ALLOWED + " {arg}; map the export's own values with `values` in the config "
        '(`"*"` maps every value not listed)',
    ),
    _Phrase(r"^greater_than_or_equal_to\((?P<arg>.*)\)$", "must be {arg} or more (no negatives)"),
    _Phrase(r"^greater_than\((?P<arg>.*)\)$", "must be greater than {arg}"),
    _Phrase(
        r"^less_than\((?P<arg>.*)\)$",
        "must be less than {arg}: larger values are beyond what incentcalc computes exactly; "
        "check the cell (a misplaced decimal point or a pasted id?)",
    ),
    _Phrase(r"^in_range\((?P<arg>.*)\)$", "must be a whole number in the range {arg}", True),
    _Phrase(
        r"^str_matches\(.*\)$",
        "must be a 3-letter upper-case ISO 4217 currency code such as USD or EUR",
    ),
    _Phrase(r"^dtype\((?P<arg>.*)\)$", "has the wrong type; expected {arg}"),
)


def describe_check(check: str, source: SourceName) -> str:
    """Plain words (with the fix) for a pandera check name.

    >>> describe_check("in_range(0, 10)", SourceName.NPS)
    'must be a whole number in the range 0 to 10'
    """
    keys = UNIQUE_KEYS[source]
    if check == UNIQUE_CHECK and len(keys) == 1:
        return (
            f"duplicate {keys[0]}: each value may appear only once; remove the duplicate rows "
            "or give them distinct ids"
        )
    if check == UNIQUE_CHECK:
        return (
            f"duplicate ({', '.join(keys)}): each combination may appear only once; remove or "
            "correct the duplicate rows"
        )
    for phrase in _PHRASES:
        text = phrase.render(check)
        if text is not None:
            return text
    return f"failed the check {check}"


def validate_rows(source: SourceName, frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell of `frame` that breaks a row rule (CELL_FAILURE_SCHEMA), in one pass.

    Null cells are reported once, as `must not be empty`, not again as duplicates.
    """
    try:
        MODELS[source].validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return pl.DataFrame(schema=CELL_FAILURE_SCHEMA)
    cases = cases.with_columns(
        pl.when(pl.col("check") == UNIQUE_CHECK)
        .then(pl.lit(UNIQUE_KEYS[source][0]))
        .otherwise(pl.col("column"))
        .alias("column")
    )
    pairs = cases.select("column", "check").unique()  # a handful of distinct rules
    rules = pairs.with_columns(
        pl.Series(
            "rule",
            [describe_check(check, source) for _, check in pairs.iter_rows()],
            dtype=pl.String(),
        )
    )
    return (
        cases.join(rules, on=["column", "check"], how="left")
        .select(pl.col("index").cast(pl.Int64), "column", "rule")
        .unique(maintain_order=True)
    )
