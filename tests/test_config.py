"""Config errors seen through `incentcalc validate` (exit 2, key path and value named), the
`schema` command, and the shipped JSON Schema file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.config import json_schema

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "basic"
    shutil.copytree(EXAMPLE, folder)
    path = folder / "program.yaml"
    path.chmod(0o644)
    return path


def validate(path: Path) -> Any:
    return runner.invoke(app, ["validate", "--config", str(path), "--period", "2026Q3"])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("kpis:", "kpi:", ["kpi", "Extra inputs are not permitted"]),
        ("rounding: half_up", "rounding: half_down", ["program.rounding", "half_down"]),
        ("nps: 0.2, grr: 0.2}", "nps: 0.2, grr: 0.3}",
         ["segments.reseller.weights must sum to 1, got 1.1"]),
        ("weights: {revenue: 0.6,", "weights: {revenu: 0.6,", ["'revenu' is not a KPI"]),
        ("{name: Gold, min_score: 0.9", "{name: Gold, min_score: 0.5",
         ["tiers must be in strictly ascending min_score"]),
        ("team_share: 0.3", "team_share: 0.2", ["individual_share + team_share must be 1"]),
        ("cap: {amount: 8000}", "cap: {amount: lots}", ["payout.cap.amount", "lots"]),
        ("  deals: {path: deals.csv}", "  deals: {path: deals.csv, columns: {dael_id: Id}}",
         ["sources.deals.columns.dael_id", "Did you mean 'deal_id'"]),
        ("  nps: {path: nps.csv}", "  nps: {path: nps.csv, skip_rows: -1}",
         ["sources.nps.skip_rows"]),
        ("base_currency: USD", "base_currency: usd", ["program.base_currency", "usd"]),
    ],
)  # fmt: skip
def test_config_mistakes_exit_2_with_the_key_path(
    config: Path, old: str, new: str, expected: list[str]
) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = validate(config)
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    for part in expected:
        assert part in flat, flat


def test_invalid_yaml_exits_2(config: Path) -> None:
    config.write_text("program: [unclosed\n", encoding="utf-8")
    result = validate(config)
    assert result.exit_code == 2 and "not valid YAML" in result.output


def test_shipped_json_schema_equals_the_config_model() -> None:
    shipped = json.loads((REPO / "configs" / "program.schema.json").read_text(encoding="utf-8"))
    assert shipped == json_schema()


def test_schema_command_lists_columns_and_the_json_schema() -> None:
    result = runner.invoke(app, ["schema", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    columns = {(c["source"], c["column"]): c for c in document["input_columns"]}
    assert columns[("deals", "amount")]["type"] == "amount"
    assert columns[("deals", "close_date")]["optional"] is True
    assert columns[("targets", "target")]["source_required"] is False
    assert document["config_schema"] == json_schema()
    text = runner.invoke(app, ["schema"])
    assert text.exit_code == 0
    assert "rate_to_base" in text.output and '"$schema"' in text.output


def test_example_configs_load() -> None:
    """Every shipped example config is a valid program (its paths may point elsewhere)."""
    from incentcalc.config import load_config

    examples = sorted((REPO / "configs" / "examples").glob("*.yaml"))
    assert len(examples) >= 5
    for path in examples:
        assert load_config(path).program.name
