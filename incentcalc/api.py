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
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from incentcalc.config import ProgramConfig, SourceName, load_config
from incentcalc.errors import DataError, UsageError
from incentcalc.history import History
from incentcalc.inputs import Inputs
from incentcalc.io.database import same_reads
from incentcalc.io.validation import DEFAULT_MAX_REJECTED, load_inputs
from incentcalc.ledger.basis import Basis, ledger_basis
from incentcalc.outputs import read_baseline_run, read_run, write_manifest, write_tables
from incentcalc.periods import Period, parse_day, parse_period
from incentcalc.result import (
    STATEMENTS_DIR,
    SUMMARY_XLSX,
    QuarterResult,
    Timings,
)

if TYPE_CHECKING:
    from incentcalc.reports.compare import ProgramDiff
    from incentcalc.statements.parallel import OnProgress
    from incentcalc.statements.summary import Provenance


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
    ledger's entries before it: `calculate_program`."""
    config, period = load_program(config_path, period_label, as_of)
    return calculate_program(config, period, quarantine=quarantine, max_rejected=max_rejected)


def calculate_program(
    config: ProgramConfig,
    period: Period,
    *,
    quarantine: bool = False,
    max_rejected: Decimal = DEFAULT_MAX_REJECTED,
) -> QuarterResult:
    """Validate and calculate `period` on the ledger's entries before it (any period, as
    `explain` and `diff` do: RULES.md 11.1); nothing is written."""
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


@dataclass(frozen=True)
class RunStart:
    """What `run` knows before it locks its output folder: the config, the period, the
    ledger's entries it stands on and how long verifying and reading them took."""

    config: ProgramConfig
    period: Period
    basis: Basis
    ledger_seconds: float


def start_run(
    config_path: Path, period_label: str, *, as_of: str | None, recalculate: bool
) -> RunStart:
    """The config and period of a `run`, then the ledger verified and read (exit 1 when it
    fails, exit 3 when the period may not be calculated: `ledger.basis.ledger_basis`)."""
    config, period = load_program(config_path, period_label, as_of)
    if recalculate and period.as_of is not None:
        raise UsageError(
            "--as-of and --recalculate do not go together: a progress run reads the open "
            "period so far, a recalculation a closed one. Leave one of them out."
        )
    started = time.perf_counter()
    basis = load_basis(config, period, recalculate=recalculate)
    return RunStart(config, period, basis, round(time.perf_counter() - started, 4))


def calculate_run(
    start: RunStart, *, quarantine: bool, max_rejected: Decimal, lines: bool = True
) -> QuarterResult:
    """`compute_quarter` on the run's ledger basis, marked with it (recalculation, ledger
    head) and timed (the "ledger" stage: verify the ledger, read the history).

    `lines=False` (a run that writes no statements) leaves out the rows behind the numbers
    (`_without_lines`), which nothing else a run writes reads."""
    result = compute_quarter(
        start.config,
        start.period,
        quarantine=quarantine,
        max_rejected=max_rejected,
        history=start.basis.history,
    )
    result = dataclasses.replace(
        result, recalculation=start.basis.recalculation, ledger_head=start.basis.head
    )
    result.timings["ledger"] = start.ledger_seconds
    return result if lines else _without_lines(result)


_LINE_SOURCES = (SourceName.DEALS, SourceName.NPS, SourceName.RENEWALS)
"""The sources whose rows the line frames (statements, explain) are made of."""


def _without_lines(result: QuarterResult) -> QuarterResult:
    """`result` with empty line frames and without the deals, NPS responses and renewals
    they are made of, so those rows are freed before the files are written: at 50M deals
    the deals window alone is 2 GB, held through the writing of summary.xlsx for nothing."""
    return dataclasses.replace(
        result,
        inputs=dataclasses.replace(
            result.inputs,
            frames={k: v for k, v in result.inputs.frames.items() if k not in _LINE_SOURCES},
        ),
        deal_lines=pl.LazyFrame(schema=result.deal_lines.collect_schema()),
        nps_lines=pl.LazyFrame(schema=result.nps_lines.collect_schema()),
        renewal_lines=pl.LazyFrame(schema=result.renewal_lines.collect_schema()),
    )


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
    from incentcalc.engine.quarter import calculate_quarter, calculation_inputs

    timings = Timings()
    with timings.stage("read_validate"):
        inputs = load_inputs(
            config, period, quarantine=quarantine, max_rejected=max_rejected, history=history
        )
    with timings.stage("integrity"):  # the validated rows give way to those the engine reads
        inputs = calculation_inputs(inputs, config, period, history)
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


def write_run(
    result: QuarterResult,
    folder: Path,
    *,
    config_path: Path,
    started_at: datetime,
    warnings: list[str],
    statements: bool,
    partner_ids: Collection[str] | None,
    on_stage: Callable[[str], None] = lambda _: None,
    on_progress: OnProgress | None = None,
) -> int:
    """Every file of a run into `folder` (locked by the caller, `io.writers.locked_output`),
    in the order that makes it safe: the tables, summary.xlsx and the statements, then the
    manifest, whose presence means every other file is complete. Returns the statements
    written."""
    from incentcalc.statements.summary import Provenance

    tables = write_tables(result, folder)
    workbooks, written = write_workbooks(
        result,
        folder,
        statements=statements,
        partner_ids=partner_ids,
        provenance=Provenance(started_at, config_path, warnings),
        on_stage=on_stage,
        on_progress=on_progress,
    )
    write_manifest(
        result,
        folder,
        config_path=config_path,
        outputs=tables + workbooks,
        statements=written,
        started_at=started_at,
        warnings=warnings,
    )
    return written


def write_workbooks(
    result: QuarterResult,
    folder: Path,
    *,
    statements: bool,
    partner_ids: Collection[str] | None,
    provenance: Provenance | None = None,
    on_stage: Callable[[str], None] = lambda _: None,
    on_progress: OnProgress | None = None,
) -> tuple[list[Path], int]:
    """summary.xlsx (with the run's `provenance` on its first sheet) and (unless skipped) the
    partner statements, `on_progress` following them; returns (paths, statements). The
    statement machinery is imported only when statements are written."""
    from incentcalc.statements.summary import write_summary

    if statements:
        from incentcalc.statements import batch

        prepared = batch.prepare_statements(result, partner_ids)
    on_stage("summary")
    with result.timings.stage("summary"):
        write_summary(result, folder / SUMMARY_XLSX, provenance)
    written = 0
    if statements:
        on_stage("statements")
        with result.timings.stage("statements"):
            written = batch.write_statements(
                result,
                folder / STATEMENTS_DIR,
                partner_ids,
                on_progress=on_progress,
                prepared=prepared,
            )
    return [folder / SUMMARY_XLSX], written


def _mismatch(run_dir: Path, what: str) -> UsageError:
    return UsageError(
        f"--run {run_dir} was made {what}, so its numbers do not belong to this explanation. "
        "Run the quarter again, or leave --run out to calculate it here."
    )


@dataclass
class InputsChanged(UsageError):
    """The run's inputs (`sources`, names) are not the bytes the partner's rows were read
    from: `explain --run` refuses (exit 2), plain `explain` calculates instead."""

    sources: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, run_dir: Path, sources: list[str]) -> InputsChanged:
        """The refusal of `--run run_dir`, naming the changed sources."""
        what = f"from other input files ({', '.join(sources)} changed)"
        return cls(_mismatch(run_dir, what).message, sources)


def explain_from_run(
    config_path: Path,
    period_label: str,
    partner_id: str,
    run_dir: Path,
    as_of: str | None = None,
    *,
    quarantine: bool = False,
) -> dict[str, Any]:
    """`explain_run` on the config at `config_path` and the period it names (`explain
    --run DIR`)."""
    config, period = load_program(config_path, period_label, as_of)
    return explain_run(config, period, (config_path, partner_id, run_dir), quarantine=quarantine)


def explain_run(
    config: ProgramConfig,
    period: Period,
    asked: tuple[Path, str, Path],
    *,
    quarantine: bool = False,
) -> dict[str, Any]:
    """`explain_partner`'s document for `asked` (the config's path, the partner, the run
    folder), with the payouts (budget factor, team) and deal bonuses (split of the budgeted
    gross) of the run, on the ledger's entries before the period; `InputsChanged` when an
    input's bytes are not the run's, `UsageError` when the run is of another period or
    config.

    The partner's rows are read in a thread (the Parquet scans let go of the GIL) while the
    engine is imported and the run folder is read and checked. With `quarantine` the
    partner's invalid rows are set aside whatever their share: the run made the
    `--max-rejected` check over every partner's rows."""
    with ThreadPoolExecutor(max_workers=1) as reader:
        reading = reader.submit(_history_and_inputs, config, period, asked[1], quarantine)
        return _explain(config, period, asked, reading)


def _history_and_inputs(
    config: ProgramConfig, period: Period, partner_id: str, quarantine: bool
) -> tuple[History, Inputs]:
    """The ledger's entries before the period, then the partner's rows (the deals' window
    keeps the rows of the stored deals the clawbacks can still take: `window.deal_window`)."""
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
    refused otherwise, in this order: period, config, input files (`InputsChanged`, their
    sha256 as hashed where the rows were read)."""
    from incentcalc.engine.quarter import calculate_quarter  # imported while the inputs are read
    from incentcalc.io.digest import file_sha256
    from incentcalc.reports.explain import explain_partner
    from incentcalc.reports.run_match import changed_inputs

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
    changed = changed_inputs(manifest.get("inputs"), inputs.files)
    if changed:
        raise InputsChanged.of(run_dir, changed)
    result = calculate_quarter(config, period, inputs, history=history)
    whole = dataclasses.replace(result, payouts=payouts, deal_bonuses=deal_bonuses)
    return explain_partner(whole, partner_id)


def diff_programs(
    candidate_path: Path,
    period_label: str,
    *,
    baseline_path: Path | None = None,
    baseline_run: Path | None = None,
    cohort_ids: Sequence[str] | None = None,
    cohort_file: Path | None = None,
    timings: Timings | None = None,
) -> ProgramDiff:
    """Calculate the candidate (and the baseline, unless `baseline_run` gives its payouts)
    for one period in this process and compare them. Nothing is written.

    When both configs read the same sources in the same fiscal calendar, the data is read and
    validated once and the candidate only reruns its config-dependent checks (`reuse=`).
    Cheap checks (configs, cohort file, baseline run folder) come first so a typo fails in
    milliseconds rather than after the data is loaded.
    """
    from incentcalc.engine.quarter import calculate_quarter
    from incentcalc.reports.compare import budget_use_from_payouts, compute_diff, tier_order_of
    from incentcalc.reports.config_diff import compare_config_files

    if baseline_path is None and baseline_run is None:
        raise UsageError(
            "Nothing to compare against: pass --baseline CONFIG (recalculate the baseline) or "
            "--baseline-run DIR (the output folder of a previous `incentcalc run`)."
        )
    timings = timings if timings is not None else Timings()
    candidate, period = load_program(candidate_path, period_label)
    baseline = None if baseline_path is None else load_program(baseline_path, period_label)
    history = shared_history(candidate, period, None if baseline is None else baseline[0])
    cohort = pilot_cohort(cohort_ids, cohort_file)
    changes = [] if baseline_path is None else compare_config_files(baseline_path, candidate_path)
    notes: list[str] = []

    if baseline_run is not None:
        baseline_frame = read_baseline_run(baseline_run, period.label)
        baseline_side = (str(baseline_run), budget_use_from_payouts(baseline_frame))
        with timings.stage("read_validate"):
            candidate_inputs = load_inputs(candidate, period, history=history)
        with timings.stage("calculate"):
            cand_result = calculate_quarter(candidate, period, candidate_inputs, history=history)
    else:
        assert baseline is not None and baseline_path is not None
        base_config, base_period = baseline
        with timings.stage("read_validate"):
            baseline_inputs = load_inputs(base_config, base_period, history=history)
            shared = base_period == period and same_reads(base_config, candidate, period)
            candidate_inputs = load_inputs(
                candidate, period, reuse=baseline_inputs if shared else None, history=history
            )
        if not shared:
            notes.append(_separate_data_note(base_period, period))
        base_result, cand_result = calculate_both(
            (base_config, base_period, baseline_inputs),
            (candidate, period, candidate_inputs),
            timings,
            history,
        )
        baseline_frame = base_result.payouts
        baseline_side = (str(baseline_path), base_result.budget)

    if cohort is not None and candidate.payout.budget is not None:
        notes.append(
            "The candidate's budget was applied to the candidate calculated for every partner; "
            "the pilot keeps those figures for the cohort only and baseline figures for the "
            "rest, so the mixed total is not itself held to either budget."
        )
    base_tiers = [] if baseline is None else [tier.name for tier in baseline[0].tiers]
    with timings.stage("compare"):
        return compute_diff(
            baseline_frame,
            cand_result.payouts,
            period=period.label,
            baseline_side=baseline_side,
            candidate_side=(str(candidate_path), cand_result.budget),
            tier_order=tier_order_of(base_tiers, [tier.name for tier in candidate.tiers]),
            config_changes=changes,
            cohort=cohort,
            notes=notes,
        )


def pilot_cohort(ids: Sequence[str] | None, file: Path | None) -> list[str] | None:
    """The pilot cohort of `diff`: the `--partners` ids, then those of the `--partners-file`
    CSV (`reports.compare.read_cohort`), each once; None without either."""
    from incentcalc.reports.compare import read_cohort

    if ids is None and file is None:
        return None
    return list(dict.fromkeys([*(ids or []), *([] if file is None else read_cohort(file))]))


Calculation = tuple[ProgramConfig, Period, Inputs]
"""What `calculate_quarter` needs for one side."""


def shared_history(
    candidate: ProgramConfig, period: Period, baseline: ProgramConfig | None
) -> History:
    """The one ledger history both sides stand on: the baseline's ledger (the program in
    force), else the candidate's; the ledger is verified first (exit 1 when it fails)."""
    keeper = baseline if baseline is not None and baseline.ledger is not None else candidate
    return ledger_basis(keeper, period, recalculate=False, any_period=True).history


def calculate_both(
    baseline: Calculation, candidate: Calculation, timings: Timings, history: History
) -> tuple[QuarterResult, QuarterResult]:
    """Both sides' results, calculated at the same time on two threads.

    Why threads: Polars releases the GIL, and a quarter's calculation is a long chain of
    mostly small steps that leave cores idle, so two chains interleave well. On the 5M-deal
    benchmark set (2 cores) both sides take about 3.0 s together against 3.5 s one after the
    other (one side alone: 1.7-2.3 s). The calculation is pure and the inputs are shared
    read-only, so nothing can race. Each side gets its own stage timings, merged into
    `timings` as ``baseline`` and ``candidate``.
    """
    from incentcalc.engine.quarter import calculate_quarter

    with timings.stage("calculate"), ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(
                calculate_quarter, config, period, inputs, timings=Timings(), history=history
            )
            for config, period, inputs in (baseline, candidate)
        ]
        base_result, cand_result = (future.result() for future in futures)
    for side, result in (("baseline", base_result), ("candidate", cand_result)):
        timings[side] = round(sum(result.timings.values()), 4)
    return base_result, cand_result


def _separate_data_note(baseline: Period, candidate: Period) -> str:
    if baseline != candidate:
        return (
            f"The configs use different fiscal calendars: {candidate.label} is "
            f"{baseline.start}..{baseline.end} for the baseline and "
            f"{candidate.start}..{candidate.end} for the candidate."
        )
    return (
        "The configs read different sources, so each side's data was loaded and validated "
        "on its own; differences may come from the data as well as the rules."
    )
