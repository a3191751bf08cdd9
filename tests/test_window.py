"""Rows a period can use (DATA.md, Validation): history outside the windows is not read or
validated by a run; `validate --all-rows` checks it; file row numbers survive the filter, in
CSV and in Parquet (where the filter runs inside the scan)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.config import ReversalRule, SourceName, load_config
from incentcalc.io.window import read_windows
from incentcalc.periods import parse_period

runner = CliRunner()
PERIOD = "2026Q3"
OLD_BAD_DEAL = "D001,P1,C900,closed_won,2024-02-10,-5.00,USD,new,2024-01-01,Core\n"
"""A 2024 deal that breaks two rules (duplicate deal_id, negative amount): history."""
NEW_BAD_DEAL = "D099,P1,C901,closed_won,2026-08-10,-7.00,USD,new,2026-08-01,Core\n"
"""The same mistake inside the period: always reported."""


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(lines)


def failures(folder: Path, *extra: str, config: str = "program.yaml") -> list[dict[str, str]]:
    report = folder / "failures.csv"
    result = runner.invoke(
        app,
        ["validate", "--config", str(folder / config), "--period", PERIOD,
         "--report", str(report), *extra],
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    with report.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def to_parquet(folder: Path) -> str:
    """deals.csv as a typed Parquet file (real dates and decimals); returns the config name."""
    deals = pl.read_csv(folder / "deals.csv", infer_schema=False).with_columns(
        pl.col("close_date", "registered_on").str.to_date(),
        pl.col("amount").str.to_decimal(scale=2),
    )
    deals.write_parquet(folder / "deals.parquet", row_group_size=4)
    text = (folder / "program.yaml").read_text(encoding="utf-8")
    (folder / "parquet.yaml").write_text(text.replace("deals.csv", "deals.parquet"), "utf-8")
    return "parquet.yaml"


def test_history_outside_the_windows_is_not_validated_but_all_rows_checks_it(
    example: Path,
) -> None:
    append(example / "deals.csv", OLD_BAD_DEAL)
    assert failures(example) == []
    found = failures(example, "--all-rows")
    assert {(f["row"], f["column"], f["value"]) for f in found} == {
        ("2", "deal_id", "D001"),
        ("14", "deal_id", "D001"),
        ("14", "amount", "'-5.00"),
    }


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_failures_in_the_window_keep_the_file_row_number(example: Path, fmt: str) -> None:
    append(example / "deals.csv", OLD_BAD_DEAL, OLD_BAD_DEAL.replace("D001", "D098"))
    append(example / "deals.csv", NEW_BAD_DEAL)
    config = to_parquet(example) if fmt == "parquet" else "program.yaml"
    found = failures(example, config=config)
    assert [(f["row"], f["column"], f["value"]) for f in found] == [("16", "amount", "'-7.00")]
    assert found[0]["file"].endswith(f"deals.{fmt}")


def test_run_ignores_history_and_pays_the_same(example: Path, tmp_path: Path) -> None:
    def payouts(out: Path) -> bytes:
        result = runner.invoke(
            app,
            ["run", "--config", str(example / "program.yaml"), "--period", PERIOD,
             "--out", str(out), "--no-statements", "--quiet"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return (out / "payouts.csv").read_bytes()

    before = payouts(tmp_path / "before")
    append(example / "deals.csv", OLD_BAD_DEAL)
    assert payouts(tmp_path / "after") == before


def test_the_deal_window_covers_the_reversal_and_clawback_look_around(example: Path) -> None:
    config = load_config(example / "program.yaml")
    period = parse_period(PERIOD)
    config = config.model_copy(
        update={
            "payout": config.payout.model_copy(update={"clawback_within_days": 120}),
            "integrity": config.integrity.model_copy(
                update={"reversal": ReversalRule(within_days=45)}
            ),
        }
    )
    windows = read_windows(config, period)
    deals = windows[SourceName.DEALS]
    assert (deals.first, deals.last) == (date(2026, 3, 3), date(2026, 11, 14))
    nps = windows[SourceName.NPS]
    assert (nps.first, nps.last) == (date(2026, 5, 31), date(2026, 10, 31))
    assert windows[SourceName.TARGETS].label == PERIOD
    assert SourceName.PARTNERS not in windows


LISTED_BAD_DEAL = "D097,P1,C902,closed_won,2026-10-15,-9.00,USD,new,2026-10-01,Core\n"
"""A deal closed 15 days after 2026Q3 with a negative amount: listed on statements only."""


def test_the_validated_range_follows_the_rules_configured(example: Path) -> None:
    """Issue 26, defect 7: the window reached 31 days past the quarter with no rule that
    needs it. Without a reversal rule the deal of 2026-10-15 is only listed (and, failing,
    left off); with `reversal: {within_days: 30}` the rule reads it, so it is validated."""
    append(
        example / "deals.csv",
        LISTED_BAD_DEAL,
        LISTED_BAD_DEAL.replace("D097", "D096").replace("2026-10-15", "2026-06-20"),
    )
    assert failures(example) == []
    result = runner.invoke(
        app,
        ["run", "--config", str(example / "program.yaml"), "--period", PERIOD,
         "--out", str(example / "out"), "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = example / "program.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "\nintegrity:\n  reversal: {within_days: 30}\n", encoding="utf-8")
    found = failures(example)
    assert [(f["row"], f["column"], f["value"]) for f in found] == [("14", "amount", "'-9.00")]
    windows = read_windows(load_config(config), parse_period(PERIOD))
    assert windows[SourceName.DEALS].checked == (date(2026, 7, 1), date(2026, 10, 30))
    assert windows[SourceName.NPS].checked == (date(2026, 7, 1), date(2026, 9, 30))
