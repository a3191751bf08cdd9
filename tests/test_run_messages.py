"""What `run` and `validate` say (issue 26, defects 10, 14 and 15), through the console
script on copies of the worked example and the sample program."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

INCENTCALC = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "incentcalc"
EXAMPLES = Path(__file__).resolve().parents[1] / "configs" / "examples"
COMMA_ID = "Mid Atlantic (MD, DE, DC)"


def incentcalc(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INCENTCALC), *map(str, args)], capture_output=True, text=True, check=False
    )


def run(example: Path, *extra: object) -> subprocess.CompletedProcess[str]:
    config = example / "program.yaml"
    return incentcalc("run", "--config", config, "--period", "2026Q3", "--out",
                      example / "out", "--force", *extra)  # fmt: skip


def test_partners_paid_nothing_are_counted_apart(tmp_path: Path) -> None:
    """Once: `By status: payable 57` counted 46 partners paid 0.00. The Salesforce dev org
    example (no minimum payout) pays 12 of its 18 partners 0.00 at tier Bronze."""
    config = EXAMPLES / "salesforce-devorg.yaml"
    out = tmp_path / "out"
    args = ("run", "--config", config, "--period", "2024Q1", "--no-statements", "--out", out)
    summary = json.loads(incentcalc(*args, "--json").stdout)
    assert summary["counts_by_status"]["payable"] == 18 and summary["payable_zero"] == 12
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["payable_zero"] == 12
    shown = " ".join(incentcalc(*args, "--force").stdout.split())
    assert "│ payable │ 6 │ │ payable, 0.00 │ 12 │" in shown


def add_comma_partner(example: Path) -> None:
    partners = example / "partners.csv"
    row = f'"{COMMA_ID}",Mid Atlantic Group,reseller,NA,,,2024-01-01,,active\n'
    partners.write_text(partners.read_text() + row, encoding="utf-8")


def test_an_id_with_commas_is_taken_in_quotes(example: Path) -> None:
    add_comma_partner(example)
    done = run(example, "--partners", f'"{COMMA_ID}",P1', "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["statements"] == 2
    assert not [w for w in summary["warnings"] if "--partners" in w]
    assert len(list((example / "out" / "statements").iterdir())) == 2


def test_an_unquoted_id_with_commas_is_named_with_the_way_out(example: Path) -> None:
    """Once: the id was split at its commas into three unknown ids."""
    add_comma_partner(example)
    done = run(example, "--partners", COMMA_ID, "--json")
    warnings = json.loads(done.stdout)["warnings"]
    split = [w for w in warnings if "--partners" in w]
    assert split == [
        f"--partners split the id '{COMMA_ID}' at its commas, so it got no statement: write "
        f"it in double quotes (--partners '\"{COMMA_ID}\"') or one id per line in "
        "--partners-file"
    ]
    listed = example / "ids.txt"
    listed.write_text(f"partner_id\n{COMMA_ID}\n", encoding="utf-8")
    from_file = json.loads(run(example, "--partners-file", listed, "--json").stdout)
    assert from_file["statements"] == 1


def without_ledger(example: Path) -> Path:
    """The worked example (holdback 10%, min payout 100) writes no history rule."""
    config = yaml.safe_load((example / "program.yaml").read_text(encoding="utf-8"))
    assert "ledger" not in config and "holdback_release_after" not in config["payout"]
    return example / "program.yaml"


def test_history_warnings_name_only_what_the_config_says(example: Path) -> None:
    """Once: validate named holdback_release_after: 1, a default the config did not hold,
    and run, which strands the holdback, said nothing."""
    config = without_ledger(example)
    checked = incentcalc("validate", "--config", config, "--period", "2026Q3", "--json")
    warnings = json.loads(checked.stdout)["warnings"]
    assert not any("holdback_release_after" in w for w in warnings), warnings
    assert any("payout.holdback_pct 0.1 and payout.min_payout 100" in w for w in warnings)
    ran = json.loads(run(example, "--no-statements", "--json").stdout)
    stranded = [w for w in ran["warnings"] if "stranded" in w]
    totals = ran["totals"]
    holdback = f"{float(totals['holdback']):,.2f}"
    assert len(stranded) == 1 and f"this run's holdback {holdback}" in stranded[0]
    assert not any("holdback_release_after" in w for w in ran["warnings"])


def test_a_history_rule_written_without_a_ledger_is_named_by_run_too(example: Path) -> None:
    config = without_ledger(example)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("  holdback_pct: 0.1", "  holdback_pct: 0.1\n  holdback_release_after: 2")
    )
    ran = json.loads(run(example, "--no-statements", "--json").stdout)
    assert any("payout.holdback_release_after: 2" in w for w in ran["warnings"])
