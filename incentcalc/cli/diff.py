"""`incentcalc diff`: dry-run a rule change by comparing two configs on the same quarter.

Both sides are calculated in this process and nothing is written except into `--out`
(diff.csv and diff.xlsx, atomically). The exit code says whether the comparison could be
made, never which way the money moved: 0 whatever the change, 1 for bad data, 2 for a bad
config or option.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from incentcalc.cli.options import (
    PeriodOpt,
    Reporting,
    emit_json,
    partner_ids,
    stdout_console,
    with_reporting,
)

if TYPE_CHECKING:  # the engine is imported when the command runs, not for `--help`
    from incentcalc.reports.compare import ProgramDiff


@with_reporting
def diff(
    candidate: Annotated[
        Path, typer.Option("--candidate", help="The config with the rule change.", dir_okay=False)
    ],
    period: PeriodOpt,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="The config in force today.", dir_okay=False),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write diff.csv and diff.xlsx here.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --out folder.")
    ] = False,
    partners: Annotated[
        str | None,
        typer.Option(
            "--partners",
            help="Pilot cohort: these ids (A,B,...); the candidate applies to them only.",
        ),
    ] = None,
    partners_file: Annotated[
        Path | None,
        typer.Option(
            "--partners-file",
            help="Pilot cohort: CSV with a partner_id column; the candidate applies to them only.",
            dir_okay=False,
        ),
    ] = None,
    baseline_run: Annotated[
        Path | None,
        typer.Option(
            "--baseline-run",
            help="Compare against this `run` output folder (its payouts.parquet) instead of "
            "recalculating the baseline.",
            file_okay=False,
        ),
    ] = None,
    *,
    reporting: Reporting,
) -> None:
    """Compare a candidate config with the baseline on one quarter: cost, movers, tiers."""
    from incentcalc.api import diff_programs
    from incentcalc.cli.diff_report import diff_document, render_diff
    from incentcalc.statements.diff_workbook import DIFF_CSV, DIFF_XLSX

    with reporting.guarded("diff"):
        console = stdout_console()
        show_status = console.is_terminal and not (reporting.as_json or reporting.quiet)
        with console.status("Calculating both sides...") if show_status else nullcontext():
            result = diff_programs(
                candidate,
                period,
                baseline_path=baseline,
                baseline_run=baseline_run,
                cohort_ids=None if partners is None else partner_ids(partners),
                cohort_file=partners_file,
            )
        if out is not None:
            write_diff_outputs(result, out, force=force)
        warnings = cohort_warnings(result)
        if reporting.as_json:
            document = diff_document(result)
            document["out"] = None if out is None else str(out)
            document["warnings"] = warnings
            emit_json(document)
        elif not reporting.quiet:
            from rich.markup import escape

            render_diff(result, console)
            for warning in warnings:
                console.print(f"[yellow]Warning:[/] {escape(warning)}")
            if out is not None:
                console.print(f"Wrote {out / DIFF_CSV} and {out / DIFF_XLSX}")


def cohort_warnings(result: ProgramDiff) -> list[str]:
    """Cohort ids (`--partners`, `--partners-file`) not in scope for the period: they are in
    no total."""
    from incentcalc.reports.checks import named_ids

    cohort = result.cohort
    if cohort is None or not cohort.unknown:
        return []
    return [
        f"--partners: {len(cohort.unknown)} id(s) not in scope for {result.period}, left out "
        f"of the cohort: {named_ids(cohort.unknown)}"
    ]


def write_diff_outputs(result: ProgramDiff, out: Path, *, force: bool) -> None:
    """diff.csv and diff.xlsx into `out`, which appears complete or not at all."""
    from incentcalc.io.writers import locked_output, write_csv
    from incentcalc.statements.diff_workbook import DIFF_CSV, DIFF_XLSX, write_diff_workbook

    with locked_output(out, force=force) as folder:
        write_csv(result.diff_rows, folder.path / DIFF_CSV)  # text made formula-safe there
        write_diff_workbook(result, folder.path / DIFF_XLSX)
