"""Rich rendering of an `explain` document as a tree a finance user reads top to bottom."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.segment import Segments
from rich.table import Table
from rich.tree import Tree

MAX_LINES = 25
"""Rows behind a KPI listed in the terminal; `--json` has them all."""


def grouped(value: Any) -> str:
    """An exact number as text with thousands separators and its own decimals ("115000.00"
    -> "115,000.00"); anything else as it is."""
    try:
        return f"{Decimal(str(value)):,}"
    except (InvalidOperation, ValueError):
        return str(value)


WRAPPING = frozenset({"note", "rule", "file"})
"""Columns whose text may wrap; every other cell (ids, dates, amounts) is shown whole."""

WRAPPED_WIDTH = 30
"""The narrowest a wrapping column gets (a note wraps at 30 characters, not at 3)."""


def _lines_table(title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows[:MAX_LINES]]
    for index, column in enumerate(columns):
        widest = max([len(column), *(len(row[index]) for row in cells)])
        if column in WRAPPING:
            table.add_column(column, overflow="fold", min_width=min(widest, WRAPPED_WIDTH))
        else:
            table.add_column(column, no_wrap=True, min_width=widest)
    for row in cells:
        table.add_row(*(escape(cell) for cell in row))
    if len(rows) > MAX_LINES:
        table.caption = f"{len(rows) - MAX_LINES} more rows: use --json"
    return table


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _print_whole(console: Console, table: Table) -> None:
    """Print a table so that no id or number is cut: wider than the console (80 columns in
    a pipe), it runs on, and only the wrapping columns (notes, rules) fold."""
    columns = table.columns
    narrowest = sum(c.min_width or 0 for c in columns) + 3 * len(columns)  # padding, rules
    options = console.options.update_width(max(console.width, narrowest))
    console.print(Segments(console.render(table, options)), crop=False, soft_wrap=True)


def _partner_line(partner: dict[str, Any]) -> str:
    """Segment, region, status and active days, each only when the partner has it."""
    parts = [
        f"{label} {escape(str(partner[key]))}"
        for key, label in (("segment", "segment"), ("region", "region"),
                           ("partner_status", "status"))
        if partner.get(key) is not None
    ]  # fmt: skip
    if partner.get("active_days") is not None:
        parts.append(f"active {partner['active_days']} of {partner['period_days']} days")
    return ", ".join(parts)


def _render_rejected(console: Console, rows: list[dict[str, Any]]) -> None:
    console.print(
        "[yellow]Rows of this partner set aside by --quarantine[/] (left out of its numbers):"
    )
    columns = ("source", "row", "record_id", "column", "value", "rule")
    _print_whole(console, _lines_table("Rejected rows", rows, columns))


def render_explanation(console: Console, doc: dict[str, Any]) -> None:
    """Header, KPIs with the rows behind them, composite and tier, team, payout steps."""
    partner = doc["partner"]
    if doc.get("calculated") is False:
        console.print(
            f"[bold]{escape(partner['partner_id'])}[/] - {escape(doc['program'])} "
            f"{doc['period']}: [bold red]not calculated[/]: {escape(doc['why'])}"
        )
        _render_rejected(console, doc["rejected_rows"])
        return
    root = Tree(
        f"[bold]{escape(partner['partner_name'])}[/] ({escape(partner['partner_id'])}) - "
        f"{escape(doc['program'])} {doc['period']}"
        + (f" - [bold yellow]{doc['progress']}[/]" if doc.get("progress") else "")
    )
    root.add(_partner_line(partner))
    kpis = root.add("[bold]KPIs[/]")
    for kpi in doc["kpis"]:
        value = "none" if kpi["value"] is None else grouped(kpi["value"])
        label = f"{kpi['kpi']} ({kpi['metric']}): value {value}"
        if kpi["missing"]:
            reason = escape(str(kpi["missing_reason"]))
            label += f" - MISSING ({reason}), when_missing {kpi['when_missing']}"
        node = kpis.add(label)
        if kpi["target"] is not None:
            attainment = "none" if kpi["attainment"] is None else kpi["attainment"]
            node.add(f"target {grouped(kpi['target'])}, attainment {attainment}")
        score = "none (no value to score)" if kpi["score"] is None else kpi["score"]
        node.add(f"curve: {escape(kpi['curve'])} -> score {score}")
        node.add(
            f"weight {kpi['weight']} -> used {kpi['weight_used']}, "
            f"contribution {kpi['contribution']}"
        )
        rows = kpi["rows_behind"]
        node.add(
            f"{rows['source']}: " + ", ".join(f"{k} {v}" for k, v in rows.items() if k != "source")
        )
        if kpi.get("rows_from"):
            node.add(f"read from {escape(kpi['rows_from'])}")
    tier = doc["tier"]
    tier_node = root.add(
        f"[bold]Composite {doc['composite_score']} -> tier {tier['name']}[/] "
        f"(from {tier['min_score']})"
    )
    if tier["grace"]:
        tier_node.add(f"earned {tier['earned']}; {escape(tier['grace'])}")
    if tier["blocked_by"]:
        tier_node.add(f"higher tier blocked: {escape(tier['blocked_by'])}")
    for perk in tier["perks"]:
        tier_node.add(f"perk: {escape(perk)}")
    if doc["team"]:
        team = doc["team"]
        team_node = root.add(
            f"[bold]Team {escape(team['team_id'])}[/]: score {team['team_score']} "
            f"-> team tier {team['team_tier']}"
        )
        for member in team["members"]:
            team_node.add(
                f"{escape(member['partner_id'])} ({member['status']}): "
                f"composite {member['composite_score']}, base {grouped(member['bonus_base'])}"
            )
    steps = root.add("[bold]Payout[/]")
    for step in doc["payout_steps"]:
        steps.add(f"{step['step']}: [bold]{grouped(step['amount'])}[/]  ({escape(step['how'])})")
    if doc["ledger"]:
        ledger = root.add("[bold]Ledger[/] (from the closed quarters)")
        for note in doc["ledger"]:
            amount = "" if note["amount"] is None else f"[bold]{note['amount']}[/]  "
            ledger.add(f"{note['line']}: {amount}{escape(note['note'])}")
    for exception in doc["exceptions"]:
        root.add(
            f"[yellow]exception[/] {exception['kind']}: {escape(str(exception['rule']))} - "
            f"{escape(str(exception['detail']))}"
        )
    console.print(root)
    deal_columns = (
        "deal_id", "stage", "close_date", "amount", "currency", "amount_base", "bonus", "note",
    )  # fmt: skip
    _print_whole(console, _lines_table("Deals", doc["deals"], deal_columns))
    if "nps_responses" in doc:
        nps_columns = ("response_id", "responded_on", "score", "note")
        _print_whole(console, _lines_table("NPS responses", doc["nps_responses"], nps_columns))
    if "renewals" in doc:
        renewal_columns = (
            "contract_id", "due_date", "original_amount", "renewed_amount", "currency", "note",
        )  # fmt: skip
        _print_whole(console, _lines_table("Renewals", doc["renewals"], renewal_columns))
    if doc.get("rejected_rows"):
        _render_rejected(console, doc["rejected_rows"])
