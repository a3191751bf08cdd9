"""Which history a calculation of a period uses (RULES.md 11.1)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
    (CONFIG.md, RULES.md 11), naming only what the config itself says (not a default)."""
    if config.ledger is None and (held := held_back_by(config)):
        return [
            *history_rule_warnings(config),
            f"Without a ledger, the money held back by {held} is reported but never paid "
            "out in a later period (RULES.md 11): it is stranded. Add `ledger: {path: DIR}` "
            "(CONFIG.md) to carry it forward.",
        ]
    return history_rule_warnings(config)


def history_rule_warnings(config: ProgramConfig) -> list[str]:
    """The history rules the config writes out although it has no ledger for them."""
    if config.ledger is None:
        payout = config.payout
        written = payout.model_fields_set
        rules = [
            name
            for name, configured in (
                (f"payout.holdback_release_after: {payout.holdback_release_after}",
                 "holdback_release_after" in written),
                (f"payout.clawback_within_days: {payout.clawback_within_days}",
                 payout.clawback_within_days is not None),
                (f"tier_grace_quarters: {config.tier_grace_quarters}",
                 config.tier_grace_quarters > 0),
                *((f"payout.loyalty {m.tier} every {m.quarters} quarters", m.quarters > 1)
                  for m in payout.loyalty),
            )
            if configured
        ]  # fmt: skip
        if rules:
            return [
                "History rules are configured without a ledger, so they have nothing to act "
                f"on: {', '.join(rules)}. Add `ledger: {{path: DIR}}` (CONFIG.md) to keep "
                "closed periods."
            ]
    return []


def held_back_by(config: ProgramConfig) -> str:
    """The settings that keep money for a later period ("payout.holdback_pct 0.1 and
    payout.min_payout 100"), or "" when there are none."""
    payout = config.payout
    settings = [
        f"payout.{name} {value}"
        for name, value in (("holdback_pct", payout.holdback_pct),
                            ("min_payout", payout.min_payout))
        if value > 0
    ]  # fmt: skip
    return " and ".join(settings)


def stranded_warnings(config: ProgramConfig, holdback: Decimal, carried: Decimal) -> list[str]:
    """What a run without a ledger says: the history rules it cannot act on, and the money
    of this run that no later period will pay (held back, carried forward)."""
    if config.ledger is not None:
        return []
    amounts = [
        f"{label} {amount:,.2f}"
        for label, amount in (("holdback", holdback), ("carried forward", carried))
        if amount != 0
    ]
    held = held_back_by(config)
    source = f" (from {held})" if held else ""
    stranded = (
        [
            f"Without a ledger, this run's {' and '.join(amounts)}{source} are never paid out "
            "in a later period (RULES.md 11): they are stranded. Add `ledger: {path: DIR}` "
            "(CONFIG.md) to carry them forward."
        ]
        if amounts
        else []
    )
    return [*history_rule_warnings(config), *stranded]
