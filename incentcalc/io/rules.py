"""Row rules of the canonical sources (DATA.md), one set per source (`ROW_RULES`).

`validation.validate_rows` checks the parsed frame (canonical dtypes, `_row` kept as an extra
column) with plain Polars expressions first (`rows_pass`); only when a row fails do the
pandera models of the same rules (`rule_models`) list every failing cell, which it turns into
failure rows in plain words, with the fix (`describe_check`).

Empty text cells are already null (readers), so "non-empty" is ``nullable=False``. Rules that
compare two columns or two sources (left_on before joined_on, unknown partner_id, ...) live in
`validation`, where they can name the row and the other file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from incentcalc.config import SourceName
from incentcalc.inputs import DealType, PartnerStatus, PaymentMethod, RenewalStatus, Stage

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


def key_hash(columns: tuple[str, ...]) -> pl.Expr:
    """One 64-bit hash of a key's columns (wrapping arithmetic): equal keys, equal hashes.
    Cheaper than hashing a struct of them; a test of distinct hashes is a cheap first pass
    before an exact search for repeated keys."""
    combined = pl.lit(0, dtype=pl.UInt64)
    for column in columns:
        combined = combined * 1_000_003 + pl.col(column).hash()
    return combined


def keys_distinct(keys: tuple[str, ...]) -> pl.Expr:
    """True when no two rows can share the key: all their key hashes differ."""
    return key_hash(keys).n_unique() == pl.len()


def unique_rows(frame: pl.LazyFrame, keys: tuple[str, ...]) -> pl.LazyFrame:
    """True for rows whose key is not shared with another row (rows with a null key part
    pass: the empty cell is reported on its own).

    Hashing the key and counting distinct hashes is ~10x faster than an exact duplicate
    search on 5M strings; the exact search runs only when the hashes say there may be one.
    """
    if frame.select(keys_distinct(keys)).collect().item():
        return frame.select(pl.lit(True).alias(UNIQUE_CHECK))
    key = pl.struct(keys) if len(keys) > 1 else pl.col(keys[0])
    has_null = pl.any_horizontal(pl.col(k).is_null() for k in keys)
    return frame.select((~key.is_duplicated() | has_null).alias(UNIQUE_CHECK))


def _values(
    enum: type[PartnerStatus | Stage | DealType | RenewalStatus | PaymentMethod],
) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


@dataclass(frozen=True)
class CellRule:
    """What one canonical column must hold: its dtype, whether it may be empty, and pandera's
    checks as (check name, argument) pairs, e.g. ``("isin", ("new", "expansion"))``."""

    dtype: pl.DataType
    nullable: bool = False
    checks: tuple[tuple[str, Any], ...] = ()

    def holds(self, column: str) -> pl.Expr:
        """True when no cell of `column` breaks a rule (the checks skip empty cells, as
        pandera's do). Text checks look at each distinct value once: exports repeat a few
        stages and currencies over millions of rows (the currency pattern: 40 -> 14 ms)."""
        cell = pl.col(column)
        filled = cell.drop_nulls()
        tests = [
            CHECKS[name](filled.unique() if name in TEXT_CHECKS else filled, arg).all()
            for name, arg in self.checks
        ]
        if not self.nullable:
            tests.append(cell.null_count() == 0)
        return pl.all_horizontal(tests or [pl.lit(True)])


CHECKS: dict[str, Callable[[pl.Expr, Any], pl.Expr]] = {
    "isin": lambda cell, values: cell.is_in(list(values)),
    "greater_than_or_equal_to": lambda cell, bound: cell >= bound,
    "greater_than": lambda cell, bound: cell > bound,
    "less_than": lambda cell, bound: cell < bound,
    "in_range": lambda cell, bounds: cell.is_between(*bounds),
    "str_matches": lambda cell, pattern: cell.str.contains(pattern),
}
"""pandera's built-in checks that the rules use, as Polars expressions."""

TEXT_CHECKS = frozenset({"isin", "str_matches"})
"""Checks on text values, cheaper on the distinct values than on every cell."""

TEXT = CellRule(pl.String())
OPTIONAL_TEXT = CellRule(pl.String(), nullable=True)
DAY = CellRule(pl.Date())
OPTIONAL_DAY = CellRule(pl.Date(), nullable=True)
CURRENCY = CellRule(pl.String(), checks=(("str_matches", CURRENCY_PATTERN),))
MONEY = pl.Decimal(MONEY_KW["precision"], MONEY_KW["scale"])
RATE = pl.Decimal(RATE_KW["precision"], RATE_KW["scale"])
AMOUNT = (("greater_than_or_equal_to", 0), ("less_than", MAX_AMOUNT))
SIGNED_AMOUNT = (("greater_than", -MAX_AMOUNT), ("less_than", MAX_AMOUNT))

ROW_RULES: dict[SourceName, dict[str, CellRule]] = {
    SourceName.PARTNERS: {
        "partner_id": TEXT, "partner_name": TEXT, "segment": TEXT, "region": OPTIONAL_TEXT,
        "team_id": OPTIONAL_TEXT, "payout_currency": CellRule(pl.String(), True, CURRENCY.checks),
        "joined_on": DAY, "left_on": OPTIONAL_DAY,
        "status": CellRule(pl.String(), checks=(("isin", _values(PartnerStatus)),)),
        "vendor_id": OPTIONAL_TEXT, "payee_name": OPTIONAL_TEXT, "iban": OPTIONAL_TEXT,
        "bic": OPTIONAL_TEXT,
        "payment_method": CellRule(pl.String(), True, (("isin", _values(PaymentMethod)),)),
    },
    SourceName.DEALS: {
        "deal_id": TEXT, "partner_id": TEXT, "customer_id": TEXT,
        "stage": CellRule(pl.String(), checks=(("isin", _values(Stage)),)),
        "close_date": OPTIONAL_DAY, "amount": CellRule(MONEY, True, SIGNED_AMOUNT),
        "currency": CURRENCY,
        "deal_type": CellRule(pl.String(), checks=(("isin", _values(DealType)),)),
        "registered_on": OPTIONAL_DAY, "product": OPTIONAL_TEXT,
    },
    SourceName.NPS: {
        "response_id": TEXT, "partner_id": TEXT, "customer_id": OPTIONAL_TEXT,
        "responded_on": DAY, "score": CellRule(pl.Int64(), checks=(("in_range", (0, 10)),)),
    },
    SourceName.RENEWALS: {
        "contract_id": TEXT, "partner_id": TEXT, "customer_id": TEXT, "due_date": DAY,
        "original_amount": CellRule(MONEY, checks=AMOUNT),
        "renewed_amount": CellRule(MONEY, nullable=True, checks=AMOUNT), "currency": CURRENCY,
        "status": CellRule(pl.String(), checks=(("isin", _values(RenewalStatus)),)),
    },
    SourceName.TARGETS: {
        "partner_id": TEXT, "period": TEXT, "kpi": TEXT,
        "target": CellRule(RATE, checks=(("greater_than", 0), ("less_than", MAX_TARGET))),
    },
    SourceName.FX_RATES: {
        "period": TEXT, "currency": CURRENCY,
        "rate_to_base": CellRule(RATE, checks=(("greater_than", 0), ("less_than", MAX_RATE))),
    },
    SourceName.ADJUSTMENTS: {
        "adjustment_id": TEXT, "partner_id": TEXT, "period": TEXT,
        "amount": CellRule(MONEY, checks=SIGNED_AMOUNT),
        "reason": TEXT, "approved_by": TEXT,
    },
}  # fmt: skip
"""Each source's columns and their rules; every column is required, others may ride along
(`_row`), and no two rows may share the source's key (UNIQUE_KEYS). `schema_models` builds
pandera schemas from them. A deal's amount may be empty or negative here: whether it must be
there (closed_won) and may be negative (a credit, with `credits: true`) depends on its stage
and the config, so `validation` checks it with the other rules between columns."""


def rows_pass(source: SourceName, frame: pl.DataFrame) -> bool:
    """True when every row of `frame` keeps every rule of `source` (checked in one Polars
    pass); False when a cell may fail, which pandera then lists."""
    rules = ROW_RULES[source]
    if any(frame.schema.get(column) != rule.dtype for column, rule in rules.items()):
        return False
    cells = pl.all_horizontal(rule.holds(column) for column, rule in rules.items())
    return bool(frame.select(cells & keys_distinct(UNIQUE_KEYS[source])).item())


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
