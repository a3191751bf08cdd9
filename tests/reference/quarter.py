"""One quarter end to end: the sections of rules.py in the order RULES.md applies them,
producing every payouts.csv column of CLI.md and the deal bonuses of RULES.md 11.2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from reference import ledger, rules
from reference.inputs import Row, read_program, read_sources
from reference.numbers import allocate, round_to
from reference.periods import Period, label_of, period

PAYOUT_COLUMNS = (
    "period", "partner_id", "partner_name", "segment", "region", "team_id", "status", "reason",
    "tier", "earned_tier", "team_tier", "composite_score", "team_score", "bonus_base",
    "individual_bonus", "team_bonus", "fixed_bonus", "gross_uncapped", "cap_applied",
    "gross_capped", "budget_factor", "gross", "holdback", "loyalty_bonus", "adjustments",
    "carried_in", "holdback_released", "clawback", "net", "payable", "carried_forward",
    "payout_currency", "fx_rate", "payable_local",
)  # fmt: skip
DEAL_BONUS_COLUMNS = (
    "period", "deal_id", "partner_id", "customer_id", "close_date", "amount_base", "bonus",
)  # fmt: skip
MONEY_AFTER_BONUS = PAYOUT_COLUMNS[PAYOUT_COLUMNS.index("individual_bonus") : -3]
MONEY_COLUMNS = tuple(c for c in MONEY_AFTER_BONUS if c not in ("cap_applied", "budget_factor"))
ZERO = Decimal("0.00")


@dataclass
class QuarterResult:
    """What a run of one period produces: payout rows (by partner_id), deal bonus rows (by
    partner_id, deal_id) and the integrity hits."""

    period: Period
    payouts: list[Row]
    deal_bonuses: list[Row]
    integrity_hits: list[Row]
    clawbacks: list[Row]
    ledger_exceptions: list[Row]

    def close(self, release_after: int) -> ledger.Entry:
        """What `close` keeps of this run (11.9): it is closed as is, never recalculated."""
        rows = {row["partner_id"]: row for row in self.payouts}
        return ledger.Entry(self.period, rows, self.deal_bonuses, self.clawbacks, release_after)


def compute_quarter(
    config_path: Path,
    period_label: str,
    history: list[ledger.Entry] | None = None,
    as_of: date | None = None,
) -> QuarterResult:
    """RULES.md 1-11 for one period with the entries of the periods before it (oldest first;
    none: every period alone, as if the ledger were empty); with `as_of`, the progress run of
    RULES.md 12 (the period read as if it ended on that day)."""
    history = history or []
    program = read_program(config_path)
    sources = rules.Sources(**vars(read_sources(program, config_path.parent)))
    fiscal_start = int(program["program"].get("fiscal_year_start_month", 1))
    quarter = period(period_label, fiscal_start)
    ctx = rules.Context(program, sources, quarter if as_of is None else quarter.as_of(as_of))
    ctx.rates = rules.period_rates(ctx)
    partners = sorted(
        (p for p in sources.partners if rules.in_scope(p, ctx.period)),
        key=lambda p: p["partner_id"],
    )
    scope_ids = {p["partner_id"] for p in partners}
    won = [
        deal
        for deal in sources.deals
        if deal["stage"] == "closed_won" and deal["partner_id"] in scope_ids
        and ctx.period.contains(deal["close_date"])
    ]  # fmt: skip
    for deal in won:
        deal["amount_base"] = rules.to_base(deal["amount"], deal["currency"], ctx)
        deal["deal_type"] = deal["deal_type"] or "new"
    checks = rules.integrity(sources.deals, scope_ids, ctx)
    counted = [deal for deal in won if deal["deal_id"] not in checks.excluded]
    rows = [_partner_row(partner, counted, checks, ctx, history) for partner in partners]
    _assign_teams(rows, ctx)
    within = (program.get("payout") or {}).get("clawback_within_days")
    clawed = ledger.clawbacks(
        history, sources.deals, ctx.period, None if within is None else int(within)
    )
    _pay(rows, ctx, history, clawed)
    rules.check_totals(rows, ctx)
    payouts = [_output_row(row) for row in rows]
    return QuarterResult(
        ctx.period,
        payouts,
        _deal_bonuses(rows, counted, ctx),
        checks.hits,
        clawed,
        ledger.forfeits(history, ctx.period, {r["partner_id"]: r for r in payouts}, clawed),
    )


def _partner_row(partner: Row, counted: list[Row], checks: rules.IntegrityResult,
                 ctx: rules.Context, history: list[ledger.Entry]) -> Row:  # fmt: skip
    """Sections 2, 4, 5 and 6 for one partner, and the tier grace of 11.6."""
    program = ctx.program
    status, reason = rules.eligibility(partner, ctx.period)
    if status is None and partner["partner_id"] in checks.hold_rules:
        status, reason = "held", checks.hold_rules[partner["partner_id"]]
    days = rules.active_days(partner, ctx.period)
    facts = rules.facts(partner["partner_id"], counted, ctx)
    values = {name: rules.kpi_value(kpi, facts) for name, kpi in program["kpis"].items()}
    weights = program["segments"][partner["segment"]]["weights"]
    scores = {}
    for name in weights:
        value, curve = values[name], program["kpis"][name]["score"]
        if value is None:
            continue
        goal = None
        if "attainment" in curve:
            goal = rules.target(partner, name, program["kpis"][name], days, ctx)
        scores[name] = rules.score(curve, value, goal)
    composite = rules.composite(weights, program["kpis"], values, scores)
    tier_index = rules.earned_tier(program["tiers"], composite, values)
    grace = int(program.get("tier_grace_quarters", 0))
    graced = ledger.tier_grace(history, ctx.period, partner["partner_id"], tier_index,
                               program["tiers"], grace)  # fmt: skip
    if graced is not None:
        reason = "; ".join(fact for fact in (reason, "tier grace") if fact)
    base_value = values[(program.get("payout") or {}).get("base", "revenue")]
    assert base_value is not None
    currency = (partner["payout_currency"] or ctx.base_currency).upper()
    return {
        **{key: partner[key] or "" for key in ("partner_id", "partner_name", "segment")},
        "region": partner["region"] or "",
        "team_id": partner["team_id"] or "",
        "period": ctx.period.label,
        "status": status or "computed",
        "reason": reason,
        "tier_index": tier_index if graced is None else graced,
        "earned_tier_index": tier_index,
        "composite_score": composite,
        "bonus_base": round_to(max(base_value, Fraction(0)), 2),  # credits beyond sales: 0
        "payout_currency": currency,
        "fx_rate": ctx.rates[currency],
        "values": values,
        "adjustments_due": sum(
            (
                a["amount"]
                for a in ctx.sources.adjustments
                if a["partner_id"] == partner["partner_id"]
                and label_of(a["period"]) == ctx.period.label
            ),
            Decimal(0),
        ),
    }


def _output_row(row: Row) -> Row:
    """The payouts.csv columns; money with exactly two places as CLI.md writes it."""
    output = {column: row[column] for column in PAYOUT_COLUMNS}
    for column in ("bonus_base", *MONEY_COLUMNS):
        output[column] = output[column].quantize(ZERO)
    return output


def _assign_teams(rows: list[Row], ctx: rules.Context) -> None:
    """Section 7: team score and tier; a partner outside any team uses its own."""
    tiers = ctx.program["tiers"]
    teams = rules.team_scores(rows)
    for row in rows:
        if row["team_id"] in teams and row["status"] != "ineligible":
            row["team_score"] = teams[row["team_id"]]
            row["team_tier_index"] = rules.tier_for_score(tiers, row["team_score"])
        else:
            row["team_score"], row["team_tier_index"] = row["composite_score"], row["tier_index"]
        row["tier"] = tiers[row["tier_index"]]["name"]
        row["earned_tier"] = tiers[row["earned_tier_index"]]["name"]
        row["team_tier"] = tiers[row["team_tier_index"]]["name"]


def _pay(rows: list[Row], ctx: rules.Context, history: list[ledger.Entry],
         clawed: list[Row]) -> None:  # fmt: skip
    """Section 8 over all rows with the ledger lines of 11.3-11.7; ineligible rows get 0 in
    every money column, ledger lines included (11.8)."""
    milestones = (ctx.program.get("payout") or {}).get("loyalty") or []
    for row in rows:
        pid = row["partner_id"]
        row["loyalty_bonus"] = ledger.loyalty_bonus(
            history, ctx.period, pid, row["earned_tier_index"], ctx.program["tiers"], milestones
        )
        row["carried_in"] = ledger.carried_in(history, ctx.period, pid)
        row["holdback_released"] = ledger.holdback_released(history, ctx.period, pid)
        row["clawback"] = sum((c["amount"] for c in clawed if c["partner_id"] == pid), ZERO)
        if row["status"] == "ineligible":
            row.update(dict.fromkeys(MONEY_AFTER_BONUS, ZERO))
            row["cap_applied"], row["payable_local"] = False, Decimal(0)
        else:
            rules.bonus(row, ctx.program["tiers"], ctx)
    rules.budget(rows, ctx)
    for row in rows:
        if row["status"] == "ineligible":
            row["budget_factor"] = Decimal("1.000000")
            continue
        row["adjustments"] = row["adjustments_due"]
        rules.settle(row, ctx)


def _deal_bonuses(rows: list[Row], counted: list[Row], ctx: rules.Context) -> list[Row]:
    """RULES.md 11.2: each eligible partner's gross split over its base deals by amount."""
    base_kpi = (ctx.program.get("payout") or {}).get("base", "revenue")
    expansion_only = ctx.program["kpis"][base_kpi]["metric"] == "expansion_revenue"
    result = []
    for row in rows:
        if row["status"] == "ineligible":
            continue
        deals = {
            d["deal_id"]: d
            for d in rules.sales(counted)
            if d["partner_id"] == row["partner_id"]
            and (not expansion_only or d["deal_type"] == "expansion")
        }
        shares = allocate(row["gross"], {i: Fraction(d["amount_base"]) for i, d in deals.items()})
        for deal_id in sorted(deals):
            deal = deals[deal_id]
            result.append({
                "period": ctx.period.label, "deal_id": deal_id, "partner_id": row["partner_id"],
                "customer_id": deal["customer_id"], "close_date": deal["close_date"],
                "amount_base": deal["amount_base"], "bonus": shares[deal_id],
            })  # fmt: skip
    return result
