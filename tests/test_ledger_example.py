"""The ledger's worked example (tests/fixtures/examples/ledger, RULES.md 11): three quarters
run and closed in order through the CLI, as the example's README says, on a copy of the
example (its ledger folder is created beside the config); every quarter's payouts, deal
bonuses and ledger exception rows compared to the cent with the expected files."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLES
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.errors import DataError
from incentcalc.history import read_history
from incentcalc.result import DEAL_BONUS_COLUMNS, PAYOUT_COLUMNS

LEDGER = EXAMPLES / "ledger"
PERIODS = ("2026Q1", "2026Q2", "2026Q3")
TEXT_COLUMNS = {"period", "partner_id", "partner_name", "segment", "region", "team_id", "status",
                "tier", "earned_tier", "team_tier", "cap_applied", "payout_currency"}  # fmt: skip
runner = CliRunner()


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def same_row(got: dict[str, str], want: dict[str, str], columns: tuple[str, ...]) -> None:
    """Text columns equal as text, the others as exact decimals (`1.08` == `1.080000`)."""
    for column in columns:
        where = (want.get("partner_id"), want.get("deal_id"), column)
        if column in TEXT_COLUMNS or column in {"deal_id", "customer_id", "close_date"}:
            assert got[column] == want[column], where
        else:
            assert Decimal(got[column]) == Decimal(want[column]), where


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """run -> close -> run ... for the three quarters; the run folders by period."""
    root = tmp_path_factory.mktemp("ledger")
    example = root / "example"
    shutil.copytree(LEDGER, example)
    config = str(example / "program.yaml")
    folders: dict[str, Path] = {}
    for period in PERIODS:
        out = root / "out" / period
        cli("run", "--config", config, "--period", period, "--out", str(out), "--quiet")
        cli("close", "--config", config, "--run", str(out), "--quiet")
        folders[period] = out
    return folders


@pytest.mark.parametrize("period", PERIODS)
def test_payouts_match_the_expected_file_to_the_cent(runs: dict[str, Path], period: str) -> None:
    got = read_rows(runs[period] / "payouts.csv")
    want = read_rows(LEDGER / f"expected_payouts_{period}.csv")
    assert [r["partner_id"] for r in got] == [r["partner_id"] for r in want]
    for got_row, want_row in zip(got, want, strict=True):
        same_row(got_row, want_row, tuple(c for c in PAYOUT_COLUMNS if c != "reason"))


@pytest.mark.parametrize("period", PERIODS)
def test_deal_bonuses_match_the_expected_file(runs: dict[str, Path], period: str) -> None:
    got = read_rows(runs[period] / "deal_bonuses.csv")
    want = read_rows(LEDGER / f"expected_deal_bonuses_{period}.csv")
    assert list(got[0]) == list(DEAL_BONUS_COLUMNS)
    assert [(r["partner_id"], r["deal_id"]) for r in got] == [
        (r["partner_id"], r["deal_id"]) for r in want
    ]
    for got_row, want_row in zip(got, want, strict=True):
        same_row(got_row, want_row, DEAL_BONUS_COLUMNS)


@pytest.mark.parametrize("period", PERIODS)
def test_ledger_exception_rows_are_exactly_the_expected_ones(
    runs: dict[str, Path], period: str
) -> None:
    got = [r for r in read_rows(runs[period] / "exceptions.csv") if r["kind"] == "ledger"]
    want = [
        r for r in read_rows(LEDGER / "expected_ledger_exceptions.csv") if r["period"] == period
    ]
    assert [(r["rule"], r["partner_id"], r["deal_id"]) for r in got] == [
        (r["rule"], r["partner_id"], r["deal_id"]) for r in want
    ]
    for got_row, want_row in zip(got, want, strict=True):
        assert want_row["cancellation_deal_id"] in got_row["detail"]
        assert want_row["amount"] in got_row["detail"]


def test_clawback_detail_names_the_deal_period_the_cancellation_and_its_date(
    runs: dict[str, Path],
) -> None:
    rows = read_rows(runs["2026Q2"] / "exceptions.csv")
    (clawback,) = [r for r in rows if r["rule"] == "clawback"]
    assert clawback["record_id"] == "D33"
    assert clawback["detail"] == (
        "deal D31 of 2026Q1 (closed 2026-03-20) clawed back: cancelled by D33 on 2026-04-29, "
        "40 days after closing; 2400.00"
    )
    (forfeit,) = [r for r in rows if r["rule"] == "forfeited_holdback"]
    assert forfeit["detail"] == (
        "holdback of 2026Q1 due for release in 2026Q2; 400.00 forfeited: the partner is "
        "ineligible in 2026Q2 (left program on 2026-05-15)"
    )


def test_ledger_lines_record_the_clawback_and_the_forfeit_of_2026q2(runs: dict[str, Path]) -> None:
    lines = pl.read_parquet(runs["2026Q2"] / "ledger_lines.parquet")
    assert lines.select("kind", "partner_id", "deal_id", "deal_period", "cancellation_deal_id",
                        pl.col("cancelled_on").cast(pl.String),
                        pl.col("amount").cast(pl.String)).rows() == [
        ("clawback", "L3", "D31", "2026Q1", "D33", "2026-04-29", "2400.00"),
        ("forfeited_holdback", "L6", None, None, None, None, "400.00"),
    ]  # fmt: skip
    assert pl.read_parquet(runs["2026Q1"] / "ledger_lines.parquet").height == 0
    assert pl.read_parquet(runs["2026Q3"] / "ledger_lines.parquet").height == 0


def test_grace_is_named_in_the_reason_and_only_where_it_applied(runs: dict[str, Path]) -> None:
    graced = {
        (period, row["partner_id"])
        for period in PERIODS
        for row in read_rows(runs[period] / "payouts.csv")
        if "tier grace" in row["reason"]
    }
    assert graced == {("2026Q2", "L2"), ("2026Q2", "L3"), ("2026Q2", "L6"), ("2026Q3", "L4")}


def test_manifest_records_the_release_delay_in_force(runs: dict[str, Path]) -> None:
    manifest = json.loads((runs["2026Q2"] / "manifest.json").read_text())
    assert manifest["ledger"]["holdback_release_after"] == 1
    assert manifest["ledger"]["lines"] == {"clawback": "2400.00", "forfeited_holdback": "400.00"}


def explain(runs: dict[str, Path], period: str, partner: str, *extra: str) -> str:
    """explain on the example copy the fixture ran (entries before `period` as history)."""
    config = runs[period].parents[1] / "example" / "program.yaml"
    result = runner.invoke(
        app,
        ["explain", "--config", str(config), "--period", period, "--partner", partner, *extra],
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_explain_json_lists_each_ledger_line_with_where_it_came_from(
    runs: dict[str, Path],
) -> None:
    document = json.loads(explain(runs, "2026Q2", "L3", "--json"))
    steps = {s["step"]: (s["amount"], s["how"]) for s in document["payout_steps"]}
    assert steps["clawback"] == (
        "2400.00",
        "deal D31 of 2026Q1 (closed 2026-03-20) clawed back: cancelled by D33 on 2026-04-29, "
        "40 days after closing",
    )
    assert steps["holdback released"] == (
        "400.00",
        "holdback of 2026Q1 released (1 quarter(s) later)",
    )
    assert steps["net"][1] == (
        "gross - holdback + adjustments + loyalty bonus + carried in + holdback released - clawback"
    )
    assert document["tier"]["earned"] == "Silver"
    assert document["tier"]["grace"] == "tier grace: Gold kept, quarter 1 of 1 (earned Silver)"
    bonuses = {d["deal_id"]: d["bonus"] for d in document["deals"]}
    assert bonuses == {"D31": None, "D33": None, "D35": "3600.00"}  # D31: Q1, near


def test_explain_tree_shows_carry_release_and_milestones(runs: dict[str, Path]) -> None:
    l4 = explain(runs, "2026Q2", "L4")
    assert "carried in: -64.00  (carried in from 2026Q1 (status negative there))" in l4
    l1 = " ".join(explain(runs, "2026Q2", "L1").split())
    assert "loyalty bonus: 1,000.00 (Gold streak 2 of 2: milestone paid" in l1
    l1_next = " ".join(explain(runs, "2026Q3", "L1").split())
    assert "Gold streak 1 of 2: the milestone pays 1000.00 in 2026Q4 if the tier holds" in l1_next
    l6 = " ".join(explain(runs, "2026Q2", "L6").split())
    assert "forfeited_holdback" in l6 and "400.00 forfeited" in l6


def test_recalculating_a_closed_quarter_gives_the_same_bytes(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """2026Q2 again on the entry of 2026Q1 only (a marked recalculation): every ledger file
    is byte for byte what was closed, whatever was closed after it."""
    config = runs["2026Q2"].parents[1] / "example" / "program.yaml"
    again = tmp_path / "again"
    cli("run", "--config", str(config), "--period", "2026Q2", "--recalculate", "--out",
        str(again), "--no-statements", "--quiet")  # fmt: skip
    for name in ("payouts.csv", "payouts.parquet", "deal_bonuses.csv", "deal_bonuses.parquet",
                 "ledger_lines.parquet", "exceptions.csv"):  # fmt: skip
        assert (again / name).read_bytes() == (runs["2026Q2"] / name).read_bytes(), name


def test_without_a_ledger_a_run_still_writes_deal_bonuses_and_empty_ledger_lines(
    tmp_path: Path,
) -> None:
    out = tmp_path / "basic"
    cli("run", "--config", str(EXAMPLES / "basic" / "program.yaml"), "--period", "2026Q3",
        "--out", str(out), "--no-statements", "--quiet")  # fmt: skip
    payouts = {r["partner_id"]: r for r in read_rows(out / "payouts.csv")}
    bonuses = pl.read_parquet(out / "deal_bonuses.parquet")
    assert bonuses.height == len(read_rows(out / "deal_bonuses.csv")) > 0
    sums = bonuses.group_by("partner_id").agg(pl.col("bonus").sum(), pl.col("amount_base").sum())
    for pid, bonus, amounts in sums.iter_rows():
        assert payouts[pid]["status"] != "ineligible"
        assert amounts == Decimal(payouts[pid]["bonus_base"])
        assert bonus == Decimal(payouts[pid]["gross"]), pid
    lines = pl.read_parquet(out / "ledger_lines.parquet")
    assert lines.height == 0
    assert lines.columns == ["period", "kind", "partner_id", "deal_id", "deal_period",
                             "cancellation_deal_id", "cancelled_on", "amount"]  # fmt: skip


def test_an_entry_without_the_release_delay_is_reported_not_guessed(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "entry"
    shutil.copytree(runs["2026Q1"], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["ledger"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"no ledger\.holdback_release_after"):
        read_history([folder], 1)
    history = read_history([runs["2026Q1"], runs["2026Q2"]], 1)
    assert [e.period.label for e in history.entries] == ["2026Q1", "2026Q2"]
    assert [e.release_period.label for e in history.entries] == ["2026Q2", "2026Q3"]
