"""From a QuarterResult to one small, picklable payload per partner statement.

The statement writers run in other processes, so everything they need is cut out of the
result's frames here, once, with Polars: frames are filtered to the chosen partners, turned
into display values (money as the float Excel stores, dates as Excel serial days, counted as
yes/no), partitioned by partner_id, and each partner gets plain lists of its own rows. The
payout row, KPI rows and adjustments keep exact Decimals: the path-to-next-tier arithmetic and
the statement's texts need them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, TypeVar

import polars as pl

from incentcalc.config import ProgramConfig, SourceName
from incentcalc.io.names import safe_file_stems
from incentcalc.result import (
    CLOSED_HISTORY_COLUMNS,
    DEAL_LINE_COLUMNS,
    KPI_COLUMNS,
    NPS_LINE_COLUMNS,
    RENEWAL_LINE_COLUMNS,
    ExceptionKind,
    QuarterResult,
)
from incentcalc.statements.integrity_notes import partner_deal_note, partner_hit_notes

Table = dict[str, list[Any]]
"""Column name -> one partner's values, in row order."""

EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system as used for serial numbers (1 = 1900-01-01)."""

ADJUSTMENT_COLUMNS = ("adjustment_id", "amount", "reason", "approved_by")

DETAIL_FIELDS = (
    "joined_on",
    "left_on",
    "partner_status",
    "active_days",
    "period_days",
    "blocked_by",
)


STATEMENT_DEAL_COLUMNS = (*DEAL_LINE_COLUMNS, "bonus")
"""Deal lines plus each counted deal's bonus (RULES.md 11.2; empty for the others)."""

LEDGER_NOTE_FIELDS = ("line", "amount", "note")

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


@dataclass(frozen=True)
class StatementContext:
    """What every statement of one run shares (sent once per chunk of partners)."""

    config: ProgramConfig
    period_label: str
    period_start: date
    period_end: date
    recalculation: bool = False
    """A `run --recalculate` of a closed period: every statement says so (RULES.md 11.1)."""

    @property
    def created(self) -> datetime:
        """Fixed creation date (the period end) so re-runs give byte-identical files."""
        return datetime.combine(self.period_end, time())

    @property
    def base_currency(self) -> str:
        return self.config.program.base_currency


@dataclass(frozen=True)
class PartnerPayload:
    """One partner's rows: exact payout row, KPI rows and adjustments; display-ready lines."""

    file_stem: str
    payout: dict[str, Any]
    kpis: Table
    deals: Table
    nps: Table
    renewals: Table
    adjustments: Table
    detail: dict[str, Any] = field(default_factory=dict)
    ledger_notes: Table = field(default_factory=dict)
    """Where each ledger line came from (LEDGER_NOTE_SCHEMA without partner_id)."""
    history: Table = field(default_factory=dict)
    """Tier and payout per closed quarter, oldest first (CLOSED_HISTORY_COLUMNS)."""


def excel_display(frame: FrameT) -> FrameT:
    """Display values for Excel: Decimal -> Float64 (exact to the cent for money), Date -> serial
    day number, Boolean `counted` -> "yes"/"no". Other columns unchanged."""
    exprs = []
    for name, dtype in frame.collect_schema().items():
        column = pl.col(name)
        if isinstance(dtype, pl.Decimal):
            exprs.append(column.cast(pl.Float64))
        elif dtype == pl.Date():
            exprs.append((column - pl.lit(EXCEL_EPOCH)).dt.total_days())
        elif dtype == pl.Boolean() and name == "counted":
            exprs.append(pl.when(column).then(pl.lit("yes")).otherwise(pl.lit("no")).alias(name))
        elif dtype == pl.Null():
            exprs.append(column.cast(pl.String))
        else:
            exprs.append(column)
    return frame.select(exprs)


def partition(
    frame: pl.DataFrame | pl.LazyFrame,
    partner_ids: Sequence[str],
    columns: Sequence[str],
    order_by: Sequence[str] = (),
) -> dict[str, Table]:
    """`frame`'s `columns` split by partner_id into plain lists; partners without rows get
    empty lists. One conversion to Python per column, then slices per partner.

    Within a partner, rows keep the frame's order, or follow `order_by` (the line frames are
    unsorted: sorting only the chosen partners' rows here keeps statements identical whatever
    the order of the input files)."""
    chosen = pl.Series("partner_id", list(partner_ids), dtype=pl.String)
    rows = (
        frame.lazy()
        .filter(pl.col("partner_id").is_in(chosen.implode()))
        .sort(["partner_id", *order_by], maintain_order=True)
        .collect()
    )
    counts = rows.group_by("partner_id", maintain_order=True).len()
    lists = {name: rows[name].to_list() for name in columns}
    tables: dict[str, Table] = {}
    start = 0
    for pid, length in counts.iter_rows():
        tables[pid] = {name: values[start : start + length] for name, values in lists.items()}
        start += length
    empty: Table = {name: [] for name in columns}
    return {pid: tables.get(pid, empty) for pid in partner_ids}


def _details(result: QuarterResult, partner_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    details = result.details
    if details.is_empty() or details.schema.get("partner_id") != pl.String():
        return {}
    present = [name for name in DETAIL_FIELDS if name in details.columns]
    rows = details.filter(pl.col("partner_id").is_in(pl.Series(list(partner_ids)).implode()))
    return {
        row["partner_id"]: row for row in rows.select("partner_id", *present).iter_rows(named=True)
    }


def _adjustments(result: QuarterResult) -> pl.DataFrame:
    frame = result.inputs[SourceName.ADJUSTMENTS]
    return frame.filter(pl.col("period") == result.period.label).sort("partner_id", "adjustment_id")


def _lines(frame: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    return excel_display(frame.select(columns))


def _deal_lines(result: QuarterResult) -> pl.LazyFrame:
    """Deal lines for display; the FX rate only where the deal is not in the base currency
    (an empty cell there reads "no conversion", a column of 1.000000 is noise), and
    integrity hits in partner words (`integrity_notes`)."""
    base = result.config.program.base_currency
    hits = result.exceptions.lazy().filter(
        (pl.col("kind") == ExceptionKind.INTEGRITY) & pl.col("deal_id").is_not_null()
    )
    deals = result.deal_lines.join(
        partner_hit_notes(hits), on="deal_id", how="left", maintain_order="left"
    ).with_columns(
        pl.when(pl.col("currency") != base).then(pl.col("fx_rate")).alias("fx_rate"),
        partner_deal_note(pl.col("note"), pl.col("hit_note")).alias("note"),
    )
    bonuses = result.deal_bonuses.lazy().select("partner_id", "deal_id", "bonus")
    deals = deals.join(bonuses, on=["partner_id", "deal_id"], how="left", maintain_order="left")
    return _lines(deals, STATEMENT_DEAL_COLUMNS)


def build_context(result: QuarterResult) -> StatementContext:
    period = result.period
    return StatementContext(
        result.config, period.label, period.start, period.end, result.recalculation
    )


def select_partners(result: QuarterResult, partner_ids: Collection[str] | None) -> pl.DataFrame:
    """The payout rows to write, with a `file_stem` column (made safe over ALL in-scope
    partners, so a partner's file name does not depend on which subset is written)."""
    payouts = result.payouts.sort("partner_id")
    payouts = payouts.with_columns(safe_file_stems(payouts["partner_id"]).alias("file_stem"))
    if partner_ids is not None:
        wanted = pl.Series("partner_id", sorted(set(partner_ids)), dtype=pl.String)
        payouts = payouts.filter(pl.col("partner_id").is_in(wanted.implode()))
    return payouts


def build_payloads(result: QuarterResult, payouts: pl.DataFrame) -> list[PartnerPayload]:
    """One payload per row of `payouts` (from `select_partners`), in partner_id order."""
    ids: list[str] = payouts["partner_id"].to_list()
    kpi_columns = [c for c in KPI_COLUMNS if c not in ("period", "partner_id")]
    kpis = partition(result.kpis, ids, kpi_columns)
    deals = partition(_deal_lines(result), ids, STATEMENT_DEAL_COLUMNS[1:], ["deal_id"])
    nps = partition(
        _lines(result.nps_lines, NPS_LINE_COLUMNS), ids, NPS_LINE_COLUMNS[1:], ["response_id"]
    )
    renewals = partition(
        _lines(result.renewal_lines, RENEWAL_LINE_COLUMNS),
        ids,
        RENEWAL_LINE_COLUMNS[1:],
        ["contract_id", "due_date"],
    )
    adjustments = partition(_adjustments(result), ids, ADJUSTMENT_COLUMNS)
    details = _details(result, ids)
    notes = partition(result.ledger_notes, ids, LEDGER_NOTE_FIELDS)
    history = partition(result.closed_history, ids, CLOSED_HISTORY_COLUMNS, ["period"])
    return [
        PartnerPayload(
            file_stem=row.pop("file_stem"),
            payout=row,
            kpis=kpis[row["partner_id"]],
            deals=deals[row["partner_id"]],
            nps=nps[row["partner_id"]],
            renewals=renewals[row["partner_id"]],
            adjustments=adjustments[row["partner_id"]],
            detail=details.get(row["partner_id"], {}),
            ledger_notes=notes[row["partner_id"]],
            history=history[row["partner_id"]],
        )
        for row in payouts.iter_rows(named=True)
    ]
