"""`explain --partner ID --run DIR`: the same document as a full explain, from the partner's
own rows plus the run's payouts; refused when the run belongs to other inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incentcalc.cli.app import app

runner = CliRunner()
PERIOD = "2026Q3"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def run_folder(example: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    invoke("run", "--config", str(example / "program.yaml"), "--period", PERIOD,
           "--out", str(out), "--no-statements", "--quiet")  # fmt: skip
    return out


@pytest.mark.parametrize("partner", ["P1", "P2", "P5", "P8"])
def test_explain_with_the_run_is_the_full_explanation(
    example: Path, tmp_path: Path, partner: str
) -> None:
    out = run_folder(example, tmp_path)
    explain = ["explain", "--config", str(example / "program.yaml"), "--period", PERIOD,
               "--partner", partner, "--json"]  # fmt: skip
    full = json.loads(invoke(*explain))
    assert json.loads(invoke(*explain, "--run", str(out))) == full
    assert full["team"] is None or len(full["team"]["members"]) > 1


def test_a_run_of_other_inputs_is_refused(example: Path, tmp_path: Path) -> None:
    out = run_folder(example, tmp_path)
    with (example / "nps.csv").open("a", encoding="utf-8") as handle:
        handle.write("R99,P1,C100,2026-08-30,10\n")
    result = runner.invoke(
        app,
        ["explain", "--config", str(example / "program.yaml"), "--period", PERIOD,
         "--partner", "P1", "--run", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "from other input files (nps changed)" in " ".join(result.output.split())


def test_a_run_of_another_period_is_refused(example: Path, tmp_path: Path) -> None:
    out = run_folder(example, tmp_path)
    result = runner.invoke(
        app,
        ["explain", "--config", str(example / "program.yaml"), "--period", "2026Q2",
         "--partner", "P1", "--run", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "for 2026Q3, not 2026Q2" in " ".join(result.output.split())
