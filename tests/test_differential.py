"""The differential test: generated programs and data through the real CLI, every payouts.csv
column (and every deal bonus) compared with the independent reference in tests/reference.

`INCENTCALC_DIFF_EXAMPLES` sets how many quarters run (200 by default, 2,000 in `make
verify`), spread over a few shards so `pytest -n 2` runs them in parallel. Seeds are fixed, so
a run is reproducible. A failure names the partner, the column, both values and the folder
holding the generated quarter (program.yaml and CSVs), which reproduces it with
`incentcalc run --config <folder>/program.yaml --period <period>`.
"""

from __future__ import annotations

import itertools
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLE
from hypothesis import HealthCheck, Phase, given, seed, settings
from quarters import Scenario, scenarios
from reference import QuarterResult, compute_quarter
from reference.compare import (
    compare_hits,
    compare_ledger_rows,
    compare_rows,
    read_csv_text,
)
from reference.ledger import Entry
from typer.testing import CliRunner

from incentcalc.cli.app import app

SHARDS = 4
EXAMPLES = int(os.environ.get("INCENTCALC_DIFF_EXAMPLES", "200"))
SEQUENCES = max(SHARDS, EXAMPLES // 8)
"""Four-quarter ledger sequences: 25 (100 more quarters) by default, 250 in `make verify`."""
runner = CliRunner()
_counter = itertools.count()


SHRINK = os.environ.get("INCENTCALC_DIFF_SHRINK") == "1"
"""Shrinking a failing quarter to a minimal one runs the CLI hundreds of times more: off in
`make test` (the first failing quarter is reported as drawn), on with INCENTCALC_DIFF_SHRINK=1."""


def diff_settings(examples: int) -> settings:
    phases = [Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])]
    return settings(
        max_examples=max(1, examples),
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def run_quarter(config: Path, label: str, out: Path, as_of: date | None = None) -> None:
    """`incentcalc run` (`--as-of` with `as_of`) in-process; a non-zero exit fails with the
    CLI's own message."""
    args = ["run", "--config", str(config), "--period", label, "--out", str(out),
            "--no-statements", "--quiet"]  # fmt: skip
    if as_of is not None:
        args += ["--as-of", as_of.isoformat()]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (
        f"incentcalc {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    )


def engine_disagreements(
    config: Path,
    label: str,
    out: Path,
    history: list[Entry] | None = None,
    as_of: date | None = None,
) -> tuple[QuarterResult, list[str]]:
    """The reference's result and every column where the engine's run in `out` differs."""
    expected = compute_quarter(config, label, history, as_of)
    problems = compare_rows(
        expected.payouts, read_csv_text(out / "payouts.csv"), "partner_id", "payouts.csv"
    )
    if (out / "deal_bonuses.csv").exists():
        problems += compare_rows(
            expected.deal_bonuses, read_csv_text(out / "deal_bonuses.csv"), "deal_id",
            "deal_bonuses.csv",
        )  # fmt: skip
    exceptions = read_csv_text(out / "exceptions.csv")
    problems += compare_hits(expected.integrity_hits, exceptions)
    problems += compare_ledger_rows(expected.ledger_exceptions, exceptions)
    return expected, problems


def check_quarter(
    config: Path, label: str, out: Path, history: list[Entry], where: str, as_of: date | None = None
) -> QuarterResult:
    """Run one quarter (as of a day of it, with `as_of`) and require agreement; failures say
    where the case was written."""
    try:
        run_quarter(config, label, out, as_of)
        expected, problems = engine_disagreements(config, label, out, history, as_of)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\nGenerated case: {where}") from None
    assert not problems, (
        f"The engine and the reference disagree on {len(problems)} value(s) for period {label}"
        f"{'' if as_of is None else f' as of {as_of}'}; "
        f"{where}:\n  " + "\n  ".join(problems[:20])
    )
    return expected


def check_scenario(scenario: Scenario, root: Path) -> None:
    """Write, run, compare; the folder is kept only when the quarter fails."""
    folder = root / f"quarter{next(_counter)}"
    config = scenario.write(folder)
    label = scenario.periods[0]
    where = f"generated quarter in {folder} (program.yaml and CSVs)"
    if scenario.as_of is not None:
        where += f", run with --as-of {scenario.as_of.isoformat()}"
    check_quarter(config, label, folder / "out", [], where, scenario.as_of)
    shutil.rmtree(folder)


def check_sequence(scenario: Scenario, root: Path) -> None:
    """Run, compare, close, next quarter; each quarter reads its own deals export (saved as
    deals_<period>.csv) and the reference carries its own ledger alongside the engine's."""
    folder = root / f"sequence{next(_counter)}"
    history: list[Entry] = []
    release_after = int(scenario.program["payout"].get("holdback_release_after", 1))
    for index, label in enumerate(scenario.periods):
        config = scenario.write(folder, index)
        shutil.copyfile(folder / "deals.csv", folder / f"deals_{label}.csv")
        out = folder / f"out_{label}"
        where = (
            f"generated quarters in {folder} (program.yaml; deals_<period>.csv is each quarter's "
            f"deals export; quarters before {label} closed into ledger/)"
        )
        if scenario.as_of is not None and index == len(scenario.periods) - 1:
            # the last quarter so far first, on the same history (RULES.md 12)
            progress = f"{where}, run with --as-of {scenario.as_of.isoformat()}"
            check_quarter(config, label, folder / "progress", history, progress, scenario.as_of)
        expected = check_quarter(config, label, out, history, where)
        closing = runner.invoke(app, ["close", "--config", str(config), "--run", str(out)])
        assert closing.exit_code == 0, (
            f"incentcalc close --run {out} exited {closing.exit_code}:\n{closing.output}\n{where}"
        )
        history.append(expected.close(release_after))
    shutil.rmtree(folder)


@pytest.mark.parametrize("shard", range(SHARDS))
def test_engine_agrees_with_the_reference_on_generated_quarters(
    shard: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp(f"differential{shard}")

    @seed(20261201 + shard)
    @diff_settings(EXAMPLES // SHARDS + (shard < EXAMPLES % SHARDS))
    @given(scenarios())
    def check(scenario: Scenario) -> None:
        check_scenario(scenario, root)

    check()


def close_exists() -> bool:
    """Whether the engine has the ledger's `close` command yet (issue 12)."""
    return runner.invoke(app, ["close", "--help"]).exit_code == 0


@pytest.mark.parametrize("shard", range(SHARDS))
def test_engine_agrees_with_the_reference_over_four_closed_quarters(
    shard: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Sequences of four quarters with every history rule configured at random."""
    if not close_exists():
        pytest.skip("`incentcalc close` does not exist yet: the ledger (issue 12) is not built")
    root = tmp_path_factory.mktemp(f"sequences{shard}")
    sequences = SEQUENCES // SHARDS + (shard < SEQUENCES % SHARDS)

    @seed(20261301 + shard)
    @diff_settings(sequences)
    @given(scenarios(quarters=4, history=True))
    def check(scenario: Scenario) -> None:
        check_sequence(scenario, root)

    check()


def test_engine_writes_deal_bonuses(tmp_path: Path) -> None:
    """The differential test compares deal_bonuses.csv whenever the engine writes it."""
    run_quarter(EXAMPLE / "program.yaml", "2026Q3", tmp_path / "out")
    if not (tmp_path / "out" / "deal_bonuses.csv").exists():
        pytest.skip("the engine writes no deal_bonuses.csv yet (RULES.md 11.2, issue 12)")
    _, problems = engine_disagreements(EXAMPLE / "program.yaml", "2026Q3", tmp_path / "out")
    assert problems == []
