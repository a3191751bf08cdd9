"""End-to-end `incentcalc diff` on the worked example (spec/examples/basic, 2026Q3)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.reports.compare import DIFF_COLUMNS
from incentcalc.result import MONEY_COLUMNS, PAYOUT_COLUMNS

BASELINE = EXAMPLE / "program.yaml"
CANDIDATE = EXAMPLE / "program_budget.yaml"
PERIOD = "2026Q3"
runner = CliRunner()


def expected(name: str) -> pl.DataFrame:
    """An expected payouts CSV with money as exact Decimal(38, 2)."""
    frame = pl.read_csv(EXAMPLE / name, infer_schema=False)
    return frame.with_columns(pl.col(c).cast(pl.Decimal(38, 2)) for c in MONEY_COLUMNS)


def total(frame: pl.DataFrame, column: str) -> str:
    return str(frame[column].sum())


def diff(*args: str | Path) -> Any:
    result = runner.invoke(app, ["diff", "--period", PERIOD, *map(str, args)])
    return result


def diff_json(*args: str | Path) -> dict[str, Any]:
    result = diff(*args, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def read_diff_csv(folder: Path) -> pl.DataFrame:
    frame = pl.read_csv(folder / "diff.csv", infer_schema=False)
    money = [c for c in DIFF_COLUMNS if c.endswith(("_gross", "_payable"))]
    return frame.with_columns(pl.col(c).cast(pl.Decimal(38, 2)) for c in money)


def test_config_diffed_against_itself_reports_zero_change() -> None:
    document = diff_json("--baseline", BASELINE, "--candidate", BASELINE)
    assert document["change"] == {"gross": "0.00", "payable": "0.00", "pct_gross": "0.0",
                                  "pct_payable": "0.0"}  # fmt: skip
    assert document["partners"] == {"up": 0, "down": 0, "unchanged": 7}
    assert all(m["baseline_tier"] == m["candidate_tier"] for m in document["migration"])
    assert document["config_changes"] == []
    assert document["largest_gains"] == [] and document["largest_losses"] == []


def test_budget_candidate_matches_both_expected_payout_files(tmp_path: Path) -> None:
    """Per-partner figures equal expected_payouts.csv (baseline) and
    expected_payouts_budget.csv (candidate); the totals equal their sums."""
    base, cand = expected("expected_payouts.csv"), expected("expected_payouts_budget.csv")
    out = tmp_path / "diff"
    document = diff_json("--baseline", BASELINE, "--candidate", CANDIDATE, "--out", out)
    rows = read_diff_csv(out)
    assert tuple(rows.columns) == DIFF_COLUMNS
    assert rows["partner_id"].to_list() == base["partner_id"].to_list()
    assert rows["baseline_gross"].to_list() == base["gross"].to_list()
    assert rows["baseline_payable"].to_list() == base["payable"].to_list()
    assert rows["candidate_gross"].to_list() == cand["gross"].to_list()
    assert rows["candidate_payable"].to_list() == cand["payable"].to_list()
    assert rows["baseline_tier"].to_list() == base["tier"].to_list()
    assert rows["candidate_composite"].to_list() == cand["composite_score"].to_list()

    assert document["baseline"]["gross"] == total(base, "gross")
    assert document["baseline"]["payable"] == total(base, "payable")
    assert document["candidate"]["gross"] == total(cand, "gross") == "15000.00"
    assert document["candidate"]["payable"] == total(cand, "payable")
    delta = cand["payable"].sum() - base["payable"].sum()
    assert Decimal(document["change"]["payable"]) == delta
    assert document["candidate"]["budget"]["scaled"] is True
    assert document["baseline"]["budget"]["budget"] is None
    assert document["partners"] == {"up": 0, "down": 4, "unchanged": 3}
    assert {"key": "payout.budget", "baseline": None, "candidate": "15000"} in document[
        "config_changes"
    ]


def test_diff_csv_money_has_two_decimals_and_xlsx_is_written(tmp_path: Path) -> None:
    out = tmp_path / "d"
    result = diff("--baseline", BASELINE, "--candidate", CANDIDATE, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = (out / "diff.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(DIFF_COLUMNS)
    assert lines[1].startswith("P1,Acme Systems,reseller,NA,Silver,Silver,0.8500,0.8500,2990.00,")
    assert (out / "diff.xlsx").is_file()
    first = (out / "diff.xlsx").read_bytes()
    again = diff("--baseline", BASELINE, "--candidate", CANDIDATE, "--out", out, "--quiet")
    assert again.exit_code == 3
    forced = diff("--baseline", BASELINE, "--candidate", CANDIDATE, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "diff.xlsx").read_bytes() == first


def test_pilot_cohort_mixes_candidate_and_baseline(tmp_path: Path) -> None:
    cohort = tmp_path / "pilot.csv"
    cohort.write_text("partner_id\nP2\nP3\nP99\n", encoding="utf-8")
    base, cand = expected("expected_payouts.csv"), expected("expected_payouts_budget.csv")
    in_cohort = pl.col("partner_id").is_in(["P2", "P3"])
    mixed = pl.concat([cand.filter(in_cohort), base.filter(~in_cohort)]).sort("partner_id")
    out = tmp_path / "out"
    document = diff_json(
        "--baseline", BASELINE, "--candidate", CANDIDATE, "--partners-file", cohort, "--out", out
    )
    rows = read_diff_csv(out)
    assert rows["candidate_payable"].to_list() == mixed["payable"].to_list()
    assert rows["candidate_gross"].to_list() == mixed["gross"].to_list()
    assert document["candidate"]["payable"] == total(mixed, "payable")
    assert document["baseline"]["payable"] == total(base, "payable")
    cohort_doc = document["cohort"]
    assert (cohort_doc["requested"], cohort_doc["matched"]) == (3, 2)
    assert cohort_doc["not_in_scope"] == ["P99"]
    assert cohort_doc["candidate"]["payable"] == total(cand.filter(in_cohort), "payable")
    assert cohort_doc["change"]["payable"] == document["change"]["payable"]
    assert document["partners"] == {"up": 0, "down": 2, "unchanged": 5}
    assert any("budget" in note for note in document["notes"])


def test_baseline_run_folder_is_used_instead_of_recalculating(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    base = expected("expected_payouts_budget.csv").with_columns(
        pl.col("composite_score", "team_score").cast(pl.Decimal(38, 4)),
        pl.col("budget_factor").cast(pl.Decimal(38, 6)),
    )
    base.select(PAYOUT_COLUMNS).write_parquet(run_dir / "payouts.parquet")
    document = diff_json("--baseline-run", run_dir, "--candidate", BASELINE)
    cand = expected("expected_payouts.csv")
    assert document["baseline"]["source"] == str(run_dir)
    assert document["baseline"]["payable"] == total(base, "payable")
    assert document["baseline"]["budget"] == {
        "budget": "15000.00", "total_capped": "21370.00", "factor": "0.701919", "scaled": True,
    }  # fmt: skip
    assert document["candidate"]["payable"] == total(cand, "payable")
    assert document["partners"]["up"] == 4
    assert document["config_changes"] == []


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--candidate", str(CANDIDATE)], 2),
        (["--baseline", "missing.yaml", "--candidate", str(CANDIDATE)], 2),
        (
            [
                "--baseline",
                str(BASELINE),
                "--candidate",
                str(CANDIDATE),
                "--partners-file",
                str(EXAMPLE / "fx_rates.csv"),
            ],
            2,
        ),
        (["--baseline-run", str(EXAMPLE), "--candidate", str(CANDIDATE)], 2),
    ],
)
def test_bad_usage_exits_2_with_one_paragraph(args: list[str], code: int) -> None:
    result = runner.invoke(app, ["diff", "--period", PERIOD, *args, "--json"])
    assert result.exit_code == code, result.output
    assert json.loads(result.stdout)["status"] == "error"


def test_terminal_report_mentions_every_section() -> None:
    result = diff("--baseline", BASELINE, "--candidate", CANDIDATE)
    assert result.exit_code == 0, result.output
    for text in (
        "Totals",
        "Budget use",
        "Tier migration",
        "Largest losses",
        "Change by segment",
        "Change by region",
        "payout.budget: (absent) -> 15000",
    ):
        assert text in result.stdout


def test_out_files_keep_formula_text_as_text(tmp_path: Path) -> None:
    """A partner named like a formula stays text in diff.csv (leading ') and diff.xlsx."""
    from test_diff_report import make_diff

    from incentcalc.cli.diff import write_diff_outputs

    write_diff_outputs(make_diff(), tmp_path / "o", force=False)
    assert "P3,'=1+1,distributor" in (tmp_path / "o" / "diff.csv").read_text(encoding="utf-8")


def test_baseline_run_reads_a_real_run_folder(tmp_path: Path) -> None:
    """The payouts.parquet that `run` writes is accepted as is: same config, zero change."""
    out = tmp_path / "run"
    ran = runner.invoke(
        app,
        ["run", "--config", str(CANDIDATE), "--period", PERIOD, "--out", str(out),
         "--no-statements", "--quiet"],
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    document = diff_json("--baseline-run", out, "--candidate", CANDIDATE, "--baseline", BASELINE)
    assert document["change"]["payable"] == "0.00"
    assert document["partners"]["unchanged"] == 7
    assert document["baseline"]["budget"]["budget"] == "15000.00"
    assert [c["key"] for c in document["config_changes"]] == ["program.name", "payout.budget"]


def test_bad_data_exits_1(tmp_path: Path) -> None:
    for source in EXAMPLE.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    deals = tmp_path / "deals.csv"
    lines = deals.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[5], "lots", 1)
    deals.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = diff("--baseline", tmp_path / "program.yaml", "--candidate", CANDIDATE, "--json")
    assert result.exit_code == 1, result.output


def test_shared_sources_are_read_and_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same `sources` in both configs: the candidate reuses the baseline's inputs."""
    import incentcalc.api as diff_module

    calls: list[bool] = []
    real = diff_module.load_inputs

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("reuse") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(diff_module, "load_inputs", counting)
    diff_module.diff_programs(CANDIDATE, PERIOD, baseline_path=BASELINE)
    assert calls == [False, True]
