"""What a progress statement (RULES.md 12) tells a partner it still needs this quarter.

A progress run scores the quarter so far against targets prorated to the days elapsed. The
partner's question is another one: "what do I need by the quarter's end?". So the statement
measures the values so far against the WHOLE quarter's targets (the attainment KPIs are
scored again; the other curves do not depend on a target), derives the composite and tier
that would give, and asks `next_tier.compute_tier_path` what keeping the tier held now and
reaching the tier above need, every route as in the ordinary statement.

Example (basic example as of 15 Aug 2026, P1): revenue 60,000 against the prorated 50,000
scores 1.2 (Platinum so far); against the quarter's 100,000 it scores 0.6, the composite would
be 0.84 (Silver), and keeping Platinum needs revenue 119,995.00 by 30 Sep 2026 (its score
1.19995 rounds to 1.2): 59,995.00 more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from incentcalc.config import ProgramConfig, Tier
from incentcalc.statements.next_tier import (
    SCORE_UNIT,
    KpiFact,
    NextTierPath,
    check_gates,
    compute_tier_path,
    is_dropped,
)


@dataclass(frozen=True)
class QuarterEndGoal:
    """Keeping (`keep`) or reaching a tier by the quarter's end; `path` is None when the
    numbers so far already get there against the whole quarter's targets."""

    tier: Tier
    keep: bool
    path: NextTierPath | None


@dataclass(frozen=True)
class QuarterEndOutlook:
    """The facts against the whole quarter's targets, the composite and tier they give, and
    the goals: keeping the tier held now, then reaching the next one (none at the top)."""

    facts: tuple[KpiFact, ...]
    composite: Decimal
    tier: Tier
    goals: tuple[QuarterEndGoal, ...]


def _round_score(value: Decimal) -> Decimal:
    return value.quantize(SCORE_UNIT, rounding=ROUND_HALF_UP)


def quarter_end_facts(
    facts: Sequence[KpiFact], quarter_targets: Mapping[str, Decimal | None], config: ProgramConfig
) -> tuple[KpiFact, ...]:
    """`facts` with each attainment KPI's target replaced by the quarter's and its score
    recomputed (RULES.md 5: 0 below the threshold, else min(value / target, cap), 4 places)."""
    result = []
    for fact in facts:
        kpi = config.kpis.get(fact.kpi)
        target = quarter_targets.get(fact.kpi)
        attainment = None if kpi is None else kpi.score.attainment
        if attainment is None or target is None or fact.missing or fact.value is None:
            result.append(fact)
            continue
        ratio = fact.value / target if target > 0 else Decimal(0)
        cap = ratio if attainment.cap is None else attainment.cap
        score = Decimal(0) if ratio < attainment.threshold else min(ratio, cap)
        result.append(replace(fact, target=target, score=_round_score(score)))
    return tuple(result)


def composite_of(facts: Sequence[KpiFact], config: ProgramConfig) -> Decimal:
    """RULES.md 6: the weighted mean of the scores of the KPIs not dropped, 4 places."""
    counted = [f for f in facts if f.weight > 0 and not is_dropped(f, config.kpis.get(f.kpi))]
    total = sum((f.weight for f in counted), Decimal(0))
    if total == 0:
        return Decimal(0)
    return _round_score(sum((f.weight * f.score for f in counted), Decimal(0)) / total)


def tier_for(composite: Decimal, facts: Sequence[KpiFact], config: ProgramConfig) -> Tier:
    """RULES.md 6: the highest tier whose min_score the composite reaches and whose gates
    pass."""
    reached = [
        tier
        for tier in config.tiers
        if tier.min_score <= composite and all(g.passed for g in check_gates(tier, facts))
    ]
    return reached[-1] if reached else config.tiers[0]


def quarter_end_outlook(
    tier_name: str,
    facts: Sequence[KpiFact],
    quarter_targets: Mapping[str, Decimal | None],
    config: ProgramConfig,
    responses: int | None = None,
) -> QuarterEndOutlook:
    """Keeping `tier_name` (the tier held so far) and reaching the tier above it by the
    quarter's end, on the values so far against the whole quarter's targets."""
    whole = quarter_end_facts(facts, quarter_targets, config)
    composite = composite_of(whole, config)
    projected = tier_for(composite, whole, config)
    tiers = list(config.tiers)
    held = next((t for t in tiers if t.name == tier_name), tiers[0])
    wanted = [(held, True)]
    if tiers.index(held) + 1 < len(tiers):
        wanted.append((tiers[tiers.index(held) + 1], False))
    goals = tuple(
        QuarterEndGoal(
            tier,
            keep,
            None
            if tiers.index(projected) >= tiers.index(tier)
            else compute_tier_path(tier, composite, whole, config, responses),
        )
        for tier, keep in wanted
    )
    return QuarterEndOutlook(whole, composite, projected, goals)
