"""What one calculated quarter is: the frames every output (CSV, workbooks, explain, diff)
is rendered from. Column orders are constants so outputs never drift; the file names inside a
run's output folder (CLI.md "Outputs of run") are here too, in one place that everything
writing, reading or naming them can import."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import polars as pl

from incentcalc.config import ProgramConfig
from incentcalc.inputs import Inputs
from incentcalc.money import MONEY
from incentcalc.periods import Period


class Status(StrEnum):
    PAYABLE = "payable"
    BELOW_MINIMUM = "below_minimum"
    NEGATIVE = "negative"
    HELD = "held"
    INELIGIBLE = "ineligible"


PAYOUT_COLUMNS = (
    "period", "partner_id", "partner_name", "segment", "region", "team_id", "status", "reason",
    "tier", "earned_tier", "team_tier", "composite_score", "team_score", "bonus_base",
    "individual_bonus", "team_bonus", "fixed_bonus", "gross_uncapped", "cap_applied",
    "gross_capped", "budget_factor", "gross", "holdback", "loyalty_bonus", "adjustments",
    "carried_in", "holdback_released", "clawback", "net", "payable", "carried_forward",
    "payout_currency", "fx_rate", "payable_local",
)  # fmt: skip
"""payouts.csv / payouts.parquet, in CLI.md's order."""

MONEY_COLUMNS = (
    "bonus_base", "individual_bonus", "team_bonus", "fixed_bonus", "gross_uncapped",
    "gross_capped", "gross", "holdback", "loyalty_bonus", "adjustments", "carried_in",
    "holdback_released", "clawback", "net", "payable", "carried_forward",
)  # fmt: skip
"""Payout columns holding base-currency money (Decimal scale 2, written with exactly 2
decimals). payable_local is money too, in the payout currency: rounded to that currency's
minor unit, stored at `money.LOCAL` scale and written with exactly its minor unit."""

LEDGER_LINE_COLUMNS = ("loyalty_bonus", "carried_in", "holdback_released", "clawback")
"""The net's lines that come from the ledger (RULES.md 11); 0 when there is no ledger."""

KPI_COLUMNS = (
    "period", "partner_id", "kpi", "metric", "value", "target", "attainment", "score",
    "weight", "weight_used", "contribution", "missing", "missing_reason",
)  # fmt: skip
"""kpis.csv: one row per (partner, KPI). `value` is the exact metric value rounded to 6
places for display; `target` is the (prorated) target of an attainment KPI; `weight` the
segment's weight and `weight_used` the weight after renormalisation (0 when dropped);
`contribution` = weight_used * score."""

EXCEPTION_COLUMNS = ("kind", "partner_id", "deal_id", "record_id", "rule", "action", "detail")
"""exceptions.csv. `kind` is one of ExceptionKind; integrity hits fill deal_id, other kinds
fill record_id (adjustment_id, contract_id, source row)."""


class ExceptionKind(StrEnum):
    INTEGRITY = "integrity"
    ADJUSTMENT_IGNORED = "adjustment_ignored"
    RENEWAL_PENDING = "renewal_pending"
    OUT_OF_SCOPE = "out_of_scope"
    QUARANTINED = "quarantined"
    LEDGER = "ledger"


DEAL_BONUS_COLUMNS = (
    "period", "deal_id", "partner_id", "customer_id", "close_date", "amount_base", "bonus",
)  # fmt: skip
"""deal_bonuses.csv / .parquet (RULES.md 11.2): one row per deal behind an eligible partner's
bonus base, with its share of the partner's gross."""

DEAL_BONUS_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(), "deal_id": pl.String(), "partner_id": pl.String(),
    "customer_id": pl.String(), "close_date": pl.Date(), "amount_base": MONEY,
    "bonus": MONEY,
}  # fmt: skip


class LedgerLineKind(StrEnum):
    """What a row of ledger_lines.parquet records (RULES.md 11.5, 11.8)."""

    CLAWBACK = "clawback"
    FORFEITED_CARRY = "forfeited_carry"
    FORFEITED_HOLDBACK = "forfeited_holdback"
    UNRECOVERED_CLAWBACK = "unrecovered_clawback"


LEDGER_LINE_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(), "kind": pl.String(), "partner_id": pl.String(),
    "deal_id": pl.String(), "deal_period": pl.String(), "cancellation_deal_id": pl.String(),
    "cancelled_on": pl.Date(), "amount": MONEY,
}  # fmt: skip
"""ledger_lines.parquet: the clawbacks and forfeits a run applied, one row each. deal_id,
deal_period, cancellation_deal_id and cancelled_on are null for carry and holdback forfeits;
`amount` is the signed amount (a forfeited negative carry is negative)."""

LEDGER_NOTE_SCHEMA: dict[str, pl.DataType] = {
    "partner_id": pl.String(), "line": pl.String(), "amount": MONEY,
    "note": pl.String(),
}  # fmt: skip
"""Where each ledger line of a payout row came from, for explain and statements: `line` is a
LEDGER_LINE_COLUMNS name or `tier`; one row per source (each released holdback, each clawed
back deal, each milestone), e.g. ("L3", "clawback", 2400.00, "deal D31 of 2026Q1 (closed
2026-03-20) clawed back: cancelled by D33 on 2026-04-29, 40 days after closing")."""


DEAL_LINE_COLUMNS = (
    "partner_id", "deal_id", "customer_id", "stage", "close_date", "amount", "currency",
    "fx_rate", "amount_base", "deal_type", "registered_on", "product", "counted", "note",
)  # fmt: skip
"""Deals behind the numbers, for statements and explain: every deal of an in-scope partner
that closed in the period (or is open/cancelled), `counted` true when it counts toward revenue,
and `note` saying why not (lost, open, out of period, excluded by an integrity rule)."""

NPS_LINE_COLUMNS = (
    "partner_id", "response_id", "customer_id", "responded_on", "score", "counted", "note",
)  # fmt: skip

RENEWAL_LINE_COLUMNS = (
    "partner_id", "contract_id", "customer_id", "due_date", "original_amount", "renewed_amount",
    "currency", "original_base", "renewed_base", "status", "counted", "note",
)  # fmt: skip


CLOSED_HISTORY_COLUMNS = (
    "period", "partner_id", "tier", "earned_tier", "status", "payable", "holdback", "released_in",
)  # fmt: skip
"""QuarterResult.closed_history: a partner's tier and payout per closed quarter, and the
quarter's holdback with the period it is released in."""


class Timings(dict[str, float]):
    """Seconds per stage (read_validate, integrity, kpis, payouts, write, statements...), for
    the manifest and the benchmark."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - started, 4)


@dataclass(frozen=True)
class BudgetUse:
    """How the budget (RULES.md 8.6) was applied."""

    budget: Decimal | None
    total_capped: Decimal
    factor: Decimal
    scaled: bool


QUARTER_TARGET_SCHEMA: dict[str, pl.DataType] = {
    "partner_id": pl.String(),
    "kpi": pl.String(),
    "quarter_target": pl.Decimal(38, 4),
}

DETAIL_COLUMNS = (
    "partner_id", "joined_on", "left_on", "partner_status", "active_days", "period_days",
    "blocked_by",
)  # fmt: skip
"""Per-partner facts behind the payout row: activity for proration and the tier gates that
blocked a higher tier (e.g. "Gold requires nps >= 30 (value missing)")."""


@dataclass(frozen=True)
class QuarterResult:
    """Everything one `run` calculated. payouts, kpis, exceptions and details are sorted by
    partner_id; the line frames are lazy and unsorted (filter to the partners you render,
    sort, then collect)."""

    config: ProgramConfig
    period: Period
    inputs: Inputs
    payouts: pl.DataFrame
    kpis: pl.DataFrame
    exceptions: pl.DataFrame
    deal_lines: pl.LazyFrame
    nps_lines: pl.LazyFrame
    renewal_lines: pl.LazyFrame
    budget: BudgetUse
    details: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=dict.fromkeys(DETAIL_COLUMNS))
    )
    timings: Timings = field(default_factory=Timings)
    warnings: tuple[str, ...] = ()
    deal_bonuses: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=DEAL_BONUS_SCHEMA)
    )
    ledger_lines: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=LEDGER_LINE_SCHEMA)
    )
    ledger_notes: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=LEDGER_NOTE_SCHEMA)
    )
    closed_history: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=dict.fromkeys(CLOSED_HISTORY_COLUMNS))
    )
    """Each closed quarter before the period (oldest first), CLOSED_HISTORY_COLUMNS; empty
    without a ledger. Statements and summary.xlsx's Ledger sheet show it."""
    quarter_targets: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=QUARTER_TARGET_SCHEMA)
    )
    """A progress run's attainment targets for the whole quarter (`scoring.quarter_targets`),
    for its statements' "by the period's end"; empty for an ordinary run."""
    recalculation: bool = False
    """A period calculated again on the entries before it (run --recalculate): never closable."""
    ledger_head: str | None = None
    """sha256 of the ledger's last entry.json when the run was made (None: empty or no ledger);
    `close` refuses the run when the ledger has moved on since."""


PAYOUTS_CSV = "payouts.csv"
PAYOUTS_PARQUET = "payouts.parquet"
KPIS_CSV = "kpis.csv"
KPIS_PARQUET = "kpis.parquet"
EXCEPTIONS_CSV = "exceptions.csv"
REJECTED_CSV = "rejected_rows.csv"
SUMMARY_XLSX = "summary.xlsx"
STATEMENTS_DIR = "statements"
MANIFEST_JSON = "manifest.json"
DEAL_BONUSES_CSV = "deal_bonuses.csv"
DEAL_BONUSES_PARQUET = "deal_bonuses.parquet"
LEDGER_LINES_PARQUET = "ledger_lines.parquet"

ENTRY_FILES = (PAYOUTS_PARQUET, DEAL_BONUSES_PARQUET, LEDGER_LINES_PARQUET, MANIFEST_JSON)
"""The files of a run that `close` copies byte for byte into the run's ledger entry."""
