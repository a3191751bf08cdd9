"""What would reach the next tier: the composite it needs, its gates, and how much more of the
partner's biggest-weight KPI would get there with every other KPI held still.

Exact Decimal arithmetic that inverts RULES.md 5 and 6 (scores and the composite are rounded to
4 places half up, so the answers are the smallest 4-place score and the smallest value that
round up to what is needed). Per partner and on a handful of KPI rows, so plain Python Decimal
is both the clearest and the exact tool here; it runs inside the statement writer.

Example (basic example, P1): composite 0.85 (Silver); Gold needs 0.9. Revenue carries weight
0.6 with score 1.15 against a 100,000 target; the other KPIs contribute 0.2 * 0.8 = 0.16. The
composite reaches 0.9 once 0.6 * s + 0.16 >= 0.89995, so s >= 1.2333 (4 places, rounded up),
which needs revenue >= 100,000 * 1.23325 = 123,325.00: 8,325.00 more than now. Gold also
requires nps >= 30, which P1's NPS of 33.3333 meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from incentcalc.config import Kpi, Metric, ProgramConfig, Tier, WhenMissing

SCORE_UNIT = Decimal("0.0001")
HALF_SCORE_UNIT = Decimal("0.00005")
"""A value at least `x - HALF_SCORE_UNIT` rounds (half up, 4 places) to at least `x`."""

_VALUE_UNITS: dict[Metric, Decimal] = {
    Metric.REVENUE: Decimal("0.01"),
    Metric.EXPANSION_REVENUE: Decimal("0.01"),
    Metric.AVG_DEAL_SIZE: Decimal("0.01"),
    Metric.WON_DEALS: Decimal(1),
    Metric.NEW_LOGOS: Decimal(1),
}
"""Smallest step of a metric's value: cents for money, whole deals and logos for counts;
other metrics (rates, NPS) are shown to 4 places like the KPI table."""


@dataclass(frozen=True)
class KpiFact:
    """One KPI row of the partner (kpis.csv), exact."""

    kpi: str
    metric: str
    value: Decimal | None
    target: Decimal | None
    score: Decimal
    weight: Decimal
    missing: bool


@dataclass(frozen=True)
class GateCheck:
    """One `requires` gate of the next tier against the partner's current value."""

    kpi: str
    minimum: Decimal
    value: Decimal | None
    passed: bool


@dataclass(frozen=True)
class NextTierPath:
    """The way up from the partner's tier; `tier` is None at the top tier.

    `composite_gap` is 0 when the composite already reaches the next tier (a gate blocks it).
    `kpi` is the lever (the biggest-weight KPI with a value), `value_needed` the value it must
    reach holding the other KPIs still, None when no increase is needed or it cannot get there
    (`why_not` says why, e.g. its score is capped).
    """

    tier: str | None
    min_score: Decimal | None
    composite: Decimal
    composite_gap: Decimal
    gates: tuple[GateCheck, ...]
    kpi: str | None = None
    metric: str | None = None
    weight: Decimal | None = None
    value_now: Decimal | None = None
    value_needed: Decimal | None = None
    score_needed: Decimal | None = None
    why_not: str | None = None

    @property
    def gates_passed(self) -> bool:
        return all(gate.passed for gate in self.gates)


def ceil_to(value: Decimal, unit: Decimal) -> Decimal:
    """`value` rounded up to a multiple of `unit`: ceil_to(1.23325, 0.0001) = 1.2333."""
    return value.quantize(unit, rounding=ROUND_CEILING)


def needed_composite(min_score: Decimal) -> Decimal:
    """The smallest exact composite that rounds (4 places, half up) to >= `min_score`.

    >>> needed_composite(Decimal("0.9"))
    Decimal('0.89995')
    """
    return ceil_to(min_score, SCORE_UNIT) - HALF_SCORE_UNIT


def is_dropped(fact: KpiFact, kpi: Kpi | None) -> bool:
    """A missing KPI with when_missing neutral leaves the composite (RULES.md 5)."""
    neutral = kpi is None or kpi.when_missing is WhenMissing.NEUTRAL
    return fact.missing and neutral


def max_score(kpi: Kpi) -> Decimal | None:
    """The highest score the KPI's curve can give (None: no cap)."""
    curve = kpi.score
    if curve.attainment is not None:
        return curve.attainment.cap
    if curve.linear is not None:
        return curve.linear.cap
    return max(score for _, score in curve.steps or [])


def value_for_score(kpi: Kpi, fact: KpiFact, score: Decimal) -> tuple[Decimal | None, str | None]:
    """The smallest value of `fact`'s metric whose score (4 places, half up) is >= `score`,
    rounded up to the metric's unit; or (None, why) when the curve cannot give it."""
    unit = _VALUE_UNITS.get(Metric(fact.metric), SCORE_UNIT)
    curve = kpi.score
    top = max_score(kpi)
    if top is not None and score > top:
        return None, f"not reachable with this KPI alone: its score is capped at {_plain(top)}"
    lowest = score - HALF_SCORE_UNIT
    if curve.attainment is not None:
        if fact.target is None or fact.target <= 0:
            return None, "not reachable with this KPI alone: it has no target"
        attainment = max(lowest, curve.attainment.threshold)
        return ceil_to(attainment * fact.target, unit), None
    if curve.linear is not None:
        floor, target = curve.linear.floor, curve.linear.target
        return ceil_to(floor + lowest * (target - floor), unit), None
    now = fact.value if fact.value is not None else Decimal(0)
    bounds = [bound for bound, step in curve.steps or [] if step >= score and bound > now]
    if not bounds:
        return None, "not reachable with this KPI alone: no higher step scores enough"
    return ceil_to(min(bounds), unit), None


def _plain(number: Decimal) -> str:
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_gates(tier: Tier, facts: Sequence[KpiFact]) -> tuple[GateCheck, ...]:
    """Each gate of `tier` against the raw (4-place) KPI value; a missing value fails."""
    by_name = {fact.kpi: fact for fact in facts}
    checks = []
    for kpi, minimum in tier.requires.items():
        fact = by_name.get(kpi)
        value = None if fact is None or fact.missing else fact.value
        checks.append(GateCheck(kpi, minimum, value, value is not None and value >= minimum))
    return tuple(checks)


def _lever(facts: Sequence[KpiFact], included: Sequence[KpiFact]) -> KpiFact | None:
    """The biggest-weight KPI that counts and has a value (first in config order on ties)."""
    candidates = [fact for fact in included if not fact.missing and fact.value is not None]
    if not candidates:
        return None
    return max(candidates, key=lambda fact: (fact.weight, -facts.index(fact)))


def compute_next_tier(
    tier: str, composite: Decimal, facts: Sequence[KpiFact], config: ProgramConfig
) -> NextTierPath:
    """The next tier above `tier`, what it needs and how the biggest-weight KPI gets there.

    Holding the other KPIs still: composite = (others + w * s) / W over the KPIs that count,
    so the lever needs s >= (needed_composite * W - others) / w, rounded up to 4 places, and
    then the smallest value whose curve gives s. A gate on the lever itself raises the value
    to its minimum; gates on other KPIs are reported as blocking.
    """
    names = [t.name for t in config.tiers]
    index = names.index(tier) if tier in names else 0
    if index + 1 >= len(config.tiers):
        return NextTierPath(None, None, composite, Decimal(0), ())
    nxt = config.tiers[index + 1]
    gates = check_gates(nxt, facts)
    gap = max(Decimal(0), nxt.min_score - composite)
    included = [f for f in facts if f.weight > 0 and not is_dropped(f, config.kpis.get(f.kpi))]
    lever = _lever(facts, included)
    path = NextTierPath(nxt.name, nxt.min_score, composite, gap, gates)
    if lever is None:
        return replace(path, why_not="no weighted KPI has a value this period")
    kpi = config.kpis[lever.kpi]
    path = replace(
        path, kpi=lever.kpi, metric=lever.metric, weight=lever.weight, value_now=lever.value
    )
    gate_floor = nxt.requires.get(lever.kpi)
    gate_needs_more = gate_floor is not None and (lever.value is None or lever.value < gate_floor)
    if gap == 0 and not gate_needs_more:
        return path
    needed: Decimal | None = None
    if gap > 0:
        total = sum((f.weight for f in included), Decimal(0))
        others = sum((f.weight * f.score for f in included if f is not lever), Decimal(0))
        score = max(
            Decimal(0),
            ceil_to((needed_composite(nxt.min_score) * total - others) / lever.weight, SCORE_UNIT),
        )
        path = replace(path, score_needed=score)
        needed, why = value_for_score(kpi, lever, score)
        if needed is None:
            return replace(path, why_not=why)
    if gate_floor is not None and gate_needs_more:
        unit = _VALUE_UNITS.get(Metric(lever.metric), SCORE_UNIT)
        needed = max(needed or gate_floor, ceil_to(gate_floor, unit))
    return replace(path, value_needed=needed)
