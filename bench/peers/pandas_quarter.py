"""Peer: the benchmark quarter as a straightforward, competent pandas script.

The same steps as the DuckDB peer (KPIs, scores, tiers with gates, bonus with cap, budget,
holdback, minimum payout). Reads only the quarter's rows (pyarrow filters), money as
integer cents (exact), FX rates as integer millionths, rounding half up in integers;
scores are floats (they are ratios, not money)::

    python -m bench.peers.pandas_quarter DATA_DIR 2026Q3
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.peers.program import Program, load


def _read(p: Program, name: str, column: str | None, money: tuple[str, ...] = ()) -> pd.DataFrame:
    """The quarter's rows of one file; decimal columns as int64 cents."""
    filters = None
    if column is not None:
        filters = [(column, ">=", p.start), (column, "<=", p.end)]
    table = pq.read_table(p.folder / f"{name}.parquet", filters=filters)
    for m in money:
        hundred = pa.scalar(Decimal(100), pa.decimal128(3, 0))
        scaled = pc.multiply(table[m].cast(pa.decimal128(18, 2)), hundred)
        cents = scaled.cast(pa.decimal128(22, 0)).cast(pa.int64())
        table = table.set_column(table.schema.get_field_index(m), m, cents)
    return table.to_pandas()


def _half_up_div(num: pd.Series, den: int | pd.Series) -> pd.Series:
    """Integer num / den rounded half up (num >= 0)."""
    return (num * 2 + den) // (den * 2)


def _score(values: pd.Series, targets: pd.Series, spec: dict[str, Any]) -> pd.Series:
    score = spec["score"]
    missing = {"neutral": 1.0, "zero": 0.0}.get(spec.get("when_missing", "zero"), 0.0)
    if "attainment" in score:
        a = score["attainment"]
        ratio = values / targets.replace(0, np.nan)
        out = np.where(ratio < a["threshold"], 0.0, np.minimum(ratio, a["cap"]))
    elif "linear" in score:
        s = score["linear"]
        ratio = (values - s["floor"]) / (s["target"] - s["floor"])
        out = np.clip(ratio, 0, s["cap"])
    else:
        out = np.zeros(len(values))
        for low, value in sorted(score["steps"], key=lambda step: float(step[0])):
            out = np.where(values >= float(low), float(value), out)
    return pd.Series(np.where(values.isna(), missing, out), index=values.index)


def quarter(p: Program) -> tuple[int, int, int, int]:
    """(partners, payable, holdback, paid) in cents."""
    partners = _read(p, "partners", None)
    scope = partners[
        (partners["status"] == "active")
        & (partners["joined_on"] <= p.end)
        & (partners["left_on"].isna() | (partners["left_on"] >= p.start))
    ][["partner_id", "segment"]]
    rates = _read(p, "fx_rates", None, ())
    rates = rates[rates["period"] == p.label]
    micro = pd.Series(
        [int(r * 1_000_000) for r in rates["rate_to_base"]], index=rates["currency"].to_numpy()
    )
    micro[p.raw["program"]["base_currency"]] = 1_000_000

    deals = _read(p, "deals", "close_date", ("amount",))
    deals["base"] = _half_up_div(deals["amount"] * deals["currency"].map(micro), 1_000_000)
    won = deals["stage"] == "closed_won"
    grouped = deals.assign(
        revenue=deals["base"].where(won, 0),
        won=won,
        lost=deals["stage"] == "closed_lost",
    ).groupby("partner_id")
    totals = grouped[["revenue", "won", "lost"]].sum()
    new = deals[won & (deals["deal_type"] == "new")]
    totals["new_logos"] = new.groupby("partner_id")["customer_id"].nunique()

    nps = _read(p, "nps", "responded_on")
    nps_totals = (
        nps.assign(promoters=nps["score"] >= 9, detractors=nps["score"] <= 6, responses=1)
        .groupby("partner_id")[["responses", "promoters", "detractors"]]
        .sum()
    )

    renewals = _read(p, "renewals", "due_date", ("original_amount", "renewed_amount"))
    renewals = renewals[renewals["status"].isin(["renewed", "churned"])]
    rate = renewals["currency"].map(micro)
    original = _half_up_div(renewals["original_amount"] * rate, 1_000_000)
    renewed = _half_up_div(renewals["renewed_amount"].fillna(0).astype("int64") * rate, 1_000_000)
    renewed = renewed.where(renewals["status"] == "renewed", 0)
    ren_totals = (
        pd.DataFrame(
            {"partner_id": renewals["partner_id"], "original": original, "renewed": renewed,
             "kept": np.minimum(original, renewed)}
        ).groupby("partner_id").sum()
    )  # fmt: skip

    t = scope.set_index("partner_id").join([totals, nps_totals, ren_totals]).fillna(0)
    values = {
        "revenue": t["revenue"] / 100,
        "expansion_revenue": t["revenue"] / 100,
        "new_logos": t["new_logos"],
        "win_rate": t["won"] / (t["won"] + t["lost"]).replace(0, np.nan),
        "nps": (t["promoters"] - t["detractors"]) * 100 / t["responses"].replace(0, np.nan),
        "gross_renewal_rate": t["kept"] / t["original"].replace(0, np.nan),
        "net_revenue_retention": t["renewed"] / t["original"].replace(0, np.nan),
    }
    targets = _read(p, "targets", None)
    targets = targets[targets["period"] == p.label]
    composite = pd.Series(0.0, index=t.index)
    kpi_values: dict[str, pd.Series] = {}
    for kpi, spec in p.kpis.items():
        value = values[spec["metric"]]
        if "min_responses" in spec:
            value = value.where(t["responses"] >= spec["min_responses"])
        kpi_values[kpi] = value
        weight = t["segment"].map(
            {s: float(v["weights"].get(kpi, 0)) for s, v in p.segments.items()}
        )
        default = t["segment"].map(
            {s: float(v.get("targets", {}).get(kpi, np.nan)) for s, v in p.segments.items()}
        )
        given = targets[targets["kpi"] == kpi].set_index("partner_id")["target"].astype(float)
        target = given.reindex(t.index).fillna(default)
        composite += weight * _score(value, target, spec)
    composite = composite.round(4)

    rate_micro = pd.Series(0, index=t.index)
    fixed = pd.Series(0, index=t.index)
    for tier in p.tiers:
        ok = composite >= float(tier["min_score"])
        for kpi, minimum in (tier.get("requires") or {}).items():
            ok &= kpi_values[kpi].fillna(-np.inf) >= float(minimum)
        rate_micro = rate_micro.where(~ok, int(float(tier.get("rate", 0)) * 1_000_000))
        fixed = fixed.where(~ok, int(tier.get("fixed", 0)) * 100)
    base = t["revenue"].astype("int64")
    bonus = _half_up_div(base * rate_micro, 1_000_000) + fixed
    if "amount" in p.cap:
        bonus = np.minimum(bonus, int(float(p.cap["amount"]) * 100))
    if "pct_of_base" in p.cap:
        pct = int(float(p.cap["pct_of_base"]) * 1_000_000)
        bonus = np.minimum(bonus, _half_up_div(base * pct, 1_000_000))
    total, budget = int(bonus.sum()), int(p.payout("budget") * 100)
    payable = bonus if total <= budget else _half_up_div(bonus * budget, total)
    hold = int(p.payout("holdback_pct") * 1_000_000)
    holdback = _half_up_div(payable * hold, 1_000_000)
    net = payable - holdback
    paid = net.where(net >= int(p.payout("min_payout") * 100), 0)
    return len(t), int(payable.sum()), int(holdback.sum()), int(paid.sum())


def main(argv: list[str]) -> int:
    partners, *cents = quarter(load(Path(argv[0]), argv[1]))
    print(partners, *(f"{c / 100:.2f}" for c in cents))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
