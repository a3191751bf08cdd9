"""One partner's statement workbook: what they earned, why, and how to earn more.

Sheets (docs/statements.md describes them for users):
- Statement: header, payout summary (every step from bonus base to payable, one per line,
  ledger lines with their source),
  tier reached, its perks, the path to the next tier and, with a ledger, the history;
- KPIs: value, target, attainment, score, weight, weight used, contribution, missing reason;
- Deals, NPS responses, Renewals: the rows behind the numbers, each counted or not and why.

This module renders a `PartnerPayload` and never touches Polars or the whole result, so it runs
in worker processes on plain data. Every value is a cell value, never a formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook

from incentcalc.config import ADDITIVE_METRICS, MONEY_METRICS, Kpi, Metric, ProgramConfig, Tier
from incentcalc.engine.findings import REJECTED_LINE
from incentcalc.money import minor_unit
from incentcalc.periods import day_text, progress_title
from incentcalc.result import Status
from incentcalc.statements.cell_formats import (
    Column,
    Formats,
    Kind,
    add_table_sheet,
    append_table,
    open_workbook,
    row_height,
    set_print_layout,
)
from incentcalc.statements.fastsheet import FastCellWorksheet, row_xml
from incentcalc.statements.integrity_notes import RULE_WORDS
from incentcalc.statements.next_tier import (
    KpiFact,
    NextTierPath,
    Route,
    check_gates,
    compute_next_tier,
)
from incentcalc.statements.payload import PartnerPayload, StatementContext, Table
from incentcalc.statements.quarter_end import quarter_end_outlook

STATEMENT_SHEET = "Statement"
KPI_SHEET = "KPIs"
DEALS_SHEET = "Deals"
NPS_SHEET = "NPS responses"
RENEWALS_SHEET = "Renewals"
SHEETS = (STATEMENT_SHEET, KPI_SHEET, DEALS_SHEET, NPS_SHEET, RENEWALS_SHEET)

NONE_NEAR = "none in or near this period"

LABEL_WIDTH, VALUE_WIDTH, NOTE_WIDTH = 30, 20, 70

ROUTES_SHOWN = 3
"""Routes to the next tier a statement lists (the cheapest ones)."""

LEDGER_LINES: tuple[tuple[str, str, int], ...] = (
    ("Loyalty bonus", "loyalty_bonus", 1),
    ("Carried in", "carried_in", 1),
    ("Holdback released", "holdback_released", 1),
    ("Clawback", "clawback", -1),
)
"""Payout columns a ledger adds to net (RULES.md 8.9): label, column, sign. A statement shows
them, and names them in net's explanation, when the program keeps a ledger or the amount is
not 0 (without a ledger they are always 0)."""

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
    """How a metric's value reads: money, a count, a percentage, NPS to one decimal, or a
    plain number."""
    if metric in MONEY_METRICS or metric == Metric.AVG_DEAL_SIZE:
        return Kind.MONEY
    if metric in _COUNT_METRICS:
        return Kind.INTEGER
    if metric in _RATIO_METRICS:
        return Kind.PERCENT
    if metric == Metric.NPS:
        return Kind.ONE_DECIMAL
    return Kind.NUMBER


def plain(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 0.0350 -> '0.035'."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(number: Decimal) -> str:
    """A share as a percentage text: 0.035 -> '3.5%'."""
    return f"{plain(number * 100)}%"


def money(amount: Decimal | None, currency: str) -> str:
    """Money as text in its currency's minor unit: 8000 -> '8,000.00 USD', '8,000 JPY'."""
    places = minor_unit(currency)
    return f"{(amount or Decimal(0)):,.{places}f} {currency}"


def score_text(score: Decimal) -> str:
    """A score as people quote it: at least one decimal (1 -> '1.0', 0.125 -> '0.125')."""
    text = plain(score)
    return text if "." in text else f"{text}.0"


def value_text(value: Decimal | None, metric: str, currency: str) -> str:
    """A KPI value as text in its metric's own unit (for explanations): money with its
    currency, rates as percentages, NPS to one decimal, counts whole."""
    if value is None:
        return "missing"
    kind = metric_kind(metric)
    if kind is Kind.MONEY:
        return money(value, currency)
    if kind is Kind.PERCENT:
        return f"{value * 100:,.2f}%".replace(".00%", "%")
    if kind is Kind.ONE_DECIMAL:
        return f"{value:,.1f}"
    return f"{value:,f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:,}"


def describe_curve(kpi: Kpi, currency: str) -> str:
    """A KPI's score curve in words, in the KPI's own unit: "0 below 80%; 0.5 from 80%;
    1.0 from 90%" (steps), "value / target; 0 below 50% of target; at most 1.5"."""
    curve, metric = kpi.score, kpi.metric

    def unit(value: Decimal) -> str:
        return value_text(value, metric, currency)

    if curve.attainment is not None:
        parts = ["score = value / target"]
        if curve.attainment.threshold > 0:
            parts.append(f"0 below {pct(curve.attainment.threshold)} of target")
        if curve.attainment.cap is not None:
            parts.append(f"at most {score_text(curve.attainment.cap)}")
        return "; ".join(parts)
    if curve.linear is not None:
        line = curve.linear
        parts = [f"0 at {unit(line.floor)} or below", f"1.0 at {unit(line.target)}"]
        parts.append("in proportion in between")
        if line.cap is not None:
            parts.append(f"at most {score_text(line.cap)}")
        return "; ".join(parts)
    steps = [(bound, score) for bound, score in curve.steps or [] if score != 0]
    lowest = (curve.steps or [(Decimal(0), Decimal(0))])[0][0]
    first = steps[0][0] if steps else lowest
    parts = [f"0 below {unit(first)}"]
    parts += [f"{score_text(score)} from {unit(bound)}" for bound, score in steps]
    return "; ".join(parts)


def _num(value: Decimal | int | None) -> float | None:
    """The float Excel stores for an exact value (2-decimal money survives exactly)."""
    return None if value is None else float(value)


class _Sheet:
    """Rows of label | value | explanation on the Statement sheet, from `row` down; a row
    whose explanation wraps gets the height for it. The rows are kept as XML and go into the
    sheet at `close` (`FastCellWorksheet.append_rows`), with no xlsxwriter cell object or
    shared string per cell: a statement's costliest sheet to write that way."""

    def __init__(self, sheet: FastCellWorksheet, formats: Formats, currency: str, row: int) -> None:
        self.sheet, self.formats, self.currency = sheet, formats, currency
        self.first = self.row = row
        self._rows: list[str] = []

    def _add(self, cells: Sequence[tuple[Any, Format | None]], height: float | None = None) -> None:
        """Row `self.row`: `cells` (value, format) from column A on."""
        columns = ((col, value, fmt) for col, (value, fmt) in enumerate(cells))
        self._rows.append(row_xml(self.row, columns, height))
        self.row += 1

    def heading(self, text: str) -> None:
        self.row += 1
        self._add([(text, self.formats.heading)])

    def header(self, *titles: str) -> None:
        self._add([(title, self.formats.header) for title in titles])

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
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, str) and len(value) > VALUE_WIDTH - 1:
            fmt = self.formats.wrap
        cells = [(label, self.formats.label), (value, fmt)]
        if note:
            cells.append((note, self.formats.wrap))
        height = row_height(
            [
                (label, LABEL_WIDTH),
                (value if isinstance(value, str) else None, VALUE_WIDTH),
                (note, NOTE_WIDTH),
            ]
        )
        self._add(cells, height)

    def close(self) -> None:
        """Put the rows into the sheet; nothing may be written below them afterwards."""
        if self._rows:
            self.sheet.append_rows("".join(self._rows), self.first, self.row - 1, 2)


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
    sheet = add_table_sheet(workbook, STATEMENT_SHEET)
    sheet.set_column(0, 0, LABEL_WIDTH)
    sheet.set_column(1, 1, VALUE_WIDTH)
    sheet.set_column(2, 2, NOTE_WIDTH)
    marked = " - RECALCULATION for review, not a payout" if context.recalculation else ""
    progress = progress_title(context.as_of)
    marked += f" - {progress}" if progress else ""
    sheet.write_string(0, 0, f"Incentive statement {context.period_label}{marked}", formats.title)
    sheet.write_string(1, 0, context.config.program.name, formats.label)
    sheet.freeze_panes(2, 0)
    set_print_layout(sheet, header_row=None, landscape=False)
    out = _Sheet(sheet, formats, base, 3)
    _header_lines(out, payload, context)
    out.heading("Payout summary" if context.as_of is None else "Payout so far (provisional)")
    out.header("Step", f"Amount ({base})", "How it was calculated")
    if payload.payout["status"] == Status.INELIGIBLE:
        _ineligible_lines(out, payload, context)
    else:
        _payout_lines(out, payload, context)
    out.heading("Tier")
    _tier_lines(out, payload, context)
    if context.config.ledger is not None or payload.history.get("period"):
        _history_lines(out, payload)
    out.close()


def _history_lines(out: _Sheet, payload: PartnerPayload) -> None:
    """Tier and payout per closed quarter (the ledger's entries before this period), then
    when each loyalty milestone pays next."""
    out.heading("History")
    out.header("Quarter", f"Payable ({out.currency})", "Tier")
    h = payload.history
    periods = h.get("period", [])
    if not periods:
        out.line("-", "-", note="no quarter closed yet")
    for period, tier, earned, status, payable in zip(
        periods, h["tier"], h["earned_tier"], h["status"], h["payable"], strict=True
    ):
        note = tier or "-"
        if earned and earned != tier:
            note += f" (earned {earned}, kept by grace)"
        if status != Status.PAYABLE:
            note += f"; {status}"
        out.line(period, payable, Kind.MONEY, note)
    upcoming = ledger_note(payload.ledger_notes, "next_milestone")
    for text in upcoming.split("; ") if upcoming else []:
        out.line("Next milestone", "-", note=text)


def partner_reason(reason: str | None) -> str | None:
    """A status reason in partner words: a hold by an integrity rule names the rule
    ("registration"), which reads "a deal is under review: registered after it closed"."""
    if reason in RULE_WORDS:
        return f"a deal is under review: {RULE_WORDS[reason]}"
    return reason


def status_note(p: dict[str, Any], min_payout: Decimal, base: str) -> str:
    """What the partner's status means for them, in plain words (said once, in the header)."""
    status, reason = p["status"], partner_reason(p["reason"])
    because = f" ({reason})" if reason else ""
    if status == Status.INELIGIBLE:
        return f"not eligible this period{because}: no bonus is earned and nothing is payable"
    if status == Status.HELD:
        return (
            f"payment held{because}: your net is withheld and carried forward until the hold "
            "ends; it is not forfeited. Your partner manager can tell you what ends the hold"
        )
    if status == Status.NEGATIVE:
        return "net is negative: nothing is paid; it is carried forward to later periods"
    if status == Status.BELOW_MINIMUM:
        return (
            f"net is below the minimum payout of {money(min_payout, base)}: nothing is paid "
            "now; it is carried forward to the next period"
        )
    return "paid this period"


def _header_lines(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    p, detail, config = payload.payout, payload.detail, context.config
    out.line("Partner", p["partner_name"], bold=True)
    out.line("Partner ID", p["partner_id"])
    out.line("Period", context.period_label, note=f"{context.period_start} to {context.period_end}")
    if context.as_of is not None:
        out.line(
            "Progress to",
            day_text(context.as_of),
            note="provisional: the quarter so far, as if it ended on this day; targets are "
            "prorated to the days so far. Nothing on this statement is paid: the payout is "
            f"settled after the quarter ends on {day_text(context.period_end)}",
            bold=True,
        )
    out.line("Segment", p["segment"])
    out.line("Region", p["region"] or "-")
    if p["team_id"]:
        out.line("Team", p["team_id"])
    if detail.get("active_days") is not None:
        note = f"joined {detail.get('joined_on')}"
        if detail.get("left_on") is not None:
            note += f", left {detail['left_on']}"
        if context.as_of is not None:
            note += f"; active days up to {day_text(context.as_of)}, of the quarter's days"
            note += " (additive targets are prorated by them)"
        out.line("Active days", f"{detail['active_days']} of {detail['period_days']}", note=note)
    out.line("Tier", p["tier"], note=ledger_note(payload.ledger_notes, "tier"), bold=True)
    if p["team_id"]:
        team_note = f"team score {p['team_score']}" if p["team_score"] is not None else ""
        out.line("Team tier", p["team_tier"], note=team_note)
    elif config.payout.team_share > 0:
        out.line("Team", "none", note="no team: the team bonus uses your own tier")
    out.line("Composite score", p["composite_score"], Kind.SCORE)
    status = status_note(p, config.payout.min_payout, context.base_currency)
    if context.as_of is not None:
        ended = f"if the quarter ended on {day_text(context.as_of)}"
        paid = p["status"] == Status.PAYABLE
        status = f"{ended}, this would be paid" if paid else f"{ended}: {status}"
    out.line("Status", p["status"], note=status, bold=True)
    rejected = ledger_note(payload.ledger_notes, REJECTED_LINE)
    if rejected:
        out.line("Data left out", "rows set aside", note=rejected, bold=True)
    currency = p["payout_currency"] or context.base_currency
    out.line(
        "Currency",
        context.base_currency,
        note=f"amounts in {context.base_currency}; paid in {currency}",
    )


def _tier_rate(config: ProgramConfig, name: str | None) -> Decimal:
    return next((t.rate for t in config.tiers if t.name == name), Decimal(0))


def _bonus_base_line(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    base_kpi = context.config.payout.base
    metric = context.config.kpis[base_kpi].metric
    out.line(
        "Bonus base",
        payload.payout["bonus_base"],
        Kind.MONEY,
        f"value of KPI {base_kpi} ({metric})",
    )


def _ineligible_lines(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    """An ineligible partner's summary: the base for the record, no bonus, nothing payable;
    none of the cap, budget, holdback or carry steps apply."""
    p = payload.payout
    reason = partner_reason(p["reason"])
    because = f" ({reason})" if reason else ""
    _bonus_base_line(out, payload, context)
    out.line("Bonus", Decimal(0), Kind.MONEY, f"not eligible this period{because}: no bonus")
    _adjustment_lines(out, payload.adjustments, ineligible=True)
    out.line(
        "Payable",
        p["payable"],
        Kind.MONEY,
        "nothing is payable for this period and nothing is carried forward",
        bold=True,
    )


def _payout_lines(out: _Sheet, payload: PartnerPayload, context: StatementContext) -> None:
    p, config, base = payload.payout, context.config, context.base_currency
    rules = config.payout
    _bonus_base_line(out, payload, context)
    out.line(
        "Individual bonus",
        p["individual_bonus"],
        Kind.MONEY,
        f"{pct(rules.individual_share)} of base x {p['tier']} rate "
        f"{pct(_tier_rate(config, p['tier']))}",
    )
    if rules.team_share > 0:
        out.line(
            "Team bonus",
            p["team_bonus"],
            Kind.MONEY,
            f"{pct(rules.team_share)} of base x team tier {p['team_tier']} rate "
            f"{pct(_tier_rate(config, p['team_tier']))}",
        )
    fixed = next((t.fixed for t in config.tiers if t.name == p["tier"]), Decimal(0))
    out.line(
        "Fixed bonus", p["fixed_bonus"], Kind.MONEY, f"{p['tier']} fixed bonus {money(fixed, base)}"
    )
    out.line(
        "Gross before cap", p["gross_uncapped"], Kind.MONEY, "individual + team + fixed", bold=True
    )
    if rules.cap is not None:
        cap_change = _difference(p["gross_capped"], p["gross_uncapped"])
        out.line("Cap", cap_change, Kind.MONEY, _cap_note(p, context))
        out.line("Gross after cap", p["gross_capped"], Kind.MONEY, bold=True)
    if rules.budget is not None:
        out.line(
            "Budget factor",
            p["budget_factor"],
            Kind.FACTOR,
            _budget_note(p, progress=context.as_of is not None),
        )
    out.line("Gross", p["gross"], Kind.MONEY, _gross_note(context), bold=True)
    if rules.holdback_pct > 0:
        out.line(
            "Holdback",
            -(p["holdback"] or Decimal(0)),
            Kind.MONEY,
            f"{pct(rules.holdback_pct)} of gross, held back",
        )
    _adjustment_lines(out, payload.adjustments, ineligible=False)
    out.line("Adjustments total", p["adjustments"], Kind.MONEY, "sum of the adjustments applied")
    terms = _ledger_lines(out, p, payload.ledger_notes, with_ledger=config.ledger is not None)
    out.line("Net", p["net"], Kind.MONEY, net_formula(rules.holdback_pct > 0, terms), bold=True)
    out.line(
        "Carried forward", p["carried_forward"], Kind.MONEY, _carry_note(p, rules.min_payout, base)
    )
    out.line("Payable", p["payable"], Kind.MONEY, _payable_note(p), bold=True)
    currency = p["payout_currency"] or base
    out.line(
        f"Payable in {currency}",
        p["payable_local"],
        Kind.MONEY,
        _local_note(p, base, currency),
        currency=currency,
        bold=True,
    )


def _gross_note(context: StatementContext) -> str:
    rules = context.config.payout
    if rules.budget is not None:
        return (
            "gross after cap x budget factor" if rules.cap else "gross before cap x budget factor"
        )
    return "gross after cap" if rules.cap else "gross before cap"


def ledger_note(notes: Table, line: str) -> str:
    """Where a ledger line's amount came from ("carried in from 2026Q1 (status negative
    there)"), its sources joined by "; ", or "" when it has none."""
    lines = notes.get("line", [])
    return "; ".join(
        n for kind, n in zip(lines, notes.get("note", []), strict=True) if kind == line
    )


def _ledger_lines(out: _Sheet, p: dict[str, Any], notes: Table, *, with_ledger: bool) -> list[str]:
    """The ledger's lines (RULES.md 11) of this payout row, each with where it came from, all
    of them with a ledger, else the ones that are not 0; returns their terms for net's
    formula ("+ carried in")."""
    terms = []
    for label, column, sign in LEDGER_LINES:
        if p.get(column) is None or not (with_ledger or p[column]):
            continue
        amount = p[column] if sign > 0 else -p[column]
        out.line(label, amount, Kind.MONEY, ledger_note(notes, column) or "none")
        terms.append(f"{'+' if sign > 0 else '-'} {label.lower()}")
    return terms


def net_formula(holdback: bool, ledger_terms: Sequence[str]) -> str:
    """How net is made, naming only the steps this program has."""
    parts = ["gross", *(["- holdback"] if holdback else []), "+ adjustments", *ledger_terms]
    return " ".join(parts)


def _payable_note(p: dict[str, Any]) -> str:
    status = p["status"]
    if status == Status.HELD:
        return "held: nothing is paid this period"
    if status in (Status.NEGATIVE, Status.BELOW_MINIMUM):
        return "nothing is paid this period"
    return "net - carried forward"


def _local_note(p: dict[str, Any], base: str, currency: str) -> str:
    if currency == base:
        return "paid in the base currency"
    if p["fx_rate"] is None:
        return ""
    places = minor_unit(currency)
    unit = f"whole {currency}" if places == 0 else f"{places} decimals"
    return f"payable / {plain(p['fx_rate'])} {base} per {currency}, rounded to {unit}"


def _difference(after: Decimal | None, before: Decimal | None) -> Decimal:
    return (after or Decimal(0)) - (before or Decimal(0))


def _cap_note(p: dict[str, Any], context: StatementContext) -> str:
    cap = context.config.payout.cap
    if cap is None:
        return ""
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
    smaller = "the smaller of " if len(terms) > 1 else ""
    return f"cap not reached ({smaller}{limit})"


def _budget_note(p: dict[str, Any], progress: bool = False) -> str:
    """Budget scaling said without the budget's amount (finance's business, not a partner's);
    a progress run's budget is the share of the days so far (RULES.md 12)."""
    factor = p["budget_factor"]
    budget = "its budget for the days so far" if progress else "its budget this period"
    if factor is not None and factor < 1:
        return (
            f"the program's bonuses exceeded {budget}, so every partner's gross "
            f"was scaled by the same factor, {factor:.6f}"
        )
    return "the program stayed within its budget: no scaling"


def _carry_note(p: dict[str, Any], min_payout: Decimal, base: str) -> str:
    status = p["status"]
    if status == Status.NEGATIVE:
        return "net is negative: carried forward and set against later payouts"
    if status == Status.BELOW_MINIMUM:
        return (
            f"net is below the minimum payout of {money(min_payout, base)}: "
            "carried forward to the next period"
        )
    if status == Status.HELD:
        return (
            "the whole net is withheld while the payment is held and carried forward until "
            "the hold ends (not forfeited)"
        )
    return "nothing carried forward"


def _adjustment_lines(out: _Sheet, adjustments: Table, *, ineligible: bool) -> None:
    ids = adjustments.get("adjustment_id", [])
    if not ids:
        if not ineligible:
            out.line("Adjustments", Decimal(0), Kind.MONEY, "none this period")
        return
    prefix = "not applied (not eligible this period): " if ineligible else ""
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
    ineligible = p["status"] == Status.INELIGIBLE
    note = f"minimum composite {plain(tier.min_score)}"
    if ineligible:
        note += "; for information: no bonus or perks this period"
    out.line(
        "Tier reached" if context.as_of is None else "Tier so far", tier.name, note=note, bold=True
    )
    if ineligible:
        return
    if tier.perks:
        for index, perk in enumerate(tier.perks):
            out.line("Perks" if index == 0 else "", perk)
    else:
        out.line("Perks", "none")
    _blocked_lines(out, tier, p["composite_score"] or Decimal(0), payload, context)
    responses = sum(1 for counted in payload.nps.get("counted", []) if counted == "yes")
    if context.as_of is not None:
        _quarter_end_lines(out, payload, context, responses)
        return
    path = compute_next_tier(
        tier.name, p["composite_score"] or Decimal(0), _facts(payload.kpis), config, responses
    )
    _path_lines(out, path, context)


def _blocked_lines(
    out: _Sheet, tier: Tier, composite: Decimal, payload: PartnerPayload, context: StatementContext
) -> None:
    """Higher tiers the composite reaches but a requirement keeps closed, in KPI units."""
    config, base = context.config, context.base_currency
    facts = _facts(payload.kpis)
    metrics = {name: kpi.metric for name, kpi in config.kpis.items()}
    above = config.tiers[config.tiers.index(tier) + 1 :]
    for higher in (t for t in above if t.min_score <= composite):
        failing = [g for g in check_gates(higher, facts) if not g.passed]
        if failing:
            out.line(
                "Blocked by",
                "requirement not met",
                note=f"your composite reaches {higher.name}, which requires "
                + ", ".join(
                    f"{_gate_text(g.kpi, g.minimum, metrics.get(g.kpi, ''), base)} "
                    f"(now {value_text(g.value, metrics.get(g.kpi, ''), base)})"
                    for g in failing
                ),
            )


def _gate_text(kpi: str, minimum: Decimal, metric: str, base: str) -> str:
    return f"{kpi} at least {value_text(minimum, metric, base)}"


def _path_lines(out: _Sheet, path: NextTierPath, context: StatementContext) -> None:
    base = context.base_currency
    if path.tier is None:
        out.line("Next tier", "none", note="the top tier is reached")
        return
    gap_note = (
        f"your composite is {path.composite:.4f}: {path.composite_gap:.4f} more needed"
        if path.composite_gap > 0
        else f"your composite is {path.composite:.4f}: already enough"
    )
    out.line(
        "Next tier",
        path.tier,
        note=f"needs a composite of {plain(path.min_score or Decimal(0))}; {gap_note}",
        bold=True,
    )
    metrics = {name: kpi.metric for name, kpi in context.config.kpis.items()}
    for gate in path.gates:
        metric = metrics.get(gate.kpi, "")
        now = value_text(gate.value, metric, base)
        state = "met" if gate.passed else "not met yet (required for this tier)"
        out.line(
            "Requirement",
            _gate_text(gate.kpi, gate.minimum, metric, base),
            note=f"now {now}: {state}",
        )
    if path.why_not:
        out.line("Ways to get there", "-", note=f"{path.why_not}: several KPIs must improve")
    cheapest = path.cheapest(ROUTES_SHOWN)
    for route in cheapest:
        _route_line(out, route, path, metrics, base)
    others = [r for r in path.routes if r not in cheapest and not r.reachable and r.why_not]
    if others and path.composite_gap > 0:
        out.line(
            "Not enough alone",
            ", ".join(r.kpi for r in others),
            note="; ".join(f"{r.kpi}: {_why(r.why_not)}" for r in others),
        )


def _quarter_end_lines(
    out: _Sheet, payload: PartnerPayload, context: StatementContext, responses: int
) -> None:
    """A progress statement's "what do I still need this quarter": the values so far against
    the whole quarter's targets, then keeping the tier held so far and reaching the next one
    by the quarter's end, each route in plain words and on its own line."""
    config, base, p = context.config, context.base_currency, payload.payout
    by = f"by {day_text(context.period_end)}"
    out.heading(f"What you still need this quarter ({by})")
    left_on = payload.detail.get("left_on")
    if left_on is not None and left_on <= context.period_end:
        out.line(
            "At the quarter's end",
            "not eligible",
            note=f"you leave the program on {left_on}, inside the quarter: its payout will not "
            "include you (no bonus)",
            bold=True,
        )
        return
    targets = dict(zip(payload.kpis["kpi"], payload.kpis.get("quarter_target", []), strict=False))
    outlook = quarter_end_outlook(p["tier"], _facts(payload.kpis), targets, config, responses)
    metrics = {name: kpi.metric for name, kpi in config.kpis.items()}
    shown = [
        f"{f.kpi} {value_text(f.target, f.metric, base)}"
        for f in outlook.facts
        if f.target is not None and f.weight > 0
    ]
    against = f" against the whole quarter's targets ({', '.join(shown)})" if shown else ""
    out.line(
        "If nothing more comes in",
        outlook.tier.name,
        note=f"your numbers so far{against} score a composite of {outlook.composite:.4f}, "
        f"which is {outlook.tier.name}",
        bold=True,
    )
    for goal in outlook.goals:
        label = f"To {'keep' if goal.keep else 'reach'} {goal.tier.name} {by}"
        if goal.path is None:
            out.line(label, "reached so far", note="your numbers so far already get there")
            continue
        path = goal.path
        out.line(
            label,
            f"composite {plain(goal.tier.min_score)}",
            note=quarter_end_sentence(path, metrics, base),
            bold=True,
        )
        for route in path.cheapest(ROUTES_SHOWN):
            _route_line(out, route, path, metrics, base, indent="   ")


def quarter_end_sentence(path: NextTierPath, metrics: Mapping[str, str], base: str) -> str:
    """A tier's routes in one plain sentence: "45,000.00 USD more revenue, or nps at least
    40.0 (now 33.3)"; gates the routes leave unmet follow ("and ... required")."""
    if path.why_not:
        return f"{path.why_not}: several KPIs must improve together"
    words = []
    for route in path.cheapest(ROUTES_SHOWN):
        needed, metric = route.value_needed, route.metric
        assert needed is not None  # cheapest() returns reachable routes only
        if route.value_now is None:
            text = f"{route.kpi} at least {value_text(needed, metric, base)}"
            if route.responses_needed:
                text = f"{route.responses_needed} more response(s), then {text}"
        elif metric in ADDITIVE_METRICS:
            text = f"{value_text(needed - route.value_now, metric, base)} more {route.kpi}"
        else:
            now = value_text(route.value_now, metric, base)
            text = f"{route.kpi} at least {value_text(needed, metric, base)} (now {now})"
        blocking = [g for g in path.failing_gates if g.kpi != route.kpi]
        for gate in blocking:
            gated = metrics.get(gate.kpi, "")
            text += f" and {_gate_text(gate.kpi, gate.minimum, gated, base)} (now "
            text += f"{value_text(gate.value, gated, base)}, required for {path.tier})"
        words.append(text)
    return ", or ".join(words) if words else "no single KPI gets there alone"


def _why(why: str | None) -> str:
    return (why or "").replace("not reachable with this KPI alone: ", "")


def _route_line(
    out: _Sheet,
    route: Route,
    path: NextTierPath,
    metrics: Mapping[str, str],
    base: str,
    indent: str = "",
) -> None:
    metric = route.metric
    needed = route.value_needed
    assert needed is not None  # cheapest() returns reachable routes only
    if route.value_now is None:
        note = "no value this period"
        if route.responses_needed:
            note = (
                f"{route.responses_needed} more response(s) needed before it counts, then at "
                f"least {value_text(needed, metric, base)}"
            )
    else:
        more = needed - route.value_now
        note = (
            f"now {value_text(route.value_now, metric, base)}: "
            f"{value_text(more, metric, base)} more"
        )
    if path.composite_gap > 0:
        note += ", the other KPIs unchanged"
    blocking = [g for g in path.failing_gates if g.kpi != route.kpi]
    if blocking:
        note += "; also needs " + ", ".join(
            _gate_text(g.kpi, g.minimum, metrics.get(g.kpi, ""), base) for g in blocking
        )
    out.line(f"{indent}{route.kpi} needed", needed, metric_kind(metric), note)


KPI_HEADERS = (
    "KPI", "Metric", "Value", "Target", "Attainment", "Score", "Weight", "Weight used",
    "Contribution", "How it is scored", "Note",
)  # fmt: skip
KPI_WIDTHS = (16, 22, 16, 16, 11, 8, 9, 11, 12, 40, 45)
CURVE_COL, NOTE_COL = 9, 10


def _kpi_note(missing: bool, reason: str | None, weight_used: Decimal | None) -> str:
    if not missing:
        return "counted"
    action = "scored 0" if weight_used else "left out; the other weights grow to fill its share"
    return f"missing: {reason or 'no value'}; {action}"


def _kpi_sheet(
    workbook: Workbook, formats: Formats, payload: PartnerPayload, context: StatementContext
) -> None:
    sheet = add_table_sheet(workbook, KPI_SHEET)
    base = context.base_currency
    for col, (title, width) in enumerate(zip(KPI_HEADERS, KPI_WIDTHS, strict=True)):
        sheet.write_string(0, col, title, formats.header)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    set_print_layout(sheet, header_row=0, landscape=True)
    k = payload.kpis
    rows = []
    for i, name in enumerate(k["kpi"]):
        kind = metric_kind(k["metric"][i])
        value_fmt = formats.number(kind, base)
        kpi = context.config.kpis.get(name)
        curve = describe_curve(kpi, base) if kpi is not None else ""
        note = _kpi_note(k["missing"][i], k["missing_reason"][i], k["weight_used"][i])
        whole = k.get("quarter_target", [None] * len(k["kpi"]))[i]
        if whole is not None and whole != k["target"][i]:
            note += (
                f"; the target is prorated to the days so far; the whole quarter's is "
                f"{value_text(whole, k['metric'][i], base)}"
            )
        cells: Sequence[tuple[Any, Any]] = (
            (name, formats.top),
            (k["metric"][i], formats.top),
            (_num(k["value"][i]), value_fmt),
            (_num(k["target"][i]), value_fmt),
            (_num(k["attainment"][i]), formats.number(Kind.PERCENT)),
            (_num(k["score"][i]), formats.number(Kind.SCORE)),
            (_num(k["weight"][i]), formats.number(Kind.PERCENT)),
            (_num(k["weight_used"][i]), formats.number(Kind.PERCENT)),
            (_num(k["contribution"][i]), formats.number(Kind.SCORE)),
            (curve, formats.wrap),
            (note, formats.wrap),
        )
        height = row_height([(curve, KPI_WIDTHS[CURVE_COL]), (note, KPI_WIDTHS[NOTE_COL])])
        columns = ((col, value, fmt) for col, (value, fmt) in enumerate(cells))
        rows.append(row_xml(1 + i, columns, height))
    total = 1 + len(rows)
    total_note = "sum of contributions, rounded to 4 places"
    composite = _num(payload.payout["composite_score"])
    total_cells = (
        (0, "Composite score", formats.total),
        (8, composite, formats.number(Kind.SCORE, bold=True)),
        (NOTE_COL, total_note, formats.wrap),
    )
    rows.append(row_xml(total, total_cells, row_height([(total_note, KPI_WIDTHS[NOTE_COL])])))
    sheet.append_rows("".join(rows), 1, total, NOTE_COL)


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
        Column("bonus", f"Bonus ({base})", Kind.MONEY, base),
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
