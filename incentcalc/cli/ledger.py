"""`incentcalc ledger`: the closed periods at a glance, one partner's balances, --verify."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from incentcalc.cli.options import (
    DEFAULT_CONFIG,
    ConfigOpt,
    Reporting,
    emit_json,
    stdout_console,
    with_reporting,
)
from incentcalc.errors import ExitCode

if TYPE_CHECKING:  # the config, the ledger and rich are imported when the command runs
    from rich.console import Console

    from incentcalc.config import ProgramConfig
    from incentcalc.ledger.report import PartnerReport

PERIOD_HEADERS = ("entry", "period", "closed_at", "partners", "gross", "payable",
                  "carried_forward", "holdback_outstanding", "clawbacks")  # fmt: skip

TABLE_WIDTH = 120
"""Columns of money need room: tables are this wide at least, even in a pipe or a log."""

PERIOD_TITLES = {"entry": "#", "closed_at": "closed", "carried_forward": "carried fwd",
                 "holdback_outstanding": "holdback out"}  # fmt: skip

PARTNER_HEADERS = ("period", "status", "tier", "earned_tier", "gross", "net", "payable",
                   "carried_forward")  # fmt: skip
"""The columns of a partner's closed periods on screen (--json has them all)."""


@with_reporting
def ledger(
    config: ConfigOpt = DEFAULT_CONFIG,
    partner: Annotated[
        str | None, typer.Option("--partner", help="One partner's history and open balances.")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check every entry's files and links (exit 1).")
    ] = False,
    *,
    reporting: Reporting,
) -> None:
    """The closed periods of the config's ledger; --partner ID; --verify."""
    from incentcalc.config import load_config
    from incentcalc.ledger.report import partner_report, period_lines
    from incentcalc.ledger.store import open_ledger

    code = ExitCode.OK
    with reporting.guarded("ledger"):
        program = load_config(config)
        console = stdout_console()
        console.width = max(console.width, TABLE_WIDTH)
        if verify:
            code = _verify(
                program, as_json=reporting.as_json, quiet=reporting.quiet, console=console
            )
        else:
            book = open_ledger(program)
            if partner is not None:
                report = partner_report(book, program, partner)
                if reporting.as_json:
                    emit_json({"command": "ledger", "status": "ok", **report.document()})
                elif not reporting.quiet:
                    render_partner(console, report)
            else:
                lines = period_lines(book)
                if reporting.as_json:
                    emit_json({"command": "ledger", "status": "ok", "ledger": str(book.path),
                               "head": book.head, "periods": lines})  # fmt: skip
                elif not reporting.quiet:
                    render_periods(console, str(book.path), lines)
    if code is not ExitCode.OK:
        raise typer.Exit(int(code))


def _verify(program: ProgramConfig, *, as_json: bool, quiet: bool, console: Console) -> ExitCode:
    """Print every problem (exit 1) or how many entries verified."""
    from incentcalc.ledger.store import check_belongs, ledger_root, verify_ledger

    started = time.perf_counter()
    root = ledger_root(program)
    book, problems = verify_ledger(root)
    if not problems:
        check_belongs(book, program)
    seconds = round(time.perf_counter() - started, 3)
    if as_json:
        emit_json(
            {
                "command": "ledger",
                "status": "failed" if problems else "ok",
                "exit_code": int(ExitCode.DATA if problems else ExitCode.OK),
                "ledger": str(root),
                "entries": len(book.entries),
                "head": book.head,
                "problems": [
                    {"entry": p.entry, "file": p.file, "message": p.message} for p in problems
                ],
                "seconds": seconds,
            }
        )
    elif problems:
        console.print(f"[bold red]The ledger {root} failed verification:[/]")
        for problem in problems:
            console.print(f"  {problem}")
    elif not quiet:
        console.print(f"The ledger {root} verifies: {len(book.entries)} entries, head {book.head}.")
    return ExitCode.DATA if problems else ExitCode.OK


def render_periods(console: Console, root: str, lines: list[dict[str, Any]]) -> None:
    from rich import box
    from rich.table import Table

    if not lines:
        console.print(f"The ledger {root} is empty: no period is closed yet.")
        return
    table = Table(title=f"Ledger {root}", title_justify="left", box=box.SIMPLE, padding=(0, 1))
    for header in PERIOD_HEADERS:
        table.add_column(PERIOD_TITLES.get(header, header),
                         justify="left" if header in PERIOD_HEADERS[:3] else "right")  # fmt: skip
    for line in lines:
        shown = {**line, "entry": line["entry"][:4], "closed_at": str(line["closed_at"])[:10]}
        shown |= {h: f"{Decimal(line[h]):,.2f}" for h in PERIOD_HEADERS[4:]}
        table.add_row(*(str(shown[h]) for h in PERIOD_HEADERS))
    console.print(table)


def render_partner(console: Console, report: PartnerReport) -> None:
    from rich.table import Table

    if report.history.is_empty():
        console.print(f"Partner {report.partner_id} has no row in any closed period.")
        return
    table = Table(title=f"Partner {report.partner_id}: closed periods", title_justify="left")
    for column in PARTNER_HEADERS:
        table.add_column(column.replace("_", " "))
    for values in report.history.select(PARTNER_HEADERS).iter_rows():
        table.add_row(*("" if v is None else str(v) for v in values))
    console.print(table)
    console.print(f"Carry into the next period: {report.carry:,.2f}")
    for row in report.holdbacks.iter_rows(named=True):
        console.print(
            f"Holdback of {row['period']}: {row['holdback']} released in {row['released_in']}"
        )
    for row in report.clawable.iter_rows(named=True):
        console.print(
            f"Deal {row['deal_id']} ({row['period']}, closed {row['close_date']}): bonus "
            f"{row['bonus']} can be clawed back until {row['clawable_until']}"
        )
    for streak in report.streaks:
        console.print(
            f"{streak['tier']} streak: {streak['streak']} quarter(s); every {streak['quarters']} "
            f"pays {streak['bonus']}: next in {streak['next_paid_in']} if it holds"
        )
