"""RULES.md sections 2-10, one function per section (section 1 is periods.py).

Inputs are the plain rows of inputs.py; KPI values and every other quotient are exact
`Fraction`s until numbers.py rounds them where the spec says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from reference.inputs import Row, Sources, number
from reference.numbers import HALF_UP, allocate, money, round_to, score4
from reference.periods import Period, label_of

ADDITIVE = {"revenue", "expansion_revenue", "won_deals", "new_logos"}
INTEGRITY_ORDER = ("duplicate_deals", "registration", "quarter_end_spike", "reversal")
ISO_4217_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
ISO_4217_THREE = "BHD IQD JOD KWD LYD OMR TND"
MINOR_UNITS = {
    **dict.fromkeys(ISO_4217_ZERO.split(), 0),
    **dict.fromkeys(ISO_4217_THREE.split(), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
"""RULES.md 8.11: decimals of each currency's minor unit; every other currency has 2."""


@dataclass
class Context:
    """What every section reads: the config, the sources and the period's FX rates."""

    program: dict[str, Any]
    sources: Sources
    period: Period
    rates: dict[str, Decimal] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return str(self.program["program"].get("rounding", HALF_UP))

    @property
    def base_currency(self) -> str:
        return str(self.program["program"]["base_currency"])

    @property
    def payout(self) -> dict[str, Any]:
        return dict(self.program.get("payout") or {})

    def setting(self, key: str, default: str) -> Decimal:
        """A `payout` number, or its CONFIG.md default."""
        value = self.payout.get(key)
        return number(default if value is None else value)


# --- 2. Scope and eligibility ---------------------------------------------------------------
def in_scope(partner: Row, period: Period) -> bool:
    """joined_on <= period end and (no left_on or left_on >= period start)."""
    left_on = partner["left_on"]
    return partner["joined_on"] <= period.end and (left_on is None or left_on >= period.start)


def eligibility(partner: Row, period: Period) -> tuple[str | None, str]:
    """(`ineligible` | `held` | None, reason); first match wins."""
    if partner["status"] == "terminated":
        return "ineligible", "terminated"
    if period.contains(partner["left_on"]):
        return "ineligible", f"left program on {partner['left_on'].isoformat()}"
    if partner["status"] == "suspended":
        return "held", "suspended"
    return None, ""


def active_days(partner: Row, period: Period) -> int:
    """Days from max(joined_on, start) to min(left_on or end, end), both ends included."""
    first = max(partner["joined_on"], period.start)
    last = min(partner["left_on"] or period.end, period.end)
    return (last - first).days + 1


# --- 3. Money and currency ------------------------------------------------------------------
def period_rates(ctx: Context) -> dict[str, Decimal]:
    """rate_to_base per currency for the period (any label form); the base currency is 1."""
    rates = {
        row["currency"].upper(): row["rate_to_base"]
        for row in ctx.sources.fx_rates
        if label_of(row["period"]) == ctx.period.label
    }
    rates[ctx.base_currency] = Decimal(1)
    return rates


def to_base(amount: Decimal, currency: str, ctx: Context) -> Decimal:
    """amount_base = round(amount * rate_to_base), line by line."""
    return money(amount * ctx.rates[currency.upper()], ctx.mode)


# --- 10. Integrity rules (before KPIs) --------------------------------------------------------
@dataclass
class IntegrityResult:
    excluded: set[str] = field(default_factory=set)
    hold_rules: dict[str, str] = field(default_factory=dict)  # partner -> first hold rule
    hits: list[Row] = field(default_factory=list)


def integrity(deals: list[Row], scope_ids: set[str], ctx: Context) -> IntegrityResult:
    """Run the configured rules in RULES.md order over the period's closed_won deals of
    in-scope partners; a deal an earlier rule excluded is not examined by later ones."""
    rules = ctx.program.get("integrity") or {}
    result = IntegrityResult()
    won = [
        deal
        for deal in deals
        if deal["stage"] == "closed_won"
        and deal["partner_id"] in scope_ids
        and ctx.period.contains(deal["close_date"])
    ]
    cancellations = [d for d in deals if d["stage"] == "cancelled" and d["close_date"]]
    examiners = {
        "duplicate_deals": _duplicate_hits,
        "registration": lambda open_, rule, ctx: _registration_hits(sales(open_), rule, ctx),
        "quarter_end_spike": _spike_hits,
        "reversal": lambda open_, rule, ctx: _reversal_hits(sales(open_), rule, cancellations),
    }
    for name in INTEGRITY_ORDER:
        rule = rules.get(name)
        if rule is None:
            continue
        action = rule.get("action", "flag" if name == "quarter_end_spike" else "exclude")
        examined = [deal for deal in won if deal["deal_id"] not in result.excluded]
        for deal in examiners[name](examined, rule, ctx):
            result.hits.append({"deal_id": deal["deal_id"], "partner_id": deal["partner_id"],
                                "rule": name, "action": action})  # fmt: skip
            if action == "exclude":
                result.excluded.add(deal["deal_id"])
            elif action == "hold":
                result.hold_rules.setdefault(deal["partner_id"], name)
    return result


def is_credit(deal: Row) -> bool:
    """RULES.md 4: a closed_won deal with a negative amount (allowed by `credits: true`)."""
    return deal["stage"] == "closed_won" and deal["amount"] is not None and deal["amount"] < 0


def sales(deals: list[Row]) -> list[Row]:
    """The deals that are not credits: registration and reversal never hit a credit, and
    only these are won deals, new logos and deal bonus shares."""
    return [deal for deal in deals if not is_credit(deal)]


def _duplicate_hits(deals: list[Row], rule: dict[str, Any], ctx: Context) -> list[Row]:
    """Same partner, customer, amount, currency, close_date: all but the first by deal_id."""
    seen: set[tuple[Any, ...]] = set()
    hits = []
    for deal in sorted(deals, key=lambda d: d["deal_id"]):
        key = (deal["partner_id"], deal["customer_id"], deal["amount"],
               deal["currency"].upper(), deal["close_date"])  # fmt: skip
        if key in seen:
            hits.append(deal)
        seen.add(key)
    return hits


def _registration_hits(deals: list[Row], rule: dict[str, Any], ctx: Context) -> list[Row]:
    """With required: true, registered_on empty or after close_date."""
    if not rule.get("required", True):
        return []
    return [d for d in deals if d["registered_on"] is None or d["registered_on"] > d["close_date"]]


def _spike_hits(deals: list[Row], rule: dict[str, Any], ctx: Context) -> list[Row]:
    """Revenue in the last `last_days` days above `max_share` of the partner's revenue: every
    deal of that partner in the window."""
    if not ctx.period.at_quarter_end:
        return []  # RULES.md 12: only when DATE is the period's end
    window_start = ctx.period.end - timedelta(days=int(rule["last_days"]) - 1)
    hits = []
    for partner_id in sorted({d["partner_id"] for d in deals}):
        own = [d for d in deals if d["partner_id"] == partner_id]
        window = [d for d in own if d["close_date"] >= window_start]
        total = sum((d["amount_base"] for d in own), Decimal(0))
        in_window = sum((d["amount_base"] for d in window), Decimal(0))
        if in_window > number(rule["max_share"]) * total:
            hits.extend(window)
    return hits


def _reversal_hits(deals: list[Row], rule: dict[str, Any], cancelled: list[Row]) -> list[Row]:
    """A cancelled deal of the same customer and partner 0..within_days days after closing."""
    within = int(rule["within_days"])
    return [
        deal
        for deal in deals
        if any(
            c["customer_id"] == deal["customer_id"]
            and c["partner_id"] == deal["partner_id"]
            and 0 <= (c["close_date"] - deal["close_date"]).days <= within
            for c in cancelled
        )
    ]


# --- 4. KPI values ----------------------------------------------------------------------------
@dataclass
class Facts:
    """One partner's rows of the period that KPIs are made of."""

    counted: list[Row]
    lost: int
    nps_scores: list[int]
    renewals: list[tuple[Decimal, Decimal, bool]]  # (original_base, renewed_base, renewed)


def facts(partner_id: str, counted: list[Row], ctx: Context) -> Facts:
    """Counted and lost deals, in-period responses, decided renewals in base currency."""
    period = ctx.period
    lost = sum(
        1
        for d in ctx.sources.deals
        if d["partner_id"] == partner_id and d["stage"] == "closed_lost"
        and period.contains(d["close_date"])
    )  # fmt: skip
    scores = [
        r["score"]
        for r in ctx.sources.nps
        if r["partner_id"] == partner_id and period.contains(r["responded_on"])
    ]
    renewals = []
    for r in ctx.sources.renewals:
        if r["partner_id"] != partner_id or not period.contains(r["due_date"]):
            continue
        if r["status"] not in ("renewed", "churned"):
            continue
        renewed = r["status"] == "renewed"
        original = to_base(r["original_amount"], r["currency"], ctx)
        renewed_base = to_base(r["renewed_amount"], r["currency"], ctx) if renewed else Decimal(0)
        renewals.append((original, renewed_base, renewed))
    own = [d for d in counted if d["partner_id"] == partner_id]
    return Facts(own, lost, scores, renewals)


def kpi_value(kpi: dict[str, Any], f: Facts) -> Fraction | None:
    """The metric's value per the table of RULES.md 4; None when it is missing."""
    metric = kpi["metric"]
    revenue = Fraction(sum((d["amount_base"] for d in f.counted), Decimal(0)))
    won_deals = sales(f.counted)
    won = len(won_deals)
    originals = sum((Fraction(o) for o, _, _ in f.renewals), Fraction(0))
    if metric == "revenue":
        return revenue
    if metric == "expansion_revenue":
        return Fraction(sum((d["amount_base"] for d in f.counted
                             if d["deal_type"] == "expansion"), Decimal(0)))  # fmt: skip
    if metric == "won_deals":
        return Fraction(won)
    if metric == "new_logos":
        return Fraction(len({d["customer_id"] for d in won_deals if d["deal_type"] == "new"}))
    if metric == "win_rate":
        return None if won + f.lost == 0 else Fraction(won, won + f.lost)
    if metric == "avg_deal_size":
        return (
            None
            if won == 0
            else sum((Fraction(d["amount_base"]) for d in won_deals), Fraction(0)) / won
        )
    if metric == "nps":
        responses = len(f.nps_scores)
        if responses < int(kpi.get("min_responses", 1)) or responses == 0:
            return None
        promoters = sum(1 for s in f.nps_scores if s >= 9)
        detractors = sum(1 for s in f.nps_scores if s <= 6)
        return Fraction(100 * (promoters - detractors), responses)
    if not f.renewals:
        return None
    if metric == "logo_retention":
        return Fraction(sum(1 for *_, renewed in f.renewals if renewed), len(f.renewals))
    if originals == 0:
        return None
    if metric == "gross_renewal_rate":
        return sum((Fraction(min(o, r)) for o, r, _ in f.renewals), Fraction(0)) / originals
    if metric == "net_revenue_retention":
        return sum((Fraction(r) for _, r, _ in f.renewals), Fraction(0)) / originals
    raise ValueError(f"unknown metric {metric!r}")


# --- 5. Scores ----------------------------------------------------------------------------------
def target(partner: Row, kpi_name: str, kpi: dict[str, Any], days: int, ctx: Context) -> Fraction:
    """Targets file row, else the segment's default; prorated for additive metrics."""
    rows = [
        t["target"]
        for t in ctx.sources.targets
        if t["partner_id"] == partner["partner_id"] and t["kpi"] == kpi_name
        and label_of(t["period"]) == ctx.period.label
    ]  # fmt: skip
    defaults = ctx.program["segments"][partner["segment"]].get("targets") or {}
    if not rows and kpi_name not in defaults:
        raise ValueError(f"no target for {partner['partner_id']} {kpi_name}: invalid data")
    value = Fraction(rows[0] if rows else number(defaults[kpi_name]))
    if kpi["metric"] in ADDITIVE and days < ctx.period.days:
        value = value * days / ctx.period.days
    return value


def score(curve: dict[str, Any], value: Fraction, goal: Fraction | None) -> Decimal:
    """One of the three curves, rounded to 4 places half up."""
    if "attainment" in curve:
        spec = curve["attainment"] or {}
        assert goal is not None
        attained = value / goal
        if attained < Fraction(number(spec.get("threshold", 0))):
            return score4(0)
        cap = spec.get("cap")
        return score4(attained if cap is None else min(attained, Fraction(number(cap))))
    if "linear" in curve:
        spec = curve["linear"]
        floor = Fraction(number(spec.get("floor", 0)))
        raw = (value - floor) / (Fraction(number(spec["target"])) - floor)
        cap = spec.get("cap")
        raw = max(raw, Fraction(0))
        return score4(raw if cap is None else min(raw, Fraction(number(cap))))
    reached = [number(s) for lo, s in curve["steps"] if Fraction(number(lo)) <= value]
    return score4(reached[-1] if reached else 0)


# --- 6. Composite score and tier ---------------------------------------------------------------
def composite(weights: dict[str, Any], kpis: dict[str, Any], values: dict[str, Fraction | None],
              scores: dict[str, Decimal]) -> Decimal:  # fmt: skip
    """sum(w*score)/sum(w) over the KPIs not dropped by `when_missing: neutral`."""
    total = weight_sum = Fraction(0)
    for name, weight in weights.items():
        if values[name] is None and kpis[name].get("when_missing", "neutral") == "neutral":
            continue
        w = Fraction(number(weight))
        total += w * Fraction(scores.get(name, Decimal(0)))
        weight_sum += w
    return score4(total / weight_sum) if weight_sum else score4(0)


def earned_tier(tiers: list[dict[str, Any]], score_: Decimal,
                values: dict[str, Fraction | None]) -> int:  # fmt: skip
    """Index of the highest tier whose min_score <= composite and whose gates all pass."""
    best = 0
    for index, tier in enumerate(tiers):
        gates = tier.get("requires") or {}
        passes = all(
            values[kpi] is not None and values[kpi] >= Fraction(number(minimum))  # type: ignore[operator]
            for kpi, minimum in gates.items()
        )
        if number(tier["min_score"]) <= score_ and passes:
            best = index
    return best


def tier_for_score(tiers: list[dict[str, Any]], score_: Decimal) -> int:
    """Highest tier whose min_score <= score, gates not applied (team tiers)."""
    return max(i for i, tier in enumerate(tiers) if number(tier["min_score"]) <= score_)


# --- 7. Teams -----------------------------------------------------------------------------------
def team_scores(rows: list[Row]) -> dict[str, Decimal]:
    """Team score per team_id over members that are not ineligible: composites weighted by
    bonus base, the plain mean when every base is 0."""
    teams: dict[str, list[Row]] = {}
    for row in rows:
        if row["team_id"] and row["status"] != "ineligible":
            teams.setdefault(row["team_id"], []).append(row)
    result = {}
    for team_id, members in teams.items():
        bases = sum((Fraction(m["bonus_base"]) for m in members), Fraction(0))
        if bases:
            weighted = sum((Fraction(m["composite_score"]) * Fraction(m["bonus_base"])
                            for m in members), Fraction(0))  # fmt: skip
            result[team_id] = score4(weighted / bases)
        else:
            mean = sum((Fraction(m["composite_score"]) for m in members), Fraction(0))
            result[team_id] = score4(mean / len(members))
    return result


# --- 8. Bonus and payout ------------------------------------------------------------------------
def bonus(row: Row, tiers: list[dict[str, Any]], ctx: Context) -> None:
    """Steps 1-5: individual, team and fixed bonus, then the cap."""
    base = row["bonus_base"]
    tier = tiers[row["tier_index"]]
    team_tier = tiers[row["team_tier_index"]]
    rate = number(tier.get("rate", 0))
    row["individual_bonus"] = money(ctx.setting("individual_share", "1") * base * rate, ctx.mode)
    team_rate = number(team_tier.get("rate", 0))
    row["team_bonus"] = money(ctx.setting("team_share", "0") * base * team_rate, ctx.mode)
    row["fixed_bonus"] = number(tier.get("fixed", 0)).quantize(Decimal("0.01"))
    row["gross_uncapped"] = row["individual_bonus"] + row["team_bonus"] + row["fixed_bonus"]
    caps = []
    cap = ctx.payout.get("cap") or {}
    if cap.get("amount") is not None:
        caps.append(number(cap["amount"]))
    if cap.get("pct_of_base") is not None:
        caps.append(money(number(cap["pct_of_base"]) * base, ctx.mode))
    limit = min(caps) if caps else None
    row["cap_applied"] = limit is not None and row["gross_uncapped"] > limit
    row["gross_capped"] = (
        min(row["gross_uncapped"], limit) if row["cap_applied"] else row["gross_uncapped"]
    )


def budget(rows: list[Row], ctx: Context) -> None:
    """Step 6: scale grosses to the budget when their sum S exceeds it (largest remainders)."""
    eligible = [row for row in rows if row["status"] != "ineligible"]
    total = sum((row["gross_capped"] for row in eligible), Decimal(0))
    limit = budget_limit(ctx)
    for row in rows:
        row["gross"], row["budget_factor"] = row["gross_capped"], Decimal("1.000000")
    if limit is None or total <= limit:
        return
    shares = allocate(limit, {row["partner_id"]: row["gross_capped"] for row in eligible})
    factor = round_to(Fraction(limit) / Fraction(total), 6, ctx.mode)
    for row in eligible:
        row["gross"], row["budget_factor"] = shares[row["partner_id"]], factor


def budget_limit(ctx: Context) -> Decimal | None:
    """The budget; in a progress run (RULES.md 12) round(budget * elapsed / period days)."""
    limit = ctx.payout.get("budget")
    if limit is None or ctx.period.elapsed == ctx.period.days:
        return None if limit is None else number(limit)
    return round_to(Fraction(number(limit)) * ctx.period.elapsed / ctx.period.days, 2, ctx.mode)


def settle(row: Row, ctx: Context) -> None:
    """Steps 7-11: holdback, adjustments, net, payable / carried_forward, payable_local."""
    row["holdback"] = money(row["gross"] * ctx.setting("holdback_pct", "0"), ctx.mode)
    row["net"] = (
        row["gross"] - row["holdback"] + row["adjustments"] + row["loyalty_bonus"]
        + row["carried_in"] + row["holdback_released"] - row["clawback"]
    )  # fmt: skip
    net, zero = row["net"], Decimal("0.00")
    if row["status"] == "held":
        row["payable"], row["carried_forward"] = zero, net
    elif net < 0:
        row["status"], row["payable"], row["carried_forward"] = "negative", zero, net
    elif 0 < net < ctx.setting("min_payout", "0"):
        row["status"], row["payable"], row["carried_forward"] = "below_minimum", zero, net
    else:
        row["status"], row["payable"], row["carried_forward"] = "payable", net, zero
    row["payable_local"] = local_amount(row["payable"], row["payout_currency"], ctx)


def local_amount(payable: Decimal, currency: str, ctx: Context) -> Decimal:
    """Step 11: payable / rate, rounded to the currency's ISO 4217 minor unit."""
    places = MINOR_UNITS.get(currency, 2)
    return round_to(Fraction(payable) / Fraction(ctx.rates[currency]), places, ctx.mode)


# --- 9. Totals that must hold -----------------------------------------------------------------
def check_totals(rows: list[Row], ctx: Context) -> None:
    """The reference checks its own result against section 9 (a bug here is a test bug)."""
    limit = budget_limit(ctx)
    gross = sum((row["gross"] for row in rows), Decimal(0))
    if limit is not None:
        assert gross <= limit
        if any(row["budget_factor"] != 1 for row in rows):
            assert gross == limit
    for row in rows:
        if row["status"] == "ineligible":
            continue
        assert row["payable"] + row["carried_forward"] == row["net"], row["partner_id"]
        for column in ("gross", "holdback", "net", "payable", "carried_forward"):
            assert row[column] == row[column].quantize(Decimal("0.01")), column
