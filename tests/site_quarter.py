"""A small quarter with history for the site's tests, made through the real console script:
sample data for two quarters (one partner renamed `<script>alert(1)</script>`), 2026Q2 run and
closed, 2026Q3 run with statements, and its site. Built once per test session (and worker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

INCENTCALC = Path(sys.executable).with_name("incentcalc")
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_ID = "P0002"
PERIOD = "2026Q3"


def incentcalc(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The console script, as a user runs it."""
    return subprocess.run(
        [str(INCENTCALC), *map(str, args)], capture_output=True, text=True, check=check
    )


def make_quarter(root: Path) -> Path:
    """The 2026Q3 run folder (its site in `site/`) of a 40-partner sample with a closed 2026Q2."""
    data = root / "data"
    incentcalc("sample-data", "--out", data, "--partners", 40, "--seed", 3,
               "--period", PERIOD, "--quarters", 2, "--quiet")  # fmt: skip
    partners = data / "partners.csv"
    lines = partners.read_text(encoding="utf-8").splitlines()
    fields = lines[2].split(",")
    assert fields[0] == HOSTILE_ID
    lines[2] = ",".join([fields[0], HOSTILE_NAME, *fields[2:]])
    partners.write_text("\n".join(lines) + "\n", encoding="utf-8")
    program = data / "program-ledger.yaml"
    incentcalc("run", "--config", program, "--period", "2026Q2", "--out", root / "2026Q2",
               "--no-statements", "--quiet")  # fmt: skip
    incentcalc("close", "--config", program, "--run", root / "2026Q2", "--quiet")
    run = root / PERIOD
    incentcalc("run", "--config", program, "--period", PERIOD, "--out", run, "--quiet")
    incentcalc("site", "--run", run, "--quiet")
    return run


@pytest.fixture(scope="session")
def site_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of the session's quarter; its site is `site_run / "site"`."""
    return make_quarter(tmp_path_factory.mktemp("site-quarter"))
