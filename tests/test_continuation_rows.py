"""Order-line continuation rows are recognised and the `skip_rows_where` that fixes them is
shown (issue 26, defect 13), through the console script on copies of the worked example
written the way an Odoo sales-order export (an order's extra lines with the order fields
empty) and a Shopify orders export (the order number repeated on every line) write them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

INCENTCALC = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "incentcalc"
ODOO_LINES = ",,,,,1200.00,,,,Add-on\n,,,,,300.00,,,,Support\n,,,,,80.00,,,,Training\n"
SHOPIFY_LINES = "D001,,,,,,,,,Add-on\nD001,,,,,,,,,Support\nD001,,,,,,,,,Training\n"


def with_lines(example: Path, lines: str) -> None:
    """`lines` after the first deal (D001, row 2): rows 3 to 5."""
    deals = example / "deals.csv"
    header, first, *rest = deals.read_text(encoding="utf-8").splitlines(keepends=True)
    deals.write_text(header + first + lines + "".join(rest), encoding="utf-8")


def incentcalc(example: Path, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [str(INCENTCALC), command, "--config", str(example / "program.yaml")]
    args += ["--period", "2026Q3", *extra]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def skip(example: Path, rule: str) -> None:
    config = example / "program.yaml"
    text = config.read_text(encoding="utf-8")
    source = f"{{path: deals.csv, skip_rows_where: {rule}}}"
    config.write_text(text.replace("{path: deals.csv}", source), encoding="utf-8")


def test_extra_lines_with_the_order_fields_empty(example: Path) -> None:
    with_lines(example, ODOO_LINES)
    checked = incentcalc(example, "validate", "--json")
    assert checked.returncode == 1
    (hint,) = [w for w in json.loads(checked.stdout)["warnings"] if "continuation" in w]
    assert hint.startswith("3 of the 3 failing rows of deals look like order-line continuation")
    assert "deal_id, partner_id, customer_id, stage, close_date, currency" in hint
    assert "rows 3, 4, 5" in hint and '`skip_rows_where: {deal_id: [""]}`' in hint
    ran = incentcalc(example, "run", "--out", str(example / "out"))
    assert ran.returncode == 1
    assert '`skip_rows_where: {deal_id: [""]}`' in " ".join(ran.stderr.split())
    skip(example, '{deal_id: [""]}')
    assert incentcalc(example, "validate").returncode == 0


def test_lines_that_repeat_the_order_number(example: Path) -> None:
    with_lines(example, SHOPIFY_LINES)
    checked = incentcalc(example, "validate", "--json")
    assert checked.returncode == 1
    (hint,) = [w for w in json.loads(checked.stdout)["warnings"] if "continuation" in w]
    assert "the deal_id of an earlier row repeated, amount empty: rows 3, 4, 5" in hint
    assert '`skip_rows_where: {amount: [""]}`' in hint
    skip(example, '{amount: [""]}')
    assert incentcalc(example, "validate").returncode == 0


def test_a_few_bad_rows_get_no_hint(example: Path) -> None:
    with_lines(example, ODOO_LINES.split("\n", 1)[0] + "\n")
    checked = incentcalc(example, "validate", "--json")
    assert checked.returncode == 1
    assert not [w for w in json.loads(checked.stdout)["warnings"] if "continuation" in w]
