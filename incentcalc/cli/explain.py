"""`incentcalc explain --partner ID`: one partner's calculation, step by step."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

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
    stderr_console,
    stdout_console,
    with_reporting,
)
from incentcalc.errors import DataError, UsageError


@with_reporting
def explain(
    partner: Annotated[str, typer.Option("--partner", help="The partner_id to explain.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    period: PeriodOpt = ...,  # type: ignore[assignment]
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run",
            help="The run folder (--out of `run`) to take the quarter's totals from: only this "
            "partner's rows are read. Without it, out/<period> is used when it matches "
            "(docs/explain.md).",
            file_okay=False,
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Explain the period as it stands on this day (YYYY-MM-DD, inside the "
            "period): a progress run (provisional).",
        ),
    ] = None,
    quarantine: Annotated[
        bool,
        typer.Option(
            "--quarantine",
            help="Set invalid rows aside as `run --quarantine` does; the partner's rows that "
            "were set aside are shown with why.",
        ),
    ] = False,
    max_rejected: MaxRejectedOpt = "1%",
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Calculate the quarter even when the run in out/<period> matches the config "
            "and inputs.",
        ),
    ] = False,
    *,
    reporting: Reporting,
) -> None:
    """Show how one partner's payout came about: KPIs, rows behind them, tier, team, steps."""
    with reporting.guarded("explain"):
        if run_dir is not None and fresh:
            raise UsageError(
                "--run and --fresh do not go together: --run explains that run, --fresh "
                "calculates the quarter. Leave one of them out."
            )
        share = parse_share(max_rejected)  # a wrong value is refused on every path
        if run_dir is not None:
            from incentcalc.api import explain_from_run

            document = explain_from_run(
                config, period, partner, run_dir, as_of, quarantine=quarantine
            )
        else:
            document = _explain_latest(
                (config, partner), period, as_of, quarantine, share, fresh=fresh,
                reporting=reporting,
            )  # fmt: skip
        if reporting.as_json:
            emit_json(document)
        elif not reporting.quiet:
            from incentcalc.cli.report_explain import render_explanation

            render_explanation(stdout_console(), document)


def _explain_latest(
    asked: tuple[Path, str],
    period_label: str,
    as_of: str | None,
    quarantine: bool,
    max_rejected: Decimal,
    *,
    fresh: bool,
    reporting: Reporting,
) -> dict[str, Any]:
    """Plain `explain`: from `run`'s default --out for the period when its config, inputs
    and ledger are unchanged (`reports.run_match`; the inputs are compared on the bytes the
    partner's rows are read from), else calculated. Which it is goes to `--log-file` and to
    stderr, but not with --quiet or --json: `--json` prints the same document either way, so
    nothing is printed beside it."""
    from incentcalc import api
    from incentcalc.reports.run_match import fresh_message, match_run

    config_path, partner = asked
    program, quarter = api.load_program(config_path, period_label, as_of)
    document, verdict = None, None
    if not fresh:
        folder = default_out(quarter.label, recalculation=False, as_of=quarter.as_of)
        verdict = match_run(folder, config_path, program, quarter)
    if verdict is not None and verdict.matches:
        try:
            document = api.explain_run(
                program, quarter, (config_path, partner, verdict.folder), quarantine=quarantine
            )
        except api.InputsChanged as changed:
            verdict = verdict.inputs_changed(changed.sources)
        except DataError:  # the run passed every row: an input changed; the calculation
            verdict = verdict.inputs_invalid()  # reports every failure, not only the partner's
    _say(reporting, fresh_message(quarter) if verdict is None else verdict.message(quarter))
    if document is None:
        from incentcalc.reports.explain import explain_partner

        result = api.calculate_program(
            program, quarter, quarantine=quarantine, max_rejected=max_rejected
        )
        document = explain_partner(result, partner)
    return document


def _say(reporting: Reporting, line: str) -> None:
    """Where explain's numbers come from, in the log and (unless --json or --quiet) on
    stderr."""
    log_line(reporting.log_file, f"explain: {line}")
    if not (reporting.as_json or reporting.quiet):
        stderr_console().print(line, markup=False, highlight=False, soft_wrap=True)
