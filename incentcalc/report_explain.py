"""Rich rendering of an `explain` document as a tree a finance user reads top to bottom."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console
from rich.markup import escape
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


def _lines_table(title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows[:MAX_LINES]:
        table.add_row(*(escape(str(row.get(c) if row.get(c) is not None else "")) for c in columns))
    if len(rows) > MAX_LINES:
        table.caption = f"{len(rows) - MAX_LINES} more rows: use --json"
    return table


def render_explanation(console: Console, doc: dict[str, Any]) -> None:
    """Header, KPIs with the rows behind them, composite and tier, team, payout steps."""
    partner = doc["partner"]
    root = Tree(
        f"[bold]{escape(partner['partner_name'])}[/] ({escape(partner['partner_id'])}) - "
        f"{escape(doc['program'])} {doc['period']}"
        + (f" - [bold yellow]{doc['progress']}[/]" if doc.get("progress") else "")
    )
    root.add(
        f"segment {escape(str(partner['segment']))}, region {escape(str(partner['region']))}, "
        f"status {partner['partner_status']}, active {partner['active_days']} of "
        f"{partner['period_days']} days"
    )
    kpis = root.add("[bold]KPIs[/]")
    for kpi in doc["kpis"]:
        label = f"{kpi['kpi']} ({kpi['metric']}): value {grouped(kpi['value'])}"
        if kpi["missing"]:
            reason = escape(str(kpi["missing_reason"]))
            label += f" - MISSING ({reason}), when_missing {kpi['when_missing']}"
        node = kpis.add(label)
        if kpi["target"] is not None:
            node.add(f"target {grouped(kpi['target'])}, attainment {kpi['attainment']}")
        node.add(f"curve: {escape(kpi['curve'])} -> score {kpi['score']}")
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
    console.print(_lines_table("Deals", doc["deals"], deal_columns))
    console.print(
        _lines_table(
            "NPS responses", doc["nps_responses"], ("response_id", "responded_on", "score", "note")
        )
    )
    console.print(
        _lines_table(
            "Renewals",
            doc["renewals"],
            ("contract_id", "due_date", "original_amount", "renewed_amount", "currency", "note"),
        )
    )
