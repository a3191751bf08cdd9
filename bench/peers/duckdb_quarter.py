"""Peer: the benchmark quarter as one DuckDB SQL script (exact DECIMAL money).

KPIs (revenue, new logos, win rate, NPS, GRR, NRR), scores (attainment, linear, steps),
weighted composite, tiers with gates, bonus with cap, budget factor, holdback and minimum
payout, from program.yaml's numbers. No validation, integrity rules, teams or outputs::

    python -m bench.peers.duckdb_quarter DATA_DIR 2026Q3
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import duckdb

from bench.peers.program import Program, load

D = "DECIMAL(38, 10)"
MONEY = "DECIMAL(38, 2)"
NO_CAP = "999999999999999.99"
"""Scores are ratios: DuckDB divides decimals in DOUBLE, cast back to 10 places. Money
stays DECIMAL; the budget factor is applied in integer cents (half up), never in DOUBLE."""
METRICS = {
    "revenue": "revenue",
    "expansion_revenue": "revenue",
    "new_logos": "new_logos",
    "win_rate": f"CASE WHEN won + lost > 0 THEN won::{D} / (won + lost) END",
    "nps": f"CASE WHEN responses > 0 THEN (promoters - detractors) * 100::{D} / responses END",
    "gross_renewal_rate": f"CASE WHEN original > 0 THEN kept::{D} / original END",
    "net_revenue_retention": f"CASE WHEN original > 0 THEN renewed::{D} / original END",
}


def _score(kpi: str, spec: dict[str, Any]) -> str:
    """SQL for the score of one KPI over its value `v` and target `t`."""
    score = spec["score"]
    missing = {"neutral": "1", "zero": "0"}.get(spec.get("when_missing", "zero"), "0")
    if "attainment" in score:
        a = score["attainment"]
        ratio = "(v / NULLIF(t, 0))"
        expr = f"CASE WHEN {ratio} < {a['threshold']} THEN 0 ELSE LEAST({ratio}, {a['cap']}) END"
    elif "linear" in score:
        s = score["linear"]
        ratio = f"((v - {s['floor']}) / ({s['target']} - {s['floor']})::{D})"
        expr = f"GREATEST(0, LEAST({ratio}, {s['cap']}))"
    else:
        steps = sorted(score["steps"], key=lambda step: float(step[0]), reverse=True)
        whens = " ".join(f"WHEN v >= {low} THEN {value}" for low, value in steps)
        expr = f"CASE {whens} ELSE 0 END"
    return f"WHEN '{kpi}' THEN CASE WHEN v IS NULL THEN {missing} ELSE {expr} END"


def script(p: Program) -> str:
    """The whole quarter as one SQL statement."""
    f, start, end = p.folder, p.start.isoformat(), p.end.isoformat()
    kpis = p.kpis
    need = {k: spec for k, spec in kpis.items() if spec["metric"] in METRICS}
    values = " UNION ALL ".join(
        f"SELECT partner_id, '{k}' AS kpi, ({METRICS[s['metric']]})::{D} AS v, "
        f"{'responses >= ' + str(s['min_responses']) if 'min_responses' in s else 'TRUE'} AS ok "
        "FROM totals"
        for k, s in need.items()
    )
    weights = " UNION ALL ".join(
        f"SELECT '{seg}' AS segment, '{k}' AS kpi, {w}::{D} AS weight, "
        f"{seg_spec.get('targets', {}).get(k, 'NULL')}::{D} AS default_target"
        for seg, seg_spec in p.segments.items()
        for k, w in seg_spec["weights"].items()
    )
    tiers = " UNION ALL ".join(
        f"SELECT {i} AS rank, '{t['name']}' AS tier, {t['min_score']}::{D} AS min_score, "
        f"{t.get('rate', 0)}::{D} AS rate, {t.get('fixed', 0)}::{D} AS fixed"
        for i, t in enumerate(p.tiers)
    )
    gates = (
        " UNION ALL ".join(
            f"SELECT {i} AS rank, '{k}' AS kpi, {v}::{D} AS min_value"
            for i, t in enumerate(p.tiers)
            for k, v in (t.get("requires") or {}).items()
        )
        or f"SELECT NULL::INT AS rank, NULL AS kpi, NULL::{D} AS min_value WHERE FALSE"
    )
    cap_amount = p.cap.get("amount", NO_CAP)
    cap_pct = p.cap.get("pct_of_base")
    cap_of_base = f"ROUND({cap_pct} * x.revenue, 2)" if cap_pct is not None else NO_CAP
    return f"""
WITH scope AS (
  SELECT partner_id, segment FROM read_parquet('{f}/partners.parquet')
  WHERE status = 'active' AND joined_on <= DATE '{end}'
    AND (left_on IS NULL OR left_on >= DATE '{start}')),
rates AS (
  SELECT currency, rate_to_base FROM read_parquet('{f}/fx_rates.parquet')
  WHERE period = '{p.label}'
  UNION ALL SELECT '{p.raw["program"]["base_currency"]}', 1),
deals AS (
  SELECT d.partner_id, d.customer_id, d.stage, d.deal_type,
         ROUND(d.amount * r.rate_to_base, 2) AS amount_base
  FROM read_parquet('{f}/deals.parquet') d JOIN rates r USING (currency)
  WHERE d.close_date BETWEEN DATE '{start}' AND DATE '{end}'),
deal_totals AS (
  SELECT partner_id,
    SUM(amount_base) FILTER (WHERE stage = 'closed_won') AS revenue,
    COUNT(*) FILTER (WHERE stage = 'closed_won') AS won,
    COUNT(*) FILTER (WHERE stage = 'closed_lost') AS lost,
    COUNT(DISTINCT customer_id) FILTER (WHERE stage = 'closed_won' AND deal_type = 'new')
      AS new_logos
  FROM deals GROUP BY partner_id),
nps_totals AS (
  SELECT partner_id, COUNT(*) AS responses, COUNT(*) FILTER (WHERE score >= 9) AS promoters,
    COUNT(*) FILTER (WHERE score <= 6) AS detractors
  FROM read_parquet('{f}/nps.parquet')
  WHERE responded_on BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY partner_id),
renewal_totals AS (
  SELECT partner_id, SUM(o) AS original, SUM(LEAST(n, o)) AS kept, SUM(n) AS renewed
  FROM (
    SELECT x.partner_id, ROUND(x.original_amount * r.rate_to_base, 2) AS o,
      CASE WHEN x.status = 'renewed' THEN ROUND(x.renewed_amount * r.rate_to_base, 2)
           ELSE 0 END AS n
    FROM read_parquet('{f}/renewals.parquet') x JOIN rates r USING (currency)
    WHERE x.due_date BETWEEN DATE '{start}' AND DATE '{end}'
      AND x.status IN ('renewed', 'churned'))
  GROUP BY partner_id),
totals AS (
  SELECT s.partner_id, COALESCE(revenue, 0) AS revenue, COALESCE(won, 0) AS won,
    COALESCE(lost, 0) AS lost, COALESCE(new_logos, 0) AS new_logos,
    COALESCE(responses, 0) AS responses, COALESCE(promoters, 0) AS promoters,
    COALESCE(detractors, 0) AS detractors, COALESCE(original, 0) AS original,
    COALESCE(kept, 0) AS kept, COALESCE(renewed, 0) AS renewed
  FROM scope s LEFT JOIN deal_totals USING (partner_id) LEFT JOIN nps_totals USING (partner_id)
  LEFT JOIN renewal_totals USING (partner_id)),
kpi_values AS (
  SELECT partner_id, kpi, CASE WHEN ok THEN v END AS v FROM ({values})),
targets AS (
  SELECT partner_id, kpi, target FROM read_parquet('{f}/targets.parquet')
  WHERE period = '{p.label}'),
weighted AS (
  SELECT s.partner_id, k.kpi, k.v, w.weight,
    COALESCE(t.target, w.default_target) AS t
  FROM scope s JOIN ({weights}) w USING (segment)
  JOIN kpi_values k ON k.partner_id = s.partner_id AND k.kpi = w.kpi
  LEFT JOIN targets t ON t.partner_id = s.partner_id AND t.kpi = w.kpi),
scores AS (
  SELECT partner_id, kpi, v, weight,
    CASE kpi {" ".join(_score(k, s) for k, s in need.items())} END AS score
  FROM weighted),
composites AS (
  SELECT partner_id, ROUND(SUM(weight * score), 4) AS composite FROM scores GROUP BY partner_id),
eligible_tiers AS (
  SELECT c.partner_id, t.rank, t.rate, t.fixed FROM composites c JOIN ({tiers}) t
    ON t.min_score <= c.composite
  WHERE NOT EXISTS (
    SELECT 1 FROM ({gates}) g LEFT JOIN kpi_values k
      ON k.partner_id = c.partner_id AND k.kpi = g.kpi
    WHERE g.rank = t.rank AND (k.v IS NULL OR k.v < g.min_value))),
tiered AS (
  SELECT partner_id, arg_max(rate, rank) AS rate, arg_max(fixed, rank) AS fixed
  FROM eligible_tiers GROUP BY partner_id),
bonuses AS (
  SELECT t.partner_id, x.revenue AS base,
    LEAST(ROUND(x.revenue * t.rate + t.fixed, 2), {cap_amount}::{MONEY}, {cap_of_base})
      ::{MONEY} AS bonus
  FROM tiered t JOIN totals x USING (partner_id)),
budget AS (
  SELECT (SUM(bonus) * 100)::HUGEINT AS total, {int(p.payout("budget") * 100)}::HUGEINT AS budget
  FROM bonuses),
payable AS (
  SELECT partner_id,
    CASE WHEN total <= budget THEN bonus
    ELSE ((((bonus * 100)::HUGEINT * budget * 2 + total) // (2 * total)) / 100)::{MONEY}
    END AS payable
  FROM bonuses, budget),
held AS (
  SELECT partner_id, payable, ROUND(payable * {p.payout("holdback_pct")}, 2) AS holdback
  FROM payable)
SELECT COUNT(*) AS partners, SUM(payable)::VARCHAR AS payable,
  SUM(holdback)::VARCHAR AS holdback,
  SUM(CASE WHEN payable - holdback >= {p.payout("min_payout")} THEN payable - holdback
      ELSE 0 END)::VARCHAR AS paid
FROM held
"""


def main(argv: list[str]) -> int:
    program = load(Path(argv[0]), argv[1])
    row = duckdb.sql(script(program)).fetchall()[0]
    print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
