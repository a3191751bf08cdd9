"""What `explain` shows (issue 26, defects 8 and 9), through the console script.

A deals-only program (no NPS or renewal source, no win-rate KPI) on the worked example's
files, with a partner without a region, a 40-character deal id, a deal the registration rule
excludes and deals whose ids sort before the counted ones.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

INCENTCALC = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "incentcalc"
LONG_ID = "0065f00000AbCdEfGhIjKlMnOpQrStUvWxYz0123"

PROGRAM = """\
program: {name: Deals only, base_currency: USD}
sources:
  partners: {path: partners.csv}
  deals: {path: deals.csv}
  targets: {path: targets.csv}
  fx_rates: {path: fx_rates.csv}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0.5, cap: 1.5}}}
  won: {metric: won_deals, score: {attainment: {threshold: 0, cap: 2}}}
segments:
  reseller: {weights: {revenue: 0.8, won: 0.2}, targets: {revenue: 100000, won: 2}}
  distributor: {weights: {revenue: 0.8, won: 0.2}, targets: {revenue: 1000000, won: 2}}
tiers:
  - {name: Bronze, min_score: 0, rate: 0}
  - {name: Silver, min_score: 0.6, rate: 0.02}
integrity:
  registration: {required: true, action: exclude}
payout: {base: revenue}
"""


def deals_only(example: Path) -> Path:
    (example / "program.yaml").write_text(PROGRAM, encoding="utf-8")
    partners = example / "partners.csv"
    partners.write_text(
        partners.read_text().replace("Acme Systems,reseller,NA,", "Acme Systems,reseller,,")
    )
    extra = [
        "A001,P1,C110,closed_lost,2026-08-01,1000.00,USD,new,2026-07-01,Core",
        "A002,P1,C111,open,,2000.00,USD,new,2026-07-01,Core",
        f"{LONG_ID},P1,C112,closed_won,2026-08-03,3000.00,USD,new,2026-07-01,Core",
        "D900,P1,C113,closed_won,2026-08-04,4000.00,USD,new,2026-08-20,Core",
    ]
    deals = example / "deals.csv"
    deals.write_text(deals.read_text() + "\n".join(extra) + "\n")
    return example / "program.yaml"


def explain(config: Path, *extra: str) -> str:
    args = [str(INCENTCALC), "explain", "--config", str(config), "--period", "2026Q3"]
    done = subprocess.run(
        [*args, "--partner", "P1", *extra], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_counted_deals_come_first_then_excluded_then_the_rest(example: Path) -> None:
    document = json.loads(explain(deals_only(example), "--json"))
    order = [(d["deal_id"], d["note"].split(";")[0].split(":")[0]) for d in document["deals"]]
    assert order == [
        (LONG_ID, "counted"),
        ("D001", "counted"),
        ("D002", "counted"),
        ("D900", "excluded"),
        ("A001", "lost"),
        ("A002", "open"),
        ("D003", "lost"),
        ("D004", "outside the period"),
    ]
    assert "registration" in document["deals"][3]["note"]


def test_explain_shows_only_what_the_program_uses(example: Path) -> None:
    config = deals_only(example)
    text = explain(config)
    assert "None" not in text
    assert "region" not in text.splitlines()[1]  # the partner has no region
    assert "NPS responses" not in text and "Renewals" not in text
    assert "win rate" not in text  # no win-rate KPI: a lost deal is "lost: not counted"
    assert "lost: not counted" in " ".join(text.split())
    assert LONG_ID in text and "…" not in text  # ids are never cut at 80 columns
    document = json.loads(explain(config, "--json"))
    assert "nps_responses" not in document and "renewals" not in document
    assert "rejected_rows" not in document
