"""summary.xlsx's Ledger sheet (RULES.md 11): what the ledger moved this period, in totals a
controller can tie to the Payouts sheet, and every clawback and forfeit the run applied.

Written only when the program keeps a ledger (without one every line is 0)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from xlsxwriter.workbook import Workbook

from incentcalc.money import money_total
from incentcalc.result import LedgerLineKind, QuarterResult
from incentcalc.statements.cell_formats import Column, Formats, Kind, set_print_layout, write_table
from incentcalc.statements.payload import excel_display

LEDGER_SHEET = "Ledger"

LINE_COLUMNS = (
    ("kind", "Kind", Kind.TEXT),
    ("partner_id", "Partner ID", Kind.TEXT),
    ("deal_id", "Deal ID", Kind.TEXT),
    ("deal_period", "Deal period", Kind.TEXT),
    ("cancellation_deal_id", "Cancelled by", Kind.TEXT),
    ("cancelled_on", "Cancelled on", Kind.DATE),
    ("amount", "Amount", Kind.MONEY),
)
"""The clawback and forfeit table: ledger_lines.parquet's columns but the period."""

WIDTHS = (36, 16, 12, 12, 14, 14, 16)


def ledger_totals(result: QuarterResult) -> list[tuple[str, Decimal, str]]:
    """(label, amount, where it comes from) for the Ledger sheet's totals, exact sums of
    the payout rows, the run's ledger lines and the closed quarters' holdbacks."""
    payouts, lines, period = result.payouts, result.ledger_lines, result.period.label
    history = result.closed_history

    def line(kind: LedgerLineKind) -> Decimal:
        return money_total(lines, "amount", pl.col("kind") == kind.value)

    outstanding = money_total(history, "holdback", pl.col("released_in") > period)
    milestones = payouts.filter(pl.col("loyalty_bonus") > 0).height
    return [
        ("Holdback held back this period", money_total(payouts, "holdback"), "sum of holdback"),
        (
            "Holdback released",
            money_total(payouts, "holdback_released"),
            "sum of holdback released",
        ),
        ("Holdback forfeited", line(LedgerLineKind.FORFEITED_HOLDBACK), "forfeited_holdback"),
        (
            "Holdback outstanding after this period",
            money_total(payouts, "holdback") + outstanding,
            f"this period's holdback + closed quarters' holdbacks released after {period}",
        ),
        ("Carried in", money_total(payouts, "carried_in"), "sum of carried in"),
        (
            "Carried forward (out)",
            money_total(payouts, "carried_forward"),
            "sum of carried forward",
        ),
        ("Carry forfeited", line(LedgerLineKind.FORFEITED_CARRY), "forfeited_carry"),
        ("Clawbacks", money_total(payouts, "clawback"), "sum of clawback"),
        (
            "Clawbacks not recovered",
            line(LedgerLineKind.UNRECOVERED_CLAWBACK),
            "unrecovered_clawback",
        ),
        (
            "Milestones paid",
            money_total(payouts, "loyalty_bonus"),
            f"sum of loyalty bonus ({milestones} partner(s))",
        ),
    ]


def write_ledger_sheet(workbook: Workbook, formats: Formats, result: QuarterResult) -> None:
    """The Ledger sheet: totals (label | amount | from), then the clawback and forfeit rows."""
    base = result.config.program.base_currency
    sheet = workbook.add_worksheet(LEDGER_SHEET)
    for col, width in enumerate(WIDTHS):
        sheet.set_column(col, col, width)
    set_print_layout(sheet, header_row=None, landscape=True)
    sheet.write_string(0, 0, f"Ledger {result.period.label}", formats.title)
    for col, header in enumerate(("Total", f"Amount ({base})", "From")):
        sheet.write_string(2, col, header, formats.header)
    money = formats.number(Kind.MONEY, base)
    row = 3
    for label, amount, source in ledger_totals(result):
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_number(row, 1, float(amount), money)
        sheet.write_string(row, 2, source, formats.top)
        row += 1
    sheet.write_string(row + 1, 0, "Clawbacks and forfeits", formats.heading)
    columns = [Column(key, name, kind, base) for key, name, kind in LINE_COLUMNS]
    lines = excel_display(
        result.ledger_lines.select(key for key, _, _ in LINE_COLUMNS).sort(
            "kind", "partner_id", "deal_id"
        )
    )
    table = {key: lines[key].to_list() for key, _, _ in LINE_COLUMNS}
    end = write_table(sheet, formats, row + 2, columns, table, widths=False)
    if end == row + 3:
        sheet.write_string(end, 0, "none this period")
