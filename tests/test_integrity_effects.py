"""Integrity rules end to end on the repo's sample quarter: hits are counted per rule in the
run summary, and `diff` shows what turning the rules on costs or saves."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from incentcalc.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "configs" / "program.yaml"
runner = CliRunner()


def test_run_summary_counts_hits_per_rule_and_action(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", "--config", str(PROGRAM), "--period", "2026Q3", "--out",
              str(tmp_path / "out"), "--no-statements", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hits = {
        (h["rule"], h["action"]): h["hits"] for h in json.loads(result.stdout)["integrity_hits"]
    }
    assert set(hits) == {
        ("duplicate_deals", "exclude"),
        ("registration", "exclude"),
        ("quarter_end_spike", "flag"),
        ("reversal", "exclude"),
    }
    assert all(count > 0 for count in hits.values())


def test_diff_shows_the_effect_of_turning_the_rules_on(tmp_path: Path) -> None:
    raw = yaml.safe_load(PROGRAM.read_text())
    del raw["integrity"]
    for source in raw["sources"].values():
        source["path"] = str((PROGRAM.parent / source["path"]).resolve())
    without = tmp_path / "without_rules.yaml"
    without.write_text(yaml.safe_dump(raw))
    result = runner.invoke(
        app, ["diff", "--baseline", str(without), "--candidate", str(PROGRAM), "--period",
              "2026Q3", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [c["key"] for c in document["config_changes"]] == ["integrity"]
    assert document["config_changes"][0]["baseline"] is None
    # excluded deals lower some partners' grosses; the budget hands the room to others
    assert document["partners"]["down"] > 0
    assert document["partners"]["up"] > 0
