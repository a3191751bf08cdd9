"""Hypothesis strategies for the differential test: random but valid programs (YAML) and
canonical CSV data over one quarter or a run of consecutive quarters.

Every draw is valid per CONFIG.md and DATA.md, so the engine's validation passes and any
disagreement with the reference is about the rules. The draws lean on the cases that break
implementations: ties at the fifth decimal (12,345 / 100,000), negative NPS, partners joining,
leaving, suspended or terminated inside the period, JPY and KWD payouts, fiscal calendars,
integrity hits of every kind and cancellations after a quarter was closed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from reference.inputs import COLUMNS
from reference.periods import Period, period

Table = list[dict[str, str]]
PERIOD_FORMS = ("{y}Q{q}", "{y}-Q{q}", "{y}q{q}")
OTHER_CURRENCIES = ("EUR", "GBP", "JPY", "KWD", "CHF", "USD")
RATES = ("0.0067", "0.006713", "0.92", "1.1", "1.08375", "1.25", "1.2675", "3.2471", "0.5")
TIE_AMOUNTS = ("12345.00", "24690.00", "61725.00", "1234.5", "0.00", "99999.99", "50000",
               "33333.33", "100000.00", "8765.43", "49996.00", "79999.50", "59999.99")  # fmt: skip
"""Amounts that meet targets of 100,000 at a fifth-decimal tie or just below a threshold."""
METRICS = ("revenue", "expansion_revenue", "won_deals", "new_logos", "win_rate",
           "avg_deal_size", "nps", "gross_renewal_rate", "net_revenue_retention",
           "logo_retention")  # fmt: skip
SCALE = {"revenue": "money", "expansion_revenue": "money", "avg_deal_size": "money",
         "won_deals": "count", "new_logos": "count", "win_rate": "rate",
         "gross_renewal_rate": "rate", "logo_retention": "rate", "net_revenue_retention": "rate",
         "nps": "nps"}  # fmt: skip
TARGETS = {"money": ("100000", "50000", "200000", "12345.5"), "count": ("1", "2", "3", "4"),
           "rate": ("0.5", "0.8", "1", "0.75"), "nps": ("30", "50", "40")}  # fmt: skip
LINEAR = {"money": [("0", "100000"), ("10000", "50000")], "count": [("0", "3"), ("1", "2")],
          "rate": [("0", "1"), ("0.5", "0.9")], "nps": [("0", "50"), ("-100", "100"),
                                                        ("-20", "30")]}  # fmt: skip
STEPS = {
    "money": [["0", "0"], ["20000", "0.5"], ["50000", "1"], ["100000", "1.23456"]],
    "count": [["1", "0.5"], ["2", "1"], ["4", "1.2"]],
    "rate": [["0", "0"], ["0.8", "0.5"], ["0.9", "1.0"], ["0.95", "1.2"]],
    "nps": [["-100", "0"], ["-20", "0.12345"], ["0", "0.5"], ["30", "1"]],
}
GATES = {"money": ("20000", "50000"), "count": ("1", "2"), "rate": ("0.5", "0.8", "0.66667"),
         "nps": ("-20", "0", "30", "33.3333")}  # fmt: skip


class _Number(str):
    """A config number written as a plain YAML number (exact: the loaders read decimals)."""


yaml.SafeDumper.add_representer(
    _Number, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", value)
)


def num(text: str | Decimal) -> _Number:
    return _Number(format(Decimal(text), "f"))


@dataclass
class Scenario:
    """A program, its periods in order and the data; `deal_exports[i]` and
    `partner_exports[i]` are the deals export and partner master as read for `periods[i]`
    (cancellations appear once they happened; a hold may start or end)."""

    program: dict[str, Any]
    periods: list[str]
    tables: dict[str, Table]
    deal_exports: list[Table] = field(default_factory=list)
    partner_exports: list[Table] = field(default_factory=list)
    as_of: date | None = None
    """A progress run (RULES.md 12) of the last period as of this day; None: none."""

    def write(self, folder: Path, index: int = 0) -> Path:
        """Write the config and the data as read for period `index`; return the config path."""
        folder.mkdir(parents=True, exist_ok=True)
        exports = {"deals": self.deal_exports[index], "partners": self.partner_exports[index]}
        for name, rows in {**self.tables, **exports}.items():
            write_csv(folder / f"{name}.csv", COLUMNS[name].split(), rows)
        config = folder / "program.yaml"
        config.write_text(yaml.safe_dump(self.program, sort_keys=False), encoding="utf-8")
        return config


def write_csv(path: Path, columns: list[str], rows: Table) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@st.composite
def scenarios(draw: st.DrawFn, quarters: int = 1, history: bool = False) -> Scenario:
    """A program and data over `quarters` consecutive periods; `history` adds the ledger's
    rules (release, clawbacks, grace, loyalty) and a `ledger` folder."""
    base = draw(st.sampled_from(["USD", "USD", "EUR", "JPY"]))
    fiscal_start = draw(st.sampled_from([1, 1, 1, 2, 4, 7, 10, 12]))
    first = period(f"{draw(st.integers(2025, 2027))}Q{draw(st.integers(1, 4))}", fiscal_start)
    periods = [first]
    while len(periods) < quarters:
        periods.append(periods[-1].next())
    pool = [c for c in OTHER_CURRENCIES if c != base]
    currencies = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    program = draw(programs(base, fiscal_start, history))
    partners = draw(partner_rows(program, periods, [base, *currencies]))
    world = _World(draw, program, periods, partners, [base, *currencies])
    deals, cancellations = world.deals()
    tables = {
        "partners": partners,
        "nps": world.responses(),
        "renewals": world.renewals(),
        "targets": world.targets(),
        "fx_rates": world.fx_rates(currencies),
        "adjustments": world.adjustments(),
    }
    if draw(st.booleans()):  # without the old rows a source may be header-only (DATA.md)
        deals = [row for row in deals if row["deal_id"] != "D000"]
        tables["nps"] = [row for row in tables["nps"] if row["response_id"] != "R0"]
        tables["renewals"] = [row for row in tables["renewals"] if row["contract_id"] != "K0"]
    lag = draw(st.sampled_from([0, 10, 45]))
    exports = [export_as_of(deals, cancellations, p.end + timedelta(days=lag)) for p in periods]
    masters = [[dict(row) for row in partners] for _ in periods]
    for index in range(len(partners)):
        if len(periods) > 1 and draw(st.integers(0, 4)) == 0:
            first = draw(st.integers(0, len(periods) - 1))
            last = draw(st.integers(first, len(periods) - 1))
            status = draw(st.sampled_from(["suspended", "active", "terminated"]))
            for master in masters[first : last + 1]:
                master[index]["status"] = status
    as_of = draw(progress_days(periods[-1]))
    return Scenario(program, [p.label for p in periods], tables, exports, masters, as_of)


@st.composite
def progress_days(draw: st.DrawFn, quarter: Period) -> date | None:
    """Half the time a progress run's day (RULES.md 12): the first day, a random day, the day
    before the end or the end itself; otherwise None (an ordinary run)."""
    kind = draw(st.integers(0, 9))
    if kind > 4:
        return None
    before_end = max(quarter.days - 2, 0)
    offset = {0: 0, 3: before_end, 4: quarter.days - 1}.get(kind)
    if offset is None:
        offset = draw(st.integers(0, quarter.days - 1))
    return quarter.start + timedelta(days=offset)


@st.composite
def programs(draw: st.DrawFn, base: str, fiscal_start: int, history: bool) -> dict[str, Any]:
    """A valid program config (CONFIG.md) with data paths beside it."""
    base_metric = draw(st.sampled_from(["revenue", "revenue", "revenue", "expansion_revenue"]))
    kpis = {"base": draw(kpi_definitions(base_metric))}
    for index, metric in enumerate(draw(st.lists(st.sampled_from(METRICS), max_size=5))):
        kpis[f"k{index + 1}"] = draw(kpi_definitions(metric))
    segments = {
        name: draw(segment_definitions(kpis))
        for name in draw(
            st.sampled_from(
                [["reseller"], ["reseller", "distributor"], ["reseller", "distributor", "msp"]]
            )
        )
    }
    program: dict[str, Any] = {
        "program": {
            "name": "Differential",
            "base_currency": base,
            "fiscal_year_start_month": fiscal_start,
            "rounding": draw(st.sampled_from(["half_up", "half_even"])),
        },
        "sources": {name: {"path": f"{name}.csv"} for name in COLUMNS},
        "kpis": kpis,
        "segments": segments,
        "tiers": draw(tier_definitions(kpis)),
        "payout": draw(payout_definitions()),
    }
    if draw(st.booleans()):
        program["sources"]["deals"]["credits"] = True  # negative closed_won = a credit
    rules = draw(integrity_definitions())
    if rules:
        program["integrity"] = rules
    if history or draw(st.booleans()):
        add_history_rules(draw, program, ledger=history)
    return quoted_numbers(program) if draw(st.integers(0, 3)) == 0 else program


def quoted_numbers(node: Any) -> Any:
    """The same config with every decimal written as a YAML string ("0.035"), which
    CONFIG.md allows everywhere a number goes."""
    if isinstance(node, dict):
        return {key: quoted_numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [quoted_numbers(value) for value in node]
    return str(node) if isinstance(node, _Number) else node


def add_history_rules(draw: st.DrawFn, program: dict[str, Any], ledger: bool) -> None:
    """RULES.md 11: release delay, clawback window, tier grace, loyalty and, for sequences,
    the ledger. Without a ledger only deal bonuses and `quarters: 1` milestones act."""
    payout = program["payout"]
    payout["holdback_release_after"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        payout["clawback_within_days"] = draw(st.sampled_from([30, 60, 90, 120]))
    names = [tier["name"] for tier in program["tiers"]]
    milestones = draw(st.lists(st.tuples(st.sampled_from(names), st.integers(1, 3),
                                         st.sampled_from(["0", "250", "1000.50"])),
                               max_size=2))  # fmt: skip
    if milestones:
        payout["loyalty"] = [{"tier": t, "quarters": q, "bonus": num(b)} for t, q, b in milestones]
    program["tier_grace_quarters"] = draw(st.integers(0, 2))
    if ledger:
        program["ledger"] = {"path": "ledger"}


@st.composite
def kpi_definitions(draw: st.DrawFn, metric: str) -> dict[str, Any]:
    scale = SCALE[metric]
    kind = draw(st.sampled_from(["attainment", "linear", "steps"]))
    if kind == "attainment":
        curve: dict[str, Any] = {"threshold": num(draw(st.sampled_from(["0", "0.5", "0.8"])))}
        cap = draw(st.sampled_from([None, "1.2", "1.5", "2", "1.23456"]))
        if cap is not None:
            curve["cap"] = num(cap)
        score: dict[str, Any] = {"attainment": curve}
    elif kind == "linear":
        floor, goal = draw(st.sampled_from(LINEAR[scale]))
        curve = {"floor": num(floor), "target": num(goal)}
        cap = draw(st.sampled_from([None, "1", "1.2", "1.5"]))
        if cap is not None:
            curve["cap"] = num(cap)
        score = {"linear": curve}
    else:
        steps = STEPS[scale]
        start = draw(st.integers(0, len(steps) - 1))
        score = {"steps": [[num(lo), num(s)] for lo, s in steps[start:]]}
    definition: dict[str, Any] = {"metric": metric, "score": score}
    if metric == "nps" and draw(st.booleans()):
        definition["min_responses"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        definition["when_missing"] = draw(st.sampled_from(["neutral", "zero"]))
    return definition


@st.composite
def segment_definitions(draw: st.DrawFn, kpis: dict[str, Any]) -> dict[str, Any]:
    """Weights over a subset of the KPIs summing exactly to 1; default targets for most
    attainment KPIs (the others get targets-file rows for every partner)."""
    names = draw(st.lists(st.sampled_from(sorted(kpis)), min_size=1, unique=True))
    parts = [draw(st.integers(1, 20)) for _ in names]
    unit = draw(st.sampled_from([1000, 1_000_000]))
    shares = [part * unit // sum(parts) for part in parts]
    shares[-1] += unit - sum(shares)
    weights = {n: num(Decimal(t) / unit) for n, t in zip(names, shares, strict=True)}
    targets = {
        name: num(draw(st.sampled_from(TARGETS[SCALE[kpi["metric"]]])))
        for name, kpi in kpis.items()
        if "attainment" in kpi["score"] and draw(st.integers(0, 4))
    }
    return {"weights": weights, "targets": targets}


@st.composite
def tier_definitions(draw: st.DrawFn, kpis: dict[str, Any]) -> list[dict[str, Any]]:
    count = draw(st.integers(2, 4))
    minima = sorted(draw(st.lists(st.sampled_from(["0.3", "0.5", "0.6", "0.8", "0.85", "0.9",
                                                   "1.0", "1.2", "0.1235"]),
                                  min_size=count - 1, max_size=count - 1, unique=True)),
                    key=Decimal)  # fmt: skip
    tiers: list[dict[str, Any]] = [
        {"name": "Bronze", "min_score": num("0"),
         "rate": num(draw(st.sampled_from(["0.01", "0.01", "0.005", "0"])))}
    ]  # fmt: skip
    for name, minimum in zip(["Silver", "Gold", "Platinum"], minima, strict=False):
        tier: dict[str, Any] = {
            "name": name,
            "min_score": num(minimum),
            "rate": num(draw(st.sampled_from(["0.02", "0.035", "0.04", "0.0125", "0.03333"]))),
        }
        if draw(st.integers(0, 3)) == 0:
            tier["fixed"] = num(draw(st.sampled_from(["500", "2000.50"])))
        gated = draw(st.lists(st.sampled_from(sorted(kpis)), max_size=2, unique=True))
        if gated and draw(st.booleans()):
            tier["requires"] = {
                kpi: num(draw(st.sampled_from(GATES[SCALE[kpis[kpi]["metric"]]]))) for kpi in gated
            }
        tiers.append(tier)
    return tiers


@st.composite
def payout_definitions(draw: st.DrawFn) -> dict[str, Any]:
    individual = draw(st.sampled_from(["1", "0.7", "0.5", "0.65", "0.333333"]))
    payout: dict[str, Any] = {
        "base": "base",
        "individual_share": num(individual),
        "team_share": num(1 - Decimal(individual)),
        "holdback_pct": num(draw(st.sampled_from(["0", "0.1", "0.125", "0.075", "0.123457"]))),
        "min_payout": num(draw(st.sampled_from(["0", "100", "500", "99.99"]))),
    }
    cap: dict[str, Any] = {}
    if draw(st.booleans()):
        cap["amount"] = num(draw(st.sampled_from(["1000", "2500", "8000.50"])))
    if draw(st.booleans()):
        cap["pct_of_base"] = num(draw(st.sampled_from(["0.03", "0.05", "0.08", "0.0333"])))
    if cap:
        payout["cap"] = cap
    if draw(st.booleans()):
        cents = draw(st.one_of(st.sampled_from([0, 100_000, 500_000, 2_500_000, 10_000_000]),
                               st.integers(0, 3_000_000)))  # fmt: skip
        payout["budget"] = num(Decimal(cents) / 100)
    return payout


@st.composite
def integrity_definitions(draw: st.DrawFn) -> dict[str, Any]:
    actions = st.sampled_from(["exclude", "hold", "flag"])
    rules: dict[str, Any] = {}
    if draw(st.booleans()):
        rules["duplicate_deals"] = {"action": draw(actions)}
    if draw(st.booleans()):
        rules["registration"] = {"required": draw(st.booleans()), "action": draw(actions)}
    if draw(st.booleans()):
        rules["quarter_end_spike"] = {
            "last_days": draw(st.sampled_from([5, 10, 30])),
            "max_share": num(draw(st.sampled_from(["0.3", "0.6", "0.9"]))),
            "action": draw(actions),
        }
    if draw(st.booleans()):
        rules["reversal"] = {"within_days": draw(st.sampled_from([0, 30, 60])),
                             "action": draw(actions)}  # fmt: skip
    return rules


@st.composite
def partner_rows(draw: st.DrawFn, program: dict[str, Any], periods: list[Period],
                 currencies: list[str]) -> Table:  # fmt: skip
    """3-12 partners; some join, leave, are suspended or terminated inside the span."""
    span = (periods[0].start, periods[-1].end)
    rows = []
    for number in range(1, draw(st.integers(3, 12)) + 1):
        joined = _date(draw, span, draw(st.sampled_from(["long", "long", "long", "inside",
                                                         "after"])))  # fmt: skip
        left = None
        when = draw(st.sampled_from([None, None, None, None, "inside", "before", "after"]))
        if when:
            left = max(_date(draw, span, when), joined)
            if when == "before":
                joined = min(joined, left)
        rows.append({
            "partner_id": f"P{number}",
            "partner_name": draw(st.sampled_from([f"Partner {number}", f"Acme, {number} Ltd",
                                                  f'The "{number}" Co'])),
            "segment": draw(st.sampled_from(sorted(program["segments"]))),
            "region": draw(st.sampled_from(["NA", "EMEA", "APAC", ""])),
            "team_id": draw(st.sampled_from(["", "", "T1", "T2"])),
            "payout_currency": draw(st.sampled_from(["", *currencies])),
            "joined_on": joined.isoformat(),
            "left_on": left.isoformat() if left else "",
            "status": draw(st.sampled_from(["active"] * 6 + ["suspended", "terminated"])),
        })  # fmt: skip
    return rows


def _date(draw: st.DrawFn, span: tuple[date, date], where: str) -> date:
    """A day relative to the span: long before, inside, just before or after it."""
    first, last = span
    inside = (last - first).days
    offset = {
        "long": lambda: -draw(st.integers(100, 2000)),
        "before": lambda: -draw(st.integers(1, 60)),
        "inside": lambda: draw(st.one_of(st.integers(0, inside), st.sampled_from([0, inside]))),
        "after": lambda: inside + draw(st.integers(1, 60)),
    }[where]()
    return first + timedelta(days=offset)


class _World:
    """Draws the transactional rows of the partners over the span of periods."""

    def __init__(self, draw: st.DrawFn, program: dict[str, Any], periods: list[Period],
                 partners: Table, currencies: list[str]) -> None:  # fmt: skip
        self.draw = draw
        self.program = program
        self.periods = periods
        self.partners = partners
        self.currencies = currencies

    def history_day(self) -> date:
        """A day two years before the span, for rows the rules must ignore."""
        return self.periods[0].start - timedelta(days=730)

    def day(self) -> date:
        """Mostly inside a period, often in its last days, sometimes just outside the span."""
        draw = self.draw
        chosen = draw(st.sampled_from(self.periods))
        kind = draw(st.sampled_from(["inside"] * 5 + ["late", "late", "edge", "before", "after"]))
        if kind == "edge":
            return draw(st.sampled_from([chosen.start, chosen.end]))
        if kind == "late":
            return chosen.end - timedelta(days=draw(st.integers(0, 12)))
        if kind == "before":
            return self.periods[0].start - timedelta(days=draw(st.integers(1, 40)))
        if kind == "after":
            return self.periods[-1].end + timedelta(days=draw(st.integers(1, 40)))
        return chosen.start + timedelta(days=draw(st.integers(0, chosen.days - 1)))

    def amount(self) -> str:
        draw = self.draw
        if draw(st.booleans()):
            return draw(st.sampled_from(TIE_AMOUNTS))
        return format(Decimal(draw(st.integers(100_000, 20_000_000))) / 100, ".2f")

    @property
    def credits(self) -> bool:
        return bool(self.program["sources"]["deals"].get("credits"))

    def credits_against(self, sale: dict[str, str], count: int) -> Table:
        """A credit (RULES.md 4) against a sale: a part of it or more than all of it, dated
        like any deal, often unregistered, sometimes entered twice (a duplicate)."""
        draw = self.draw
        cents = draw(st.one_of(st.integers(1, 30_000_000), st.sampled_from([100_000, 1])))
        credit = {
            **sale,
            "deal_id": f"D{count + 1:03d}",
            "close_date": self.day().isoformat(),
            "amount": format(-Decimal(cents) / 100, ".2f"),
            "deal_type": draw(st.sampled_from(["", "new", "expansion"])),
            "registered_on": draw(st.sampled_from(["", sale["registered_on"]])),
        }
        twice = draw(st.integers(0, 3)) == 0
        return [credit, {**credit, "deal_id": f"D{count + 2:03d}"}] if twice else [credit]

    def currency(self) -> str:
        """Mostly the base currency; codes are read case-insensitively (DATA.md)."""
        code = self.draw(st.sampled_from([self.currencies[0]] * 3 + self.currencies[1:]))
        return code.lower() if self.draw(st.integers(0, 9)) == 0 else code

    def deals(self) -> tuple[Table, dict[str, tuple[str, date]]]:
        """Deals with planted duplicates and reversals; cancellations after closing are
        returned separately (deal_id -> (how, date)) for the per-period exports."""
        draw, later = self.draw, {}
        first = self.partners[0]["partner_id"]
        rows = [{"deal_id": "D000", "partner_id": first, "customer_id": "COLD",
                 "stage": "closed_won", "close_date": self.history_day().isoformat(),
                 "amount": "1000.00", "currency": self.currencies[0], "deal_type": "",
                 "registered_on": "", "product": ""}]  # fmt: skip
        for partner in self.partners:
            pid = partner["partner_id"]
            customers = [f"C{pid}{n}" for n in range(1, 4)] + ["CSHARED"]
            for _ in range(draw(st.integers(0, 3 + 3 * len(self.periods)))):
                stage = draw(
                    st.sampled_from(
                        ["closed_won"] * 6 + ["closed_lost", "closed_lost", "open", "cancelled"]
                    )
                )
                close = self.day()
                registered = draw(st.sampled_from(["before", "before", "before", "", "after"]))
                row = {
                    "deal_id": f"D{len(rows) + 1:03d}",
                    "partner_id": pid,
                    "customer_id": draw(st.sampled_from(customers)),
                    "stage": stage,
                    "close_date": "" if stage == "open" and draw(st.booleans()) else
                    close.isoformat(),
                    "amount": self.amount(),
                    "currency": self.currency(),
                    "deal_type": draw(st.sampled_from(["", "new", "new", "expansion", "renewal"])),
                    "registered_on": "" if not registered else (
                        close + timedelta(days=-draw(st.integers(0, 30)) if registered == "before"
                                          else draw(st.integers(1, 10)))).isoformat(),
                    "product": "Core",
                }  # fmt: skip
                if stage in ("closed_lost", "open") and draw(st.integers(0, 3)) == 0:
                    row["amount"] = ""  # DATA.md: only won deals need an amount
                rows.append(row)
                if stage != "closed_won":
                    continue
                credit = ["credit", "credit"] if self.credits else []
                plant = draw(
                    st.sampled_from(
                        ["none"] * 4 + ["duplicate", "reversal", "later", "later", *credit]
                    )
                )
                if plant == "duplicate":
                    rows.append({**row, "deal_id": f"D{len(rows) + 1:03d}"})
                elif plant == "credit":
                    rows.extend(self.credits_against(row, len(rows)))
                elif plant == "reversal":
                    days = st.one_of(st.integers(0, 70), st.sampled_from([0, 30, 31, 60, 61]))
                    cancel = close + timedelta(days=draw(days))
                    rows.append({**row, "deal_id": f"D{len(rows) + 1:03d}", "stage": "cancelled",
                                 "close_date": cancel.isoformat()})  # fmt: skip
                elif plant == "later":
                    how = draw(st.sampled_from(["own", "own_kept_date", "other"]))
                    edges = st.sampled_from([0, 30, 31, 60, 61, 90, 91, 120, 121])
                    days = draw(st.one_of(st.integers(0, 200), edges))
                    if how == "own_kept_date":  # mostly seen first by a run whose read
                        days = draw(st.integers(90, 300))  # window starts after the close
                    later[row["deal_id"]] = (how, close + timedelta(days))
        return rows, later

    def responses(self) -> Table:
        draw = self.draw
        rows = [{"response_id": "R0", "partner_id": self.partners[0]["partner_id"],
                 "customer_id": "", "responded_on": self.history_day().isoformat(),
                 "score": "0"}]  # fmt: skip
        for partner in self.partners:
            mood = draw(st.sampled_from([range(0, 7), range(9, 11), range(0, 11), range(6, 10)]))
            for _ in range(draw(st.integers(0, 8))):
                rows.append({"response_id": f"R{len(rows) + 1}",
                             "partner_id": partner["partner_id"], "customer_id": "",
                             "responded_on": self.day().isoformat(),
                             "score": str(draw(st.sampled_from(mood)))})  # fmt: skip
        return rows

    def renewals(self) -> Table:
        draw = self.draw
        rows = [{"contract_id": "K0", "partner_id": self.partners[0]["partner_id"],
                 "customer_id": "CR", "due_date": self.history_day().isoformat(),
                 "original_amount": "10.00", "renewed_amount": "", "currency":
                 self.currencies[0], "status": "churned"}]  # fmt: skip
        for partner in self.partners:
            for _ in range(draw(st.integers(0, 3))):
                status = draw(st.sampled_from(["renewed", "renewed", "churned", "pending"]))
                original = self.amount()
                renewed = ""
                if status == "renewed" or (status == "churned" and draw(st.booleans())):
                    factor = Decimal(draw(st.sampled_from(["0", "0.5", "0.9", "1", "1.2"])))
                    renewed = format((Decimal(original) * factor).quantize(Decimal("0.01")), "f")
                rows.append({"contract_id": f"K{len(rows) + 1}",
                             "partner_id": partner["partner_id"], "customer_id": "CR",
                             "due_date": self.day().isoformat(), "original_amount": original,
                             "renewed_amount": renewed, "currency": self.currency(),
                             "status": status})  # fmt: skip
        return rows

    def label(self, chosen: Period) -> str:
        form = self.draw(st.sampled_from(PERIOD_FORMS))
        return form.format(y=chosen.year, q=chosen.quarter)

    def targets(self) -> Table:
        """A row for every partner and period where its segment has no default target,
        and overriding rows at random."""
        draw, rows = self.draw, []
        kpis = self.program["kpis"]
        for partner in self.partners:
            defaults = self.program["segments"][partner["segment"]]["targets"]
            for name, kpi in kpis.items():
                if "attainment" not in kpi["score"]:
                    continue
                scale = SCALE[kpi["metric"]]
                for chosen in self.periods:
                    if name in defaults and draw(st.integers(0, 3)):
                        continue
                    rows.append({"partner_id": partner["partner_id"],
                                 "period": self.label(chosen), "kpi": name,
                                 "target": draw(st.sampled_from(TARGETS[scale]))})  # fmt: skip
        return rows

    def fx_rates(self, currencies: list[str]) -> Table:
        rows = []
        for chosen in [self.periods[0].previous(), *self.periods]:
            for currency in currencies:
                rows.append({"period": self.label(chosen), "currency": currency,
                             "rate_to_base": self.draw(st.sampled_from(RATES))})  # fmt: skip
        return rows

    def adjustments(self) -> Table:
        draw, rows = self.draw, []
        for _ in range(draw(st.integers(0, 4))):
            rows.append({
                "adjustment_id": f"A{len(rows) + 1}",
                "partner_id": draw(st.sampled_from(self.partners))["partner_id"],
                "period": self.label(draw(st.sampled_from([self.periods[0].previous(),
                                                           *self.periods]))),
                "amount": format(Decimal(draw(st.integers(-50_000, 50_000))) / 100, ".2f"),
                "reason": "correction", "approved_by": "finance",
            })  # fmt: skip
        return rows


def export_as_of(deals: Table, later: dict[str, tuple[str, date]], as_of: date) -> Table:
    """The deals export as read on `as_of`: a deal cancelled by then is either itself turned
    into a cancellation dated when it happened (`own`) or keeping its close_date, the usual
    CRM case (`own_kept_date`: a row older than the run's read window, RULES.md 11.5), or
    followed by a cancelled row of its customer (`other`)."""
    rows = []
    for deal in deals:
        how, when = later.get(deal["deal_id"], ("", date.max))
        if when > as_of:
            rows.append(deal)
        elif how == "own":
            rows.append({**deal, "stage": "cancelled", "close_date": when.isoformat()})
        elif how == "own_kept_date":
            rows.append({**deal, "stage": "cancelled"})
        else:
            rows.append(deal)
            rows.append({**deal, "deal_id": f"{deal['deal_id']}X", "stage": "cancelled",
                         "close_date": when.isoformat()})  # fmt: skip
    return rows
