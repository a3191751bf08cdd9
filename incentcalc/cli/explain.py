"""`incentcalc explain --partner ID`: one partner's calculation, step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from incentcalc.cli.options import (
    DEFAULT_CONFIG,
    ConfigOpt,
    MaxRejectedOpt,
    PeriodOpt,
    Reporting,
    emit_json,
    parse_share,
    stdout_console,
    with_reporting,
)


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
            "partner's rows are read.",
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
    *,
    reporting: Reporting,
) -> None:
    """Show how one partner's payout came about: KPIs, rows behind them, tier, team, steps."""
    with reporting.guarded("explain"):
        if run_dir is not None:
            from incentcalc.api import explain_from_run

            document = explain_from_run(
                config, period, partner, run_dir, as_of, quarantine=quarantine
            )
        else:
            from incentcalc import api
            from incentcalc.reports.explain import explain_partner

            share = parse_share(max_rejected)
            result = api.run_quarter(
                config, period, quarantine=quarantine, max_rejected=share, as_of=as_of
            )
            document = explain_partner(result, partner)
        if reporting.as_json:
            emit_json(document)
        elif not reporting.quiet:
            from incentcalc.cli.report_explain import render_explanation

            render_explanation(stdout_console(), document)
