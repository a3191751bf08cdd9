"""From a QuarterResult to one payload per partner statement.

The statement writers run in other processes, so everything they need is cut out of the
result's frames here, once, with Polars (`chosen_rows`): frames are filtered to the chosen
partners, turned into display values (money as the float Excel stores, dates as Excel serial
days, counted as yes/no) and sorted by partner_id. That stays a set of frames, cut into chunks
of partners (`ChosenRows.chunk`) that travel to the workers as Arrow buffers; each worker
then gives each partner plain lists of its own rows (`build_payloads`). The payout row, KPI
rows and adjustments keep exact Decimals: the path-to-next-tier arithmetic and the
statement's texts need them.
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
    as_of: date | None = None
    """A progress run's day (RULES.md 12): every statement says "Progress to ..." and what
    each KPI needs by `period_end`."""

    @property
    def created(self) -> datetime:
        """Fixed creation date (the period end) so re-runs give byte-identical files."""
        return datetime.combine(self.period_end, time())

    @property
    def base_currency(self) -> str:
        """The program's base currency code."""
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


def _chosen(
    frame: pl.DataFrame | pl.LazyFrame,
    ids: pl.Series,
    columns: Sequence[str],
    order_by: Sequence[str] = (),
) -> pl.DataFrame:
    """`frame`'s rows of the partners `ids` (partner_id and `columns`), sorted by partner_id.

    Within a partner, rows keep the frame's order, or follow `order_by` (the line frames are
    unsorted: sorting only the chosen partners' rows here keeps statements identical whatever
    the order of the input files)."""
    return (
        frame.lazy()
        .filter(pl.col("partner_id").is_in(ids.implode()))
        .sort(["partner_id", *order_by], maintain_order=True)
        .select("partner_id", *(c for c in columns if c != "partner_id"))
        .collect()
    )


def split_by_partner(rows: pl.DataFrame, partner_ids: Sequence[str]) -> dict[str, Table]:
    """`rows` (sorted by partner_id) split into plain lists per partner, without the
    partner_id column; partners without rows get empty lists. One conversion to Python per
    column, then slices per partner."""
    columns = [c for c in rows.columns if c != "partner_id"]
    counts = rows.group_by("partner_id", maintain_order=True).len()
    lists = {name: rows[name].to_list() for name in columns}
    tables: dict[str, Table] = {}
    start = 0
    for pid, length in counts.iter_rows():
        tables[pid] = {name: values[start : start + length] for name, values in lists.items()}
        start += length
    empty: Table = {name: [] for name in columns}
    return {pid: tables.get(pid, empty) for pid in partner_ids}


def _details(result: QuarterResult, ids: pl.Series) -> pl.DataFrame:
    details = result.details
    if details.is_empty() or details.schema.get("partner_id") != pl.String():
        return pl.DataFrame(schema={"partner_id": pl.String()})
    present = [name for name in DETAIL_FIELDS if name in details.columns]
    return _chosen(details, ids, present)


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


def _quarter_target(result: QuarterResult) -> tuple[str, ...]:
    """The KPI rows' extra column in a progress run: the whole quarter's target."""
    return () if result.period.as_of is None else ("quarter_target",)


def _kpis(result: QuarterResult) -> pl.DataFrame:
    """KPI rows; a progress run's with the whole quarter's target of each attainment KPI."""
    if result.period.as_of is None:
        return result.kpis
    return result.kpis.join(
        result.quarter_targets, on=["partner_id", "kpi"], how="left", maintain_order="left"
    )


def build_context(result: QuarterResult) -> StatementContext:
    """What every statement of `result`'s run shares (config, period, dates)."""
    period = result.period
    return StatementContext(
        result.config, period.label, period.start, period.end, result.recalculation, period.as_of
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


@dataclass(frozen=True)
class ChosenRows:
    """Every row the chosen partners' statements read, display-ready, each frame sorted by
    partner_id: `payouts` has one row per statement (with `file_stem`), `tables` the rows
    behind it (kpis, deals, nps, renewals, adjustments, details, notes, history).

    Why frames and not payloads: a chunk of frames pickles as a few Arrow buffers, where the
    payloads of the bench's 2,000 statements were 20 MB of Python objects that cost the
    parent 0.5 ms and each worker 0.3 ms a statement to pickle and unpickle."""

    payouts: pl.DataFrame
    tables: dict[str, pl.DataFrame]

    def chunk(self, start: int, stop: int) -> ChosenRows:
        """The statements `start`..`stop` (0-based, stop excluded) and their partners' rows."""
        payouts = self.payouts.slice(start, stop - start)
        ids = payouts["partner_id"]
        if ids.is_empty():
            return ChosenRows(payouts, {name: rows.clear() for name, rows in self.tables.items()})
        first, last = ids[0], ids[-1]

        def own(rows: pl.DataFrame) -> pl.DataFrame:
            keys = rows["partner_id"]
            low = keys.search_sorted(first, side="left")
            return rows.slice(low, keys.search_sorted(last, side="right") - low)

        return ChosenRows(payouts, {name: own(rows) for name, rows in self.tables.items()})


def chosen_rows(result: QuarterResult, payouts: pl.DataFrame) -> ChosenRows:
    """The rows behind the statements of `payouts` (from `select_partners`), in one pass."""
    ids = payouts["partner_id"]
    kpi_columns = [c for c in KPI_COLUMNS if c not in ("period", "partner_id")]
    return ChosenRows(
        payouts,
        {
            "kpis": _chosen(_kpis(result), ids, [*kpi_columns, *_quarter_target(result)]),
            "deals": _chosen(_deal_lines(result), ids, STATEMENT_DEAL_COLUMNS, ["deal_id"]),
            "nps": _chosen(
                _lines(result.nps_lines, NPS_LINE_COLUMNS), ids, NPS_LINE_COLUMNS, ["response_id"]
            ),
            "renewals": _chosen(
                _lines(result.renewal_lines, RENEWAL_LINE_COLUMNS),
                ids,
                RENEWAL_LINE_COLUMNS,
                ["contract_id", "due_date"],
            ),
            "adjustments": _chosen(_adjustments(result), ids, ADJUSTMENT_COLUMNS),
            "details": _details(result, ids),
            "ledger_notes": _chosen(result.ledger_notes, ids, LEDGER_NOTE_FIELDS),
            "history": _chosen(result.closed_history, ids, CLOSED_HISTORY_COLUMNS, ["period"]),
        },
    )


def build_payloads(rows: ChosenRows) -> list[PartnerPayload]:
    """One payload per row of `rows.payouts`, in partner_id order (runs in the worker)."""
    ids: list[str] = rows.payouts["partner_id"].to_list()
    tables = {name: split_by_partner(frame, ids) for name, frame in rows.tables.items()}
    return [
        PartnerPayload(
            file_stem=row.pop("file_stem"),
            payout=row,
            kpis=tables["kpis"][row["partner_id"]],
            deals=tables["deals"][row["partner_id"]],
            nps=tables["nps"][row["partner_id"]],
            renewals=tables["renewals"][row["partner_id"]],
            adjustments=tables["adjustments"][row["partner_id"]],
            detail=_first_row(tables["details"][row["partner_id"]], row["partner_id"]),
            ledger_notes=tables["ledger_notes"][row["partner_id"]],
            history=tables["history"][row["partner_id"]],
        )
        for row in rows.payouts.iter_rows(named=True)
    ]


def _first_row(table: Table, partner_id: str) -> dict[str, Any]:
    """A one-row table as a dict with partner_id, as `details` rows are read ({} if none)."""
    if not any(table.values()):
        return {}
    return {"partner_id": partner_id, **{name: values[0] for name, values in table.items()}}
