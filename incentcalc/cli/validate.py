"""`incentcalc validate`: check the config and every source; write nothing but a report."""

from __future__ import annotations

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
from incentcalc.errors import ExitCode, UsageError

if TYPE_CHECKING:  # the readers are imported when the command runs, not for `--help`
    from incentcalc.io.validation import Validation

COMMAND = "validate"


def write_failure_report(validation: Validation, path: Path) -> None:
    """Every failure as CSV (FAILURE_SCHEMA columns), header only when all is valid."""
    from incentcalc.io.writers import write_csv

    try:
        write_csv(validation.failures, path)
    except OSError as exc:
        raise UsageError(
            f"Cannot write the --report file {path}: {exc.strerror}. Choose a writable path."
        ) from None


def validation_document(
    validation: Validation, period: str, code: ExitCode, warnings: list[str]
) -> dict[str, Any]:
    """The one JSON document of `validate --json`."""
    from incentcalc.cli.report import failures_by_rule
    from incentcalc.io.validation import source_rows

    failures = validation.failures
    return {
        "command": COMMAND,
        "status": "ok" if code is ExitCode.OK else "failed",
        "exit_code": int(code),
        "period": period,
        "sources": source_rows(validation),
        "failures": {"total": failures.height, "by_rule": failures_by_rule(failures)},
        "warnings": warnings,
    }


@with_reporting
def validate(
    config: ConfigOpt = DEFAULT_CONFIG,
    period: PeriodOpt = ...,  # type: ignore[assignment]
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write every failure to this CSV file.", dir_okay=False),
    ] = None,
    all_rows: Annotated[
        bool,
        typer.Option("--all-rows", help="Check every row of the history, not only the period's."),
    ] = False,
    *,
    reporting: Reporting,
) -> None:
    """Check the config and every source file; list ALL failures (exit 1 if any)."""
    from incentcalc.cli.report import render_validation
    from incentcalc.config import load_config
    from incentcalc.io.validation import check_inputs, source_rows
    from incentcalc.ledger.basis import ledger_warnings
    from incentcalc.ledger.store import open_ledger
    from incentcalc.periods import parse_period

    with reporting.guarded(COMMAND):
        program = load_config(config)
        quarter = parse_period(period, program.program.fiscal_year_start_month)
        if program.ledger is not None:
            open_ledger(program)  # a ledger that fails verification stops validate (exit 1)
        validation = check_inputs(program, quarter, all_rows=all_rows, sha256=False)
        warnings = [*validation.inputs.warnings, *ledger_warnings(program)]
        if report is not None:
            write_failure_report(validation, report)
        code = ExitCode.OK if validation.ok else ExitCode.DATA
        total = validation.failures.height
        log_line(
            reporting.log_file, f"{COMMAND} {quarter.label}: exit {int(code)}: {total} failure(s)"
        )
        if reporting.as_json:
            emit_json(validation_document(validation, quarter.label, code, warnings))
        elif not (reporting.quiet and code is ExitCode.OK):
            console = stdout_console()
            render_validation(
                console,
                period=quarter.label,
                sources=source_rows(validation),
                failures=validation.failures,
                report=report,
            )
            for warning in warnings:
                console.print(f"[yellow]Warning:[/] {warning}")
    if code is not ExitCode.OK:
        raise typer.Exit(int(code))
