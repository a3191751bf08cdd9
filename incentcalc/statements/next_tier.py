"""What would reach the next tier: the composite it needs, its gates, and for every weighted
KPI the value that alone gets there with every other KPI held still (a route); statements show
the cheapest two or three.

Exact Decimal arithmetic that inverts RULES.md 5 and 6 (scores and the composite are rounded to
4 places half up, so the answers are the smallest 4-place score and the smallest value that
round up to what is needed). Step curves are inverted at their steps: a GRR of 79.99% that
scores 0 needs only 80% if the 0.5 step is enough. Per partner and on a handful of KPI rows, so
plain Python Decimal is both the clearest and the exact tool here; it runs inside the statement
writer.

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
class Route:
    """One KPI's way to the next tier on its own, the other KPIs held still.

    `value_needed` is None when this KPI cannot get there alone (`why_not` says why) or when
    no more of it is needed (the composite already reaches the tier). `responses_needed` is
    set for a KPI missing for want of responses (NPS below `min_responses`): it needs that
    many more before its value counts at all.
    """

    kpi: str
    metric: str
    weight: Decimal
    value_now: Decimal | None
    value_needed: Decimal | None = None
    score_needed: Decimal | None = None
    why_not: str | None = None
    responses_needed: int | None = None

    @property
    def reachable(self) -> bool:
        """Whether moving this KPI alone can reach the tier."""
        return self.value_needed is not None

    @property
    def effort(self) -> Decimal:
        """How far the value must move, relative to its size now (0.0125% for a GRR of 79.99%
        going to 80%, 45% for revenue going from 96,000 to 140,000); a missing value counts
        as a full step (1). Routes are ranked by it."""
        if self.value_needed is None:
            return Decimal("Infinity")
        if self.value_now is None:
            return Decimal(1) + (Decimal(self.responses_needed or 0))
        scale = max(abs(self.value_now), abs(self.value_needed), SCORE_UNIT)
        return (self.value_needed - self.value_now) / scale


@dataclass(frozen=True)
class NextTierPath:
    """The way up from the partner's tier; `tier` is None at the top tier.

    `composite_gap` is 0 when the composite already reaches the next tier (a gate blocks it).
    `routes` has one Route per weighted KPI, cheapest first (unreachable ones last); `why_not`
    is set when no KPI can move at all.
    """

    tier: str | None
    min_score: Decimal | None
    composite: Decimal
    composite_gap: Decimal
    gates: tuple[GateCheck, ...]
    routes: tuple[Route, ...] = ()
    why_not: str | None = None

    @property
    def gates_passed(self) -> bool:
        """Whether every gate of the tier is already passed."""
        return all(gate.passed for gate in self.gates)

    @property
    def failing_gates(self) -> tuple[GateCheck, ...]:
        """The gates not passed yet."""
        return tuple(gate for gate in self.gates if not gate.passed)

    def route(self, kpi: str) -> Route | None:
        """The route through `kpi`, if there is one."""
        return next((route for route in self.routes if route.kpi == kpi), None)

    def cheapest(self, count: int = 3) -> tuple[Route, ...]:
        """The `count` cheapest reachable routes."""
        return tuple(route for route in self.routes if route.reachable)[:count]


def ceil_to(value: Decimal, unit: Decimal) -> Decimal:
    """`value` rounded up to a multiple of `unit`.

    >>> ceil_to(Decimal("1.23325"), Decimal("0.0001"))
    Decimal('1.2333')
    """
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
    lowest = max(Decimal(0), score - HALF_SCORE_UNIT)  # a score of 0: the curve's floor
    if curve.attainment is not None:
        if fact.target is None or fact.target <= 0:
            return None, "not reachable with this KPI alone: it has no target"
        attainment = max(lowest, curve.attainment.threshold)
        return ceil_to(attainment * fact.target, unit), None
    if curve.linear is not None:
        floor, target = curve.linear.floor, curve.linear.target
        return ceil_to(floor + lowest * (target - floor), unit), None
    bounds = [
        bound
        for bound, step in curve.steps or []
        if step >= score and (fact.value is None or bound > fact.value)
    ]
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


def _route(
    fact: KpiFact,
    kpi: Kpi,
    included: Sequence[KpiFact],
    nxt: Tier,
    gap: Decimal,
    responses: int | None,
) -> Route:
    """`fact`'s route to `nxt`: composite = (others + w * s) / W over the KPIs that count, so
    it needs s >= (needed_composite * W - others) / w, rounded up to 4 places, then the
    smallest value whose curve gives s. A KPI dropped as missing would count again once it has
    a value, so it joins W. A gate of `nxt` on the KPI raises the value to its minimum."""
    route = Route(fact.kpi, fact.metric, fact.weight, None if fact.missing else fact.value)
    if fact.missing:
        short = kpi.min_responses - (responses or 0)
        if fact.metric != Metric.NPS or responses is None or short <= 0:
            return replace(route, why_not="no value this period")
        route = replace(route, responses_needed=short)
    gate = nxt.requires.get(fact.kpi)
    gate_short = gate is not None and (route.value_now is None or route.value_now < gate)
    needed: Decimal | None = None
    if gap > 0:
        counting = [*included, fact] if fact not in included else list(included)
        total = sum((f.weight for f in counting), Decimal(0))
        others = sum((f.weight * f.score for f in counting if f is not fact), Decimal(0))
        score = max(
            Decimal(0),
            ceil_to((needed_composite(nxt.min_score) * total - others) / fact.weight, SCORE_UNIT),
        )
        route = replace(route, score_needed=score)
        needed, why = value_for_score(kpi, fact, score)
        if needed is None:
            return replace(route, why_not=why)
    if gate is not None and gate_short:
        unit = _VALUE_UNITS.get(Metric(fact.metric), SCORE_UNIT)
        needed = max(needed or gate, ceil_to(gate, unit))
    return replace(route, value_needed=needed)


def compute_next_tier(
    tier: str,
    composite: Decimal,
    facts: Sequence[KpiFact],
    config: ProgramConfig,
    responses: int | None = None,
) -> NextTierPath:
    """The next tier above `tier`, what it needs, and every weighted KPI's route there.

    `responses` is the partner's count of NPS responses in the period (it tells how many more
    a missing NPS needs). With the composite already enough, only KPIs with an unmet gate have
    a route (the gate's minimum).
    """
    names = [t.name for t in config.tiers]
    index = names.index(tier) if tier in names else 0
    if index + 1 >= len(config.tiers):
        return NextTierPath(None, None, composite, Decimal(0), ())
    return compute_tier_path(config.tiers[index + 1], composite, facts, config, responses)


def compute_tier_path(
    nxt: Tier,
    composite: Decimal,
    facts: Sequence[KpiFact],
    config: ProgramConfig,
    responses: int | None = None,
) -> NextTierPath:
    """What reaching tier `nxt` needs from `composite` and `facts`: its gates and every
    weighted KPI's route there (see `compute_next_tier`). A progress statement asks it for the
    tier above and for the tier it holds, on the facts of the whole quarter."""
    gates = check_gates(nxt, facts)
    gap = max(Decimal(0), nxt.min_score - composite)
    path = NextTierPath(nxt.name, nxt.min_score, composite, gap, gates)
    included = [f for f in facts if f.weight > 0 and not is_dropped(f, config.kpis.get(f.kpi))]
    candidates = [f for f in facts if f.weight > 0 and f.kpi in config.kpis]
    if gap == 0:
        candidates = [f for f in candidates if f.kpi in {g.kpi for g in path.failing_gates}]
    routes = [
        _route(fact, config.kpis[fact.kpi], included, nxt, gap, responses) for fact in candidates
    ]
    order = {fact.kpi: position for position, fact in enumerate(facts)}
    routes.sort(key=lambda r: (not r.reachable, r.effort, -r.weight, order[r.kpi]))
    if gap > 0 and not any(route.reachable for route in routes):
        path = replace(path, why_not="no single KPI reaches it alone")
    return replace(path, routes=tuple(routes))
