"""`incentcalc run`: validate, calculate and write one quarter's outputs atomically."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from incentcalc.cli.options import (
    DEFAULT_CONFIG,
    ConfigOpt,
    MaxRejectedOpt,
    PeriodOpt,
    Reporting,
    default_out,
    emit_json,
    log_line,
    parse_share,
    partner_ids,
    stdout_console,
    with_reporting,
)
from incentcalc.errors import UsageError


def read_partner_selection(partners: str | None, partners_file: Path | None) -> list[str] | None:
    """Partner ids from `--partners A,B` (`options.partner_ids`) and/or `--partners-file`
    (one id per line)."""
    if partners is None and partners_file is None:
        return None
    selected = partner_ids(partners)
    if partners_file is not None:
        try:
            lines = partners_file.read_text(encoding="utf-8-sig").splitlines()
        except OSError as exc:
            raise UsageError(f"Cannot read --partners-file {partners_file}: {exc}") from None
        selected += [
            line.strip() for line in lines if line.strip() and line.strip() != "partner_id"
        ]
    return selected


def as_of_suffix(as_of: date | None) -> str:
    """The log line's " as of 2026-08-15" for a progress run, "" for an ordinary run."""
    return "" if as_of is None else f" as of {as_of.isoformat()}"


@with_reporting
def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    period: PeriodOpt = ...,  # type: ignore[assignment]
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default out/<period>).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing output folder.")
    ] = False,
    no_statements: Annotated[
        bool, typer.Option("--no-statements", help="Skip the partner Excel statements.")
    ] = False,
    partners: Annotated[
        str | None,
        typer.Option(
            "--partners",
            help="Statements only for these ids (A,B,...); quote an id with commas: "
            "'\"Mid Atlantic (MD, DE, DC)\",B' (or use --partners-file).",
        ),
    ] = None,
    partners_file: Annotated[
        Path | None, typer.Option("--partners-file", help="Statements only for ids in this file.")
    ] = None,
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="Set invalid rows aside instead of stopping.")
    ] = False,
    recalculate: Annotated[
        bool,
        typer.Option(
            "--recalculate",
            help="Calculate a closed (earlier) period again on the entries before it; the "
            "result is marked as a recalculation and can never be closed.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Progress run: the period as it stands on this day (YYYY-MM-DD, inside the "
            "period); provisional, never closed (default --out out/<period>-as-of-<DATE>).",
        ),
    ] = None,
    max_rejected: MaxRejectedOpt = "1%",
    site: Annotated[
        bool,
        typer.Option("--site", help="Also build the run's static site into <out>/site (SITE.md)."),
    ] = False,
    *,
    reporting: Reporting,
) -> None:
    """Validate, calculate and write payouts, KPIs, exceptions, workbooks and the manifest."""
    from incentcalc import api
    from incentcalc.cli.progress import step_progress
    from incentcalc.cli.run_summary import render_run, summarize_run
    from incentcalc.io.writers import locked_output
    from incentcalc.reports.checks import run_warnings

    with reporting.guarded("run"):
        started_at = datetime.now().astimezone()
        selection = read_partner_selection(partners, partners_file)
        rejected_share = parse_share(max_rejected)
        start = api.start_run(config, period, as_of=as_of, recalculate=recalculate)
        quarter = start.period
        target = (
            out
            if out is not None
            else default_out(quarter.label, start.basis.recalculation, quarter.as_of)
        )
        console = stdout_console()
        show_progress = console.is_terminal and not (reporting.as_json or reporting.quiet)
        with (
            locked_output(target, force=force, many_files=site) as folder,
            step_progress(console, enabled=show_progress) as progress,
        ):
            task = progress.add_task("Reading and validating inputs", total=None)

            def on_stage(name: str) -> None:
                progress.update(task, description=f"Writing {name}", total=None, completed=0)

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = api.calculate_run(
                start,
                quarantine=quarantine,
                max_rejected=rejected_share,
                lines=not no_statements,
            )
            progress.update(task, description="Writing payout files")
            warnings = [
                *result.inputs.warnings,
                *result.warnings,
                *run_warnings(result, selection),
                *folder.warnings,
            ]
            statements = api.write_run(
                result,
                folder.path,
                config_path=config.resolve(),
                started_at=started_at,
                warnings=warnings,
                statements=not no_statements,
                partner_ids=selection,
                on_stage=on_stage,
                on_progress=on_progress,
            )
            if site:
                from incentcalc.site.build import write_site
                from incentcalc.site.run import read_site_run

                progress.update(task, description="Writing the site", total=None)
                write_site(read_site_run(folder.path), folder.path / "site")
        summary = summarize_run(result, target, statements, warnings)
        log_line(
            reporting.log_file,
            f"run {quarter.label}{as_of_suffix(quarter.as_of)}: {summary['partners']} partners, "
            f"payable {summary['totals']['payable']}, {len(warnings)} warning(s), wrote {target}",
        )
        if reporting.as_json:
            emit_json(summary)
        elif not reporting.quiet:
            render_run(console, result, summary)
