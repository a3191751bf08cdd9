"""Negative NPS (counts are unsigned in Polars: promoters - detractors must not wrap around)
and the invariants checked before anything is written (exit 4 instead of a wrong file)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

import incentcalc.engine.kpis
from incentcalc.api import load_program, run_quarter
from incentcalc.cli.app import app
from incentcalc.engine.invariants import check_invariants
from incentcalc.errors import InvariantError

runner = CliRunner()


def example_with_p8_scores(tmp_path: Path, scores: list[int]) -> Path:
    """The worked example with P8's NPS responses replaced by `scores` (all in 2026Q3)."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    nps = folder / "nps.csv"
    with nps.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["partner_id"] != "P8"]
    rows += [
        {"response_id": f"X{i}", "partner_id": "P8", "customer_id": f"C9{i}",
         "responded_on": "2026-07-15", "score": str(score)}
        for i, score in enumerate(scores)
    ]  # fmt: skip
    with nps.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def run_kpis(folder: Path, out: Path) -> dict[str, str]:
    result = runner.invoke(
        app,
        ["run", "--config", str(folder / "program.yaml"), "--period", "2026Q3", "--out",
         str(out), "--no-statements", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (out / "kpis.csv").open(encoding="utf-8") as handle:
        return {r["partner_id"]: r for r in csv.DictReader(handle) if r["metric"] == "nps"}["P8"]


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([9, 7, 3, 2, 1], "-40.0000"),  # 1 promoter, 3 detractors of 5
        ([0, 0, 0], "-100.0000"),  # only detractors
        ([6, 5, 4, 3], "-100.0000"),
        ([10, 9, 9], "100.0000"),
        ([9, 9, 9, 0, 0, 0, 0], "-14.2857"),
    ],
)
def test_nps_is_exact_and_may_be_negative(tmp_path: Path, scores: list[int], expected: str) -> None:
    row = run_kpis(example_with_p8_scores(tmp_path, scores), tmp_path / "out")
    assert row["value"] == expected
    assert row["missing"] == "false"


def test_negative_nps_scores_zero_and_fails_the_gate(tmp_path: Path) -> None:
    """A linear curve from floor 0: a negative NPS scores 0, never the cap."""
    row = run_kpis(example_with_p8_scores(tmp_path, [0, 1, 2, 9]), tmp_path / "out")
    assert row["value"] == "-50.0000"
    assert row["score"] == "0.0000"


@pytest.fixture
def checked() -> tuple[object, pl.DataFrame, pl.DataFrame, object]:
    config, _ = load_program(EXAMPLE / "program.yaml", "2026Q3")
    result = run_quarter(EXAMPLE / "program.yaml", "2026Q3")
    return config, result.payouts, result.kpis, result.budget


def _set(frame: pl.DataFrame, partner: str, column: str, value: object) -> pl.DataFrame:
    dtype = frame.schema[column]
    return frame.with_columns(
        pl.when(pl.col("partner_id") == partner)
        .then(pl.lit(value).cast(dtype))
        .otherwise(pl.col(column))
        .alias(column)
    )


def test_the_worked_example_passes_every_invariant(checked: tuple) -> None:  # type: ignore[type-arg]
    config, payouts, kpis, budget = checked
    check_invariants(config, payouts, kpis, budget)


@pytest.mark.parametrize(
    ("frame", "partner", "column", "value", "words"),
    [
        ("kpis", "P8", "value", "429496689.6", "nps above 100"),
        ("kpis", "P1", "score", "5", "score above its cap"),
        ("payouts", "P1", "net", "2692.00", "net != sum of lines"),
        ("payouts", "P8", "payable", "50.00", "payable + carried_forward != net"),
        ("payouts", "P6", "gross", "10.00", "ineligible, not 0"),
        ("payouts", "P4", "earned_tier", "Gold", "tier not reached"),
        ("payouts", "P2", "earned_tier", "Silver", "a higher tier is reached"),
        ("payouts", "P1", "team_tier", "Silver", "not the highest tier the team score reaches"),
        ("payouts", "P5", "payable", "1872.00", "paid although carried forward"),
    ],
)
def test_a_broken_rule_names_partner_column_and_value(
    checked: tuple,  # type: ignore[type-arg]
    frame: str,
    partner: str,
    column: str,
    value: str,
    words: str,
) -> None:
    config, payouts, kpis, budget = checked
    if frame == "kpis":
        kpis = kpis.with_columns(
            pl.when((pl.col("partner_id") == partner) & (pl.col("kpi") == "nps"))
            .then(pl.lit(value).cast(kpis.schema[column]))
            .otherwise(pl.col(column))
            .alias(column)
        )
    else:
        payouts = _set(payouts, partner, column, value)
    with pytest.raises(InvariantError) as caught:
        check_invariants(config, payouts, kpis, budget)
    assert f"partner {partner}, {column} = " in str(caught.value)
    assert words in str(caught.value)


def test_wrapped_counts_stop_the_run_with_exit_4_and_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reintroduce the unsigned-count bug: the run must refuse to write a payout file."""

    def unsigned(condition: pl.Expr) -> pl.Expr:
        return condition.sum().cast(pl.UInt32)

    monkeypatch.setattr(incentcalc.engine.kpis, "_count", unsigned)
    folder = example_with_p8_scores(tmp_path, [0, 0, 9])
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["run", "--config", str(folder / "program.yaml"), "--period", "2026Q3", "--out",
         str(out), "--no-statements"],
    )  # fmt: skip
    assert result.exit_code == 4, result.output
    assert "partner P8, value = " in result.output
    assert "nps above 100" in result.output
    assert not out.exists()
