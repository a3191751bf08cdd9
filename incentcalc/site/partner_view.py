"""What one partner's page shows, as display text: the template only lays it out.

Everything here is the partner's own rows, plus the segment benchmark (aggregates over at least
`site.min_peer_group` partners, computed once for the run in `benchmarks`). Nothing about
another partner can reach a partner's page except through those aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

import polars as pl

from incentcalc.config import Metric, ProgramConfig
from incentcalc.result import Status
from incentcalc.site.run import SiteRun
from incentcalc.site.text import (
    STATUS_WORDS,
    chart_number,
    count,
    money,
    percent,
    plain,
    share,
    value_text,
)
from incentcalc.statements.next_tier import KpiFact, NextTierPath, check_gates, compute_next_tier
from incentcalc.statements.partner import partner_reason, status_note

ROWS_SHOWN = 50
"""Counted deals and exception rows shown on a page; all of them are in the linked CSVs."""

ROUTES_SHOWN = 3

ADDITIVE_METRICS = {Metric.REVENUE, Metric.EXPANSION_REVENUE, Metric.WON_DEALS, Metric.NEW_LOGOS}
"""RULES.md 5: the metrics whose targets are prorated, so a progress run's routes scale up to
the whole quarter."""

_WHOLE_UNITS = {Metric.WON_DEALS: Decimal(1), Metric.NEW_LOGOS: Decimal(1)}

PAYOUT_LINES = (
    ("bonus_base", "Bonus base (counted revenue)"),
    ("individual_bonus", "Individual bonus"),
    ("team_bonus", "Team bonus"),
    ("fixed_bonus", "Fixed tier bonus"),
    ("gross_capped", "Gross after the cap"),
    ("gross", "Gross after the budget factor"),
    ("holdback", "Held back (released later)"),
    ("loyalty_bonus", "Loyalty bonus"),
    ("adjustments", "Adjustments"),
    ("carried_in", "Carried in from earlier periods"),
    ("holdback_released", "Holdback released"),
    ("clawback", "Clawback"),
    ("net", "Net"),
    ("payable", "Payable"),
    ("carried_forward", "Carried forward"),
)


@dataclass(frozen=True)
class PartnerRows:
    """One partner's rows of the run's tables, as Python dicts in display order."""

    payout: dict[str, Any]
    kpis: Sequence[dict[str, Any]]
    deals: Sequence[dict[str, Any]]
    exceptions: Sequence[dict[str, Any]]
    ledger_lines: Sequence[dict[str, Any]]
    history: Sequence[dict[str, Any]]
    benchmark: Sequence[dict[str, Any]]
    milestones: Sequence[str]


def partner_view(
    run: SiteRun, rows: PartnerRows, *, statement: str | None, peer_minimum: int
) -> dict[str, Any]:
    """The page's content: status, payout, KPIs, ladder, trend, benchmark, balances, rows."""
    p, base = rows.payout, run.base_currency
    currency = p["payout_currency"]
    reason = partner_reason(p["reason"])
    return {
        "id": p["partner_id"],
        "name": p["partner_name"],
        "segment": p["segment"],
        "region": p["region"],
        "status": p["status"],
        "status_label": STATUS_WORDS.get(p["status"], p["status"]),
        "status_note": _status_note(run, p),
        "reason": reason,
        "tier": p["tier"],
        "composite": f"{p['composite_score'] or 0:.4f}",
        "payable": money(p["payable"], base),
        "payable_local": money(p["payable_local"], currency),
        "currency": currency,
        "local_differs": currency != base,
        "fx_rate": share(p["fx_rate"]) if p["fx_rate"] is not None else "-",
        "payout_lines": [
            {"label": label, "amount": money(p[column], base)} for column, label in PAYOUT_LINES
        ]
        + [{"label": "Budget factor", "amount": share(p["budget_factor"])}],
        "kpis": [_kpi_row(k, base) for k in rows.kpis],
        "kpi_chart": [
            {"kpi": k["kpi"], "score": chart_number(k["score"]), "label": _kpi_label(k, base)}
            for k in rows.kpis
            if k["score"] is not None
        ],
        "ladder": _ladder(run.config, p),
        "next_tier": _next_tier(run, p, rows.kpis),
        "trend": _trend(rows.history, p, run, base),
        "benchmark": _benchmark(rows.benchmark, base, peer_minimum),
        "balances": _balances(run, p, rows),
        "deals": _deals(rows.deals, base),
        "exceptions": {
            "rows": [_exception_row(e) for e in rows.exceptions[:ROWS_SHOWN]],
            "total": count(len(rows.exceptions)),
            "more": len(rows.exceptions) > ROWS_SHOWN,
        },
        "statement": statement,
    }


def _status_note(run: SiteRun, p: Mapping[str, Any]) -> str:
    """The statement's words for the status; a progress run says they hold only if the
    quarter ended on its day."""
    note = status_note(dict(p), run.config.payout.min_payout, run.base_currency)
    note = note[:1].upper() + note[1:] + "."
    if run.as_of is not None:
        return f"If the quarter ended on {run.as_of.isoformat()}: {note[:1].lower()}{note[1:]}"
    return note


def _kpi_label(k: Mapping[str, Any], base: str) -> str:
    """The words after a KPI's bar: its score, and its value against its target."""
    value = value_text(k["value"], k["metric"], base)
    if k["target"] is None:
        return f"score {plain(k['score'])} ({value})"
    target = value_text(k["target"], k["metric"], base)
    return f"score {plain(k['score'])} ({value} of {target})"


def _kpi_row(k: Mapping[str, Any], base: str) -> dict[str, Any]:
    note = k["missing_reason"] or ""
    if k["missing"] and not note:
        note = "missing"
    return {
        "kpi": k["kpi"],
        "metric": k["metric"],
        "value": value_text(k["value"], k["metric"], base),
        "target": value_text(k["target"], k["metric"], base) if k["target"] is not None else "-",
        "attainment": percent(k["attainment"]),
        "score": plain(k["score"]) if k["score"] is not None else "-",
        "weight": percent(k["weight_used"]) if k["weight_used"] is not None else "-",
        "contribution": f"{k['contribution']:.4f}" if k["contribution"] is not None else "-",
        "note": note,
    }


def _ladder(config: ProgramConfig, p: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every tier, lowest first, with where the partner's composite stands."""
    composite = p["composite_score"] or Decimal(0)
    return [
        {
            "tier": tier.name,
            "min_score": plain(tier.min_score),
            "rate": percent(tier.rate, 2) if tier.rate else "-",
            "reached": composite >= tier.min_score,
            "current": tier.name == p["tier"],
            "requires": ", ".join(f"{kpi} at least {plain(v)}" for kpi, v in tier.requires.items()),
        }
        for tier in config.tiers
    ]


def _facts(kpis: Sequence[Mapping[str, Any]]) -> list[KpiFact]:
    return [
        KpiFact(
            k["kpi"],
            k["metric"],
            k["value"],
            k["target"],
            k["score"] or Decimal(0),
            k["weight"] or Decimal(0),
            bool(k["missing"]),
        )
        for k in kpis
    ]


def _next_tier(
    run: SiteRun, p: Mapping[str, Any], kpis: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """What the next tier needs, in sentences (the statement's routes); for a progress run
    the additive KPIs' routes are scaled to the whole quarter's targets."""
    config, base = run.config, run.base_currency
    if p["status"] == Status.INELIGIBLE:
        return {"lines": ["Not eligible this period: no tier is paid."], "blocked": []}
    facts = _facts(kpis)
    composite = p["composite_score"] or Decimal(0)
    names = [t.name for t in config.tiers]
    current = names.index(p["tier"]) if p["tier"] in names else 0
    path = compute_next_tier(p["tier"], composite, facts, config)
    blocked = [
        f"Your composite reaches {t.name}, which also requires "
        + ", ".join(
            f"{g.kpi} at least {plain(g.minimum)}" for g in check_gates(t, facts) if not g.passed
        )
        for t in config.tiers[current + 1 :]
        if t.name != path.tier
        and t.min_score <= composite
        and not all(g.passed for g in check_gates(t, facts))
    ]
    return {"lines": _route_lines(path, run, base), "blocked": blocked}


def _route_lines(path: NextTierPath, run: SiteRun, base: str) -> list[str]:
    if path.tier is None:
        return ["You are at the top tier."]
    lines = [
        f"{path.tier} needs a composite of {plain(path.min_score or Decimal(0))}; yours is "
        f"{path.composite:.4f}"
        + (f" ({path.composite_gap:.4f} more needed)." if path.composite_gap > 0 else ".")
    ]
    lines += [
        f"{path.tier} requires {g.kpi} at least {plain(g.minimum)}: not met yet."
        for g in path.failing_gates
    ]
    scale, by = _quarter_scale(run)
    for route in path.cheapest(ROUTES_SHOWN):
        needed = route.value_needed
        assert needed is not None  # cheapest() returns reachable routes only
        if route.value_now is None:
            at_least = value_text(needed, route.metric, base)
            lines.append(f"{route.kpi}: no value this period yet; at least {at_least} "
                         f"reaches {path.tier}.")  # fmt: skip
            continue
        if scale is not None and route.metric in ADDITIVE_METRICS:
            unit = _WHOLE_UNITS.get(Metric(route.metric), Decimal("0.01"))
            needed = (needed * scale).quantize(unit, rounding=ROUND_CEILING)
        more = needed - route.value_now
        when = f"To reach {path.tier} by {by}" if by else f"To reach {path.tier}"
        line = (
            f"{when}: {value_text(more, route.metric, base)} more {route.kpi} "
            f"(now {value_text(route.value_now, route.metric, base)})"
        )
        if path.composite_gap > 0:
            line += ", the other KPIs unchanged"
        also = [g for g in path.failing_gates if g.kpi != route.kpi]
        if also:
            line += "; it also needs " + ", ".join(
                f"{g.kpi} at least {plain(g.minimum)}" for g in also
            )
        lines.append(line + ".")
    if path.why_not:
        lines.append(f"No single KPI gets there alone ({path.why_not}): several must improve.")
    return lines


def _quarter_scale(run: SiteRun) -> tuple[Decimal | None, str | None]:
    """(whole quarter's days / days elapsed, the period's last day) for a progress run: a
    route's additive value scaled by it is what the whole quarter's target asks for;
    (None, None) for a whole quarter."""
    as_of = run.as_of
    if as_of is None:
        return None, None
    elapsed = (as_of - run.period.start).days + 1
    end = run.period.end
    return Decimal(run.period.days) / Decimal(elapsed), f"{end.day} {end:%b %Y}"


def _trend(
    history: Sequence[Mapping[str, Any]], p: Mapping[str, Any], run: SiteRun, base: str
) -> list[dict[str, Any]]:
    """Tier and payable per closed quarter, and this run's period last."""
    label = run.period.label + (" (provisional)" if run.as_of else "")
    rows = [*history, {**p, "period": label}]
    return [
        {
            "period": r["period"],
            "tier": r["tier"] or "-",
            "status": STATUS_WORDS.get(r["status"], r["status"]),
            "payable": money(r["payable"], base),
            "value": chart_number(r["payable"]),
        }
        for r in rows
    ]


def _benchmark(rows: Sequence[Mapping[str, Any]], base: str, minimum: int) -> dict[str, Any]:
    shown = [
        {
            "kpi": b["kpi"],
            "value": value_text(b["value"], b["metric"], base),
            "percentile": f"{b['percentile']}",
            "q1": value_text(b["q1"], b["metric"], base),
            "median": value_text(b["median"], b["metric"], base),
            "q3": value_text(b["q3"], b["metric"], base),
            "peers": count(b["peers"]),
        }
        for b in rows
    ]
    chart = [{"kpi": b["kpi"], "percentile": str(b["percentile"])} for b in rows]
    return {"rows": shown, "chart": chart, "minimum": minimum}


def _balances(run: SiteRun, p: Mapping[str, Any], rows: PartnerRows) -> dict[str, Any]:
    """Holdbacks waiting (closed quarters' and this run's) with the quarter that releases
    them, what is carried forward, the next loyalty milestone, and clawbacks with their
    deals."""
    base = run.base_currency
    release_after = run.config.payout.holdback_release_after
    waiting = [
        {"from": h["period"], "amount": money(h["holdback"], base), "released_in": h["released_in"]}
        for h in rows.history
        if h["holdback"] and h["released_in"] > run.period.label
    ]
    if p["holdback"]:
        waiting.append(
            {
                "from": run.period.label,
                "amount": money(p["holdback"], base),
                "released_in": run.period.shifted(release_after).label,
            }
        )
    return {
        "holdbacks": waiting,
        "released": money(p["holdback_released"], base),
        "carried_forward": money(p["carried_forward"], base),
        "milestones": list(rows.milestones),
        "clawbacks": [
            {
                "kind": line["kind"].replace("_", " "),
                "deal": line["deal_id"] or "-",
                "deal_period": line["deal_period"] or "-",
                "cancelled_on": str(line["cancelled_on"] or "-"),
                "amount": money(line["amount"], base),
            }
            for line in rows.ledger_lines
        ],
    }


def _deals(deals: Sequence[Mapping[str, Any]], base: str) -> dict[str, Any]:
    return {
        "rows": [
            {
                "deal": d["deal_id"],
                "customer": d["customer_id"],
                "close_date": str(d["close_date"]),
                "amount": money(d["amount_base"], base),
                "bonus": money(d["bonus"], base),
            }
            for d in deals[:ROWS_SHOWN]
        ],
        "total": count(len(deals)),
        "more": len(deals) > ROWS_SHOWN,
    }


def _exception_row(e: Mapping[str, Any]) -> dict[str, str]:
    return {
        "kind": (e["kind"] or "").replace("_", " "),
        "deal": e["deal_id"] or e["record_id"] or "-",
        "rule": (e["rule"] or "-").replace("_", " "),
        "action": e["action"] or "-",
        "detail": e["detail"] or "",
    }


def benchmarks(run: SiteRun, minimum: int) -> pl.DataFrame:
    """Per partner and KPI: its percentile among the in-scope partners of its segment with a
    value, and the segment's quartiles (nearest rank: values that occur, exact decimals);
    only for segments with at least `minimum` such partners."""
    peers = run.kpis.join(run.payouts.select("partner_id", "segment"), on="partner_id").filter(
        pl.col("value").is_not_null() & ~pl.col("missing")
    )
    group = ["segment", "kpi"]

    def nearest(q: float) -> pl.Expr:
        position = ((pl.len() - 1) * q).round(0).cast(pl.UInt32)
        return pl.col("value").sort().get(position)

    quartiles = peers.group_by(group).agg(
        nearest(0.25).alias("q1"),
        nearest(0.5).alias("median"),
        nearest(0.75).alias("q3"),
        pl.len().alias("peers"),
    )
    ranked = peers.with_columns(
        (pl.col("value").rank("max").over(group) * 100 // pl.len().over(group))
        .cast(pl.Int64)
        .alias("percentile")
    )
    return (
        ranked.join(quartiles, on=group)
        .filter(pl.col("peers") >= minimum)
        .select("partner_id", "kpi", "metric", "value", "percentile", "q1", "median", "q3", "peers")
    )
