"""The one path in: config and data to a calculated quarter, and a quarter explained against a
run already made. The CLI, `diff`, `explain`, the site and the tests all go through here; the
calculation itself is `engine.quarter` (imported when a calculation starts, so `explain --run`
imports it while its reader threads read).

`explain --partner ID --run DIR`: one partner explained against a run already made. A
partner's KPIs, scores, tier, integrity hits and the rows behind them depend only on its own
rows; its team tier and the budget factor depend on every partner. The run folder has those
quarter-wide numbers already (payouts.parquet), so explain reads only this partner's rows of
each export and calculates only its lines. The run must have been made from the same config
and the same input files (manifest.json's sha256s), or the numbers would not belong together.
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
from incentcalc.errors import DataError, UsageError
from incentcalc.history import History
from incentcalc.inputs import Inputs
from incentcalc.io.validation import DEFAULT_MAX_REJECTED, load_inputs
from incentcalc.ledger.basis import Basis, ledger_basis
from incentcalc.periods import Period, parse_day, parse_period
from incentcalc.result import (
    DEAL_BONUSES_PARQUET,
    MANIFEST_JSON,
    PAYOUTS_PARQUET,
    QuarterResult,
    Timings,
)


def load_program(
    config_path: Path, period_label: str, as_of: str | None = None
) -> tuple[ProgramConfig, Period]:
    """The config and the period it names, in the config's fiscal calendar; with `as_of`
    (`--as-of`, an ISO date inside the period) the period as it stands on that day."""
    day = None if as_of is None else parse_day(as_of)
    config = load_config(config_path)
    period = parse_period(period_label, config.program.fiscal_year_start_month)
    return config, period if day is None else period.progress_to(day)


def run_quarter(
    config_path: Path,
    period_label: str,
    *,
    quarantine: bool = False,
    max_rejected: Decimal = DEFAULT_MAX_REJECTED,
    as_of: str | None = None,
) -> QuarterResult:
    """Load, validate and calculate one quarter (as of a day of it, with `as_of`) on the
    ledger's entries before it (any period, as `explain` and `diff` do: RULES.md 11.1);
    nothing is written."""
    config, period = load_program(config_path, period_label, as_of)
    basis = ledger_basis(config, period, recalculate=False, any_period=True)
    return compute_quarter(
        config, period, quarantine=quarantine, history=basis.history, max_rejected=max_rejected
    )


def load_history(config: ProgramConfig, period: Period, *, recalculate: bool) -> History:
    """The closed entries before `period`, after verifying the ledger (exit 1) and checking
    that a run may calculate `period` (exit 3): see `ledger.basis.ledger_basis`."""
    return ledger_basis(config, period, recalculate=recalculate).history


def load_basis(config: ProgramConfig, period: Period, *, recalculate: bool) -> Basis:
    """`load_history` plus what the run's manifest records: the ledger head, recalculation."""
    return ledger_basis(config, period, recalculate=recalculate)


def compute_quarter(
    config: ProgramConfig,
    period: Period,
    *,
    quarantine: bool = False,
    history: History | None = None,
    max_rejected: Decimal = DEFAULT_MAX_REJECTED,
) -> QuarterResult:
    """Read and validate the config's sources, then calculate; nothing is written.
    `history` is the closed periods before `period` (None: no ledger)."""
    from incentcalc.engine.quarter import calculate_quarter

    timings = Timings()
    with timings.stage("read_validate"):
        inputs = load_inputs(
            config, period, quarantine=quarantine, max_rejected=max_rejected, history=history
        )
    try:
        return calculate_quarter(config, period, inputs, timings=timings, history=history)
    except pl.exceptions.PolarsError as exc:
        if not _is_decimal_overflow(exc):
            raise
        raise DataError.too_large() from None


def _is_decimal_overflow(exc: Exception) -> bool:
    """Polars reports a decimal that no longer fits 38 digits as an overflow or as a failed
    conversion to a wider scale; either means the inputs hold absurdly large numbers."""
    text = str(exc).lower()
    return "overflow" in text or ("conversion from `decimal" in text and "failed" in text)


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
    from incentcalc.engine.quarter import calculate_quarter  # imported while the inputs are read
    from incentcalc.io.digest import file_sha256
    from incentcalc.reports.explain import explain_partner

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
