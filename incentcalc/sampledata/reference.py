"""The small sources: per-partner targets, quarterly FX rates and manual adjustments.

Targets follow each partner's own history (its average won revenue per quarter, plus a
growth ask), so attainments land around 1 and the curves have something to do. FX rates
drift a little every quarter and are written with at most 6 decimals.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from incentcalc.config import SourceName
from incentcalc.sampledata.frames import column, frame, id_expr, id_width, money, pick, rate
from incentcalc.sampledata.partners import CURRENCIES, USD, USD_PER_UNIT, PartnerBook
from incentcalc.sampledata.plan import Calendar, generator

REVENUE_KPI = "revenue"
NEW_LOGOS_KPI = "new_logos"
TARGETED_SHARE = 0.35
NEW_LOGO_TARGET_SHARE = 0.4
ALTERNATE_LABEL_SHARE = 0.05
"""A few target rows write the period as ``2026-Q3``, a form RULES.md 1 accepts."""

ADJUSTED_SHARE = 0.06
REASONS = (
    "Spiff for product launch",
    "Co-marketing reimbursement",
    "Prior quarter correction",
    "Deal split with another partner",
    "Late MDF claim",
    "Chargeback for returned hardware",
)
APPROVERS = ("J. Rivera (Finance)", "A. Chen (Channel Ops)", "M. Okafor (VP Sales)")
SETTLEMENT_REASON = "Final settlement on exit"
CLAWBACK_CENTS = -7_500_000
"""A large negative adjustment planted on one partner so a `negative` status appears."""


def generate_targets(
    book: PartnerBook, won_usd: np.ndarray, new_won: np.ndarray, seed: int, calendar: Calendar
) -> pl.DataFrame:
    """Revenue (and some new-logo) targets for about a third of the partners, every quarter.

    Revenue target = the partner's average won revenue per quarter times a growth ask of
    0.95..1.3, rounded to thousands; partners without history get none (segment default).
    """
    rng = generator(seed, SourceName.TARGETS)
    quarters = len(calendar.quarters)
    chosen = np.sort(rng.permutation(book.count)[: round(TARGETED_SHARE * book.count)])
    chosen = chosen[won_usd[chosen] > 0]
    per_quarter = won_usd[chosen] / 100 / quarters
    labels = [quarter.label for quarter in calendar.quarters]
    partner = np.repeat(chosen, quarters)
    quarter = np.tile(np.arange(quarters), chosen.size)
    ask = rng.uniform(0.95, 1.3, partner.size)
    revenue = np.maximum(1, np.round(np.repeat(per_quarter, quarters) * ask / 1000)) * 1000
    logos = np.maximum(1, np.round(np.repeat(new_won[chosen] / quarters, quarters) * 0.8))
    with_logos = np.repeat(rng.random(chosen.size) < NEW_LOGO_TARGET_SHARE, quarters)
    alternate = rng.random(partner.size) < ALTERNATE_LABEL_SHARE

    def rows(kpi: str, values: np.ndarray, mask: np.ndarray) -> pl.DataFrame:
        label = pick(tuple(labels), quarter[mask])
        dashed = pick(tuple(f"{q.year}-Q{q.quarter}" for q in calendar.quarters), quarter[mask])
        return frame(
            int(mask.sum()),
            partner_id=book.partner_ids(partner[mask]),
            period=pl.when(column(alternate[mask])).then(dashed).otherwise(label),
            kpi=pl.lit(kpi),
            target=column(values[mask].astype(np.int64)).cast(pl.Decimal(38, 6)),
        )

    everyone = np.ones(partner.size, dtype=bool)
    return pl.concat(
        [rows(REVENUE_KPI, revenue, everyone), rows(NEW_LOGOS_KPI, logos, with_logos)]
    ).sort("partner_id", "kpi", "period", maintain_order=True)


def generate_fx_rates(seed: int, calendar: Calendar) -> pl.DataFrame:
    """One rate per non-base currency and quarter (history, period, next quarter)."""
    rng = generator(seed, SourceName.FX_RATES)
    quarters = calendar.rate_quarters
    foreign = np.array([code for code in range(len(CURRENCIES)) if code != USD])
    drift = np.cumsum(rng.normal(0.0, 0.025, (len(quarters), foreign.size)), axis=0)
    rates = np.asarray(USD_PER_UNIT)[foreign] * np.exp(drift)
    micros = np.maximum(1, np.round(rates * 1_000_000)).astype(np.int64).ravel()
    quarter = np.repeat(np.arange(len(quarters)), foreign.size)
    return frame(
        micros.size,
        period=pick(tuple(q.label for q in quarters), quarter),
        currency=pick(CURRENCIES, np.tile(foreign, len(quarters))),
        rate_to_base=rate(column(micros)),
    )


def generate_adjustments(book: PartnerBook, seed: int, calendar: Calendar) -> pl.DataFrame:
    """Approved manual corrections: spiffs and chargebacks for a few partners per quarter,
    a settlement for every partner that left (ignored for ineligible ones, RULES.md 8),
    and one large clawback that drives a partner's net negative."""
    rng = generator(seed, SourceName.ADJUSTMENTS)
    quarters = len(calendar.quarters)
    routine = round(ADJUSTED_SHARE * book.count * quarters)
    partner = rng.choice(book.count, size=routine, p=book.weights(0.3))
    quarter = rng.integers(0, quarters, routine)
    positive = rng.random(routine) < 0.7
    cents = np.where(
        positive, rng.integers(5_000, 500_001, routine), -rng.integers(5_000, 300_001, routine)
    )
    reason = np.where(positive, rng.integers(0, 4, routine), rng.integers(4, 6, routine))

    leavers = np.concatenate([book.groups["left_in_period"], book.groups["left_before_period"]])
    target = len(calendar.quarters) - 1
    clawed = book.groups["spiking"][:1]
    partner = np.concatenate([partner, leavers, clawed])
    quarter = np.concatenate([quarter, np.full(leavers.size + clawed.size, target)])
    cents = np.concatenate(
        [cents, rng.integers(10_000, 200_001, leavers.size), np.full(clawed.size, CLAWBACK_CENTS)]
    )
    reasons = (*REASONS, SETTLEMENT_REASON)
    reason = np.concatenate([reason, np.full(leavers.size, len(REASONS)), np.full(clawed.size, 5)])
    approver = rng.integers(0, len(APPROVERS), partner.size)
    order = np.lexsort((np.arange(partner.size), quarter))
    return frame(
        partner.size,
        adjustment_id=id_expr("A", id_width(partner.size, 5), pl.col("_i")),
        partner_id=book.partner_ids(partner[order]),
        period=pick(tuple(q.label for q in calendar.quarters), quarter[order]),
        amount=money(column(cents[order])),
        reason=pick(reasons, reason[order]),
        approved_by=pick(APPROVERS, approver[order]),
    )
