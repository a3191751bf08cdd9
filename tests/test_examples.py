"""Every shipped example config validates and runs, with the command its first line states.

A new user's first step is to copy an example: each one must work from the repository alone
(its data under tests/fixtures/), and say in a comment how to run it.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incentcalc.cli.app import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "configs" / "examples").glob("*.yaml"))
COMMAND = re.compile(
    r"^# incentcalc run --config (?P<config>configs/examples/\S+\.yaml) --period (?P<period>\S+)$"
)
runner = CliRunner()


def stated_command(config: Path) -> tuple[str, str]:
    """(config path, period) of the `incentcalc run` command on the config's first line."""
    first = config.read_text(encoding="utf-8").splitlines()[0]
    match = COMMAND.match(first)
    assert match, f"{config.name} must start with '# incentcalc run --config ... --period ...'"
    return match["config"], match["period"]


def test_there_are_examples_for_every_real_export_and_derived_fixture() -> None:
    names = {path.stem for path in EXAMPLES}
    assert {"rsurvey-en-xlsx", "rsurvey-es-csv", "european-deals", "excel-report"} <= names


@pytest.mark.parametrize("config", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_validates_and_runs_with_its_stated_command(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stated, period = stated_command(config)
    assert stated == f"configs/examples/{config.name}"
    assert "../shared" not in config.read_text(encoding="utf-8")
    monkeypatch.chdir(REPO)  # the stated command runs from the repository root
    checked = runner.invoke(app, ["validate", "--config", stated, "--period", period, "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["failures"]["total"] == 0
    out = tmp_path / "out"
    args = ["run", "--config", stated, "--period", period, "--out", str(out), "--no-statements"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    with (out / "payouts.csv").open(encoding="utf-8") as handle:
        payouts = list(csv.DictReader(handle))
    assert payouts and json.loads(result.output)["partners"] == len(payouts)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    files = [
        entry["path"] for entry in manifest["inputs"] if entry["path"] != "partners from deals"
    ]
    assert all(Path(path).is_relative_to(REPO / "tests" / "fixtures") for path in files)
