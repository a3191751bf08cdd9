"""RULES.md 11 one rule at a time: tiny inputs for 2026Q3 on top of hand-built closed
quarters, figures to the cent, with the edge cases the section spells out."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from builders import deal, inputs, partner, program

from incentcalc.config import Metric, SourceName
from incentcalc.engine.clawbacks import match_clawbacks
from incentcalc.engine.deal_bonuses import compute_deal_bonuses
from incentcalc.engine.invariants import check_invariants
from incentcalc.engine.quarter import calculate_quarter
from incentcalc.errors import InvariantError
from incentcalc.history import ClosedPeriod, History
from incentcalc.periods import parse_period
from incentcalc.result import DEAL_BONUS_SCHEMA, LEDGER_LINE_SCHEMA, QuarterResult

Q1, Q2, Q3 = (parse_period(f"2026Q{q}") for q in (1, 2, 3))
MONEY = pl.Decimal(38, 2)

BASE = """
program: {name: T, base_currency: USD}
kpis:
  revenue: {metric: revenue, score: {attainment: {threshold: 0, cap: 2}}}
segments:
  reseller: {weights: {revenue: 1}, targets: {revenue: 100000}}
tiers:
  - {name: Bronze, min_score: 0, rate: 0.01}
  - {name: Silver, min_score: 0.6, rate: 0.02}
  - {name: Gold, min_score: 1.0, rate: 0.04}
"""


def config(extra: str = "") -> str:
    return BASE + extra


def entry(
    period: Any,
    payouts: list[dict[str, Any]],
    *,
    deals: list[dict[str, Any]] | None = None,
    lines: list[dict[str, Any]] | None = None,
    release_after: int = 1,
) -> ClosedPeriod:
    """A closed period from payout rows (partner_id, tier, earned_tier, holdback,
    carried_forward, status default payable) and deal bonus rows."""
    rows = [
        {"status": "payable", "holdback": "0", "carried_forward": "0", "payable": "0", **r,
         "earned_tier": r.get("earned_tier", r.get("tier", "Bronze")),
         "tier": r.get("tier", "Bronze")}
        for r in payouts
    ]  # fmt: skip
    frame = pl.DataFrame(
        rows,
        schema={"partner_id": pl.String, "status": pl.String, "tier": pl.String,
                "earned_tier": pl.String, "holdback": pl.String, "carried_forward": pl.String,
                "payable": pl.String},
    ).with_columns(pl.col("holdback", "carried_forward", "payable").cast(MONEY))  # fmt: skip
    bonuses = pl.DataFrame(
        [{"period": period.label, "amount_base": "0", **d} for d in deals or []],
        schema={
            **DEAL_BONUS_SCHEMA,
            "amount_base": pl.String,
            "bonus": pl.String,
            "close_date": pl.String,
        },
    ).with_columns(pl.col("amount_base", "bonus").cast(MONEY), pl.col("close_date").str.to_date())
    ledger = pl.DataFrame(
        lines or [],
        schema={**LEDGER_LINE_SCHEMA, "amount": pl.String, "cancelled_on": pl.String},
    ).with_columns(pl.col("amount").cast(MONEY), pl.col("cancelled_on").str.to_date())
    return ClosedPeriod(period, frame, bonuses, ledger, release_after)


def stored(deal_id: str, pid: str, customer: str, close: str, bonus: str) -> dict[str, Any]:
    return {"deal_id": deal_id, "partner_id": pid, "customer_id": customer,
            "close_date": close, "bonus": bonus}  # fmt: skip


def cancel(deal_id: str, pid: str, customer: str, on: str) -> dict[str, Any]:
    return {**deal(deal_id, pid, "1", on), "customer_id": customer, "stage": "cancelled"}


def run(text: str, history: History, **sources: list[dict[str, Any]]) -> QuarterResult:
    sources.setdefault("partners", [partner("P1")])
    return calculate_quarter(program(text), Q3, inputs(**sources), history=history)


def row(result: QuarterResult, pid: str = "P1") -> dict[str, Any]:
    return result.payouts.filter(pl.col("partner_id") == pid).row(0, named=True)


def ledger_rows(result: QuarterResult) -> list[tuple[Any, ...]]:
    return result.ledger_lines.select(
        "kind", "partner_id", "deal_id", "cancellation_deal_id", pl.col("amount").cast(pl.String)
    ).rows()


# 11.2 deal bonuses ------------------------------------------------------------------------


def deal_frame(rows: list[tuple[str, str, str, bool, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"deal_id": d, "partner_id": p, "customer_id": "C", "close_date": date(2026, 8, 1),
          "amount_base": Decimal(a), "counted": c, "credit": False, "deal_type": t}
         for d, p, a, c, t in rows],
        schema_overrides={"amount_base": MONEY},
    )  # fmt: skip


def gross_frame(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"partner_id": p, "status": s, "gross": Decimal(g)} for p, s, g in rows],
        schema_overrides={"gross": MONEY},
    )


def test_deal_bonus_leftover_cent_goes_to_the_largest_remainder_ties_by_deal_id_as_text() -> None:
    deals = deal_frame(
        [("D9", "P", "1", True, "new"), ("D10", "P", "1", True, "new"),
         ("D11", "P", "1", True, "new"), ("D12", "P", "0", True, "new")]
    )  # fmt: skip
    got = compute_deal_bonuses(gross_frame([("P", "payable", "100.00")]), deals, Metric.REVENUE, Q3)
    # 100 / 3 each: equal remainders, "D10" < "D11" < "D9" as text
    assert dict(got.select("deal_id", "bonus").rows()) == {
        "D10": Decimal("33.34"), "D11": Decimal("33.33"), "D12": Decimal("0.00"),
        "D9": Decimal("33.33"),
    }  # fmt: skip
    assert got["deal_id"].to_list() == ["D10", "D11", "D12", "D9"]


def test_deal_bonuses_only_for_base_deals_of_partners_that_are_not_ineligible() -> None:
    deals = deal_frame(
        [("A1", "A", "300", True, "new"), ("A2", "A", "100", True, "expansion"),
         ("A3", "A", "500", False, "expansion"), ("B1", "B", "100", True, "new"),
         ("H1", "H", "50", True, "expansion"), ("Z1", "Z", "0", True, "expansion")]
    )  # fmt: skip
    grosses = gross_frame([("A", "payable", "10.00"), ("B", "ineligible", "0.00"),
                           ("H", "held", "7.77"), ("Z", "payable", "500.00")])  # fmt: skip
    got = compute_deal_bonuses(grosses, deals, Metric.EXPANSION_REVENUE, Q3)
    # expansion base: A's new deal and uncounted deal are not base deals; Z sums to 0
    assert got.select("deal_id", pl.col("bonus").cast(pl.String)).rows() == [
        ("A2", "10.00"), ("H1", "7.77"), ("Z1", "0.00"),
    ]  # fmt: skip
    assert set(got["period"]) == {"2026Q3"}


def test_every_run_writes_deal_bonuses_that_add_up_to_the_gross() -> None:
    deals = [deal("D1", "P1", "70000"), deal("D2", "P1", "20000.01"), deal("D3", "P1", "9999.99")]
    result = run(config(), History.empty(), deals=deals)
    gross = row(result)["gross"]
    assert gross == Decimal("4000.00")
    assert result.deal_bonuses["bonus"].to_list() == [
        Decimal("2800.00"), Decimal("800.00"), Decimal("400.00"),
    ]  # fmt: skip


# 11.3 and 11.4: carry-forward and holdback release -------------------------------------------


def test_carried_in_is_the_p_minus_1_carried_forward_and_the_holdback_of_k_ago_is_released() -> (
    None
):
    history = History((
        entry(Q1, [{"partner_id": "P1", "holdback": "30.00"}], release_after=2),
        entry(Q2, [{"partner_id": "P1", "holdback": "20.00", "carried_forward": "-64.00",
                    "status": "negative"}], release_after=2),
    ))  # fmt: skip
    result = run(
        config("payout: {holdback_pct: 0.1}\n"), history, deals=[deal("D1", "P1", "10000")]
    )
    got = row(result)
    # K = 2: Q1's holdback is released in Q3, Q2's in Q4
    assert (got["carried_in"], got["holdback_released"]) == (Decimal("-64.00"), Decimal("30.00"))
    assert got["gross"] == Decimal("100.00")
    assert got["net"] == Decimal("100.00") - Decimal("10.00") - Decimal("64.00") + Decimal("30.00")
    notes = result.ledger_notes.filter(pl.col("partner_id") == "P1")["note"].to_list()
    assert "holdback of 2026Q1 released (2 quarter(s) later)" in notes
    assert "carried in from 2026Q2 (status negative there)" in notes


def test_carry_and_holdback_of_an_ineligible_partner_are_forfeited_and_recorded() -> None:
    history = History((entry(Q2, [
        {"partner_id": "P1", "holdback": "40.00", "carried_forward": "120.00", "status": "held"},
        {"partner_id": "GONE", "holdback": "15.00", "carried_forward": "-5.00",
         "status": "negative"},
    ]),))  # fmt: skip
    partners = [partner("P1", status="terminated")]
    result = run(config(), history, partners=partners, deals=[deal("D1", "P1", "10000")])
    got = row(result)
    assert [got[c] for c in ("carried_in", "holdback_released", "loyalty_bonus", "net")] == [0] * 4
    assert ledger_rows(result) == [
        ("forfeited_carry", "GONE", None, None, "-5.00"),
        ("forfeited_holdback", "GONE", None, None, "15.00"),
        ("forfeited_carry", "P1", None, None, "120.00"),
        ("forfeited_holdback", "P1", None, None, "40.00"),
    ]
    details = result.exceptions.filter(pl.col("kind") == "ledger")["detail"].to_list()
    assert details[0] == (
        "carried in from 2026Q2 (status negative there); -5.00 forfeited: the partner is not "
        "in scope in 2026Q3"
    )
    assert details[3].endswith("40.00 forfeited: the partner is ineligible in 2026Q3 (terminated)")


# 11.5 clawbacks (the matching, on the deals export) ------------------------------------------


def claws(history: History, cancellations: list[dict[str, Any]], days: int = 90) -> list[Any]:
    deals = inputs(deals=cancellations)
    matched = match_clawbacks(deals[SourceName.DEALS], history, days, Q3)
    return matched.select(
        "deal_id", "cancellation_deal_id", pl.col("amount").cast(pl.String)
    ).rows()


def test_own_deal_cancelled_before_its_close_date_is_not_clawed_back() -> None:
    history = History((entry(Q2, [], deals=[stored("D1", "P1", "C1", "2026-06-10", "50.00")]),))
    assert claws(history, [cancel("D1", "P1", "C1", "2026-06-09")]) == []
    assert claws(history, [cancel("D1", "P1", "C1", "2026-06-10")]) == [("D1", "D1", "50.00")]


def test_other_deal_cancelled_inside_the_deals_period_is_ignored() -> None:
    history = History((entry(Q2, [], deals=[stored("D1", "P1", "C1", "2026-05-10", "50.00")]),))
    assert claws(history, [cancel("X1", "P1", "C1", "2026-06-30")]) == []
    assert claws(history, [cancel("X1", "P1", "C1", "2026-07-01")]) == [("D1", "X1", "50.00")]
    # another customer or another partner does not match
    assert claws(history, [cancel("X1", "P1", "C2", "2026-07-01")]) == []
    assert claws(history, [cancel("X1", "P2", "C1", "2026-07-01")]) == []


def test_window_is_at_most_n_days_after_closing() -> None:
    history = History((entry(Q2, [], deals=[stored("D1", "P1", "C1", "2026-06-10", "50.00")]),))
    assert claws(history, [cancel("X1", "P1", "C1", "2026-09-08")]) == [("D1", "X1", "50.00")]
    assert claws(history, [cancel("X1", "P1", "C1", "2026-09-09")]) == []
    assert claws(history, [cancel("X1", "P1", "C1", "2026-09-08")], days=89) == []


def test_two_cancellations_one_deal_the_earlier_takes_it_the_later_takes_the_next() -> None:
    history = History((entry(Q2, [], deals=[
        stored("D1", "P1", "C1", "2026-06-20", "10.00"),
        stored("D2", "P1", "C1", "2026-06-20", "20.00"),
        stored("D3", "P1", "C1", "2026-05-01", "30.00"),
    ]),))  # fmt: skip
    # latest close_date first, ties deal_id ascending: X1 (earliest) takes D1, X0 takes D2
    got = claws(
        history, [cancel("X1", "P1", "C1", "2026-07-02"), cancel("X0", "P1", "C1", "2026-07-03")]
    )
    assert got == [("D1", "X1", "10.00"), ("D2", "X0", "20.00")]
    # same date: deal_id orders the cancellations; the third cancellation gets D3; a fourth none
    got = claws(history, [cancel(c, "P1", "C1", "2026-07-05") for c in ("X3", "X1", "X2", "X4")])
    assert sorted(got) == [("D1", "X1", "10.00"), ("D2", "X2", "20.00"), ("D3", "X3", "30.00")]


def test_uncontested_cancellations_settle_beside_contested_ones_as_in_strict_order() -> None:
    history = History((entry(Q2, [], deals=[
        stored("D1", "P1", "C1", "2026-06-20", "10.00"),
        stored("D2", "P1", "C1", "2026-06-10", "20.00"),
        stored("D5", "P1", "C2", "2026-06-01", "50.00"),
        stored("D6", "P1", "C2", "2026-05-01", "60.00"),
        stored("D7", "P2", "C3", "2026-06-15", "70.00"),
    ]),))  # fmt: skip
    got = claws(history, [
        # C1: X1 and X0 both want D1 (the latest); X1 is earlier, so X0 falls back to D2
        cancel("X0", "P1", "C1", "2026-07-03"), cancel("X1", "P1", "C1", "2026-07-02"),
        # C2: Y1 alone takes the latest deal, D5, whatever happens in C1
        cancel("Y1", "P1", "C2", "2026-07-09"),
        # C3: X9 (earlier) takes D7 before D7's own cancellation row, which then gets nothing
        cancel("D7", "P2", "C3", "2026-07-10"), cancel("X9", "P2", "C3", "2026-07-05"),
    ])  # fmt: skip
    assert got == [
        ("D1", "X1", "10.00"), ("D2", "X0", "20.00"), ("D5", "Y1", "50.00"),
        ("D7", "X9", "70.00"),
    ]  # fmt: skip


def test_a_stored_deal_id_only_matches_its_own_deal_and_each_deal_goes_once() -> None:
    history = History((
        entry(Q1, [], deals=[stored("D1", "P1", "C1", "2026-03-20", "40.00")]),
        entry(Q2, [], deals=[stored("D2", "P1", "C1", "2026-05-01", "25.00"),
                             stored("D0", "P1", "C1", "2026-04-01", "0.00")],
              lines=[{"period": "2026Q2", "kind": "clawback", "partner_id": "P1",
                      "deal_id": "D1", "deal_period": "2026Q1", "cancellation_deal_id": "X9",
                      "cancelled_on": "2026-04-29", "amount": "40.00"}]),
    ))  # fmt: skip
    # D1 was clawed back in Q2: its own cancellation row matches nothing (not D2 either)
    assert claws(history, [cancel("D1", "P1", "C1", "2026-07-01")]) == []
    # D0 (a zero share) is stored: its row matches nothing else; X9 was used up in Q2
    assert claws(history, [cancel("D0", "P1", "C1", "2026-07-01")]) == []
    assert claws(history, [cancel("X9", "P1", "C1", "2026-07-01")]) == []
    assert claws(history, [cancel("X8", "P1", "C1", "2026-07-01")]) == [("D2", "X8", "25.00")]


def test_an_earlier_cancellation_of_the_customer_can_take_the_deal_its_own_row_names() -> None:
    history = History((entry(Q2, [], deals=[
        stored("D1", "P1", "C1", "2026-05-01", "10.00"),
        stored("D2", "P1", "C1", "2026-06-01", "20.00"),
    ]),))  # fmt: skip
    # X1 (earlier) takes the latest deal D2; D2's own cancellation row then finds it taken
    got = claws(history, [cancel("X1", "P1", "C1", "2026-07-01"),
                          cancel("D2", "P1", "C1", "2026-07-05")])  # fmt: skip
    assert got == [("D2", "X1", "20.00")]
    # the own-deal row matches even when the CRM moved it to another partner and customer
    assert claws(history, [cancel("D1", "P7", "C7", "2026-07-05")]) == [("D1", "D1", "10.00")]


def test_clawback_is_the_whole_share_and_unrecovered_when_the_partner_is_gone() -> None:
    history = History((entry(Q2, [{"partner_id": "P1"}, {"partner_id": "P2"}], deals=[
        stored("D1", "P1", "C1", "2026-06-01", "55.55"),
        stored("D2", "P2", "C2", "2026-06-01", "44.44"),
    ]),))  # fmt: skip
    deals = [deal("N1", "P1", "10000"), cancel("X1", "P1", "C1", "2026-08-01"),
             cancel("X2", "P2", "C2", "2026-08-02")]  # fmt: skip
    clawback = config("payout: {clawback_within_days: 90}\n")
    result = run(clawback, history, deals=deals)
    got = row(result)
    assert (got["gross"], got["clawback"], got["net"]) == (
        Decimal("100.00"), Decimal("55.55"), Decimal("44.45"),
    )  # fmt: skip
    assert ledger_rows(result) == [
        ("clawback", "P1", "D1", "X1", "55.55"),
        ("unrecovered_clawback", "P2", "D2", "X2", "44.44"),
    ]
    # without clawback_within_days nothing is clawed back
    assert row(run(config(), history, deals=deals))["clawback"] == 0


# 11.6 tier grace -------------------------------------------------------------------------------


def test_grace_keeps_the_previous_tier_for_g_quarters_then_lets_go() -> None:
    deals = [deal("D1", "P1", "70000")]  # earns Silver
    grace2 = config("tier_grace_quarters: 2\n")
    one_back = History((entry(Q2, [{"partner_id": "P1", "tier": "Gold"}]),))
    got = row(run(grace2, one_back, deals=deals))
    assert (got["tier"], got["earned_tier"], got["individual_bonus"]) == (
        "Gold", "Silver", Decimal("2800.00"),
    )  # fmt: skip
    assert got["reason"] == "tier grace: Gold kept, quarter 1 of 2 (earned Silver)"
    kept_once = History((
        entry(Q1, [{"partner_id": "P1", "tier": "Gold"}]),
        entry(Q2, [{"partner_id": "P1", "tier": "Gold", "earned_tier": "Bronze"}]),
    ))  # fmt: skip
    assert "quarter 2 of 2" in row(run(grace2, kept_once, deals=deals))["reason"]
    kept_twice = History((
        entry(Q1, [{"partner_id": "P1", "tier": "Gold", "earned_tier": "Silver"}]),
        entry(Q2, [{"partner_id": "P1", "tier": "Gold", "earned_tier": "Bronze"}]),
    ))  # fmt: skip
    got = row(run(grace2, kept_twice, deals=deals))
    assert (got["tier"], got["reason"]) == ("Silver", None)
    assert row(run(config(), one_back, deals=deals))["tier"] == "Silver"  # G = 0


def test_grace_with_a_tier_name_no_longer_in_the_config_gives_none() -> None:
    history = History(
        (entry(Q2, [{"partner_id": "P1", "tier": "Diamond", "earned_tier": "Gold"}]),)
    )
    got = row(run(config("tier_grace_quarters: 1\n"), history, deals=[deal("D1", "P1", "70000")]))
    assert (got["tier"], got["earned_tier"]) == ("Silver", "Silver")


def test_grace_applies_to_ineligible_partners_but_team_tiers_have_none() -> None:
    partners = [partner("A", team_id="T"), partner("B", team_id="T"),
                partner("X", status="terminated"), partner("S")]  # fmt: skip
    deals = [deal("DA", "A", "70000"), deal("DB", "B", "70000"), deal("DX", "X", "10000"),
             deal("DS", "S", "70000")]  # fmt: skip
    history = History((entry(Q2, [{"partner_id": p, "tier": "Gold"} for p in "ABXS"]),))
    result = run(config("tier_grace_quarters: 1\n"), history, partners=partners, deals=deals)
    tiers = result.payouts.select("partner_id", "tier", "earned_tier", "team_tier").rows()
    assert tiers == [
        ("A", "Gold", "Silver", "Silver"),  # team tier from the team score, no grace
        ("B", "Gold", "Silver", "Silver"),
        ("S", "Gold", "Silver", "Gold"),  # no team: its own tier, grace included
        ("X", "Gold", "Bronze", "Gold"),
    ]


# 11.7 loyalty milestones ---------------------------------------------------------------------

LOYAL = config("payout:\n  loyalty:\n    - {tier: Silver, quarters: 2, bonus: 300}\n"
               "    - {tier: Gold, quarters: 1, bonus: 50}\n")  # fmt: skip


def test_quarters_1_pays_every_quarter_at_the_tier_even_without_a_ledger() -> None:
    gold = row(run(LOYAL, History.empty(), deals=[deal("D1", "P1", "100000")]))
    assert gold["loyalty_bonus"] == Decimal("50.00")  # Silver streak 1 of 2 pays nothing yet
    assert gold["net"] == gold["gross"] + Decimal("50.00")


def test_streak_counts_consecutive_quarters_and_a_missing_quarter_breaks_it() -> None:
    deals = [deal("D1", "P1", "70000")]  # Silver in Q3
    silver_q2 = History((entry(Q2, [{"partner_id": "P1", "tier": "Silver"}]),))
    assert row(run(LOYAL, silver_q2, deals=deals))["loyalty_bonus"] == Decimal("300.00")
    gap = History((entry(Q1, [{"partner_id": "P1", "tier": "Gold"}]),
                   entry(Q2, [{"partner_id": "P9", "tier": "Gold"}])))  # fmt: skip
    assert row(run(LOYAL, gap, deals=deals))["loyalty_bonus"] == 0
    three = History((entry(Q1, [{"partner_id": "P1", "tier": "Gold"}]),
                     entry(Q2, [{"partner_id": "P1", "tier": "Silver"}])))  # fmt: skip
    result = run(LOYAL, three, deals=deals)
    assert row(result)["loyalty_bonus"] == 0  # streak 3: not a multiple of 2
    (note,) = result.ledger_notes.filter(pl.col("line") == "loyalty_bonus")["note"].to_list()
    assert note == "Silver streak 1 of 2: the milestone pays 300.00 in 2026Q4 if the tier holds"


def test_a_quarter_without_an_entry_breaks_streaks_and_carries_nothing() -> None:
    history = History((entry(Q1, [{"partner_id": "P1", "tier": "Silver",
                                   "carried_forward": "80.00", "status": "held"}]),))  # fmt: skip
    got = row(run(LOYAL, history, deals=[deal("D1", "P1", "70000")]))
    assert (got["loyalty_bonus"], got["carried_in"]) == (0, 0)


def test_streak_uses_earned_tiers_and_a_tier_name_no_longer_listed_ends_it() -> None:
    deals = [deal("D1", "P1", "70000")]
    graced = History(
        (entry(Q2, [{"partner_id": "P1", "tier": "Silver", "earned_tier": "Bronze"}]),)
    )
    assert row(run(LOYAL, graced, deals=deals))["loyalty_bonus"] == 0
    renamed = History((entry(Q2, [{"partner_id": "P1", "tier": "Argent"}]),))
    assert row(run(LOYAL, renamed, deals=deals))["loyalty_bonus"] == 0


def test_loyalty_is_outside_the_cap_budget_and_holdback_and_zero_when_ineligible() -> None:
    text = LOYAL.replace(
        "payout:\n", "payout:\n  holdback_pct: 0.1\n  budget: 1000\n  cap: {amount: 2000}\n"
    )
    partners = [partner("P1"), partner("P2"), partner("X", status="terminated")]
    deals = [deal("D1", "P1", "150000"), deal("D2", "P2", "150000"), deal("D3", "X", "150000")]
    result = run(text, History.empty(), partners=partners, deals=deals)
    p1 = row(result, "P1")
    assert (p1["gross"], p1["holdback"], p1["loyalty_bonus"], p1["net"]) == (
        Decimal("500.00"), Decimal("50.00"), Decimal("50.00"), Decimal("500.00"),
    )  # fmt: skip
    assert row(result, "X")["loyalty_bonus"] == 0
    assert result.budget.total_capped == Decimal("4000.00")


# invariants ---------------------------------------------------------------------------------


def test_deal_bonuses_that_do_not_add_up_to_the_gross_stop_the_run() -> None:
    result = run(config(), History.empty(), deals=[deal("D1", "P1", "60000"),
                                                   deal("D2", "P1", "40000")])  # fmt: skip
    args = (result.config, result.payouts, result.kpis, result.budget)
    check_invariants(*args, result.deal_bonuses)
    off = result.deal_bonuses.with_columns(
        pl.when(pl.col("deal_id") == "D2").then(pl.lit("1599.99").cast(MONEY)).otherwise("bonus")
        .alias("bonus")
    )  # fmt: skip
    with pytest.raises(
        InvariantError, match=re.escape("partner P1, gross = 4000.00: deal bonuses do not")
    ):
        check_invariants(*args, off)
    with pytest.raises(InvariantError, match="base above 0 but no deal bonus rows"):
        check_invariants(*args, result.deal_bonuses.clear())
    clawback = result.payouts.with_columns(pl.lit(-1).cast(MONEY).alias("clawback"))
    with pytest.raises(InvariantError, match=re.escape("clawback = -1.00: negative")):
        check_invariants(result.config, clawback, result.kpis, result.budget)
