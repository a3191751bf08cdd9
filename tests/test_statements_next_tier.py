"""The path to the next tier: exact inversions of the score curves and the composite.

The property tests check the answer against a forward calculation written from RULES.md 5-6:
the value given reaches the next tier's composite, and one unit (a cent) less does not.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from builders import program
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.statements.next_tier import (
    KpiFact,
    ceil_to,
    compute_next_tier,
    needed_composite,
    value_for_score,
)

CONFIG = program(
    """
program: {name: Basic, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0.5, cap: 1.5}}}
  nps: {metric: nps, min_responses: 3, score: {linear: {floor: 0, target: 50, cap: 1.2}}}
  grr: {metric: gross_renewal_rate, score: {steps: [[0, 0], [0.8, 0.5], [0.9, 1.0], [0.95, 1.2]]}}
segments:
  reseller: {weights: {revenue: 0.6, nps: 0.2, grr: 0.2}, targets: {revenue: 100000}}
tiers:
  - {name: Bronze, min_score: 0, rate: 0}
  - {name: Silver, min_score: 0.6, rate: 0.02}
  - {name: Gold, min_score: 0.9, rate: 0.04, requires: {nps: 30}}
  - {name: Platinum, min_score: 1.2, rate: 0.05, fixed: 2000}
"""
)

D = Decimal


def q4(value: Decimal) -> Decimal:
    return value.quantize(D("0.0001"), rounding=ROUND_HALF_UP)


def revenue_score(value: Decimal, target: Decimal) -> Decimal:
    """RULES.md 5 attainment curve with threshold 0.5 and cap 1.5, forward."""
    attainment = value / target
    return D(0) if attainment < D("0.5") else q4(min(attainment, D("1.5")))


def facts(
    revenue: str, nps: str | None = "40", grr: str = "0.6667", target: str = "100000"
) -> list[KpiFact]:
    score = revenue_score(D(revenue), D(target))
    nps_score = D(0) if nps is None else q4(min(D(nps) / 50, D("1.2")))
    grr_score = D(0) if D(grr) < D("0.8") else D("0.5")
    return [
        KpiFact("revenue", "revenue", D(revenue), D(target), score, D("0.6"), False),
        KpiFact(
            "nps", "nps", None if nps is None else D(nps), None, nps_score, D("0.2"), nps is None
        ),
        KpiFact("grr", "gross_renewal_rate", D(grr), None, grr_score, D("0.2"), False),
    ]


def composite(kpis: list[KpiFact]) -> Decimal:
    counted = [k for k in kpis if not k.missing]
    total = sum((k.weight for k in counted), D(0))
    return q4(sum((k.weight * k.score for k in counted), D(0)) / total)


def test_basic_example_p1_needs_8325_more_revenue_for_gold() -> None:
    """P1: composite 0.85 (Silver); Gold needs 0.9 -> revenue 123,325.00 (8,325.00 more)."""
    kpis = facts("115000")
    assert composite(kpis) == D("0.85")
    path = compute_next_tier("Silver", D("0.85"), kpis, CONFIG)
    assert path.tier == "Gold"
    assert path.composite_gap == D("0.05")
    revenue = path.route("revenue")
    assert revenue is not None
    assert revenue.score_needed == D("1.2333")
    assert revenue.value_needed == D("123325.00")
    assert path.gates_passed


def test_needed_composite_is_the_smallest_value_rounding_up_to_the_minimum() -> None:
    assert needed_composite(D("0.9")) == D("0.89995")
    assert needed_composite(D("0.85555")) == D("0.85555")  # 5 places: 0.8556 - 0.00005


def test_top_tier_has_no_next_tier() -> None:
    path = compute_next_tier("Platinum", D("1.3"), facts("150000"), CONFIG)
    assert path.tier is None


def test_cap_makes_the_next_tier_unreachable_with_this_kpi_alone() -> None:
    """Platinum needs 1.2; with NPS 0 and GRR 0, revenue would need a score of 2 > cap 1.5."""
    kpis = facts("150000", nps="0", grr="0")
    path = compute_next_tier("Gold", composite(kpis), kpis, CONFIG)
    assert path.tier == "Platinum"
    revenue = path.route("revenue")
    assert revenue is not None and revenue.value_needed is None
    assert revenue.why_not is not None and "not reachable with this KPI alone" in revenue.why_not


def test_gate_blocks_when_composite_is_already_enough() -> None:
    """Composite reaches Gold but NPS is missing: Gold's gate blocks; no more revenue needed."""
    kpis = facts("140000", nps=None, grr="0.95")
    comp = composite(kpis)
    assert comp >= D("0.9")
    path = compute_next_tier("Silver", comp, kpis, CONFIG)
    assert path.composite_gap == 0
    assert not path.gates_passed
    assert path.gates[0].kpi == "nps" and path.gates[0].value is None
    assert path.route("revenue") is None and path.why_not is None
    nps = path.route("nps")  # NPS only needs to pass its gate (no response count given)
    assert nps is not None and nps.why_not == "no value this period"


def test_missing_neutral_kpi_is_left_out_of_the_weights() -> None:
    """NPS missing (dropped): composite = (0.6 s + 0.2 * 0) / 0.8; Silver -> Gold needs
    s >= 0.89995 * 0.8 / 0.6 = 1.19993.. -> 1.2000 -> revenue 119,995.00."""
    kpis = facts("100000", nps=None)
    path = compute_next_tier("Silver", composite(kpis), kpis, CONFIG)
    revenue = path.route("revenue")
    assert revenue is not None
    assert revenue.score_needed == D("1.2000")
    assert revenue.value_needed == D("119995.00")


def test_linear_and_steps_curves_invert_exactly() -> None:
    nps = CONFIG.kpis["nps"]
    fact = KpiFact("nps", "nps", D(20), None, D("0.4"), D("0.2"), False)
    # score 0.8 needs (v - 0) / 50 >= 0.79995 -> v >= 39.9975
    assert value_for_score(nps, fact, D("0.8")) == (D("39.9975"), None)
    grr = CONFIG.kpis["grr"]
    fact = KpiFact("grr", "gross_renewal_rate", D("0.85"), None, D("0.5"), D("0.2"), False)
    assert value_for_score(grr, fact, D("0.6")) == (D("0.9"), None)
    value, why = value_for_score(grr, fact, D("1.3"))
    assert value is None and why is not None


def test_ceil_to_rounds_up_to_the_unit() -> None:
    assert ceil_to(D("1.23325"), D("0.0001")) == D("1.2333")
    assert ceil_to(D("100.001"), D("0.01")) == D("100.01")


@settings(max_examples=200, deadline=None)
@given(
    revenue=st.integers(min_value=50_000_00, max_value=149_000_00),
    nps=st.integers(min_value=0, max_value=60),
    target=st.integers(min_value=50_000, max_value=200_000),
)
def test_needed_revenue_is_minimal_and_sufficient(revenue: int, nps: int, target: int) -> None:
    """Forward check: the value reaches the next tier's composite; one cent less does not."""
    kpis = facts(str(D(revenue) / 100), nps=str(nps), target=str(target))
    comp = composite(kpis)
    tier = "Gold" if comp >= D("0.9") and nps >= 30 else "Silver" if comp >= D("0.6") else "Bronze"
    path = compute_next_tier(tier, comp, kpis, CONFIG)
    route = path.route("revenue")
    if route is None or route.value_needed is None or path.composite_gap == 0:
        return
    assert path.min_score is not None

    def reaches(value: Decimal) -> bool:
        score = revenue_score(value, D(target))
        changed = [
            k
            if k.kpi != "revenue"
            else KpiFact(k.kpi, k.metric, value, k.target, score, k.weight, False)
            for k in kpis
        ]
        return composite(changed) >= path.min_score  # type: ignore[operator]

    assert reaches(route.value_needed)
    assert not reaches(route.value_needed - D("0.01"))


def test_a_step_just_above_the_value_is_the_cheapest_route() -> None:
    """GRR 79.99% scores 0; the 0.5 step at 80% adds 0.2 * 0.5 = 0.1 to the composite, which
    lifts 0.55 to Silver's 0.6: 80% is the route, far cheaper than revenue or NPS."""
    kpis = facts("70000", nps="25", grr="0.7999")
    comp = composite(kpis)
    assert comp == D("0.52")  # 0.6 * 0.7 + 0.2 * 0.5 + 0
    path = compute_next_tier("Bronze", comp, kpis, CONFIG)
    assert path.tier == "Silver"
    cheapest = path.cheapest()
    assert cheapest[0].kpi == "grr" and cheapest[0].value_needed == D("0.8")
    assert [r.kpi for r in cheapest] == ["grr", "revenue", "nps"]
    revenue = path.route("revenue")
    assert revenue is not None and revenue.value_needed == D("83325.00")  # s >= 0.8333


def test_missing_nps_needs_responses_and_a_value() -> None:
    """NPS dropped for want of responses (1 of 3): counting it again brings its weight back,
    so the route needs 2 more responses and the NPS that then lifts the composite."""
    kpis = facts("100000", nps=None, grr="0.6667")
    path = compute_next_tier("Silver", composite(kpis), kpis, CONFIG, responses=1)
    nps = path.route("nps")
    assert nps is not None and nps.responses_needed == 2
    # Gold: (0.6 * 1 + 0.2 * 0 + 0.2 * s) / 1 >= 0.89995 -> s >= 1.4998 > cap 1.2: unreachable
    assert nps.value_needed is None and nps.why_not is not None
    silver = compute_next_tier("Bronze", D("0.55"), kpis, CONFIG, responses=0).route("nps")
    # Silver: 0.6 + 0.2 s >= 0.59995 -> s >= 0 -> any NPS at or above 0 with 3 responses
    assert silver is not None and silver.responses_needed == 3 and silver.value_needed == D(0)
