"""Which history a calculation of a period uses (RULES.md 11.1)."""

from __future__ import annotations

from dataclasses import dataclass

from incentcalc.config import ProgramConfig
from incentcalc.errors import UsageError
from incentcalc.history import History, read_history
from incentcalc.ledger.store import check_period, open_ledger
from incentcalc.periods import Period


@dataclass(frozen=True)
class Basis:
    """The closed entries before the period, the ledger head when they were read (recorded in
    the run's manifest, compared by `close`), and whether this is a recalculation."""

    history: History
    head: str | None = None
    recalculation: bool = False


def ledger_basis(
    config: ProgramConfig, period: Period, *, recalculate: bool, any_period: bool = False
) -> Basis:
    """The history a run (`recalculate` False: the next open period only; True: an earlier
    one too) or a dry calculation (`any_period`: diff, explain, validate) of `period` uses.

    The ledger is verified first (exit 1 when it fails); no ledger means empty history.
    """
    if config.ledger is None:
        if recalculate:
            raise UsageError(
                "--recalculate needs a ledger: without `ledger: {path: DIR}` in the config "
                "every period is calculated alone; run it without --recalculate."
            )
        return Basis(History.empty())
    ledger = open_ledger(config)
    if any_period:
        following = ledger.next_period()
        recalculation = following is not None and period != following
    else:
        recalculation = check_period(ledger, period, recalculate=recalculate)
    folders = [entry.folder for entry in ledger.entries_before(period)]
    history = read_history(folders, config.program.fiscal_year_start_month)
    return Basis(history, ledger.head, recalculation)


def ledger_warnings(config: ProgramConfig) -> list[str]:
    """What `validate` says about history rules and balances that have no ledger to act on
    (CONFIG.md, RULES.md 11)."""
    if config.ledger is not None:
        return []
    payout = config.payout
    rules = [
        name
        for name, configured in (
            (f"holdback_release_after: {payout.holdback_release_after}",
             payout.holdback_pct > 0),
            (f"clawback_within_days: {payout.clawback_within_days}",
             payout.clawback_within_days is not None),
            (f"tier_grace_quarters: {config.tier_grace_quarters}",
             config.tier_grace_quarters > 0),
            *((f"loyalty {m.tier} every {m.quarters} quarters", m.quarters > 1)
              for m in payout.loyalty),
        )
        if configured
    ]  # fmt: skip
    warnings = []
    if rules:
        warnings.append(
            "History rules are configured without a ledger, so they have nothing to act on: "
            f"{', '.join(rules)}. Add `ledger: {{path: DIR}}` (CONFIG.md) to keep closed periods."
        )
    if payout.holdback_pct > 0 or payout.min_payout > 0:
        warnings.append(
            "Without a ledger, holdbacks and carried_forward balances are reported but never "
            "paid out in a later period (RULES.md 11): they are stranded."
        )
    return warnings
