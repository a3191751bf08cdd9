"""One partner's statement workbook: what they earned, why, and how to earn more.

Sheets (docs/statements.md describes them for users):
- Statement: header, payout summary (every step from bonus base to payable, one per line),
  tier reached, its perks and the path to the next tier;
- KPIs: value, target, attainment, score, weight, weight used, contribution, missing reason;
- Deals, NPS responses, Renewals: the rows behind the numbers, each counted or not and why.

This module renders a `PartnerPayload` and never touches Polars or the whole result, so it runs
in worker processes on plain data. Every value is a cell value, never a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from incentcalc.config import MONEY_METRICS, Metric, ProgramConfig
from incentcalc.result import Status
from incentcalc.statements.formats import (
    Column,
    Formats,
    Kind,
    add_table_sheet,
    append_table,
    open_workbook,
    set_print_layout,
    write_cell,
)
from incentcalc.statements.next_tier import KpiFact, NextTierPath, compute_next_tier
from incentcalc.statements.payload import PartnerPayload, StatementContext, Table

STATEMENT_SHEET = "Statement"
KPI_SHEET = "KPIs"
DEALS_SHEET = "Deals"
NPS_SHEET = "NPS responses"
RENEWALS_SHEET = "Renewals"
SHEETS = (STATEMENT_SHEET, KPI_SHEET, DEALS_SHEET, NPS_SHEET, RENEWALS_SHEET)

NONE_NEAR = "none in or near this period"

LABEL_WIDTH, VALUE_WIDTH, NOTE_WIDTH = 30, 20, 70

_RATIO_METRICS = frozenset(
    {
        Metric.WIN_RATE,
        Metric.GROSS_RENEWAL_RATE,
        Metric.NET_REVENUE_RETENTION,
        Metric.LOGO_RETENTION,
    }
)
_COUNT_METRICS = frozenset({Metric.WON_DEALS, Metric.NEW_LOGOS})


def metric_kind(metric: str) -> Kind:
    """How a metric's value reads: money, a count, a percentage, or a plain number (NPS)."""
    if metric in MONEY_METRICS or metric == Metric.AVG_DEAL_SIZE:
        return Kind.MONEY
    if metric in _COUNT_METRICS:
        return Kind.INTEGER
    if metric in _RATIO_METRICS:
        return Kind.PERCENT
    return Kind.NUMBER


def plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 0.0350 -> '0.035'."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(number: Decimal) -> str:
    """A share as a percentage text: 0.035 -> '3.5%'."""
    return f"{plain(number * 100)}%"


def money(amount: Decimal | None, currency: str) -> str:
    """Money as text for explanations: 8000 -> '8,000.00 USD'."""
    return f"{(amount or Decimal(0)):,.2f} {currency}"


def value_text(value: Decimal | None, metric: str, currency: str) -> str:
    """A KPI value as text in its metric's style (for explanations)."""
    if value is None:
        return "missing"
    kind = metric_kind(metric)
    if kind is Kind.MONEY:
        return money(value, currency)
    if kind is Kind.PERCENT:
        return pct(value)
    return plain(value)


def _num(value: Decimal | int | None) -> float | None:
    """The float Excel stores for an exact value (2-decimal money survives exactly)."""
    return None if value is None else float(value)


class _Sheet:
    """Rows of label | value | explanation on the Statement sheet."""

    def __init__(self, sheet: Worksheet, formats: Formats, currency: str) -> None:
        self.sheet, self.formats, self.currency = sheet, formats, currency
        self.row = 0

    def heading(self, text: str) -> None:
        self.row += 1
        self.sheet.write_string(self.row, 0, text, self.formats.heading)
        self.row += 1

    def header(self, *titles: str) -> None:
        for col, title in enumerate(titles):
            self.sheet.write_string(self.row, col, title, self.formats.header)
        self.row += 1

    def line(
        self,
        label: str,
        value: Any,
        kind: Kind = Kind.TEXT,
        note: str = "",
        *,
        currency: str | None = None,
        bold: bool = False,
    ) -> None:
        fmt = self.formats.number(kind, currency or self.currency, bold=bold)
        self.sheet.write_string(self.row, 0, label, self.formats.label)
        if isinstance(value, Decimal):
            value = float(value)
        write_cell(self.sheet, self.row, 1, value, fmt)
        if note:
            self.sheet.write_string(self.row, 2, note, self.formats.wrap)
        self.row += 1


def write_partner_statement(
    payload: PartnerPayload, context: StatementContext, folder: Path
) -> Path:
    """Write `folder/<file_stem>.xlsx` for one partner and return its path."""
    path = folder / f"{payload.file_stem}.xlsx"
    workbook = open_workbook(path, context.created)
    formats = Formats(workbook)
    _statement_sheet(workbook, formats, payload, context)
    _kpi_sheet(workbook, formats, payload, context)
    _lines_sheet(
        workbook, formats, DEALS_SHEET, _deal_columns(context.base_currency), payload.deals
    )
    _lines_sheet(workbook, formats, NPS_SHEET, NPS_COLUMNS, payload.nps)
    _lines_sheet(
        workbook, formats, RENEWALS_SHEET, _renewal_columns(context.base_currency), payload.renewals
    )
    workbook.close()
    return path


def _statement_sheet(
    workbook: Workbook, formats: Formats, payload: PartnerPayload, context: StatementContext
) -> None:
    base = context.base_currency
    sheet = workbook.add_worksheet(STATEMENT_SHEET)
    sheet.set_column(0, 0, LABEL_WIDTH)
    sheet.set_column(1, 1, VALUE_WIDTH)
    sheet.set_column(2, 2, NOTE_WIDTH)
    sheet.write_string(0, 0, f"Incentive statement {context.period_label}", formats.title)
    sheet.write_string(1, 0, context.config.program.name, formats.label)
    sheet.freeze_panes(2, 0)
    set_print_layout(sheet, header_row=None, landscape=False)
    out = _Sheet(sheet, formats, base)
    out.row = 3
    _header_lines(out, payload, context)
    out.heading("Payout summary")
    out.header("Step", f"Amount ({base})", "How it was calculated")
    _payout_lines(out, payload, context)
    out.heading("Tier")
    _tier_lines(out, payload, context)


def _header_lines(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    p, detail = payload.payout, payload.detail
    out.line("Partner", p["partner_name"], bold=True)
    out.line("Partner ID", p["partner_id"])
    out.line("Period", context.period_label, note=f"{context.period_start} to {context.period_end}")
    out.line("Segment", p["segment"])
    out.line("Region", p["region"] or "-")
    out.line("Team", p["team_id"] or "none")
    if detail.get("active_days") is not None:
        note = f"joined {detail.get('joined_on')}"
        if detail.get("left_on") is not None:
            note += f", left {detail['left_on']}"
        out.line("Active days", f"{detail['active_days']} of {detail['period_days']}", note=note)
    out.line("Tier", p["tier"], bold=True)
    team_note = f"team score {p['team_score']}" if p["team_score"] is not None else ""
    out.line("Team tier", p["team_tier"], note=team_note)
    out.line("Composite score", p["composite_score"], Kind.SCORE)
    out.line("Status", p["status"], note=p["reason"] or "", bold=True)
    currency = p["payout_currency"] or context.base_currency
    out.line(
        "Currency",
        context.base_currency,
        note=f"amounts in {context.base_currency}; paid in {currency}",
    )


def _tier_rate(config: ProgramConfig, name: str | None) -> Decimal:
    return next((t.rate for t in config.tiers if t.name == name), Decimal(0))


def _payout_lines(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    p, config, base = payload.payout, context.config, context.base_currency
    rules = config.payout
    base_kpi = config.kpis[rules.base]
    ineligible = p["status"] == Status.INELIGIBLE
    zero_note = "ineligible: no bonus" if ineligible else ""
    out.line(
        "Bonus base", p["bonus_base"], Kind.MONEY, f"value of KPI {rules.base} ({base_kpi.metric})"
    )
    out.line(
        "Individual bonus",
        p["individual_bonus"],
        Kind.MONEY,
        zero_note
        or f"{pct(rules.individual_share)} of base x {p['tier']} rate "
        f"{pct(_tier_rate(config, p['tier']))}",
    )
    out.line(
        "Team bonus",
        p["team_bonus"],
        Kind.MONEY,
        zero_note
        or f"{pct(rules.team_share)} of base x team tier {p['team_tier']} rate "
        f"{pct(_tier_rate(config, p['team_tier']))}",
    )
    fixed = next((t.fixed for t in config.tiers if t.name == p["tier"]), Decimal(0))
    out.line(
        "Fixed bonus",
        p["fixed_bonus"],
        Kind.MONEY,
        zero_note or f"{p['tier']} fixed bonus {money(fixed, base)}",
    )
    out.line(
        "Gross before cap", p["gross_uncapped"], Kind.MONEY, "individual + team + fixed", bold=True
    )
    out.line(
        "Cap",
        _difference(p["gross_capped"], p["gross_uncapped"]),
        Kind.MONEY,
        _cap_note(p, context),
    )
    out.line("Gross after cap", p["gross_capped"], Kind.MONEY, bold=True)
    out.line("Budget factor", p["budget_factor"], Kind.FACTOR, _budget_note(p, context))
    out.line("Gross", p["gross"], Kind.MONEY, "gross after cap x budget factor", bold=True)
    out.line(
        "Holdback",
        -(p["holdback"] or Decimal(0)),
        Kind.MONEY,
        f"{pct(rules.holdback_pct)} of gross, held back",
    )
    _adjustment_lines(out, payload.adjustments, ineligible)
    out.line("Adjustments total", p["adjustments"], Kind.MONEY, "sum of the adjustments applied")
    out.line("Net", p["net"], Kind.MONEY, "gross - holdback + adjustments", bold=True)
    out.line(
        "Carried forward", p["carried_forward"], Kind.MONEY, _carry_note(p, rules.min_payout, base)
    )
    out.line("Payable", p["payable"], Kind.MONEY, f"status {p['status']}", bold=True)
    currency = p["payout_currency"] or base
    rate_note = (
        "paid in the base currency"
        if currency == base
        else f"payable / {plain(p['fx_rate'])} {base} per {currency}"
        if p["fx_rate"] is not None
        else ""
    )
    out.line(
        f"Payable in {currency}",
        p["payable_local"],
        Kind.MONEY,
        rate_note,
        currency=currency,
        bold=True,
    )
    out.line("Status", p["status"], note=p["reason"] or "", bold=True)


def _difference(after: Decimal | None, before: Decimal | None) -> Decimal:
    return (after or Decimal(0)) - (before or Decimal(0))


def _cap_note(p: dict[str, Any], context: StatementContext) -> str:
    cap = context.config.payout.cap
    if cap is None:
        return "no cap in this program"
    terms = [money(cap.amount, context.base_currency)] if cap.amount is not None else []
    if cap.pct_of_base is not None:
        terms.append(f"{pct(cap.pct_of_base)} of base")
    limit = " and ".join(terms)
    if p["cap_applied"]:
        return (
            f"cap applied: gross limited to the smaller of {limit}"
            if len(terms) > 1
            else f"cap applied: gross limited to {limit}"
        )
    return f"cap not reached ({limit})"


def _budget_note(p: dict[str, Any], context: StatementContext) -> str:
    budget = context.config.payout.budget
    if budget is None:
        return "no budget in this program"
    factor = p["budget_factor"]
    if factor is not None and factor < 1:
        return (
            f"the program's grosses exceeded the budget of "
            f"{money(budget, context.base_currency)}: every gross is scaled"
        )
    return f"within the budget of {money(budget, context.base_currency)}"


def _carry_note(p: dict[str, Any], min_payout: Decimal, base: str) -> str:
    status = p["status"]
    if status == Status.NEGATIVE:
        return "net is negative: carried to the next quarter"
    if status == Status.BELOW_MINIMUM:
        return (
            f"net is below the minimum payout of {money(min_payout, base)}: "
            "carried to the next quarter"
        )
    if status == Status.HELD:
        return "held: net is reported, nothing is paid or carried"
    if status == Status.INELIGIBLE:
        return "ineligible: nothing is paid or carried"
    return ""


def _adjustment_lines(out: _Sheet, adjustments: Table, ineligible: bool) -> None:
    ids = adjustments.get("adjustment_id", [])
    if not ids:
        out.line("Adjustments", Decimal(0), Kind.MONEY, "none this period")
        return
    prefix = "not applied (partner ineligible): " if ineligible else ""
    for adj_id, amount, reason, approver in zip(
        ids, adjustments["amount"], adjustments["reason"], adjustments["approved_by"], strict=True
    ):
        out.line(
            f"Adjustment {adj_id}", amount, Kind.MONEY, f"{prefix}{reason} (approved by {approver})"
        )


def _facts(kpis: Table) -> list[KpiFact]:
    return [
        KpiFact(
            kpi, metric, value, target, score or Decimal(0), weight or Decimal(0), bool(missing)
        )
        for kpi, metric, value, target, score, weight, missing in zip(
            kpis["kpi"],
            kpis["metric"],
            kpis["value"],
            kpis["target"],
            kpis["score"],
            kpis["weight"],
            kpis["missing"],
            strict=True,
        )
    ]


def _tier_lines(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    p, config = payload.payout, context.config
    tier = next((t for t in config.tiers if t.name == p["tier"]), config.tiers[0])
    out.line(
        "Tier reached", tier.name, note=f"minimum composite {plain(tier.min_score)}", bold=True
    )
    if tier.perks:
        for index, perk in enumerate(tier.perks):
            out.line("Perks" if index == 0 else "", perk)
    else:
        out.line("Perks", "none")
    blocked = payload.detail.get("blocked_by")
    if blocked:
        out.line("Blocked by", "gate not met", note=str(blocked))
    path = compute_next_tier(
        tier.name, p["composite_score"] or Decimal(0), _facts(payload.kpis), config
    )
    _path_lines(out, path, context.base_currency)


def _path_lines(out: _Sheet, path: NextTierPath, base: str) -> None:
    if path.tier is None:
        out.line("Next tier", "none", note="the top tier is reached")
        return
    out.line(
        "Next tier",
        path.tier,
        note=f"minimum composite {plain(path.min_score or Decimal(0))}",
        bold=True,
    )
    gap_note = (
        f"now {path.composite:.4f}: {path.composite_gap:.4f} more needed"
        if path.composite_gap > 0
        else f"now {path.composite:.4f}: reached"
    )
    out.line("Composite needed", path.min_score, Kind.SCORE, gap_note)
    for gate in path.gates:
        now = "missing" if gate.value is None else plain(gate.value)
        state = "met" if gate.passed else "NOT met: blocks the tier"
        out.line("Gate", f"{gate.kpi} >= {plain(gate.minimum)}", note=f"now {now}: {state}")
    if path.kpi is None:
        out.line("Biggest-weight KPI", "-", note=path.why_not or "")
        return
    metric = path.metric or ""
    label = f"{path.kpi} needed"
    weight = f"weight {pct(path.weight or Decimal(0))}"
    if path.why_not:
        out.line(label, "not reachable", note=f"{path.why_not} ({weight})")
        return
    if path.value_needed is None:
        out.line(label, "no more needed", note=f"the composite already reaches {path.tier}")
        return
    more = path.value_needed - (path.value_now or Decimal(0))
    note = (
        f"now {value_text(path.value_now, metric, base)}: {value_text(more, metric, base)} more, "
        f"holding the other KPIs still (biggest {weight})"
    )
    if path.score_needed is not None:
        note += f"; score needed {path.score_needed:.4f}"
    blocking = [g for g in path.gates if not g.passed and g.kpi != path.kpi]
    if blocking:
        note += "; the tier stays blocked until " + ", ".join(
            f"{g.kpi} >= {plain(g.minimum)}" for g in blocking
        )
    out.line(label, path.value_needed, metric_kind(metric), note)


KPI_HEADERS = (
    "KPI", "Metric", "Value", "Target", "Attainment", "Score", "Weight", "Weight used",
    "Contribution", "Note",
)  # fmt: skip
KPI_WIDTHS = (16, 22, 16, 16, 11, 8, 9, 11, 12, 60)


def _kpi_note(missing: bool, reason: str | None, weight_used: Decimal | None) -> str:
    if not missing:
        return "counted"
    action = "scored 0" if weight_used else "dropped, weights renormalised"
    return f"missing: {reason or 'no value'}; {action}"


def _kpi_sheet(
    workbook: Workbook, formats: Formats, payload: PartnerPayload, context: StatementContext
) -> None:
    sheet = workbook.add_worksheet(KPI_SHEET)
    base = context.base_currency
    for col, (title, width) in enumerate(zip(KPI_HEADERS, KPI_WIDTHS, strict=True)):
        sheet.write_string(0, col, title, formats.header)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    set_print_layout(sheet, header_row=0, landscape=True)
    k = payload.kpis
    row = 1
    for i, name in enumerate(k["kpi"]):
        kind = metric_kind(k["metric"][i])
        value_fmt = formats.number(kind, base)
        cells: Sequence[tuple[Any, Any]] = (
            (name, None),
            (k["metric"][i], None),
            (_num(k["value"][i]), value_fmt),
            (_num(k["target"][i]), value_fmt),
            (_num(k["attainment"][i]), formats.number(Kind.PERCENT)),
            (_num(k["score"][i]), formats.number(Kind.SCORE)),
            (_num(k["weight"][i]), formats.number(Kind.PERCENT)),
            (_num(k["weight_used"][i]), formats.number(Kind.PERCENT)),
            (_num(k["contribution"][i]), formats.number(Kind.SCORE)),
            (_kpi_note(k["missing"][i], k["missing_reason"][i], k["weight_used"][i]), formats.wrap),
        )
        for col, (value, fmt) in enumerate(cells):
            write_cell(sheet, row, col, value, fmt)
        row += 1
    sheet.write_string(row, 0, "Composite score", formats.total)
    write_cell(
        sheet,
        row,
        8,
        _num(payload.payout["composite_score"]),
        formats.number(Kind.SCORE, bold=True),
    )
    sheet.write_string(row, 9, "sum of contributions, rounded to 4 places", formats.wrap)


def _deal_columns(base: str) -> tuple[Column, ...]:
    return (
        Column("deal_id", "Deal ID"),
        Column("customer_id", "Customer"),
        Column("stage", "Stage"),
        Column("close_date", "Close date", Kind.DATE),
        Column("amount", "Amount", Kind.MONEY, currency_key="currency"),
        Column("fx_rate", f"FX rate to {base}", Kind.FACTOR),
        Column("amount_base", f"Amount ({base})", Kind.MONEY, base),
        Column("deal_type", "Type"),
        Column("registered_on", "Registered on", Kind.DATE),
        Column("product", "Product"),
        Column("counted", "Counted"),
        Column("note", "Note", Kind.WRAP),
    )


NPS_COLUMNS = (
    Column("response_id", "Response ID"),
    Column("customer_id", "Customer"),
    Column("responded_on", "Responded on", Kind.DATE),
    Column("score", "Score", Kind.INTEGER),
    Column("counted", "Counted"),
    Column("note", "Note", Kind.WRAP),
)


def _renewal_columns(base: str) -> tuple[Column, ...]:
    return (
        Column("contract_id", "Contract ID"),
        Column("customer_id", "Customer"),
        Column("due_date", "Due date", Kind.DATE),
        Column("original_amount", "Original amount", Kind.MONEY, currency_key="currency"),
        Column("renewed_amount", "Renewed amount", Kind.MONEY, currency_key="currency"),
        Column("original_base", f"Original ({base})", Kind.MONEY, base),
        Column("renewed_base", f"Renewed ({base})", Kind.MONEY, base),
        Column("status", "Status"),
        Column("counted", "Counted"),
        Column("note", "Note", Kind.WRAP),
    )


def _lines_sheet(
    workbook: Workbook, formats: Formats, name: str, columns: Sequence[Column], table: Table
) -> None:
    sheet = add_table_sheet(workbook, name)
    end = append_table(sheet, formats, 0, columns, table)
    if end > 1:
        sheet.autofilter(0, 0, end - 1, len(columns) - 1)
    else:
        sheet.write_string(1, 0, NONE_NEAR)
    sheet.freeze_panes(1, 0)
    set_print_layout(sheet, header_row=0, landscape=len(columns) > 6)
