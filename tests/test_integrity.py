"""Integrity rules (RULES.md 10) on tiny literal frames, each rule at its edges.

The period is 2026Q3 (2026-07-01..2026-09-30) throughout; deals come from `builders.deal`
(closed_won, USD, registered 2026-01-01, customer C-<deal id>) with `amount_base` = amount.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from builders import deal, frame
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from incentcalc.config import (
    Action,
    DuplicateRule,
    Integrity,
    RegistrationRule,
    ReversalRule,
    SourceName,
    SpikeRule,
)
from incentcalc.engine.integrity import HIT_COLUMNS, HIT_SCHEMA, compute_integrity_hits
from incentcalc.periods import parse_period

Q3 = parse_period("2026Q3")


def deals(*rows: dict[str, Any]) -> pl.DataFrame:
    """Canonical deals frame plus `amount_base` (the base currency is USD here)."""
    built = frame(SourceName.DEALS, list(rows))
    return built.with_columns(pl.col("amount").alias("amount_base"))


def hits(rows: pl.DataFrame, rules: Integrity) -> list[tuple[str, str, str]]:
    """(deal_id, rule, action) of each hit, in output order."""
    found = compute_integrity_hits(rows, Q3, rules)
    return list(zip(found["deal_id"], found["rule"], found["action"], strict=True))


def details(rows: pl.DataFrame, rules: Integrity) -> list[str]:
    return compute_integrity_hits(rows, Q3, rules)["detail"].to_list()


DUPLICATES = Integrity(duplicate_deals=DuplicateRule())
REGISTRATION = Integrity(registration=RegistrationRule())


def spike(max_share: str, last_days: int = 10, action: Action = Action.FLAG) -> Integrity:
    return Integrity(
        quarter_end_spike=SpikeRule(
            last_days=last_days, max_share=Decimal(max_share), action=action
        )
    )


def reversal(within_days: int = 30) -> Integrity:
    return Integrity(reversal=ReversalRule(within_days=within_days))


# --- output shape -----------------------------------------------------------------------------


def test_no_configured_rule_yields_an_empty_frame_of_strings() -> None:
    rows = deals(deal("D1", "P1", "100.00", registered_on=None), deal("D2", "P1", "100.00"))
    found = compute_integrity_hits(rows, Q3, Integrity())
    assert_frame_equal(found, pl.DataFrame(schema=HIT_SCHEMA))


def test_an_empty_deals_frame_yields_no_hits_under_every_rule() -> None:
    rules = Integrity(
        duplicate_deals=DuplicateRule(),
        registration=RegistrationRule(),
        quarter_end_spike=SpikeRule(last_days=10, max_share=Decimal("0.5")),
        reversal=ReversalRule(within_days=30),
    )
    found = compute_integrity_hits(deals(), Q3, rules)
    assert_frame_equal(found, pl.DataFrame(schema=HIT_SCHEMA))


def test_hits_have_the_five_string_columns() -> None:
    rows = deals(deal("D1", "P1", "1.00", registered_on=None))
    found = compute_integrity_hits(rows, Q3, REGISTRATION)
    assert found.columns == list(HIT_COLUMNS)
    assert all(dtype == pl.String for dtype in found.dtypes)
    assert found.row(0) == (
        "D1",
        "P1",
        "registration",
        "exclude",
        "no registration date; closed 2026-08-01",
    )


# --- duplicate_deals --------------------------------------------------------------------------


def test_same_day_duplicates_keep_the_first_deal_id_as_text() -> None:
    """ "D10" < "D9" as text, so D10 is kept and D9 is the hit."""
    rows = deals(
        deal("D9", "P1", "100.00", customer_id="C1"),
        deal("D10", "P1", "100.00", customer_id="C1"),
    )
    assert hits(rows, DUPLICATES) == [("D9", "duplicate_deals", "exclude")]
    assert details(rows, DUPLICATES) == [
        "duplicate of D10 (kept): same customer C1, amount 100.00 USD, close date 2026-08-01"
    ]


def test_three_copies_give_two_hits() -> None:
    rows = deals(*(deal(f"D{i}", "P1", "5.00", customer_id="C1") for i in (1, 2, 3)))
    assert [h[0] for h in hits(rows, DUPLICATES)] == ["D2", "D3"]


@pytest.mark.parametrize(
    "twin",
    [
        {"amount": "100.01"},
        {"customer_id": "C2"},
        {"currency": "EUR"},
        {"close_date": "2026-08-02"},
        {"partner_id": "P2"},
        {"stage": "closed_lost"},
    ],
    ids=["amount", "customer", "currency", "close_date", "partner", "not_won"],
)
def test_a_deal_differing_in_one_key_is_not_a_duplicate(twin: dict[str, str]) -> None:
    first = deal("D1", "P1", "100.00", customer_id="C1")
    second = {**deal("D2", "P1", "100.00", customer_id="C1"), **twin}
    assert hits(deals(first, second), DUPLICATES) == []


def test_duplicates_outside_the_period_are_not_hits() -> None:
    rows = deals(
        deal("D1", "P1", "100.00", "2026-06-30", customer_id="C1"),
        deal("D2", "P1", "100.00", "2026-06-30", customer_id="C1"),
    )
    assert hits(rows, DUPLICATES) == []


# --- registration -----------------------------------------------------------------------------


def test_registration_on_the_close_date_is_in_time_the_day_after_or_never_is_not() -> None:
    rows = deals(
        deal("D1", "P1", "1.00", registered_on="2026-08-01"),
        deal("D2", "P1", "1.00", registered_on="2026-08-02"),
        deal("D3", "P1", "1.00", registered_on=None),
    )
    assert hits(rows, REGISTRATION) == [
        ("D2", "registration", "exclude"),
        ("D3", "registration", "exclude"),
    ]
    assert details(rows, REGISTRATION) == [
        "registered 2026-08-02, after the close date 2026-08-01",
        "no registration date; closed 2026-08-01",
    ]


def test_registration_not_required_switches_the_rule_off() -> None:
    rows = deals(deal("D1", "P1", "1.00", registered_on=None))
    assert hits(rows, Integrity(registration=RegistrationRule(required=False))) == []


def test_registration_only_examines_counted_deals() -> None:
    rows = deals(
        deal("D1", "P1", "1.00", stage="closed_lost", registered_on=None),
        deal("D2", "P1", "1.00", stage="open", registered_on=None),
        deal("D3", "P1", "1.00", "2026-10-01", registered_on=None),
    )
    assert hits(rows, REGISTRATION) == []


# --- quarter_end_spike ------------------------------------------------------------------------


def test_spike_share_exactly_at_max_share_is_no_hit() -> None:
    """Window 2026-09-21..2026-09-30 holds 60.00 of 100.00: 60% is not above 60%."""
    rows = deals(
        deal("D1", "P1", "40.00", "2026-09-20"),
        deal("D2", "P1", "60.00", "2026-09-21"),
    )
    assert hits(rows, spike("0.6")) == []


def test_spike_share_a_cent_above_max_share_hits_every_window_deal() -> None:
    rows = deals(
        deal("D1", "P1", "39.99", "2026-09-20"),
        deal("D2", "P1", "30.00", "2026-09-21"),
        deal("D3", "P1", "30.01", "2026-09-30"),
        deal("D4", "P2", "1.00", "2026-08-01"),
    )
    assert hits(rows, spike("0.6")) == [
        ("D2", "quarter_end_spike", "flag"),
        ("D3", "quarter_end_spike", "flag"),
    ]
    assert details(rows, spike("0.6"))[0] == (
        "60.01% of period revenue closed in the last 10 days (2026-09-21..2026-09-30): "
        "window revenue 60.01 of period revenue 100.00, above the 60% maximum"
    )


def test_spike_compares_exactly_beyond_the_share_places() -> None:
    """max_share 0.333333 of 3.00 is 0.999999: a window of 1.00 is above it."""
    rows = deals(deal("D1", "P1", "2.00", "2026-07-01"), deal("D2", "P1", "1.00", "2026-09-30"))
    assert [h[0] for h in hits(rows, spike("0.333333"))] == ["D2"]
    assert hits(rows, spike("0.333334")) == []


def test_spike_ignores_deals_not_counted_and_uses_amount_base() -> None:
    """A lost window deal adds nothing; amount_base (not amount) is the revenue."""
    rows = deals(
        deal("D1", "P1", "50.00", "2026-08-01"),
        deal("D2", "P1", "900.00", "2026-09-30", stage="closed_lost"),
        deal("D3", "P1", "10.00", "2026-09-30", currency="EUR"),
    ).with_columns(
        pl.when(pl.col("deal_id") == "D3")
        .then(pl.lit(Decimal("60.00")))
        .otherwise(pl.col("amount_base"))
        .cast(pl.Decimal(38, 2))
        .alias("amount_base")
    )
    assert [h[0] for h in hits(rows, spike("0.5"))] == ["D3"]


def test_spike_window_of_one_day_is_the_last_day() -> None:
    rows = deals(deal("D1", "P1", "1.00", "2026-09-29"), deal("D2", "P1", "1.00", "2026-09-30"))
    assert [h[0] for h in hits(rows, spike("0.4", last_days=1))] == ["D2"]
    assert hits(rows, spike("0.5", last_days=1)) == []


# --- reversal ---------------------------------------------------------------------------------


def cancelled(did: str, close: str) -> dict[str, Any]:
    """A cancellation of customer C1 by partner P1."""
    return deal(did, "P1", "100.00", close, stage="cancelled", customer_id="C1")


@pytest.mark.parametrize(
    ("cancelled_on", "is_hit"),
    [
        ("2026-09-01", True),  # same day
        ("2026-10-01", True),  # exactly within_days later, after the period
        ("2026-10-02", False),  # within_days + 1
        ("2026-08-31", False),  # before the won deal
    ],
    ids=["same_day", "within_days", "within_days_plus_one", "before"],
)
def test_reversal_window_is_zero_to_within_days_inclusive(cancelled_on: str, is_hit: bool) -> None:
    rows = deals(
        deal("D1", "P1", "100.00", "2026-09-01", customer_id="C1"),
        cancelled("X1", cancelled_on),
    )
    assert hits(rows, reversal(30)) == ([("D1", "reversal", "exclude")] if is_hit else [])


def test_reversal_detail_names_the_earliest_cancellation() -> None:
    rows = deals(
        deal("D1", "P1", "100.00", "2026-09-01", customer_id="C1"),
        cancelled("X9", "2026-09-20"),
        cancelled("X3", "2026-09-05"),
        cancelled("X2", "2026-09-05"),
        cancelled("X0", "2026-08-30"),
    )
    assert details(rows, reversal(30)) == [
        "cancelled by X2 on 2026-09-05, 4 day(s) after the close date 2026-09-01 (within 30)"
    ]


def test_reversal_needs_the_same_partner_and_customer() -> None:
    rows = deals(
        deal("D1", "P1", "100.00", "2026-09-01", customer_id="C1"),
        deal("X1", "P2", "100.00", "2026-09-02", stage="cancelled", customer_id="C1"),
        deal("X2", "P1", "100.00", "2026-09-02", stage="cancelled", customer_id="C2"),
    )
    assert hits(rows, reversal(30)) == []


def test_reversal_within_zero_days_means_same_day_only() -> None:
    rows = deals(
        deal("D1", "P1", "1.00", "2026-09-01", customer_id="C1"),
        deal("D2", "P1", "1.00", "2026-09-02", customer_id="C1"),
        cancelled("X1", "2026-09-01"),
    )
    assert [h[0] for h in hits(rows, reversal(0))] == ["D1"]


def test_reversal_of_a_won_deal_outside_the_period_is_not_a_hit() -> None:
    rows = deals(
        deal("D1", "P1", "100.00", "2026-06-30", customer_id="C1"),
        cancelled("X1", "2026-07-01"),
    )
    assert hits(rows, reversal(30)) == []


# --- order of rules ---------------------------------------------------------------------------


def _late_duplicates() -> pl.DataFrame:
    """D1 and D2 are twins (D1 kept); both were registered after they closed."""
    late = {"customer_id": "C1", "registered_on": "2026-08-05"}
    return deals(deal("D1", "P1", "100.00", **late), deal("D2", "P1", "100.00", **late))


def test_an_excluded_duplicate_is_not_also_a_late_registration() -> None:
    rules = Integrity(duplicate_deals=DuplicateRule(), registration=RegistrationRule())
    assert hits(_late_duplicates(), rules) == [
        ("D2", "duplicate_deals", "exclude"),
        ("D1", "registration", "exclude"),
    ]


def test_a_flagged_duplicate_is_still_examined_by_registration() -> None:
    rules = Integrity(
        duplicate_deals=DuplicateRule(action=Action.FLAG), registration=RegistrationRule()
    )
    assert hits(_late_duplicates(), rules) == [
        ("D2", "duplicate_deals", "flag"),
        ("D1", "registration", "exclude"),
        ("D2", "registration", "exclude"),
    ]


def test_excluded_deals_do_not_count_toward_spike_revenue() -> None:
    """Without the unregistered D1 (excluded) the window holds 60 of 100, not 60 of 200."""
    rows = deals(
        deal("D1", "P1", "100.00", "2026-08-01", registered_on=None),
        deal("D2", "P1", "40.00", "2026-08-01"),
        deal("D3", "P1", "60.00", "2026-09-30"),
    )
    rules = Integrity(
        registration=RegistrationRule(),
        quarter_end_spike=SpikeRule(last_days=10, max_share=Decimal("0.5")),
    )
    assert hits(rows, rules) == [
        ("D1", "registration", "exclude"),
        ("D3", "quarter_end_spike", "flag"),
    ]


def test_hold_keeps_the_deal_for_later_rules_and_output_sorts_by_rule_then_partner() -> None:
    rows = deals(
        deal("D2", "P2", "1.00", "2026-09-30", registered_on=None, customer_id="C1"),
        deal("D1", "P1", "1.00", "2026-09-30", registered_on=None, customer_id="C1"),
        cancelled("X1", "2026-10-01"),
    )
    rules = Integrity(
        registration=RegistrationRule(action=Action.HOLD), reversal=ReversalRule(within_days=5)
    )
    assert hits(rows, rules) == [
        ("D1", "registration", "hold"),
        ("D2", "registration", "hold"),
        ("D1", "reversal", "exclude"),
    ]


# --- properties -------------------------------------------------------------------------------

_DEAL = st.fixed_dictionaries(
    {
        "partner_id": st.sampled_from(["P1", "P2"]),
        "customer_id": st.sampled_from(["C1", "C2"]),
        "stage": st.sampled_from(["closed_won", "closed_won", "cancelled", "closed_lost"]),
        "close": st.sampled_from([-61, -60, 0, 20, 25, 29, 30, 31, 35]),
        "registered": st.one_of(st.none(), st.integers(min_value=-2, max_value=2)),
        "cents": st.integers(min_value=0, max_value=3),
    }
)


def _generated(specs: list[dict[str, Any]]) -> pl.DataFrame:
    def day(offset: int) -> str:
        return (Q3.start + timedelta(days=offset)).isoformat()

    return deals(
        *(
            deal(
                f"D{i}",
                spec["partner_id"],
                f"{spec['cents']}.00",
                day(spec["close"] + 60),
                customer_id=spec["customer_id"],
                stage=spec["stage"],
                registered_on=(
                    None
                    if spec["registered"] is None
                    else day(spec["close"] + 60 + spec["registered"])
                ),
            )
            for i, spec in enumerate(specs)
        )
    )


ALL_RULES = Integrity(
    duplicate_deals=DuplicateRule(),
    registration=RegistrationRule(action=Action.HOLD),
    quarter_end_spike=SpikeRule(last_days=15, max_share=Decimal("0.5"), action=Action.EXCLUDE),
    reversal=ReversalRule(within_days=10),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_DEAL, max_size=12))
def test_hits_are_in_period_won_deals_excluded_at_most_once_and_sorted(
    specs: list[dict[str, Any]],
) -> None:
    rows = _generated(specs)
    found = compute_integrity_hits(rows, Q3, ALL_RULES)
    eligible = rows.filter(
        (pl.col("stage") == "closed_won") & pl.col("close_date").is_between(Q3.start, Q3.end)
    )
    assert set(found["deal_id"]) <= set(eligible["deal_id"])
    excluded = found.filter(pl.col("action") == "exclude")["deal_id"]
    assert excluded.is_unique().all()
    order = {rule: i for i, rule in enumerate(Integrity.model_fields)}
    keys = [(order[r], p, d) for r, p, d in found.select("rule", "partner_id", "deal_id").rows()]
    assert keys == sorted(keys)


def test_period_boundary_dates_are_in_the_period() -> None:
    rows = deals(
        deal("D1", "P1", "1.00", Q3.start.isoformat(), registered_on=None),
        deal("D2", "P1", "1.00", Q3.end.isoformat(), registered_on=None),
        deal("D3", "P1", "1.00", (Q3.end + timedelta(days=1)).isoformat(), registered_on=None),
        deal("D4", "P1", "1.00", date(2026, 6, 30).isoformat(), registered_on=None),
    )
    assert [h[0] for h in hits(rows, REGISTRATION)] == ["D1", "D2"]


def _reference(rows: pl.DataFrame, rules: Integrity) -> list[tuple[str, str, str]]:
    """RULES.md 10 written out deal by deal in plain Python, to check the vectorised code."""
    records = rows.rows(named=True)
    standing = [
        r for r in records if r["stage"] == "closed_won" and Q3.start <= r["close_date"] <= Q3.end
    ]
    out: list[tuple[str, str, str, str]] = []

    def record(rule: str, action: Action, hit: list[dict[str, Any]]) -> None:
        nonlocal standing
        out.extend((rule, h["partner_id"], h["deal_id"], action.value) for h in hit)
        if action is Action.EXCLUDE:
            standing = [r for r in standing if all(r is not h for h in hit)]

    if rules.duplicate_deals is not None:
        key = ("partner_id", "customer_id", "amount", "currency", "close_date")
        firsts: dict[tuple[Any, ...], str] = {}
        for r in standing:
            k = tuple(r[c] for c in key)
            firsts[k] = min(firsts.get(k, r["deal_id"]), r["deal_id"])
        dup = [r for r in standing if r["deal_id"] != firsts[tuple(r[c] for c in key)]]
        record("duplicate_deals", rules.duplicate_deals.action, dup)
    if rules.registration is not None and rules.registration.required:
        late = [
            r
            for r in standing
            if r["registered_on"] is None or r["registered_on"] > r["close_date"]
        ]
        record("registration", rules.registration.action, late)
    if rules.quarter_end_spike is not None:
        rule = rules.quarter_end_spike
        start = Q3.end - timedelta(days=rule.last_days - 1)
        spiking = []
        for pid in {r["partner_id"] for r in standing}:
            mine = [r for r in standing if r["partner_id"] == pid]
            total = sum((r["amount_base"] for r in mine), Decimal(0))
            window = [r for r in mine if r["close_date"] >= start]
            if sum((r["amount_base"] for r in window), Decimal(0)) > rule.max_share * total:
                spiking.extend(window)
        record("quarter_end_spike", rule.action, spiking)
    if rules.reversal is not None:
        days = rules.reversal.within_days
        reversed_ = [
            r
            for r in standing
            if any(
                c["stage"] == "cancelled"
                and (c["partner_id"], c["customer_id"]) == (r["partner_id"], r["customer_id"])
                and 0 <= (c["close_date"] - r["close_date"]).days <= days
                for c in records
            )
        ]
        record("reversal", rules.reversal.action, reversed_)
    order = {rule: i for i, rule in enumerate(Integrity.model_fields)}
    out.sort(key=lambda hit: (order[hit[0]], hit[1], hit[2]))
    return [(deal_id, rule, action) for rule, _, deal_id, action in out]


_ACTIONS = st.sampled_from(list(Action))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_DEAL, max_size=14),
    st.tuples(_ACTIONS, _ACTIONS, _ACTIONS, _ACTIONS),
    st.integers(min_value=1, max_value=40),
    st.sampled_from(["0", "0.25", "0.5", "0.666667", "1"]),
    st.sampled_from([0, 1, 4, 5, 6, 10, 35]),
)
def test_vectorised_rules_agree_with_a_deal_by_deal_reading_of_the_spec(
    specs: list[dict[str, Any]],
    actions: tuple[Action, Action, Action, Action],
    last_days: int,
    max_share: str,
    within_days: int,
) -> None:
    rules = Integrity(
        duplicate_deals=DuplicateRule(action=actions[0]),
        registration=RegistrationRule(action=actions[1]),
        quarter_end_spike=SpikeRule(
            last_days=last_days, max_share=Decimal(max_share), action=actions[2]
        ),
        reversal=ReversalRule(within_days=within_days, action=actions[3]),
    )
    rows = _generated(specs)
    assert hits(rows, rules) == _reference(rows, rules)
