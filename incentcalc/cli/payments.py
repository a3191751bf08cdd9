"""`incentcalc payments --period P`: the payment files of a closed period (PAYMENTS.md)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from incentcalc.cli.options import (
    DEFAULT_CONFIG,
    ConfigOpt,
    PeriodOpt,
    Reporting,
    emit_json,
    log_line,
    stdout_console,
    with_reporting,
)

if TYPE_CHECKING:  # the ledger and the payment modules are imported when the command runs
    from incentcalc.payments.export import PaymentExport


def payments_document(export: PaymentExport, out: Path, seconds: float) -> dict[str, Any]:
    """What `--json` prints: the manifest's counts and sums, never an IBAN."""
    manifest = export.manifest
    return {
        "command": "payments",
        "status": "ok",
        "exit_code": 0,
        "period": manifest["period"],
        "entry": manifest["entry"],
        "entry_sha256": manifest["entry_sha256"],
        "out": str(out),
        "execution_date": manifest["execution_date"],
        "payees_from": manifest["payees_from"],
        "lines": manifest["lines"],
        "counts_by_method": manifest["counts_by_method"],
        "sums_by_currency": manifest["sums_by_currency"],
        "files": sorted(manifest["files"]),
        "warnings": export.warnings,
        "seconds": seconds,
    }


@with_reporting
def payments(
    config: ConfigOpt = DEFAULT_CONFIG,
    period: PeriodOpt = ...,  # type: ignore[assignment]
    execution_date: Annotated[
        datetime | None,
        typer.Option(
            "--execution-date",
            formats=["%Y-%m-%d"],
            help="Requested execution date (default: today + payments.execution_date_after_days).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default out/<period>-payments)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing payments folder.")
    ] = False,
    *,
    reporting: Reporting,
) -> None:
    """Write the payment files of a closed period: payments.csv, the SEPA file, manual.csv."""
    from incentcalc.config import load_config
    from incentcalc.payments.export import export_payments
    from incentcalc.periods import parse_period

    with reporting.guarded("payments"):
        started = time.perf_counter()
        program = load_config(config)
        quarter = parse_period(period, program.program.fiscal_year_start_month)
        settings = program.payments
        after = settings.execution_date_after_days if settings is not None else 0
        day = execution_date.date() if execution_date else date.today() + timedelta(days=after)
        folder = out if out is not None else Path("out") / f"{quarter.label}-payments"
        export = export_payments(program, quarter, day, folder, force=force)
        seconds = round(time.perf_counter() - started, 3)
        document = payments_document(export, folder, seconds)
        log_line(
            reporting.log_file, f"payments {quarter.label}: {document['lines']} line(s) in {folder}"
        )
        if reporting.as_json:
            emit_json(document)
        elif not reporting.quiet:
            render(document)


def render(document: dict[str, Any]) -> None:
    """The console summary: lines per method, and per currency whether the sums tie."""
    console = stdout_console()
    counts = document["counts_by_method"]
    console.print(
        f"Payment files of {document['period']} (entry {document['entry']}) in "
        f"{document['out']}: {document['lines']} line(s), {counts['sepa']} by SEPA, "
        f"{counts['manual']} to pay by hand; execution date {document['execution_date']}."
    )
    for currency, sums in document["sums_by_currency"].items():
        if sums["ties"]:
            verdict = "ties with the entry"
        else:
            verdict = f"does NOT tie: the entry says {sums['entry_payable_local']}"
        console.print(f"  {currency} {sums['amount']:>16} in {sums['count']} line(s) {verdict}")
    if not document["sums_by_currency"]:
        console.print("  Nothing is payable in this period: 0 payments, which ties with the entry.")
    for warning in document["warnings"]:
        console.print(f"[yellow]Warning:[/] {warning}", markup=True)
