"""Progress runs (issue 23, RULES.md 12) through the real console script: `run --as-of` and
`explain --as-of` on the worked examples, their marking, refusals that write nothing, the
ledger's order, and "as of the period's end" giving the ordinary run byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import EXAMPLES
from reference import compute_quarter
from reference.compare import compare_rows, read_csv_text
from reference.ledger import Entry

INCENTCALC = Path(sys.executable).with_name("incentcalc")
TITLE = "Progress to 15 Aug 2026 (provisional)"
PAYOUT_FILES = ("payouts.csv", "payouts.parquet", "kpis.csv", "kpis.parquet", "exceptions.csv",
                "deal_bonuses.csv", "deal_bonuses.parquet", "ledger_lines.parquet")  # fmt: skip
"""Everything a run writes that is not a workbook or the manifest (which say "progress")."""


def incentcalc(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INCENTCALC, *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )


def document(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def copy_example(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_a_progress_run_is_marked_everywhere_and_goes_to_its_own_folder(tmp_path: Path) -> None:
    basic = copy_example("basic", tmp_path)
    done = incentcalc("run", "--config", "program.yaml", "--period", "2026Q3", "--as-of",
                      "2026-08-15", "--json", cwd=basic)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = document(done)
    out = basic / "out" / "2026Q3-as-of-2026-08-15"
    assert summary["as_of"] == "2026-08-15"
    assert Path(summary["out"]) == Path("out/2026Q3-as-of-2026-08-15")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["period"], manifest["as_of"]) == ("2026Q3", "2026-08-15")
    title = openpyxl.load_workbook(out / "summary.xlsx").worksheets[0]["A1"].value
    assert TITLE in str(title)
    statements = sorted((out / "statements").glob("*.xlsx"))
    assert [p.stem for p in statements] == ["P1", "P2", "P3", "P5", "P6", "P8"]  # P4 not yet
    for path in statements:
        assert TITLE in str(openpyxl.load_workbook(path)["Statement"]["A1"].value), path.stem
    p1, p6, p8 = (statement_lines(out / "statements" / f"{p}.xlsx") for p in ("P1", "P6", "P8"))
    # P1: Platinum so far (60,000 against 50,000); against the quarter's 100,000: Silver
    assert p1["Tier so far"][0] == "Platinum"
    assert p1["If nothing more comes in"][0] == "Silver"
    assert p1["To keep Platinum by 30 Sep 2026"][1] == "59,995.00 USD more revenue"
    assert p1["Progress to"][0] == "15 Aug 2026"
    assert "Nothing on this statement is paid" in p1["Progress to"][1]
    # P6 leaves on 31 Aug: eligible so far, not at the quarter's end
    assert p6["At the quarter's end"][0] == "not eligible"
    # P8: Bronze, 9,000 of revenue against 100,000
    assert p8["To keep Bronze by 30 Sep 2026"][0] == "reached so far"
    assert p8["To reach Silver by 30 Sep 2026"][1] == "41,000.00 USD more revenue"
    assert p8["   revenue needed"][0] == 50000
    kpis = openpyxl.load_workbook(out / "statements" / "P1.xlsx")["KPIs"]
    revenue = next(row for row in kpis.iter_rows(values_only=True) if row[0] == "revenue")
    assert revenue[3] == 50000
    assert "the whole quarter's is 100,000.00 USD" in str(revenue[-1])


def statement_lines(path: Path) -> dict[str, tuple[Any, str]]:
    """The Statement sheet's label -> (value, note)."""
    sheet = openpyxl.load_workbook(path)["Statement"]
    return {
        str(label): (value, note or "")
        for label, value, note in sheet.iter_rows(min_col=1, max_col=3, values_only=True)
        if label
    }


def test_the_console_says_progress(tmp_path: Path) -> None:
    basic = copy_example("basic", tmp_path)
    done = incentcalc("run", "--config", "program.yaml", "--period", "2026Q3", "--as-of",
                      "2026-08-15", "--no-statements", cwd=basic)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert TITLE in " ".join(done.stdout.split())
    ordinary = incentcalc("run", "--config", "program.yaml", "--period", "2026Q3",
                          "--no-statements", cwd=basic)  # fmt: skip
    assert "Progress" not in ordinary.stdout
    assert (basic / "out" / "2026Q3").is_dir()


@pytest.mark.parametrize(
    ("as_of", "says"),
    [("2026-10-01", "outside 2026Q3"), ("2026-06-30", "outside 2026Q3"),
     ("2026-08-32", "not a date"), ("15/08/2026", "not a date"), ("soon", "not a date")],
)  # fmt: skip
def test_a_day_outside_the_period_or_not_a_day_is_a_usage_error(
    tmp_path: Path, as_of: str, says: str
) -> None:
    basic = copy_example("basic", tmp_path)
    done = incentcalc("run", "--config", "program.yaml", "--period", "2026Q3", "--as-of", as_of,
                      "--json", cwd=basic)  # fmt: skip
    assert done.returncode == 2
    assert says in document(done)["error"]
    assert not (basic / "out").exists()


def test_as_of_the_period_end_writes_the_ordinary_run_byte_for_byte(tmp_path: Path) -> None:
    """The sample program has every integrity rule, the spike rule included (it applies on
    the last day), a budget, a cap and teams."""
    config = Path(__file__).parents[1] / "configs" / "program.yaml"
    ordinary, progress = tmp_path / "ordinary", tmp_path / "progress"
    common = ("--config", config, "--period", "2026Q3", "--no-statements", "--quiet")
    assert incentcalc("run", *common, "--out", ordinary).returncode == 0
    assert incentcalc("run", *common, "--out", progress, "--as-of", "2026-09-30").returncode == 0
    for name in PAYOUT_FILES:
        assert (progress / name).read_bytes() == (ordinary / name).read_bytes(), name
    manifest = json.loads((progress / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-09-30"
    assert json.loads((ordinary / "manifest.json").read_text(encoding="utf-8"))["as_of"] is None


def test_before_the_end_the_spike_rule_is_skipped_with_a_warning(tmp_path: Path) -> None:
    config = Path(__file__).parents[1] / "configs" / "program.yaml"
    done = incentcalc("run", "--config", config, "--period", "2026Q3", "--as-of", "2026-09-29",
                      "--out", tmp_path / "out", "--no-statements", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = document(done)
    assert any("quarter_end_spike was skipped" in w for w in summary["warnings"])
    assert all(hit["rule"] != "quarter_end_spike" for hit in summary["integrity_hits"])


def test_explain_as_of_explains_the_progress_run(tmp_path: Path) -> None:
    basic = copy_example("basic", tmp_path)
    done = incentcalc("explain", "--config", "program.yaml", "--period", "2026Q3", "--partner",
                      "P1", "--as-of", "2026-08-15", "--json", cwd=basic)  # fmt: skip
    assert done.returncode == 0, done.stderr
    explained = document(done)
    assert (explained["as_of"], explained["progress"]) == ("2026-08-15", TITLE)
    revenue = next(k for k in explained["kpis"] if k["kpi"] == "revenue")
    assert revenue["value"].startswith("60000") and revenue["target"].startswith("50000")
    assert explained["partner"]["active_days"] == 46
    text = incentcalc("explain", "--config", "program.yaml", "--period", "2026Q3", "--partner",
                      "P1", "--as-of", "2026-08-15", cwd=basic)  # fmt: skip
    assert TITLE in text.stdout
    refused = incentcalc("explain", "--config", "program.yaml", "--period", "2026Q3",
                         "--partner", "P1", "--as-of", "2026-10-01", cwd=basic)  # fmt: skip
    assert refused.returncode == 2


# --- the ledger's worked example ----------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ledger example with 2026Q1 closed; a progress run of 2026Q3 is tried (refused),
    then 2026Q2 is closed and 2026Q3 is run as of 15 Aug, as of its end and ordinarily."""
    root = tmp_path_factory.mktemp("progress-ledger")
    config = copy_example("ledger", root) / "program.yaml"
    out = root / "out"
    runs: dict[str, Any] = {"config": config, "out": out}

    def run(period: str, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return incentcalc("run", "--config", config, "--period", period, "--out", out / name,
                          "--no-statements", "--json", *extra)  # fmt: skip

    def close(name: str) -> subprocess.CompletedProcess[str]:
        return incentcalc("close", "--config", config, "--run", out / name, "--json")

    assert run("2026Q1", "2026Q1").returncode == 0
    assert close("2026Q1").returncode == 0
    runs["too_early"] = run("2026Q3", "too-early", "--as-of", "2026-08-15")
    runs["closed"] = run("2026Q1", "closed", "--as-of", "2026-02-15")
    assert run("2026Q2", "2026Q2").returncode == 0
    assert close("2026Q2").returncode == 0
    runs["progress"] = run("2026Q3", "progress", "--as-of", "2026-08-15")
    runs["at_end"] = run("2026Q3", "at-end", "--as-of", "2026-09-30")
    runs["close_progress"] = close("progress")
    runs["ordinary"] = run("2026Q3", "ordinary")
    return runs


def test_a_progress_run_of_p_needs_p_minus_1_closed(ledger: dict[str, Any]) -> None:
    refused = ledger["too_early"]
    assert refused.returncode == 3
    assert "close 2026Q2" in document(refused)["error"]
    assert not (ledger["out"] / "too-early").exists()


def test_a_progress_run_of_a_closed_period_is_refused(ledger: dict[str, Any]) -> None:
    refused = ledger["closed"]
    assert refused.returncode == 3
    error = document(refused)["error"]
    assert "2026Q1 is closed" in error and "next open period only: 2026Q2" in error
    assert not (ledger["out"] / "closed").exists()


def test_the_ledger_examples_third_quarter_so_far_agrees_with_the_reference(
    ledger: dict[str, Any],
) -> None:
    """15 Aug 2026: L1's D13 (10 Aug) counts, L2's D23 (5 Sep) not yet; against targets
    prorated to 46 of 92 days L3's 95,000 scores Gold; the history (carried in, holdback
    released) is the ordinary 2026Q3's."""
    assert ledger["progress"].returncode == 0, ledger["progress"].stdout
    config = ledger["config"]
    history: list[Entry] = []
    for label in ("2026Q1", "2026Q2"):
        history.append(compute_quarter(config, label, history).close(release_after=1))
    expected = compute_quarter(config, "2026Q3", history, date(2026, 8, 15))
    got = read_csv_text(ledger["out"] / "progress" / "payouts.csv")
    assert compare_rows(expected.payouts, got, "partner_id", "progress 2026Q3") == []
    ordinary = {r["partner_id"]: r for r in read_csv_text(ledger["out"] / "ordinary/payouts.csv")}
    for row in got:
        for column in ("carried_in", "holdback_released"):
            assert row[column] == ordinary[row["partner_id"]][column], (row, column)
    tiers = {row["partner_id"]: row["tier"] for row in got}
    assert (tiers["L1"], tiers["L3"]) == ("Gold", "Gold")
    bonuses = read_csv_text(ledger["out"] / "progress" / "deal_bonuses.csv")
    assert {r["deal_id"] for r in bonuses} == {d["deal_id"] for d in expected.deal_bonuses}
    assert "D23" not in {r["deal_id"] for r in bonuses}


def test_close_refuses_a_progress_run(ledger: dict[str, Any]) -> None:
    refused = ledger["close_progress"]
    assert refused.returncode == 3
    error = document(refused)["error"]
    assert "progress run" in error and "never be closed" in error
    entries = sorted(p.name for p in (ledger["config"].parent / "ledger").rglob("entry.json"))
    assert len(entries) == 2  # 2026Q1 and 2026Q2 only


def test_on_the_ledger_as_of_the_end_is_the_ordinary_run(ledger: dict[str, Any]) -> None:
    assert ledger["at_end"].returncode == 0 and ledger["ordinary"].returncode == 0
    for name in PAYOUT_FILES:
        at_end = (ledger["out"] / "at-end" / name).read_bytes()
        assert at_end == (ledger["out"] / "ordinary" / name).read_bytes(), name


# --- what a progress statement says is still needed (statements.quarter_end) -------------------


def test_the_outlook_scores_the_numbers_so_far_against_the_whole_quarter() -> None:
    """The module's example: basic example P1 as of 15 Aug 2026."""
    from decimal import Decimal

    from incentcalc.config import load_config
    from incentcalc.statements.next_tier import KpiFact
    from incentcalc.statements.quarter_end import quarter_end_outlook

    config = load_config(EXAMPLES / "basic" / "program.yaml")
    facts = [
        KpiFact("revenue", "revenue", Decimal(60000), Decimal(50000), Decimal("1.2"),
                Decimal("0.6"), False),
        KpiFact("nps", "nps", Decimal(100), None, Decimal("1.2"), Decimal("0.2"), False),
        KpiFact("grr", "gross_renewal_rate", Decimal(1), None, Decimal("1.2"), Decimal("0.2"),
                False),
    ]  # fmt: skip
    outlook = quarter_end_outlook("Platinum", facts, {"revenue": Decimal(100000)}, config)
    assert outlook.facts[0].score == Decimal("0.6000")
    assert (outlook.composite, outlook.tier.name) == (Decimal("0.8400"), "Silver")
    (keep,) = outlook.goals  # Platinum is the top tier: nothing to reach above it
    assert keep.keep and keep.path is not None
    (route,) = keep.path.cheapest()
    assert (route.kpi, route.value_needed) == ("revenue", Decimal("119995.00"))


def test_explain_run_needs_the_runs_own_as_of(tmp_path: Path) -> None:
    basic = copy_example("basic", tmp_path)
    out = tmp_path / "progress"
    made = incentcalc("run", "--config", "program.yaml", "--period", "2026Q3", "--as-of",
                      "2026-08-15", "--out", out, "--no-statements", cwd=basic)  # fmt: skip
    assert made.returncode == 0, made.stderr
    explain = ("explain", "--config", "program.yaml", "--period", "2026Q3", "--partner", "P1",
               "--run", out, "--json")  # fmt: skip
    ordinary = incentcalc(*explain, cwd=basic)
    assert ordinary.returncode == 2
    assert "as of 2026-08-15, not as an ordinary run" in document(ordinary)["error"]
    same = incentcalc(*explain, "--as-of", "2026-08-15", cwd=basic)
    assert same.returncode == 0, same.stdout
    assert document(same)["partner"]["payable"] == "4500.00"


def test_the_sentence_names_every_route_and_the_gate_it_leaves_unmet() -> None:
    """Silver so far on 40,000 of revenue, NPS 20 (Gold requires 30) and GRR 100%: against
    the quarter's 100,000 revenue scores 0 (below the 0.5 threshold)."""
    from decimal import Decimal

    from incentcalc.config import load_config
    from incentcalc.statements.next_tier import KpiFact
    from incentcalc.statements.partner import quarter_end_sentence
    from incentcalc.statements.quarter_end import quarter_end_outlook

    config = load_config(EXAMPLES / "basic" / "program.yaml")
    facts = [
        KpiFact("revenue", "revenue", Decimal(40000), Decimal(50000), Decimal("0.8"),
                Decimal("0.6"), False),
        KpiFact("nps", "nps", Decimal(20), None, Decimal("0.4"), Decimal("0.2"), False),
        KpiFact("grr", "gross_renewal_rate", Decimal(1), None, Decimal("1.2"), Decimal("0.2"),
                False),
    ]  # fmt: skip
    outlook = quarter_end_outlook("Silver", facts, {"revenue": Decimal(100000)}, config, 3)
    assert (outlook.composite, outlook.tier.name) == (Decimal("0.3200"), "Bronze")
    keep, reach = outlook.goals
    metrics = {name: kpi.metric for name, kpi in config.kpis.items()}
    assert keep.path is not None and reach.path is not None
    # NPS alone would need a score of 1.8, above its cap of 1.2: revenue is the only route
    assert quarter_end_sentence(keep.path, metrics, "USD") == "10,000.00 USD more revenue"
    gold = quarter_end_sentence(reach.path, metrics, "USD")
    assert gold.startswith("56,655.00 USD more revenue and nps at least 30.0 (now 20.0, required")
