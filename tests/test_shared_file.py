"""One file that feeds two sources reports each failing row once (issue 26, defect 2).

The worked example's deals.csv is read as the deals and, for a renewal program, as the
renewals too (contract_id <- deal_id, due_date <- close_date, both amounts <- amount, status
from the stage). A deal with three decimals in its amount fails in both sources, under three
canonical names for the one cell; it was reported twice (every row listed twice in
`--report`)."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

INCENTCALC = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "incentcalc"

RENEWALS_FROM_DEALS = """\
  renewals:
    path: deals.csv
    columns: {contract_id: deal_id, due_date: close_date, original_amount: amount,
              renewed_amount: amount, status: stage}
    values: {status: {closed_won: renewed, closed_lost: churned, "*": pending}}
    skip_rows_where: {due_date: [""]}
"""


def test_a_failing_row_of_a_file_read_twice_is_reported_once(example: Path) -> None:
    config = example / "program.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  renewals: {path: renewals.csv}\n", RENEWALS_FROM_DEALS))
    deals = example / "deals.csv"
    deals.write_text(deals.read_text().replace(",9000.00,USD", ",9000.005,USD"))
    report = example / "failures.csv"
    args = [str(INCENTCALC), "validate", "--config", str(config), "--period", "2026Q3"]
    done = subprocess.run(
        [*args, "--report", str(report), "--json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    with report.open(encoding="utf-8") as handle:
        rows = [(r["row"], r["column"], r["value"]) for r in csv.DictReader(handle)]
    assert rows == [("12", "amount", "9000.005")]
    assert document["failures"]["total"] == 1
