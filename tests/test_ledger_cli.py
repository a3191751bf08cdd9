"""The ledger through the CLI (issue 12, RULES.md 11.1 and 11.9): run -> close quarter after
quarter on the worked example, and every hostile case: edited runs, out-of-order and double
closes, runs of closed or far-ahead periods, flipped bytes, another program's ledger,
kill -9 during close, two closes at once."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import EXAMPLES
from typer.testing import CliRunner, Result

from incentcalc.cli.app import app

LEDGER_EXAMPLE = EXAMPLES / "ledger"
ENTRY_FILES = ("payouts.parquet", "deal_bonuses.parquet", "ledger_lines.parquet",
               "manifest.json", "config.yaml", "entry.json")  # fmt: skip
runner = CliRunner()


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A copy of the worked example whose ledger lives in the temporary folder."""
    folder = tmp_path / "program"
    shutil.copytree(LEDGER_EXAMPLE, folder)
    return folder / "program.yaml"


def cli(*args: str | Path) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def document(result: Result) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def run(program: Path, period: str, *extra: str) -> Result:
    out = program.parent / "out" / period
    return cli("run", "--config", program, "--period", period, "--out", out,
               "--no-statements", "--json", *extra)  # fmt: skip


def close(program: Path, period: str, *extra: str) -> Result:
    out = program.parent / "out" / period
    return cli("close", "--config", program, "--run", out, "--json", *extra)


def run_and_close(program: Path, period: str) -> dict[str, Any]:
    ran = run(program, period)
    assert ran.exit_code == 0, ran.output
    closed = close(program, period)
    assert closed.exit_code == 0, closed.output
    return document(closed)


def entries(program: Path) -> list[str]:
    folder = program.parent / "ledger" / "entries"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def refused(result: Result, code: int, *phrases: str) -> None:
    assert result.exit_code == code, result.output
    error = document(result)["error"]
    for phrase in phrases:
        assert phrase in error, error


def test_three_quarters_run_and_close_in_a_row(program: Path) -> None:
    closed = [run_and_close(program, period) for period in ("2026Q1", "2026Q2", "2026Q3")]
    assert entries(program) == ["0001-2026Q1", "0002-2026Q2", "0003-2026Q3"]
    ledger = program.parent / "ledger" / "entries"
    for previous, entry, name in zip([None, *closed], closed, entries(program), strict=False):
        raw = (ledger / name / "entry.json").read_bytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["previous_entry_sha256"] == (previous["sha256"] if previous else None)
        for file in ("payouts.parquet", "deal_bonuses.parquet", "ledger_lines.parquet",
                     "manifest.json"):  # fmt: skip
            copied = (ledger / name / file).read_bytes()
            assert copied == (program.parent / "out" / entry["period"] / file).read_bytes()
        assert (ledger / name / "config.yaml").read_bytes() == program.read_bytes()
    assert [c["partners"] for c in closed] == [6, 6, 5]

    listing = cli("ledger", "--config", program, "--json")
    assert listing.exit_code == 0, listing.output
    periods = document(listing)["periods"]
    assert [p["period"] for p in periods] == ["2026Q1", "2026Q2", "2026Q3"]
    for line, entry in zip(periods, closed, strict=True):
        assert line["gross"] == entry["totals"]["gross"]
        assert line["payable"] == entry["totals"]["payable"]
        # holdback_release_after 1: only the period's own holdback is still outstanding
        assert line["holdback_outstanding"] == entry["totals"]["holdback"]
    verified = cli("ledger", "--config", program, "--verify", "--json")
    assert verified.exit_code == 0, verified.output
    assert document(verified)["entries"] == 3


def test_ledger_partner_shows_history_and_open_balances(program: Path) -> None:
    first = run_and_close(program, "2026Q1")
    assert first["period"] == "2026Q1"
    result = cli("ledger", "--config", program, "--partner", "L1", "--json")
    assert result.exit_code == 0, result.output
    report = document(result)
    assert [row["period"] for row in report["history"]] == ["2026Q1"]
    assert report["history"][0]["tier"] == "Gold"
    assert report["holdbacks_awaiting_release"] == [
        {"period": "2026Q1", "holdback": "440.00", "released_in": "2026Q2"}
    ]
    (streak,) = report["streaks"]
    assert (streak["tier"], streak["streak"], streak["next_paid_in"]) == ("Gold", 1, "2026Q2")
    people = cli("ledger", "--config", program, "--partner", "L1")
    assert "released in 2026Q2" in people.output

    def partner(pid: str) -> dict[str, Any]:
        return document(cli("ledger", "--config", program, "--partner", pid, "--json"))

    assert partner("L4")["carry"] == "-64.00"
    clawable = partner("L3")["clawable_deals"]
    assert [(d["deal_id"], d["bonus"], d["clawable_until"]) for d in clawable] == [
        ("D32", "1600.00", "2026-05-02"),
        ("D31", "2400.00", "2026-06-18"),
    ]
    run_and_close(program, "2026Q2")
    after = partner("L3")
    assert [row["clawback"] for row in after["history"]] == ["0.00", "2400.00"]
    assert "D31" not in [d["deal_id"] for d in after["clawable_deals"]]  # clawed back
    assert "D32" not in [d["deal_id"] for d in after["clawable_deals"]]  # window over
    assert partner("L4")["carry"] == "0.00"


def test_a_run_whose_files_were_edited_is_not_closed(program: Path) -> None:
    assert run(program, "2026Q1").exit_code == 0
    payouts = program.parent / "out" / "2026Q1" / "payouts.parquet"
    data = bytearray(payouts.read_bytes())
    data[len(data) // 2] ^= 0x01
    payouts.write_bytes(bytes(data))
    refused(close(program, "2026Q1"), 3, "payouts.parquet", "differs from what the run's manifest")
    assert not (program.parent / "ledger" / "entries").exists() or entries(program) == []


def test_a_run_with_another_config_is_not_closed(program: Path) -> None:
    assert run(program, "2026Q1").exit_code == 0
    program.write_text(program.read_text() + "\n# edited after the run\n")
    refused(close(program, "2026Q1"), 3, "made with another config")


def test_a_period_is_closed_once(program: Path) -> None:
    run_and_close(program, "2026Q1")
    refused(close(program, "2026Q1"), 3, "2026Q1 is already closed (entry 0001-2026Q1)")
    assert entries(program) == ["0001-2026Q1"]


def test_closing_out_of_order_is_refused(program: Path) -> None:
    # On an empty ledger any period runs, so a 2026Q3 run exists before 2026Q1 is closed.
    assert run(program, "2026Q3").exit_code == 0
    run_and_close(program, "2026Q1")
    refused(close(program, "2026Q3"), 3, "2026Q3 is not the next period", "close 2026Q2 first")


def test_a_run_made_before_another_close_is_refused(program: Path) -> None:
    """The 2026Q2 run stood on an empty ledger; 2026Q1 was closed after it was made."""
    assert run(program, "2026Q2").exit_code == 0
    run_and_close(program, "2026Q1")
    refused(close(program, "2026Q2"), 3, "A period was closed after the run", "again")


def test_runs_of_closed_and_far_periods_are_refused_with_the_next_one_named(
    program: Path,
) -> None:
    run_and_close(program, "2026Q1")
    refused(run(program, "2026Q1"), 3, "2026Q1 is closed", "next period", "2026Q2",
            "--recalculate")  # fmt: skip
    refused(run(program, "2026Q3"), 3, "2026Q3 is ahead", "2026Q2 is still open")
    refused(run(program, "2025Q4"), 3, "before the ledger's first entry")
    assert run(program, "2026Q2").exit_code == 0


def test_a_recalculation_is_marked_and_never_closed(program: Path) -> None:
    run_and_close(program, "2026Q1")
    out = program.parent / "out" / "recalc"
    result = cli("run", "--config", program, "--period", "2026Q1", "--out", out,
                 "--no-statements", "--json", "--recalculate")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert document(result)["recalculation"] is True
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ledger"]["recalculation"] is True
    overview = openpyxl.load_workbook(out / "summary.xlsx").worksheets[0]
    assert "RECALCULATION" in str(overview["A1"].value)
    people = cli("run", "--config", program, "--period", "2026Q1", "--out", out,
                 "--recalculate", "--force")  # fmt: skip
    assert "RECALCULATION" in people.output
    for statement in sorted((out / "statements").glob("*.xlsx")):
        title = openpyxl.load_workbook(statement).worksheets[0]["A1"].value
        assert "RECALCULATION" in str(title), statement
    refused(cli("close", "--config", program, "--run", out, "--json"), 3, "recalculation")
    refused(run(program, "2026Q3", "--recalculate"), 3, "2026Q2 is still open")
    assert entries(program) == ["0001-2026Q1"]


@pytest.mark.parametrize("file", ENTRY_FILES)
def test_a_flipped_byte_in_any_ledger_file_is_found_and_stops_runs(
    program: Path, file: str
) -> None:
    run_and_close(program, "2026Q1")
    path = program.parent / "ledger" / "entries" / "0001-2026Q1" / file
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))

    verified = cli("ledger", "--config", program, "--verify", "--json")
    assert verified.exit_code == 1, verified.output
    problems = document(verified)["problems"]
    assert {"entry": "0001-2026Q1", "file": file} in [
        {"entry": p["entry"], "file": p["file"]} for p in problems
    ], problems
    people = cli("ledger", "--config", program, "--verify")
    assert people.exit_code == 1
    assert "0001-2026Q1" in people.output and file in people.output

    refused(run(program, "2026Q2"), 1, "failed verification", "0001-2026Q1", file)
    assert not (program.parent / "out" / "2026Q2").exists()
    for command in ("validate", "explain"):
        extra = ["--partner", "L1"] if command == "explain" else []
        checked = cli(command, "--config", program, "--period", "2026Q2", "--json", *extra)
        assert checked.exit_code == 1, checked.output


def test_a_removed_entry_breaks_the_chain(program: Path) -> None:
    run_and_close(program, "2026Q1")
    run_and_close(program, "2026Q2")
    ledger = program.parent / "ledger" / "entries"
    shutil.rmtree(ledger / "0001-2026Q1")
    verified = cli("ledger", "--config", program, "--verify", "--json")
    assert verified.exit_code == 1
    messages = " ".join(p["message"] for p in document(verified)["problems"])
    assert "expected 1" in messages and "link to the previous entry" in messages


def test_a_ledger_of_another_program_is_refused(program: Path) -> None:
    run_and_close(program, "2026Q1")
    program.write_text(program.read_text().replace("name: Ledger example", "name: Other"))
    refused(run(program, "2026Q2"), 3, "belongs to program 'Ledger example'", "'Other'")
    refused(cli("ledger", "--config", program, "--json"), 3, "belongs to program")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("base_currency: USD", "base_currency: EUR", "base_currency"),
        ("base_currency: USD", "base_currency: USD\n  fiscal_year_start_month: 2",
         "fiscal_year_start_month"),
    ],
)  # fmt: skip
def test_changing_the_calendar_or_currency_of_a_ledger_is_a_config_error(
    program: Path, old: str, new: str, key: str
) -> None:
    run_and_close(program, "2026Q1")
    program.write_text(program.read_text().replace(old, new))
    refused(run(program, "2026Q2"), 2, f"program.{key}", "cannot change while the ledger")


def test_close_refuses_a_quarantined_run_that_dropped_a_partner_with_a_balance(
    program: Path,
) -> None:
    """L1 (holdback of 2026Q1 outstanding) loses its partners row to quarantine; its deals
    are gone from the export too, so the run itself goes through without it."""
    run_and_close(program, "2026Q1")
    partners, deals = program.parent / "partners.csv", program.parent / "deals.csv"
    partners.write_text(partners.read_text().replace("2024-01-10,,active", "2024-01-10,,bogus"))
    kept = [line for line in deals.read_text().splitlines() if ",L1," not in line]
    deals.write_text("\n".join(kept) + "\n")
    ran = run(program, "2026Q2", "--quarantine", "--max-rejected", "20%")
    assert ran.exit_code == 0, ran.output
    assert document(ran)["rejected_rows"] == 1
    refused(close(program, "2026Q2"), 3, "L1 (carry 0.00, holdback 440.00)", "quarantine")
    assert entries(program) == ["0001-2026Q1"]


def test_validate_warns_about_history_rules_without_a_ledger(program: Path) -> None:
    text = program.read_text()
    program.write_text(text[: text.index("ledger:")])
    result = cli("validate", "--config", program, "--period", "2026Q1", "--json")
    assert result.exit_code == 0, result.output
    warnings = " ".join(document(result)["warnings"])
    assert "clawback_within_days: 90" in warnings and "tier_grace_quarters: 1" in warnings
    assert "stranded" in warnings
    refused(run(program, "2026Q1", "--recalculate"), 2, "--recalculate needs a ledger")
    assert run(program, "2026Q1").exit_code == 0
    refused(close(program, "2026Q1"), 2, "has no `ledger: {path: DIR}`")
    refused(cli("ledger", "--config", program, "--json"), 2, "no ledger")


def start_close(program: Path, pause: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INCENTCALC_TEST_PAUSE_IN_CLOSE": str(pause)}
    return subprocess.Popen(
        [sys.executable, "-m", "incentcalc", "close", "--config", str(program), "--run",
         str(program.parent / "out" / "2026Q1"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip


def staged_files(program: Path) -> list[Path]:
    folder = program.parent / "ledger" / "entries"
    if not folder.is_dir():
        return []
    return [f for tmp in folder.glob(".0001-2026Q1.tmp-*") for f in tmp.iterdir()]


def test_kill_9_during_close_leaves_the_ledger_without_the_entry(program: Path) -> None:
    assert run(program, "2026Q1").exit_code == 0
    process = start_close(program, pause=60)
    deadline = time.monotonic() + 60
    while len(staged_files(program)) < 5:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()

    verified = cli("ledger", "--config", program, "--verify", "--json")
    assert verified.exit_code == 0, verified.output
    assert document(verified)["entries"] == 0
    closed = close(program, "2026Q1")  # takes the dead close's lock over
    assert closed.exit_code == 0, closed.output
    assert entries(program) == ["0001-2026Q1"]
    assert staged_files(program) == []
    assert cli("ledger", "--config", program, "--verify").exit_code == 0


def test_two_closes_at_once_one_wins_one_is_refused(program: Path) -> None:
    assert run(program, "2026Q1").exit_code == 0
    first, second = start_close(program, pause=1), start_close(program, pause=1)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 3], [o[1].decode() for o in outputs]
    loser = next(o for p, o in zip((first, second), outputs, strict=True) if p.returncode == 3)
    error = json.loads(loser[0])["error"]
    assert "lock" in error or "already closed" in error
    assert entries(program) == ["0001-2026Q1"]
    assert cli("ledger", "--config", program, "--verify").exit_code == 0


def test_the_sample_ledger_program_shows_a_clawback_a_release_and_a_milestone(
    tmp_path: Path,
) -> None:
    """`make ledger-demo`: the sample's program-ledger.yaml, three quarters closed in a row."""
    data = tmp_path / "data"
    made = cli("sample-data", "--out", data, "--partners", "200", "--seed", "7", "--period",
               "2026Q3", "--quarters", "4", "--format", "parquet", "--quiet")  # fmt: skip
    assert made.exit_code == 0, made.output
    program = data / "program-ledger.yaml"
    closed = [run_and_close(program, period) for period in ("2026Q1", "2026Q2", "2026Q3")]
    q2 = closed[1]["totals"]
    assert Decimal(q2["holdback_released"]) == Decimal(closed[0]["totals"]["holdback"])
    assert Decimal(q2["clawback"]) > 0
    assert Decimal(q2["loyalty_bonus"]) > 0
    assert document(cli("ledger", "--config", program, "--verify", "--json"))["entries"] == 3


def test_diff_and_explain_calculate_on_the_entries_before_the_period(program: Path) -> None:
    """After 2026Q1 is closed, diff of 2026Q2 gives the run's payable (carry, releases and
    clawbacks included) on both sides; a period before the ledger is calculated alone."""
    run_and_close(program, "2026Q1")
    ran = run(program, "2026Q2")
    assert ran.exit_code == 0, ran.output
    compared = cli("diff", "--baseline", program, "--candidate", program, "--period", "2026Q2",
                   "--json")  # fmt: skip
    assert compared.exit_code == 0, compared.output
    sides = document(compared)
    payable = document(ran)["totals"]["payable"]
    assert sides["baseline"]["payable"] == sides["candidate"]["payable"] == payable
    explained = cli("explain", "--config", program, "--period", "2026Q2", "--partner", "L3",
                    "--json")  # fmt: skip
    assert explained.exit_code == 0, explained.output
    assert "D31" in explained.stdout  # the deal clawed back from 2026Q1
    assert entries(program) == ["0001-2026Q1"]  # nothing written
