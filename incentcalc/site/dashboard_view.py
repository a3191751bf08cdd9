"""What the program dashboard (index.html, for finance and ops) shows, as display text.

Totals are the manifest's (the summary workbook's); the rest is summed here from payouts.parquet
and the ledger's closed quarters, in exact decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from incentcalc.result import Status
from incentcalc.site.run import SiteRun
from incentcalc.site.text import STATUS_WORDS, chart_number, count, money, share

MOVERS_SHOWN = 10
HISTOGRAM_BINS = 10

TOTAL_LINES = (
    ("bonus_base", "Bonus base"),
    ("gross_capped", "Gross after caps"),
    ("gross", "Gross after the budget factor"),
    ("holdback", "Held back"),
    ("loyalty_bonus", "Loyalty bonuses"),
    ("adjustments", "Adjustments"),
    ("carried_in", "Carried in"),
    ("holdback_released", "Holdbacks released"),
    ("clawback", "Clawbacks"),
    ("net", "Net"),
    ("payable", "Payable"),
    ("carried_forward", "Carried forward"),
)


def dashboard_view(run: SiteRun, links: Mapping[str, str]) -> dict[str, Any]:
    """The dashboard's content; `links` maps partner_id to its page (relative URL)."""
    base, manifest = run.base_currency, run.manifest
    totals = manifest.get("totals", {})
    budget = manifest.get("budget", {})
    payouts = run.payouts
    return {
        "program": manifest.get("program", run.config.program.name),
        "partners": count(payouts.height),
        "totals": [
            {"label": label, "amount": money(Decimal(totals.get(column, "0")), base)}
            for column, label in TOTAL_LINES
        ],
        "payable_total": money(Decimal(totals.get("payable", "0")), base),
        "budget": None if budget.get("budget") is None else money(Decimal(budget["budget"]), base),
        "budget_used": money(Decimal(totals.get("gross", "0")), base),
        "budget_factor": share(Decimal(budget.get("factor", "1"))),
        "budget_scaled": bool(budget.get("scaled")),
        "statuses": [
            {"status": STATUS_WORDS[s], "partners": count(n), "value": str(n)}
            for s, n in ((s, int(manifest.get("counts_by_status", {}).get(s, 0))) for s in Status)
        ],
        "tiers": _tiers(run),
        "histogram": _histogram(payouts, base),
        "migration": _migration(run),
        "quarters": _quarters(run),
        "integrity": _integrity(manifest),
        "movers": _movers(run, links),
        "attention": [
            {
                "id": r["partner_id"],
                "name": r["partner_name"],
                "href": links[r["partner_id"]],
                "status": STATUS_WORDS[r["status"]],
                "reason": r["reason"] or "-",
            }
            for r in payouts.filter(
                pl.col("status").is_in([Status.HELD, Status.INELIGIBLE])
            ).iter_rows(named=True)
        ],
        "all": [
            {
                "id": r["partner_id"],
                "name": r["partner_name"],
                "href": links[r["partner_id"]],
                "segment": r["segment"],
                "status": STATUS_WORDS[r["status"]],
                "tier": r["tier"] or "-",
                "payable": money(r["payable"], base),
            }
            for r in payouts.select(
                "partner_id", "partner_name", "segment", "status", "tier", "payable"
            ).iter_rows(named=True)
        ],
    }


def _tiers(run: SiteRun) -> list[dict[str, Any]]:
    """Partners and payable per tier, in the config's tier order (ineligible partners have
    no tier that pays: they are counted apart)."""
    eligible = run.payouts.filter(pl.col("status") != Status.INELIGIBLE)
    sums = {
        tier: (n, payable)
        for tier, n, payable in eligible.group_by("tier")
        .agg(pl.len(), pl.col("payable").sum())
        .iter_rows()
    }
    rows = []
    for tier in run.config.tiers:
        n, payable = sums.get(tier.name, (0, Decimal(0)))
        rows.append(
            {
                "tier": tier.name,
                "partners": count(n),
                "partners_value": str(n),
                "payable": money(payable, run.base_currency),
                "value": chart_number(payable),
            }
        )
    return rows


def _nice_width(largest: Decimal, bins: int) -> Decimal:
    """The smallest 1, 2 or 5 x 10^k that covers `largest` in `bins` bins."""
    raw = largest / bins
    exponent = raw.adjusted()
    for step in (1, 2, 5, 10):
        width = Decimal(step).scaleb(exponent)
        if width * bins > largest:
            return width
    return Decimal(10).scaleb(exponent + 1)  # pragma: no cover - 10 always covers


def _histogram(payouts: pl.DataFrame, base: str) -> dict[str, Any]:
    """Partners per band of payable, over the partners paid something this period. The bands
    cover up to the 95th percentile (nearest rank); the few above it share an open last band,
    so one very large payout does not squash every other bar into the first."""
    paid = sorted(v for v in payouts["payable"].to_list() if v > 0)
    if not paid:
        return {"rows": [], "paid": "0"}
    top = paid[max(0, -(-len(paid) * 95 // 100) - 1)]
    width = _nice_width(top, HISTOGRAM_BINS)
    counts: dict[int, int] = {}
    for value in paid:
        band = min(int(value // width), HISTOGRAM_BINS)
        counts[band] = counts.get(band, 0) + 1
    rows = []
    for band in range(max(counts) + 1):
        low, high = width * band, width * (band + 1)
        label = f"{low:,.0f} and more" if band == HISTOGRAM_BINS else f"{low:,.0f} to {high:,.0f}"
        n = counts.get(band, 0)
        rows.append({"band": label, "partners": count(n), "value": str(n)})
    return {"rows": rows, "paid": count(len(paid)), "currency": base}


def _migration(run: SiteRun) -> dict[str, Any] | None:
    """Partners by tier in the previous closed quarter (rows) and now (columns); None
    without that quarter in the ledger."""
    previous = run.history.previous(run.period)
    if previous is None:
        return None
    new = "(not in " + previous.period.label + ")"
    pairs = (
        run.payouts.select("partner_id", "tier")
        .join(
            previous.payouts.select("partner_id", pl.col("tier").alias("before")),
            on="partner_id",
            how="left",
        )
        .with_columns(pl.col("before").fill_null(new), pl.col("tier").fill_null("-"))
        .group_by("before", "tier")
        .len()
    )
    found = {(b, t): n for b, t, n in pairs.iter_rows()}
    tiers = [t.name for t in run.config.tiers]
    before = tiers + ([new] if any(b == new for b, _ in found) else [])
    return {
        "previous": previous.period.label,
        "tiers": tiers,
        "rows": [
            {"before": b, "cells": [count(found.get((b, t), 0)) for t in tiers]} for b in before
        ],
        "chart": [
            {"before": b, "now": t, "partners": str(found.get((b, t), 0))}
            for b in before
            for t in tiers
        ],
    }


def _quarters(run: SiteRun) -> list[dict[str, Any]]:
    """Payable per closed quarter of the ledger, and this run's period last."""
    base = run.base_currency
    sums = [
        (entry.period.label, _total(entry.payouts["payable"]))
        for entry in run.history.entries
        if entry.period < run.period
    ]
    label = run.period.label + (" (provisional)" if run.as_of else "")
    sums.append((label, _total(run.payouts["payable"])))
    return [
        {"period": period, "payable": money(total, base), "value": chart_number(total)}
        for period, total in sums
    ]


def _total(money_column: pl.Series) -> Decimal:
    """The exact sum of a Decimal money column (0 when empty)."""
    return Decimal(money_column.sum() or 0)


def _integrity(manifest: Mapping[str, Any]) -> list[dict[str, str]]:
    """Integrity hits per rule (all actions together), from the manifest."""
    hits: dict[str, int] = {}
    for row in manifest.get("integrity_hits", []):
        hits[row["rule"]] = hits.get(row["rule"], 0) + int(row["hits"])
    return [
        {"rule": rule.replace("_", " "), "hits": count(n), "value": str(n)}
        for rule, n in sorted(hits.items())
    ]


def _movers(run: SiteRun, links: Mapping[str, str]) -> dict[str, Any] | None:
    """The partners whose payable moved most against the previous closed quarter."""
    previous = run.history.previous(run.period)
    if previous is None:
        return None
    base = run.base_currency
    moved = (
        run.payouts.select("partner_id", "partner_name", "tier", "payable")
        .join(
            previous.payouts.select(
                "partner_id", pl.col("payable").alias("before"), pl.col("tier").alias("tier_before")
            ),
            on="partner_id",
        )
        .with_columns((pl.col("payable") - pl.col("before")).alias("change"))
        .with_columns(pl.col("change").abs().alias("size"))
        .sort(["size", "partner_id"], descending=[True, False])
        .head(MOVERS_SHOWN)
    )
    return {
        "previous": previous.period.label,
        "rows": [
            {
                "id": r["partner_id"],
                "name": r["partner_name"],
                "href": links[r["partner_id"]],
                "tiers": f"{r['tier_before'] or '-'} → {r['tier'] or '-'}",
                "before": money(r["before"], base),
                "now": money(r["payable"], base),
                "change": ("+" if r["change"] > 0 else "") + money(r["change"], base),
            }
            for r in moved.iter_rows(named=True)
        ],
    }
