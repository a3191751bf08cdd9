"""`incentcalc explain --partner ID`: one partner's calculation, step by step."""

from __future__ import annotations

from typing import Annotated

import typer

from incentcalc.cli import (
    DEFAULT_CONFIG,
    ConfigOpt,
    DebugOpt,
    JsonOpt,
    LogOpt,
    PeriodOpt,
    command,
    emit_json,
    guarded,
    stdout_console,
)


@command
def explain(
    partner: Annotated[str, typer.Option("--partner", help="The partner_id to explain.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    period: PeriodOpt = ...,  # type: ignore[assignment]
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    log_file: LogOpt = None,
) -> None:
    """Show how one partner's payout came about: KPIs, rows behind them, tier, team, steps."""
    from incentcalc import api
    from incentcalc.explain import explain_partner
    from incentcalc.report_explain import render_explanation

    with guarded("explain", as_json=as_json, debug=debug, log_file=log_file):
        result = api.run_quarter(config, period)
        document = explain_partner(result, partner)
        if as_json:
            emit_json(document)
        else:
            render_explanation(stdout_console(), document)
