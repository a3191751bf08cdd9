"""RULES.md 11: the ledger as plain Python data, one function per subsection.

An `Entry` is what `close` keeps of a period: its payout rows, its deal bonuses, the
clawbacks it applied and the holdback release delay it was closed with. The history of a run
is the list of entries before its period, oldest first (consecutive quarters, as 11.1
requires).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reference.inputs import Row
from reference.periods import Period


@dataclass(frozen=True)
class Entry:
    """One closed period (11.1): `release_after` is K as configured when it was closed."""

    period: Period
    payouts: dict[str, Row]
    deal_bonuses: list[Row]
    clawbacks: list[Row] = field(default_factory=list)
    release_after: int = 1

    @property
    def release_period(self) -> str:
        """The period this entry's holdbacks are released in (11.4)."""
        released = self.period
        for _ in range(self.release_after):
            released = released.next()
        return released.label


def previous_entry(history: list[Entry], period: Period) -> Entry | None:
    """The entry of P-1, if the ledger has it."""
    if history and history[-1].period.label == period.previous().label:
        return history[-1]
    return None


def rank(tiers: list[dict[str, Any]], name: str) -> int | None:
    """A tier's position in the config's list; None for a name it no longer lists."""
    names = [tier["name"] for tier in tiers]
    return names.index(name) if name in names else None


# --- 11.3 Carry-forward ------------------------------------------------------------------------
def carried_in(history: list[Entry], period: Period, partner_id: str) -> Decimal:
    """The partner's carried_forward in the entry of P-1 (0 without a row there)."""
    entry = previous_entry(history, period)
    row = entry.payouts.get(partner_id) if entry else None
    return row["carried_forward"] if row else Decimal("0.00")


# --- 11.4 Holdback release ---------------------------------------------------------------------
def holdback_released(history: list[Entry], period: Period, partner_id: str) -> Decimal:
    """Sum of the partner's stored holdbacks whose release period is P."""
    return sum(
        (
            entry.payouts[partner_id]["holdback"]
            for entry in history
            if entry.release_period == period.label and partner_id in entry.payouts
        ),
        Decimal("0.00"),
    )


# --- 11.5 Clawbacks ----------------------------------------------------------------------------
def clawbacks(
    history: list[Entry], deals: list[Row], period: Period, within_days: int | None
) -> list[Row]:
    """Deals clawed back in P: cancellations up to P's end, in date then deal_id order, each
    taking its own deal if that matches, else the matching deal closed last."""
    if within_days is None:
        return []
    stored = [(entry.period, bonus) for entry in history for bonus in entry.deal_bonuses]
    stored_ids = {bonus["deal_id"] for _, bonus in stored}
    taken = {c["deal_id"] for entry in history for c in entry.clawbacks}
    spent = {c["cancellation_deal_id"] for entry in history for c in entry.clawbacks}
    cancellations = sorted(
        (
            d
            for d in deals
            if d["stage"] == "cancelled"
            and d["close_date"] is not None
            and d["close_date"] <= period.end
            and d["deal_id"] not in spent
        ),
        key=lambda d: (d["close_date"], d["deal_id"]),
    )
    result = []
    for cancel in cancellations:
        matches = [
            (deal_period, bonus)
            for deal_period, bonus in stored
            if bonus["deal_id"] not in taken
            and _matches(cancel, bonus, deal_period, within_days, stored_ids)
        ]
        if not matches:
            continue
        deal_period, bonus = min(matches, key=lambda m: (-m[1]["close_date"].toordinal(),
                                                          m[1]["deal_id"]))  # fmt: skip
        taken.add(bonus["deal_id"])
        result.append({
            "deal_id": bonus["deal_id"], "partner_id": bonus["partner_id"],
            "deal_period": deal_period.label, "cancellation_deal_id": cancel["deal_id"],
            "cancelled_on": cancel["close_date"], "amount": bonus["bonus"],
        })  # fmt: skip
    return result


def _matches(cancel: Row, bonus: Row, deal_period: Period, within: int,
             stored_ids: set[str]) -> bool:  # fmt: skip
    """11.5's two ways a cancellation matches a stored deal bonus."""
    if bonus["bonus"] <= 0 or (cancel["close_date"] - bonus["close_date"]).days > within:
        return False
    if cancel["deal_id"] == bonus["deal_id"]:
        return cancel["close_date"] >= bonus["close_date"]
    if cancel["deal_id"] in stored_ids:
        return False  # a stored deal's own cancellation only ever matches that deal
    return (
        cancel["partner_id"] == bonus["partner_id"]
        and cancel["customer_id"] == bonus["customer_id"]
        and cancel["close_date"] > deal_period.end
    )


# --- 11.6 Tier grace ---------------------------------------------------------------------------
def tier_grace(history: list[Entry], period: Period, partner_id: str, earned: int,
               tiers: list[dict[str, Any]], grace_quarters: int) -> int | None:  # fmt: skip
    """The tier kept by grace (its index), or None when the earned tier pays."""
    entry = previous_entry(history, period)
    row = entry.payouts.get(partner_id) if entry else None
    kept = rank(tiers, row["tier"]) if row else None
    if kept is None or kept <= earned:
        return None
    graced = 0
    for older in reversed(history):
        old = older.payouts.get(partner_id)
        tier, own = (
            (rank(tiers, old["tier"]), rank(tiers, old["earned_tier"])) if old else (None, None)
        )
        if tier is None or own is None or tier <= own:
            break
        graced += 1
    return kept if graced < grace_quarters else None


# --- 11.7 Loyalty milestones -------------------------------------------------------------------
def loyalty_bonus(history: list[Entry], period: Period, partner_id: str, earned: int,
                  tiers: list[dict[str, Any]],
                  milestones: list[dict[str, Any]]) -> Decimal:  # fmt: skip
    """Sum of the bonuses of the milestones whose streak is a positive multiple of `quarters`."""
    total = Decimal("0.00")
    for milestone in milestones:
        needed = rank(tiers, milestone["tier"])
        if needed is None or earned < needed:
            continue
        streak = 1
        for older in reversed(history if previous_entry(history, period) else []):
            old = older.payouts.get(partner_id)
            reached = rank(tiers, old["earned_tier"]) if old else None
            if reached is None or reached < needed:
                break
            streak += 1
        if streak % int(milestone["quarters"]) == 0:
            total += Decimal(str(milestone["bonus"]))
    return total


# --- 11.8 Forfeits -----------------------------------------------------------------------------
def forfeits(history: list[Entry], period: Period, payouts: dict[str, Row],
             clawed: list[Row]) -> list[Row]:  # fmt: skip
    """`ledger` exception rows for partners ineligible or out of scope in P that had a carry,
    a holdback due in P or a share clawed back in P."""
    rows = []
    entry = previous_entry(history, period)
    gone = {pid for pid in _ledger_partners(history, period, clawed)
            if pid not in payouts or payouts[pid]["status"] == "ineligible"}  # fmt: skip
    for pid in sorted(gone):
        carry = carried_in(history, period, pid) if entry else Decimal(0)
        if carry:
            rows.append(_exception(period, "forfeited_carry", pid, carry))
        held_back = holdback_released(history, period, pid)
        if held_back:
            rows.append(_exception(period, "forfeited_holdback", pid, held_back))
    for claw in clawed:
        rule = "unrecovered_clawback" if claw["partner_id"] in gone else "clawback"
        rows.append(_exception(period, rule, claw["partner_id"], claw["amount"],
                               claw["deal_id"], claw["cancellation_deal_id"]))  # fmt: skip
    return rows


def _ledger_partners(history: list[Entry], period: Period, clawed: list[Row]) -> set[str]:
    entry = previous_entry(history, period)
    partners = set(entry.payouts) if entry else set()
    for older in history:
        if older.release_period == period.label:
            partners.update(older.payouts)
    return partners | {claw["partner_id"] for claw in clawed}


def _exception(period: Period, rule: str, partner_id: str, amount: Decimal, deal_id: str = "",
               cancellation: str = "") -> Row:  # fmt: skip
    return {"period": period.label, "rule": rule, "partner_id": partner_id, "deal_id": deal_id,
            "cancellation_deal_id": cancellation, "amount": amount}  # fmt: skip
