"""End-to-end: the worked example through `incentcalc run`, compared to the cent with the
spec's expected payouts, plus determinism, refusals and explain."""

from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLES
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.result import PAYOUT_COLUMNS

runner = CliRunner()
TEXT_COLUMNS = {"period", "partner_id", "partner_name", "segment", "region", "team_id", "status",
                "tier", "earned_tier", "team_tier", "cap_applied", "payout_currency"}  # fmt: skip


def run_example(config: str, out: Path, *extra: str, example: Path = EXAMPLE) -> Path:
    result = runner.invoke(
        app,
        ["run", "--config", str(example / config), "--period", "2026Q3", "--out", str(out),
         "--no-statements", "--quiet", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("example", "config", "expected", "extra"),
    [
        ("basic", "program.yaml", "expected_payouts.csv", ()),
        ("basic", "program_budget.yaml", "expected_payouts_budget.csv", ()),
        ("credits", "program.yaml", "expected_payouts.csv", ()),
        (
            "basic",
            "program.yaml",
            "expected_payouts_as_of_2026-08-15.csv",
            ("--as-of", "2026-08-15"),
        ),
        (
            "basic",
            "program_budget.yaml",
            "expected_payouts_budget_as_of_2026-08-15.csv",
            ("--as-of", "2026-08-15"),
        ),
    ],
)
def test_worked_example_matches_the_expected_payouts_to_the_cent(
    tmp_path: Path, example: str, config: str, expected: str, extra: tuple[str, ...]
) -> None:
    """The ordinary quarters (basic, credits) and basic's progress run to 15 Aug (RULES.md 12).
    The progress files and the credits example leave `reason` empty where we say "suspended"
    (wording may differ), so there only the ordinary basic files are held to reason-or-none."""
    out = run_example(config, tmp_path / "out", *extra, example=EXAMPLES / example)
    got = read_rows(out / "payouts.csv")
    want = read_rows(EXAMPLES / example / expected)
    assert list(got[0]) == list(PAYOUT_COLUMNS)
    assert [r["partner_id"] for r in got] == [r["partner_id"] for r in want]
    for got_row, want_row in zip(got, want, strict=True):
        for column in PAYOUT_COLUMNS:
            if column == "reason":
                assert extra or got_row[column] or not want_row[column], column
            elif column in TEXT_COLUMNS:
                assert got_row[column] == want_row[column], (want_row["partner_id"], column)
            else:
                assert Decimal(got_row[column]) == Decimal(want_row[column]), (
                    want_row["partner_id"],
                    column,
                )


def test_money_columns_have_exactly_two_decimals_in_csv(tmp_path: Path) -> None:
    out = run_example("program.yaml", tmp_path / "out")
    text = (out / "payouts.csv").read_text(encoding="utf-8")
    assert ",2691.00,2691.00,0.00,USD," in text
    assert ",6545.45\n" in text


def test_two_runs_write_byte_identical_payouts(tmp_path: Path) -> None:
    first = run_example("program_budget.yaml", tmp_path / "a")
    second = run_example("program_budget.yaml", tmp_path / "b")
    for name in ("payouts.csv", "payouts.parquet", "kpis.csv", "kpis.parquet", "exceptions.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_manifest_totals_equal_the_payout_rows(tmp_path: Path) -> None:
    out = run_example("program.yaml", tmp_path / "out")
    manifest = json.loads((out / "manifest.json").read_text())
    rows = read_rows(out / "payouts.csv")
    assert manifest["period"] == "2026Q3"
    assert manifest["totals"]["payable"] == "17361.00"
    assert Decimal(manifest["totals"]["payable"]) == sum(Decimal(r["payable"]) for r in rows)
    assert manifest["counts_by_status"] == {
        "payable": 4, "below_minimum": 1, "negative": 0, "held": 1, "ineligible": 1,
    }  # fmt: skip
    assert {i["source"] for i in manifest["inputs"]} >= {"partners", "deals", "nps", "renewals"}
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])


def test_exceptions_list_the_ignored_adjustment_and_the_pending_renewal(tmp_path: Path) -> None:
    out = run_example("program.yaml", tmp_path / "out")
    rows = read_rows(out / "exceptions.csv")
    kinds = {(r["kind"], r["partner_id"], r["record_id"]) for r in rows}
    assert ("adjustment_ignored", "P6", "A02") in kinds
    assert ("renewal_pending", "P3", "K04") in kinds


def test_existing_output_is_refused_with_exit_3_and_left_untouched(tmp_path: Path) -> None:
    out = run_example("program.yaml", tmp_path / "out")
    before = (out / "payouts.csv").read_bytes()
    result = runner.invoke(
        app, ["run", "--config", str(EXAMPLE / "program_budget.yaml"), "--period", "2026Q3",
              "--out", str(out), "--no-statements"],
    )  # fmt: skip
    assert result.exit_code == 3
    assert "--force" in result.output
    assert (out / "payouts.csv").read_bytes() == before
    run_example("program_budget.yaml", out, "--force")
    assert (out / "payouts.csv").read_bytes() != before


def test_run_json_summary_for_cron(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", "--config", str(EXAMPLE / "program_budget.yaml"), "--period", "2026Q3",
              "--out", str(tmp_path / "o"), "--no-statements", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "ok"
    assert document["exit_code"] == 0
    assert document["totals"]["gross"] == "15000.00"
    assert document["budget"]["factor"] == "0.701919"


def test_bad_period_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", "--config", str(EXAMPLE / "program.yaml"), "--period", "2026Q5",
              "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "2026Q5" in result.output
    assert not (tmp_path / "o").exists()


def test_explain_shows_why_p3_is_silver() -> None:
    result = runner.invoke(
        app, ["explain", "--config", str(EXAMPLE / "program.yaml"), "--period", "2026Q3",
              "--partner", "P3", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["composite_score"] == "0.9375"
    assert document["tier"]["name"] == "Silver"
    assert "Gold requires nps >= 30 (value missing)" in document["tier"]["blocked_by"]
    nps = next(k for k in document["kpis"] if k["kpi"] == "nps")
    assert nps["missing"] is True
    assert nps["missing_reason"] == "2 responses, fewer than min_responses 3"
    steps = {s["step"]: s["amount"] for s in document["payout_steps"]}
    assert steps["payable in GBP"] == "5400.00"


def test_explain_tree_names_the_steps_and_rows() -> None:
    result = runner.invoke(
        app, ["explain", "--config", str(EXAMPLE / "program.yaml"), "--period", "2026Q3",
              "--partner", "P1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = (
        "Team T1: score 1.0688 -> team tier Gold",
        "team bonus: 1,380.00",
        "outside the period: close date 2026-06-28",
        "churned: renewed amount",
    )
    for text in expected:
        assert text in result.output


def test_explain_unknown_partner_is_a_usage_error() -> None:
    result = runner.invoke(
        app, ["explain", "--config", str(EXAMPLE / "program.yaml"), "--period", "2026Q3",
              "--partner", "P7"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not in scope for 2026Q3" in result.output


def test_log_file_records_success_and_failure(tmp_path: Path) -> None:
    log = tmp_path / "cron.log"
    run_example("program.yaml", tmp_path / "out", "--log-file", str(log))
    refused = runner.invoke(
        app, ["run", "--config", str(EXAMPLE / "program.yaml"), "--period", "2026Q3",
              "--out", str(tmp_path / "out"), "--log-file", str(log), "--quiet"],
    )  # fmt: skip
    assert refused.exit_code == 3
    lines = log.read_text().splitlines()
    assert "run 2026Q3: 7 partners, payable 17361.00" in lines[0]
    assert lines[1].endswith("run: exit 0")
    assert "run: exit 3: Output folder" in lines[2]


def test_quarantine_sets_bad_rows_aside_and_the_run_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "basic"
    shutil.copytree(EXAMPLE, data)
    deals = data / "deals.csv"
    deals.write_text(deals.read_text().replace(",9000.00,USD", ",9000.005,USD"))
    args = ["run", "--config", str(data / "program.yaml"), "--period", "2026Q3",
            "--no-statements", "--quiet"]  # fmt: skip

    stopped = runner.invoke(app, [*args, "--out", str(tmp_path / "strict")])
    assert stopped.exit_code == 1
    assert "deals.csv" in stopped.output
    assert "9000.005" in stopped.output
    assert not (tmp_path / "strict").exists()

    out = tmp_path / "quarantined"
    result = runner.invoke(app, [*args, "--out", str(out), "--quarantine", "--max-rejected", "10%"])
    assert result.exit_code == 0, result.output
    rejected = read_rows(out / "rejected_rows.csv")
    assert [(r["row"], r["column"], r["value"]) for r in rejected] == [("12", "amount", "9000.005")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rejected_rows"] == 1
    kinds = [r["kind"] for r in read_rows(out / "exceptions.csv")]
    assert "quarantined" in kinds
    p8 = next(r for r in read_rows(out / "payouts.csv") if r["partner_id"] == "P8")
    assert p8["bonus_base"] == "0.00"  # its only deal was set aside


def test_credits_net_revenue_get_no_deal_bonus_and_are_not_registration_hits(
    tmp_path: Path,
) -> None:
    """The credits example (RULES.md 4, 8): P1's gross is split over its two sales only; the
    credits are never registration hits, and the credit entered twice is a duplicate."""
    out = run_example("program.yaml", tmp_path / "out", example=EXAMPLES / "credits")
    bonuses = {r["deal_id"]: r["bonus"] for r in read_rows(out / "deal_bonuses.csv")}
    assert (bonuses["D001"], bonuses["D002"]) == ("1288.70", "1181.30")
    assert not {"D020", "D021", "D022", "D023"} & set(bonuses)
    hits = [(r["deal_id"], r["rule"]) for r in read_rows(out / "exceptions.csv") if r["rule"]]
    assert ("D023", "duplicate_deals") in hits
    assert not [hit for hit in hits if hit[1] == "registration"]
    revenue = {
        r["partner_id"]: r["value"] for r in read_rows(out / "kpis.csv") if r["kpi"] == "revenue"
    }
    assert Decimal(revenue["P8"]) == Decimal("-6000")


def test_a_negative_closed_won_amount_without_credits_says_how_to_allow_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "credits"
    shutil.copytree(EXAMPLES / "credits", data)
    config = data / "program.yaml"
    config.write_text(config.read_text().replace("    credits: true\n", ""))
    result = runner.invoke(
        app, ["validate", "--config", str(config), "--period", "2026Q3", "--json"]
    )
    assert result.exit_code == 1, result.output
    failures = json.loads(result.stdout)["failures"]
    assert failures["total"] == 4
    (group,) = failures["by_rule"]
    assert group["column"] == "amount" and "credits: true" in group["rule"]
    assert [e["row"] for e in group["examples"]] == [14, 15, 16]
