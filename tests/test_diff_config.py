"""The config diff names every changed key path with old -> new, in the files' own words."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from conftest import EXAMPLE

from incentcalc.reports.config_diff import ConfigChange, compare_config_files, diff_configs


def test_example_budget_config_differs_in_name_and_budget() -> None:
    changes = compare_config_files(EXAMPLE / "program.yaml", EXAMPLE / "program_budget.yaml")
    assert [c.describe() for c in changes] == [
        "program.name: Basic example -> Basic example with budget",
        "payout.budget: (absent) -> 15000",
    ]


def test_config_against_itself_has_no_changes() -> None:
    assert compare_config_files(EXAMPLE / "program.yaml", EXAMPLE / "program.yaml") == []


def test_numbers_compare_by_value_and_tiers_item_by_item() -> None:
    old = {
        "tiers": [{"name": "A", "rate": Decimal("0.50")}, {"name": "B", "rate": 1}],
        "kpis": {"k": {"score": {"steps": [[0, 0], [Decimal("0.8"), Decimal("0.5")]]}}},
    }
    new = {
        "tiers": [
            {"name": "A", "rate": "0.5"},
            {"name": "B", "rate": Decimal("1.5")},
            {"name": "C"},
        ],
        "kpis": {"k": {"score": {"steps": [[0, 0], [Decimal("0.9"), Decimal("0.5")]]}}},
    }
    assert diff_configs(old, new) == [
        ConfigChange("tiers.1.rate", 1, Decimal("1.5")),
        ConfigChange("tiers.2", None, {"name": "C"}),
        ConfigChange("kpis.k.score.steps", [[0, 0], [Decimal("0.8"), Decimal("0.5")]],
                     [[0, 0], [Decimal("0.9"), Decimal("0.5")]]),
    ]  # fmt: skip
    assert diff_configs(old, new)[2].describe() == (
        "kpis.k.score.steps: [[0, 0], [0.8, 0.5]] -> [[0, 0], [0.9, 0.5]]"
    )


def test_source_paths_compare_resolved(tmp_path: Path) -> None:
    """The same file named from two folders is no change; the same name in two folders is."""
    text = (EXAMPLE / "program.yaml").read_text(encoding="utf-8")
    moved = tmp_path / "program.yaml"
    moved.write_text(text.replace("{path: deals.csv}", f"{{path: {EXAMPLE / 'deals.csv'}}}"))
    changes = compare_config_files(EXAMPLE / "program.yaml", moved)
    assert [c.key for c in changes] == [
        f"sources.{name}.path"
        for name in ("partners", "nps", "renewals", "targets", "fx_rates", "adjustments")
    ]
