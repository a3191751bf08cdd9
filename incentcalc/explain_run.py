"""`explain --partner ID --run DIR`: one partner explained against a run already made.

A partner's KPIs, scores, tier, integrity hits and the rows behind them depend only on its
own rows; its team tier and the budget factor depend on every partner. The run folder has
those quarter-wide numbers already (payouts.parquet), so explain reads only this partner's
rows of each export and calculates only its lines. The run must have been made from the
same config and the same input files (manifest.json's sha256s), or the numbers would not
belong together.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc.config import ProgramConfig, load_config
from incentcalc.errors import UsageError
from incentcalc.history import History
from incentcalc.inputs import Inputs
from incentcalc.output_names import DEAL_BONUSES_PARQUET, MANIFEST_JSON, PAYOUTS_PARQUET
from incentcalc.periods import Period, parse_day, parse_period
from incentcalc.validation import load_inputs


def read_run(
    run_dir: Path, partner_id: str | None
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
    """The manifest, the payouts and the partner's deal bonuses (every partner's when
    `partner_id` is None: the site) of a `run` output folder."""
    own = pl.lit(True) if partner_id is None else pl.col("partner_id") == partner_id
    try:
        manifest = json.loads((run_dir / MANIFEST_JSON).read_text(encoding="utf-8"))
        payouts = pl.read_parquet(run_dir / PAYOUTS_PARQUET)
        deal_bonuses = pl.scan_parquet(run_dir / DEAL_BONUSES_PARQUET).filter(own).collect()
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise UsageError(
            f"--run {run_dir}: not a readable run folder ({exc}). Point --run at the --out "
            "folder of `incentcalc run`, or leave --run out to calculate the quarter."
        ) from None
    return manifest, payouts, deal_bonuses


def _mismatch(run_dir: Path, what: str) -> UsageError:
    return UsageError(
        f"--run {run_dir} was made {what}, so its numbers do not belong to this explanation. "
        "Run the quarter again, or leave --run out to calculate it here."
    )


def explain_from_run(
    config_path: Path,
    period_label: str,
    partner_id: str,
    run_dir: Path,
    as_of: str | None = None,
    *,
    quarantine: bool = False,
) -> dict[str, Any]:
    """`explain_partner`'s document, with the payouts (budget factor, team) and deal bonuses
    (split of the budgeted gross) of `run_dir`, on the ledger's entries before the period.

    The partner's rows are read in a thread (the Parquet scans let go of the GIL) while the
    engine is imported and the run folder is read and checked. With `quarantine` the
    partner's invalid rows are set aside whatever their share: the run made the
    `--max-rejected` check over every partner's rows."""
    day = None if as_of is None else parse_day(as_of)
    config = load_config(config_path)
    period = parse_period(period_label, config.program.fiscal_year_start_month)
    period = period if day is None else period.progress_to(day)
    with ThreadPoolExecutor(max_workers=1) as reader:
        reading = reader.submit(_history_and_inputs, config, period, partner_id, quarantine)
        return _explain(config, period, (config_path, partner_id, run_dir), reading)


def _history_and_inputs(
    config: ProgramConfig, period: Period, partner_id: str, quarantine: bool
) -> tuple[History, Inputs]:
    """The ledger's entries before the period, then the partner's rows (the deals' window
    keeps the rows of the stored deals the clawbacks can still take: `window.deal_window`)."""
    from incentcalc.ledger.basis import ledger_basis

    history = ledger_basis(config, period, recalculate=False, any_period=True).history
    inputs = load_inputs(
        config,
        period,
        partner=partner_id,
        history=history,
        quarantine=quarantine,
        max_rejected=Decimal(1),
    )
    return history, inputs


def _explain(
    config: ProgramConfig,
    period: Period,
    asked: tuple[Path, str, Path],
    reading: Future[tuple[History, Inputs]],
) -> dict[str, Any]:
    """The document once the run is known to belong to `config`, `period` and the inputs;
    refused (UsageError) otherwise, in this order: period, config, input files."""
    from incentcalc.api import calculate_quarter  # imported while the inputs are read
    from incentcalc.explain import explain_partner
    from incentcalc.io.digest import file_sha256

    config_path, partner_id, run_dir = asked
    manifest, payouts, deal_bonuses = read_run(run_dir, partner_id)
    if manifest.get("period") != period.label:
        raise _mismatch(run_dir, f"for {manifest.get('period')}, not {period.label}")
    as_of = None if period.as_of is None else period.as_of.isoformat()
    if manifest.get("as_of") != as_of:
        made = manifest.get("as_of")
        raise _mismatch(
            run_dir,
            f"{'as of ' + made if made else 'as an ordinary run'}, "
            f"not {'as of ' + as_of if as_of else 'as an ordinary run'} (--as-of)",
        )
    if manifest.get("config", {}).get("sha256") != file_sha256(config_path):
        raise _mismatch(run_dir, f"with another config than {config_path}")
    history, inputs = reading.result()
    used = {entry["source"]: entry["sha256"] for entry in manifest.get("inputs", [])}
    changed = [f.name.value for f in inputs.files if used.get(f.name.value) != f.sha256]
    if changed:
        raise _mismatch(run_dir, f"from other input files ({', '.join(changed)} changed)")
    result = calculate_quarter(config, period, inputs, history=history)
    whole = dataclasses.replace(result, payouts=payouts, deal_bonuses=deal_bonuses)
    return explain_partner(whole, partner_id)
