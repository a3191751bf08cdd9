"""One quarter calculated from inputs already read and validated (RULES.md): the stages in
order, scope -> FX -> integrity -> KPI values -> scores -> composite and tier -> teams ->
bonus and cap -> budget -> payable -> lines and exceptions, each a module of this package with
one job. Pure: nothing is read or written here (`api` reads, validates and writes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl

from incentcalc.config import Action, Metric, ProgramConfig, SourceName
from incentcalc.engine.carry import Balances, compute_balances
from incentcalc.engine.deal_bonuses import compute_deal_bonuses
from incentcalc.engine.findings import build_exceptions, rejected_notes
from incentcalc.engine.fx import convert, period_rates
from incentcalc.engine.integrity import compute_integrity_hits
from incentcalc.engine.invariants import check_invariants
from incentcalc.engine.kpis import compute_metric_values, in_period
from incentcalc.engine.lines import (
    build_deal_lines,
    build_nps_lines,
    build_renewal_lines,
)
from incentcalc.engine.payouts import (
    apply_budget,
    compute_bonuses,
    compute_payable,
    progress_budget,
)
from incentcalc.engine.scope import compute_scope
from incentcalc.engine.scoring import compute_kpi_scores, quarter_targets, tiers_table
from incentcalc.engine.tier_history import (
    apply_tier_grace,
    compute_loyalty,
    next_milestones,
)
from incentcalc.engine.tiers import assign_team_tiers, assign_tiers, compute_composites
from incentcalc.history import History
from incentcalc.inputs import Inputs, is_credit
from incentcalc.io.window import near_period
from incentcalc.money import MONEY
from incentcalc.periods import Period
from incentcalc.result import (
    KPI_COLUMNS,
    LEDGER_LINE_COLUMNS,
    PAYOUT_COLUMNS,
    QUARTER_TARGET_SCHEMA,
    BudgetUse,
    QuarterResult,
    Status,
    Timings,
)


def _held_by_rules(hits: pl.DataFrame) -> pl.DataFrame:
    """partner_id -> the first `hold` rule that hit one of its deals."""
    return (
        hits.filter(pl.col("action") == Action.HOLD)
        .group_by("partner_id", maintain_order=True)
        .agg(pl.col("rule").first().alias("hold_rule"))
    )


def _deals_with_flags(
    deals_read: pl.DataFrame, config: ProgramConfig, period: Period, rates: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The deals the calculation reads (`_rows_read`) with amount_base, `counted` and
    `credit` (RULES.md 4), and the integrity hits."""
    deals = convert(
        deals_read,
        rates,
        {"amount": "amount_base"},
        config.program.rounding,
        when=in_period("close_date", period),
    )
    hits = compute_integrity_hits(deals, period, config.integrity)
    excluded = hits.filter(pl.col("action") == Action.EXCLUDE).select("deal_id")
    counted = (
        (pl.col("stage") == "closed_won")
        & in_period("close_date", period)
        & ~pl.col("deal_id").is_in(excluded["deal_id"].implode())
    )
    return deals.with_columns(counted.alias("counted"), is_credit().alias("credit")), hits


def _in_play(config: ProgramConfig, period: Period, scope: pl.DataFrame) -> pl.Expr:
    """True for the deals the calculation reads: an in-scope partner's deal near the period
    (the period, the days listed around it and the reversal window after it) or still open;
    the rest of the export's history is skipped."""
    reversal = config.integrity.reversal
    after = timedelta(days=reversal.within_days if reversal else 0)
    relevant = near_period("close_date", period, after) | pl.col("close_date").is_null()
    return relevant & _in_scope(scope)


def calculation_inputs(
    inputs: Inputs, config: ProgramConfig, period: Period, history: History | None = None
) -> Inputs:
    """The validated `inputs` handed over to `calculate_quarter`, with only the deals, NPS
    responses and renewals it reads (`_rows_read`): the engine's own filters then keep every
    row, which Polars does without copying them, so each window is held once (at 50M deals
    the deals' is 13.6M rows, 1.9 GB, and was held twice: as validated and as filtered).

    The rows are moved, not copied (`_moved_rows`): `inputs` gives up those frames and must
    not be used afterwards (`api.compute_quarter` keeps the result instead). The deals are
    left whole when clawbacks may apply (`payout.clawback_within_days` and closed entries in
    `history`): a cancellation of any partner, dated before the rows the engine reads, can
    take back a stored deal's share (RULES.md 11.5).
    """
    scope = compute_scope(inputs[SourceName.PARTNERS], period, config.program.base_currency)
    clawbacks = config.payout.clawback_within_days is not None and bool(history and history.entries)
    frames = dict(inputs.frames)
    for name, read in _rows_read(config, period, scope).items():
        if name not in frames or (name is SourceName.DEALS and clawbacks):
            continue
        keep = frames[name].select(read.fill_null(False)).to_series()
        if not keep.all():
            frames[name] = _moved_rows(frames[name], keep)
    return replace(inputs, frames=frames)


def _rows_read(
    config: ProgramConfig, period: Period, scope: pl.DataFrame
) -> dict[SourceName, pl.Expr]:
    """True for the rows of each source the calculation filters that it reads: one
    definition for `calculate_quarter`, which keeps them, and `calculation_inputs`, which
    narrows the inputs to them beforehand (so nothing the engine reads is narrowed away)."""
    return {
        SourceName.DEALS: _in_play(config, period, scope),
        SourceName.NPS: _near_in_scope("responded_on", period, scope),
        SourceName.RENEWALS: _near_in_scope("due_date", period, scope),
    }


def _moved_rows(frame: pl.DataFrame, keep: pl.Series) -> pl.DataFrame:
    """`frame.filter(keep)`, taking `frame`'s columns out one at a time (`frame` is left
    empty), so each column is freed as soon as its rows are copied: the peak is the frame
    and one column, not two frames (at 50M deals the narrowing peaked at 4.2 GB with one
    `filter`, 2.8 GB so)."""
    columns = []
    while frame.width:
        columns.append(frame.drop_in_place(frame.columns[0]).filter(keep))
    return pl.DataFrame(columns)


def _near_in_scope(column: str, period: Period, scope: pl.DataFrame) -> pl.Expr:
    """True for the rows of in-scope partners dated in or near the period."""
    return near_period(column, period) & _in_scope(scope)


def _in_scope(scope: pl.DataFrame) -> pl.Expr:
    """True for rows of an in-scope partner. A filter keeps the rows' order at the speed of
    a semi join that may reorder them."""
    return pl.col("partner_id").is_in(scope["partner_id"].implode())


def calculate_quarter(
    config: ProgramConfig,
    period: Period,
    inputs: Inputs,
    *,
    timings: Timings | None = None,
    history: History | None = None,
) -> QuarterResult:
    """Calculate every in-scope partner's payout for `period` (RULES.md 1-11) on top of the
    closed periods in `history` (None or empty: no ledger). Pure."""
    timings = timings if timings is not None else Timings()
    history = history if history is not None else History.empty()
    base_currency, mode = config.program.base_currency, config.program.rounding
    scope = compute_scope(inputs[SourceName.PARTNERS], period, base_currency)
    rates = period_rates(inputs[SourceName.FX_RATES], period, base_currency)
    rows_read = _rows_read(config, period, scope)

    def read(name: SourceName) -> pl.DataFrame:
        return inputs[name].filter(rows_read[name])

    with timings.stage("integrity"):
        deals, hits = _deals_with_flags(read(SourceName.DEALS), config, period, rates)
    with timings.stage("kpis"):
        renewals = convert(
            read(SourceName.RENEWALS),
            rates,
            {"original_amount": "original_base", "renewed_amount": "renewed_base"},
            mode,
            when=in_period("due_date", period),
        )
        nps = read(SourceName.NPS)
        # the metric values (2M rows at 200,000 partners) are not kept once scored
        kpi_rows = compute_kpi_scores(
            scope,
            compute_metric_values(scope["partner_id"], deals, nps, renewals, period),
            inputs[SourceName.TARGETS],
            config,
            period,
        )
    with timings.stage("payouts"):
        payouts, details, budget, ledger = _payouts(
            config, period, inputs, scope, kpi_rows, hits, rates, history
        )
        base_metric = config.kpis[config.payout.base].metric
        deal_bonuses = compute_deal_bonuses(payouts, deals, base_metric, period)
    with timings.stage("invariants"):
        kpis = _kpi_output(kpi_rows, period)
        check_invariants(config, payouts, kpis, budget, deal_bonuses)
    with timings.stage("lines"):
        exceptions = build_exceptions(
            hits,
            inputs[SourceName.ADJUSTMENTS],
            renewals,
            inputs.rejected,
            scope,
            period,
            ledger.exceptions,
        )
        result = QuarterResult(
            config=config,
            period=period,
            inputs=inputs,
            payouts=payouts,
            kpis=kpis,
            exceptions=exceptions,
            deal_lines=build_deal_lines(
                deals,
                hits,
                rates,
                period,
                win_rate=any(k.metric is Metric.WIN_RATE for k in config.kpis.values()),
            ),
            nps_lines=build_nps_lines(nps, period),
            renewal_lines=build_renewal_lines(renewals, period),
            budget=budget,
            details=details,
            timings=timings,
            warnings=_warnings(scope, config, period),
            deal_bonuses=deal_bonuses,
            ledger_lines=ledger.lines,
            ledger_notes=pl.concat([ledger.notes, rejected_notes(inputs.rejected)]).sort(
                "partner_id", "line", maintain_order=True
            ),
            closed_history=history.closed_payouts(),
            quarter_targets=_quarter_targets(kpi_rows, scope, period),
        )
    return result


def _payouts(
    config: ProgramConfig,
    period: Period,
    inputs: Inputs,
    scope: pl.DataFrame,
    kpi_rows: pl.DataFrame,
    hits: pl.DataFrame,
    rates: pl.DataFrame,
    history: History,
) -> tuple[pl.DataFrame, pl.DataFrame, BudgetUse, Balances]:
    """Composite, tier (grace included), team, bonus, budget, ledger lines and payable per
    partner (RULES.md 6-8, 11); returns the payout rows, the per-partner details, the
    budget's use and what the closed periods handed over (with the loyalty notes)."""
    mode = config.program.rounding
    value = pl.col("num").cast(MONEY)
    base = kpi_rows.filter(pl.col("kpi") == config.payout.base).select(
        # credits above the quarter's sales pay nothing (RULES.md 8)
        "partner_id",
        pl.when(value < 0).then(pl.lit(0).cast(MONEY)).otherwise(value).alias("bonus_base"),
    )
    composites = compute_composites(kpi_rows)
    tiers = apply_tier_grace(assign_tiers(composites, kpi_rows, config), history, config, period)
    held = _held_by_rules(hits)
    newly_held = pl.col("scope_status").is_null() & pl.col("hold_rule").is_not_null()
    partners = (
        scope.join(composites, on="partner_id")
        .join(tiers, on="partner_id")
        .join(base, on="partner_id")
        .join(held, on="partner_id", how="left")
        .with_columns(
            pl.when(newly_held)
            .then(pl.lit(Status.HELD.value))
            .otherwise(pl.col("scope_status"))
            .alias("scope_status"),
            pl.concat_str(
                pl.when(newly_held).then(pl.col("hold_rule")).otherwise(pl.col("scope_reason")),
                pl.col("grace_note"),
                separator="; ",
                ignore_nulls=True,
            ).alias("reason"),
        )
        .with_columns(pl.when(pl.col("reason") != "").then(pl.col("reason")).alias("reason"))
    )
    partners = assign_team_tiers(partners, config)
    table = tiers_table(config)
    bonuses = compute_bonuses(partners, table, config.payout, mode)
    budgeted, budget = apply_budget(
        bonuses, progress_budget(config.payout.budget, period.elapsed_days, period.days, mode)
    )
    adjustments = (
        inputs[SourceName.ADJUSTMENTS]
        .filter(pl.col("period") == period.label)
        .group_by("partner_id")
        .agg(pl.col("amount").sum().cast(MONEY).alias("adjustments"))
    )
    with_rates = budgeted.join(
        rates.rename({"currency": "payout_currency", "rate_to_base": "fx_rate"}),
        on="payout_currency",
        how="left",
    )
    balances = compute_balances(scope, inputs, history, config, period)
    loyalty = compute_loyalty(partners, history, config, period)
    loyalty_bonus = loyalty.group_by("partner_id").agg(
        pl.col("amount").sum().cast(MONEY).alias("loyalty_bonus")
    )
    with_ledger = (
        with_rates.join(loyalty_bonus, on="partner_id", how="left")
        .join(balances.columns, on="partner_id", how="left")
        .with_columns(pl.col(line).fill_null(0).cast(MONEY) for line in LEDGER_LINE_COLUMNS)
    )
    payable = compute_payable(with_ledger, adjustments, config.payout, mode)
    payouts = payable.with_columns(pl.lit(period.label).alias("period")).select(PAYOUT_COLUMNS)
    details = partners.select(
        "partner_id",
        "joined_on",
        "left_on",
        pl.col("status").alias("partner_status"),
        "active_days",
        pl.lit(period.days).alias("period_days"),
        "blocked_by",
    )
    grace = partners.filter(pl.col("grace_note").is_not_null()).select(
        "partner_id",
        pl.lit("tier").alias("line"),
        pl.lit(None, MONEY).alias("amount"),
        pl.col("grace_note").alias("note"),
    )
    upcoming = next_milestones(partners, history, config, period)
    notes = pl.concat([balances.notes, loyalty, grace, upcoming]).sort(
        "partner_id", "line", maintain_order=True
    )
    ledger = Balances(balances.columns, balances.lines, balances.exceptions, notes)
    return payouts.sort("partner_id"), details.sort("partner_id"), budget, ledger


def _quarter_targets(kpi_rows: pl.DataFrame, scope: pl.DataFrame, period: Period) -> pl.DataFrame:
    """The whole quarter's attainment targets of a progress run; none for an ordinary run."""
    if period.as_of is None:
        return pl.DataFrame(schema=QUARTER_TARGET_SCHEMA)
    return quarter_targets(kpi_rows, scope, period)


def _kpi_output(kpi_rows: pl.DataFrame, period: Period) -> pl.DataFrame:
    return kpi_rows.with_columns(pl.lit(period.label).alias("period")).select(KPI_COLUMNS)


def _warnings(scope: pl.DataFrame, config: ProgramConfig, period: Period) -> tuple[str, ...]:
    """Things a finance user should know even though the run succeeded."""
    warnings = []
    if scope.is_empty():
        warnings.append("No partner is in scope for this period: the payout files are empty.")
    if config.integrity.quarter_end_spike is not None and not period.complete:
        warnings.append(
            f"quarter_end_spike was skipped: this progress run reads {period.label} to "
            f"{period.last_day.isoformat()}, and the rule looks at the last days of the quarter, "
            f"which end on {period.end.isoformat()} (RULES.md 12)."
        )
    return tuple(warnings)
