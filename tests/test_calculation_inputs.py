"""`engine.quarter.calculation_inputs`: the validated inputs handed over to the calculation
with only the rows it reads, so a run holds each window once (issue 28). The quarter it
calculates is the one calculated from the inputs as validated."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from incentcalc.config import ProgramConfig, SourceName, load_config
from incentcalc.engine.quarter import calculate_quarter, calculation_inputs
from incentcalc.engine.scope import compute_scope
from incentcalc.history import ClosedPeriod, History
from incentcalc.io.validation import load_inputs
from incentcalc.periods import parse_period

REPO = Path(__file__).resolve().parents[1]
PERIOD = parse_period("2026Q3")
NARROWED = (SourceName.DEALS, SourceName.NPS, SourceName.RENEWALS)


@pytest.fixture(scope="module")
def config() -> ProgramConfig:
    return load_config(REPO / "sample_data" / "program.yaml")


def test_the_quarter_is_the_same_from_the_narrowed_inputs(config: ProgramConfig) -> None:
    whole = load_inputs(config, PERIOD)
    expected = calculate_quarter(config, PERIOD, whole)
    narrowed = calculation_inputs(load_inputs(config, PERIOD), config, PERIOD)
    got = calculate_quarter(config, PERIOD, narrowed)
    for table in ("payouts", "kpis", "exceptions", "deal_lines", "nps_lines", "renewal_lines",
                  "deal_bonuses", "ledger_lines", "ledger_notes", "details"):  # fmt: skip
        tables = [getattr(result, table) for result in (got, expected)]
        # the line tables are lazy queries whose row order is not part of their result
        # (their readers order them): compared as sets of rows
        frames = [t.collect().sort(pl.all()) if isinstance(t, pl.LazyFrame) else t for t in tables]
        assert frames[0].equals(frames[1]), table
    assert got.budget == expected.budget


def test_only_in_scope_partners_rows_are_kept_in_file_order(config: ProgramConfig) -> None:
    whole = load_inputs(config, PERIOD)
    before = {name: whole[name].clone() for name in NARROWED}
    narrowed = calculation_inputs(whole, config, PERIOD)
    in_scope = compute_scope(narrowed[SourceName.PARTNERS], PERIOD, "USD")["partner_id"]
    for name in NARROWED:
        kept = before[name].filter(pl.col("partner_id").is_in(in_scope.implode()))
        assert narrowed[name]["_row"].to_list() == kept["_row"].to_list(), name
        assert narrowed[name].equals(
            before[name].filter(pl.col("_row").is_in(kept["_row"].implode()))
        )
    assert sum(before[name].height - narrowed[name].height for name in NARROWED) > 0
    assert narrowed[SourceName.TARGETS] is whole[SourceName.TARGETS]


def test_the_deals_stay_whole_when_clawbacks_may_apply(config: ProgramConfig) -> None:
    """A cancellation of any partner, dated before the rows the engine reads, can take back a
    stored share (RULES.md 11.5): with clawbacks and closed entries the deals stay whole."""
    clawing = config.model_copy(
        update={"payout": config.payout.model_copy(update={"clawback_within_days": 90})}
    )
    history = History(entries=(pytest.importorskip("unittest.mock").Mock(spec=ClosedPeriod),))
    whole = load_inputs(config, PERIOD)
    deals = whole[SourceName.DEALS]
    narrowed = calculation_inputs(whole, clawing, PERIOD, history)
    assert narrowed[SourceName.DEALS] is deals
    fresh = load_inputs(config, PERIOD)  # `whole` gave up its NPS responses and renewals
    narrowed = calculation_inputs(fresh, clawing, PERIOD, History.empty())
    assert narrowed[SourceName.DEALS].height < deals.height
