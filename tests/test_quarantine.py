"""Quarantine sets rows aside, never a source (DATA.md "Validation", issue 11 section 5).

Through the CLI on copies of the worked example: a missing column, an unreadable column or
file, and too many rejected rows stop `run --quarantine` with exit 1 and nothing written; a
run that did reject rows says so, per source and per partner not calculated.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incentcalc.cli.app import app

runner = CliRunner()
PERIOD = "2026Q3"


def run(folder: Path, *extra: str) -> Any:
    args = ["run", "--config", str(folder / "program.yaml"), "--period", PERIOD]
    return runner.invoke(app, [*args, "--out", str(folder / "out"), "--no-statements", *extra])


def flat(result: Any) -> str:
    return " ".join(result.output.split())


def drop_column(path: Path, column: str) -> None:
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    kept = [name for name in rows[0] if name != column]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, kept, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def assert_stopped(folder: Path, *needles: str) -> None:
    result = run(folder, "--quarantine", "--max-rejected", "100%")
    assert result.exit_code == 1, result.output
    for needle in needles:
        assert needle in flat(result), (needle, result.output)
    assert "Traceback" not in result.output
    assert not (folder / "out").exists()


def test_a_missing_column_stops_the_run_under_quarantine(example: Path) -> None:
    """Once: the `score` column deleted, `run --quarantine` exited 0 without any NPS."""
    drop_column(example / "nps.csv", "score")
    assert_stopped(example, "nps.csv", "no header 'score'", "never a whole file or column")


def test_an_unreadable_file_stops_the_run_under_quarantine(example: Path) -> None:
    (example / "renewals.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    assert_stopped(example, "renewals.csv", "binary data")


def test_a_column_no_value_of_which_reads_stops_the_run_under_quarantine(example: Path) -> None:
    """Every responded_on written 20.07.2026: a format problem, not 14 bad rows."""
    nps = example / "nps.csv"
    rows = list(csv.reader(nps.read_text(encoding="utf-8").splitlines()))
    for row in rows[1:]:
        year, month, day = row[3].split("-")
        row[3] = f"{day}.{month}.{year}"
    with nps.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    assert_stopped(example, "nps.csv", "column responded_on", "no value of this column")


def bad_amount(folder: Path) -> None:
    deals = folder / "deals.csv"
    deals.write_text(deals.read_text().replace(",9000.00,USD", ",9000.005,USD"))


def test_more_rejected_rows_than_max_rejected_stops_the_run(example: Path) -> None:
    bad_amount(example)  # 1 of 12 deals rows: 8.3%, above the default 1%
    result = run(example, "--quarantine")
    assert result.exit_code == 1
    assert "would reject 1 of 12 rows of deals" in flat(result)
    assert "more than --max-rejected 1%" in flat(result)
    assert not (example / "out").exists()
    result = run(example, "--quarantine", "--max-rejected", "8%")
    assert result.exit_code == 1 and "more than --max-rejected 8%" in flat(result)
    result = run(example, "--quarantine", "--max-rejected", "9%", "--quiet")
    assert result.exit_code == 0, result.output
    assert (example / "out" / "rejected_rows.csv").is_file()


@pytest.mark.parametrize("value", ["five", "101%", "-1%", "nan"])
def test_max_rejected_must_be_a_percentage(example: Path, value: str) -> None:
    result = run(example, "--quarantine", "--max-rejected", value)
    assert result.exit_code == 2
    assert "--max-rejected" in flat(result) and "5%" in flat(result)


def test_a_run_with_rejected_rows_names_them_per_source_and_per_partner(example: Path) -> None:
    bad_amount(example)
    partners = example / "partners.csv"
    partners.write_text(partners.read_text().replace(",,,2026-08-16,", ",,,16/08/2026,"))
    result = run(example, "--quarantine", "--max-rejected", "20%", "--json")
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.output)["warnings"]
    assert any(w.startswith("1 row(s) of deals (") for w in warnings), warnings
    assert any(w.startswith("1 row(s) of partners (") for w in warnings), warnings
    assert "partner 'P4' is not calculated: its partners row 5 was rejected" in warnings
    with (example / "out" / "payouts.csv").open(encoding="utf-8") as handle:
        assert "P4" not in {row["partner_id"] for row in csv.DictReader(handle)}
    manifest = json.loads((example / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rejected_rows"] == 2 and manifest["warnings"][: len(warnings)] == warnings

    shutil.rmtree(example / "out")
    shown = run(example, "--quarantine", "--max-rejected", "20%")
    assert shown.exit_code == 0
    assert "Warning: partner 'P4' is not calculated" in flat(shown)
