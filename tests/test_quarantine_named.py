"""Quarantine says whom it hurts (issue 26, defects 1, 3 and 4).

Through the CLI on copies of the worked example: a deals row with three decimals in its
amount (D011 of partner P8, row 12) and a partners row with a date the export cannot read
(P4, row 5). The rejected rows name their ids and partner on the console, in `--json`, the
manifest, rejected_rows.csv, exceptions.csv and the partner's statement; `explain` takes
`--quarantine` and shows the partner's rows that were set aside; `--max-rejected` says how
many rows, which, and the two ways out.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
from test_quarantine import bad_amount, flat
from typer.testing import CliRunner

from incentcalc.cli.app import app

runner = CliRunner()
PERIOD = "2026Q3"
INCENTCALC = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "incentcalc"


def bad_partner(folder: Path) -> None:
    partners = folder / "partners.csv"
    partners.write_text(partners.read_text().replace(",,,2026-08-16,", ",,,16/08/2026,"))


def invoke(folder: Path, command: str, *extra: str) -> Any:
    args = [command, "--config", str(folder / "program.yaml"), "--period", PERIOD, *extra]
    return runner.invoke(app, args)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rejected_rows_name_their_ids_and_the_partners_they_hurt(example: Path) -> None:
    bad_amount(example)
    bad_partner(example)
    out = example / "out"
    result = invoke(
        example, "run", "--out", str(out), "--quarantine", "--max-rejected", "20%", "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    warnings = summary["warnings"]
    assert any("(row 12 (deal_id D011, partner P8))" in w for w in warnings), warnings
    assert (
        "partner 'P8' is calculated without 1 rejected row(s) (row 12 (deal_id D011, partner "
        "P8)): its KPIs and payout leave them out until they are fixed"
    ) in warnings
    assert "partner 'P4' is not calculated: its partners row 5 was rejected" in warnings
    expected = {
        "P4": {"calculated": False},
        "P8": {"rows": 1, "which": "row 12 (deal_id D011, partner P8)"},
    }
    assert summary["rejected_partners"] == expected
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rejected_partners"] == expected and manifest["rejected_rows"] == 2

    rejected = read_csv(out / "rejected_rows.csv")
    assert [(r["source"], r["row"], r["record_id"], r["partner_id"]) for r in rejected] == [
        ("partners", "5", "P4", "P4"),
        ("deals", "12", "D011", "P8"),
    ]
    quarantined = [r for r in read_csv(out / "exceptions.csv") if r["kind"] == "quarantined"]
    assert [(r["partner_id"], r["deal_id"], r["rule"]) for r in quarantined] == [
        ("P4", "", "rejected partners row"),
        ("P8", "D011", "rejected deals row"),
    ]
    assert quarantined[1]["record_id"].endswith("deals.csv:12")
    assert "amount '9000.005': more than 2 decimal places" in quarantined[1]["detail"]

    sheet = openpyxl.load_workbook(out / "statements" / "P8.xlsx", read_only=True)["Statement"]
    lines = {row[0]: row for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert lines["Data left out"][1] == "rows set aside"
    assert "row 12 (deal_id D011, partner P8)" in lines["Data left out"][2]


def test_the_console_names_the_partner_a_rejected_row_hurts(example: Path) -> None:
    bad_amount(example)
    args = ["--out", str(example / "out"), "--quarantine", "--max-rejected", "20%"]
    result = invoke(example, "run", "--no-statements", *args)
    assert result.exit_code == 0, result.output
    assert "Warning: partner 'P8' is calculated without 1 rejected row(s)" in flat(result)


def test_max_rejected_says_how_many_rows_which_and_the_two_ways_out(example: Path) -> None:
    bad_amount(example)
    result = invoke(example, "run", "--out", str(example / "out"), "--quarantine")
    assert result.exit_code == 1
    message = flat(result)
    assert "would reject 1 of 12 rows of deals" in message
    assert "The rows: row 12 (deal_id D011, partner P8)." in message
    assert "Either fix them in the export or its mapping" in message
    assert "raise the limit: --max-rejected 8.34%" in message
    assert "format or mapping problem" not in message
    assert (
        invoke(
            example, "run", "--out", str(example / "out"), "--quarantine", "--max-rejected", "8.34%"
        ).exit_code
        == 0
    )


def test_explain_takes_quarantine_and_shows_the_partners_rejected_row(example: Path) -> None:
    """Once: explain exited 1 advising --quarantine, which it did not have."""
    bad_amount(example)
    stopped = invoke(example, "explain", "--partner", "P8")
    assert stopped.exit_code == 1 and "--quarantine" in flat(stopped)
    args = [str(INCENTCALC), "explain", "--config", str(example / "program.yaml")]
    args += ["--period", PERIOD, "--partner", "P8", "--quarantine", "--max-rejected", "10%"]
    shown = subprocess.run(args, capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "Rows of this partner set aside by --quarantine" in text
    assert "deals │ 12 │ D011 │ amount │ 9000.005 │ more than 2 decimal places" in text
    document = json.loads(
        subprocess.run([*args, "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert [(r["source"], r["row"], r["record_id"]) for r in document["rejected_rows"]] == [
        ("deals", 12, "D011")
    ]
    assert "D011" not in {deal["deal_id"] for deal in document["deals"]}
    too_many = invoke(example, "explain", "--partner", "P8", "--quarantine")
    assert too_many.exit_code == 1 and "--max-rejected 8.34%" in flat(too_many)


def test_explain_of_a_partner_whose_partners_row_was_set_aside(example: Path) -> None:
    bad_partner(example)
    result = invoke(
        example, "explain", "--partner", "P4", "--quarantine", "--max-rejected", "20%", "--json"
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["calculated"] is False
    assert "partners row 5 was set aside by --quarantine" in document["why"]
    assert document["rejected_rows"][0]["column"] == "joined_on"
    shown = invoke(example, "explain", "--partner", "P4", "--quarantine", "--max-rejected", "20%")
    assert shown.exit_code == 0, shown.output
    assert "P4 - " in shown.output and "not calculated" in flat(shown)
    assert "16/08/2026" in shown.output


def test_explain_with_run_and_quarantine(example: Path) -> None:
    bad_amount(example)
    out = example / "out"
    quarantine = ("--quarantine", "--max-rejected", "10%")
    assert invoke(example, "run", "--out", str(out), "--no-statements", *quarantine).exit_code == 0
    result = invoke(
        example, "explain", "--partner", "P8", "--run", str(out), "--quarantine", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rejected_rows"][0]["record_id"] == "D011"
