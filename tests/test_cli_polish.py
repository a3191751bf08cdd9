"""The CLI as ops use it (issue 14): --version, flags without a type in help, unknown
--partners ids reported, progress text, formatted console numbers with a tier table that
reconciles, a plain missing-config message, explain --quiet, warnings for suspicious config
values, and tiers named by name in config errors."""

from __future__ import annotations

import dataclasses
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

from incentcalc import __version__
from incentcalc.cli.app import app
from incentcalc.cli.progress import done_and_left
from incentcalc.cli.run_summary import TIER_TABLE_MONEY, tier_table_money, totals_by_tier
from incentcalc.reports.checks import named_ids

PERIOD = "2026Q3"
runner = CliRunner()


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    """A private copy of the basic example (its config may be edited)."""
    folder = tmp_path / "basic"
    shutil.copytree(EXAMPLE, folder)
    return folder


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(arg) for arg in args])


def run_json(config: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = invoke("run", "-c", config, "-p", PERIOD, "-o", out, "--json", *extra)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_version_prints_the_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"incentcalc {__version__}\n"


@pytest.mark.parametrize("command", ["run", "explain", "diff", "validate"])
def test_flags_show_no_bool_type_in_help(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "--json" in result.stdout
    assert "<bool>" not in result.stdout
    assert "<file>" in result.stdout or "<path>" in result.stdout or "<str>" in result.stdout


def test_run_reports_unknown_partner_ids(tmp_path: Path) -> None:
    document = run_json(EXAMPLE / "program.yaml", tmp_path / "out", "--partners", "P1,P404,ZZ")
    assert document["statements"] == 1
    assert (
        f"--partners: 2 id(s) not in scope for {PERIOD}, no statement written: P404, ZZ"
        in document["warnings"]
    )
    console = invoke(
        "run", "-c", EXAMPLE / "program.yaml", "-p", PERIOD, "-o", tmp_path / "again",
        "--partners", "P404",
    )  # fmt: skip
    assert console.exit_code == 0
    assert "Warning: --partners: 1 id(s) not in scope" in console.stdout
    assert "P404" in console.stdout


def test_diff_reports_unknown_cohort_ids(tmp_path: Path) -> None:
    cohort = tmp_path / "pilot.csv"
    cohort.write_text("partner_id\nP2\nP99\n", encoding="utf-8")
    args = ["diff", "-p", PERIOD, "--baseline", EXAMPLE / "program.yaml"]
    args += ["--candidate", EXAMPLE / "program_budget.yaml", "--partners-file", cohort]
    document = json.loads(invoke(*args, "--json").stdout)
    assert document["warnings"] == [
        f"--partners: 1 id(s) not in scope for {PERIOD}, left out of the cohort: P99"
    ]
    console = invoke(*args)
    assert console.exit_code == 0
    assert "Warning: --partners: 1 id(s) not in scope" in console.stdout


def test_named_ids_counts_the_rest() -> None:
    ids = [f"P{i:02}" for i in range(13)]
    assert named_ids(ids) == "P00, P01, P02, P03, P04, P05, P06, P07, P08, P09 and 3 more"
    assert named_ids(["A"]) == "A"


def test_progress_text_shows_done_total_and_time_left() -> None:
    assert done_and_left(1234, 2910, 8.4) == "1,234/2,910, 0:00:08 left"
    assert done_and_left(2910, 2910, 0.0) == "2,910/2,910"
    assert done_and_left(3, 10, None) == "3/10"
    assert done_and_left(0, None, None) == ""


def test_run_console_formats_numbers_and_reconciles_by_tier(tmp_path: Path) -> None:
    """Gross - holdback + adjustments - carried forward = payable, on every tier row; Gold
    (nobody this quarter) is listed with zeros; no progress text outside a terminal."""
    result = invoke("run", "-c", EXAMPLE / "program.yaml", "-p", PERIOD, "-o", tmp_path / "o")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Adjustments" in out and "Carried fwd" in out
    assert "21,370.00" in out and "17,361.00" in out
    assert " left" not in out
    rows = {}
    for text in out.splitlines():
        cells = [c.strip() for c in text.strip("│┃ ").split("│")]
        if len(cells) == 7 and cells[0] in {"Bronze", "Silver", "Gold", "Platinum", "Total"}:
            rows[cells[0]] = cells
    assert rows["Gold"][1:] == ["0", "0.00", "0.00", "0.00", "0.00", "0.00"]
    payouts = pl.read_csv(tmp_path / "o" / "payouts.csv", infer_schema=False).with_columns(
        pl.col(c).cast(pl.Decimal(38, 2)) for c in (*TIER_TABLE_MONEY, "net")
    )
    assert rows["Total"][1] == f"{payouts.height:,}"
    for tier, cells in rows.items():
        mine = payouts if tier == "Total" else payouts.filter(pl.col("tier") == tier)
        shown = [Decimal(c.replace(",", "")) for c in cells[2:]]
        assert shown == [mine[c].sum() for c in TIER_TABLE_MONEY], tier
        gross, holdback, adjustments, carried, payable = shown
        # RULES.md 8.10: a held partner's net is carried forward, so the row reconciles; an
        # engine that leaves it out of carried_forward leaves exactly the held net over.
        held = mine.filter(pl.col("status") == "held")
        unexplained = (held["net"].sum() or 0) - (held["carried_forward"].sum() or 0)
        assert gross - holdback + adjustments - carried - unexplained == payable, tier


def test_missing_config_file_says_the_config_file_is_missing(tmp_path: Path) -> None:
    result = invoke("run", "-c", tmp_path / "nope.yaml", "-p", PERIOD, "-o", tmp_path / "o")
    assert result.exit_code == 2
    assert "config file is missing" in result.output
    assert "nope.yaml" in result.output
    assert "Check the path in the config" not in result.output


def test_explain_accepts_quiet() -> None:
    quiet = invoke("explain", "--partner", "P1", "-c", EXAMPLE / "program.yaml", "-p", PERIOD, "-q")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == ""
    loud = invoke("explain", "--partner", "P1", "-c", EXAMPLE / "program.yaml", "-p", PERIOD)
    assert "Acme Systems" in loud.stdout


def test_suspicious_config_values_warn(example: Path, tmp_path: Path) -> None:
    """A tier rate of 150% and the distributor segment weighting NPS and GRR, which no
    distributor has this quarter, warn without stopping the run."""
    edit(
        example / "program.yaml",
        "{name: Platinum, min_score: 1.2, rate: 0.05",
        "{name: Platinum, min_score: 1.2, rate: 1.5",
    )
    warnings = run_json(example / "program.yaml", tmp_path / "o")["warnings"]
    assert (
        "tiers[Platinum].rate is 150% of the bonus base. Rates are shares: write 0.035 for 3.5%."
        in warnings
    )
    assert any(
        w.startswith("segments.distributor.weights.nps is 0.1 but no distributor") for w in warnings
    )
    assert any(w.startswith("segments.distributor.weights.grr is 0.2") for w in warnings)
    assert not any("segments.reseller" in w for w in warnings)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["warnings"] == warnings


def test_config_errors_name_tiers_by_name(example: Path, tmp_path: Path) -> None:
    config = example / "program.yaml"
    edit(config, "requires: {nps: 30}", "requires: {nps_score: 30}")
    result = invoke("run", "-c", config, "-p", PERIOD, "-o", tmp_path / "o")
    assert result.exit_code == 2
    assert "tiers[Gold].requires: 'nps_score' is not a KPI" in result.output
    edit(
        config, "{name: Gold, min_score: 0.9, rate: 0.04", "{name: Gold, min_score: 0.9, rate: lots"
    )
    result = invoke("run", "-c", config, "-p", PERIOD, "-o", tmp_path / "o")
    assert result.exit_code == 2
    assert "tiers[Gold].rate: expected a number, got 'lots'" in result.output
    assert "tiers.2" not in result.output


def test_tier_table_gets_a_ledger_column_when_the_program_keeps_a_ledger(tmp_path: Path) -> None:
    """Ledger lines (loyalty + carried in + holdback released - clawback) keep the tier table
    reconcilable: P1 carried in 120.00 and had 20.00 clawed back -> Ledger 100.00."""
    from incentcalc import api
    from incentcalc.config import Ledger

    result = api.run_quarter(EXAMPLE / "program.yaml", PERIOD)
    assert tier_table_money(result) == TIER_TABLE_MONEY
    config = result.config.model_copy(update={"ledger": Ledger(path=tmp_path / "ledger")})
    payouts = result.payouts.with_columns(
        pl.when(pl.col("partner_id") == "P1")
        .then(pl.lit(Decimal(v)).cast(pl.Decimal(38, 2)))
        .otherwise(pl.col(c))
        .alias(c)
        for c, v in (("carried_in", "120.00"), ("clawback", "20.00"))
    )
    ledgered = dataclasses.replace(result, config=config, payouts=payouts)
    assert tier_table_money(ledgered) == (
        "gross", "holdback", "adjustments", "ledger", "carried_forward", "payable",
    )  # fmt: skip
    table = totals_by_tier(ledgered)
    assert table["tier"].to_list() == ["Bronze", "Silver", "Gold", "Platinum", "Total"]
    silver = table.row(1, named=True)
    assert silver["ledger"] == Decimal("100.00")
    assert table.row(4, named=True)["ledger"] == Decimal("100.00")
