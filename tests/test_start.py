"""What a command loads before it reads its first row: every module imported at start is paid
by every run, explain and cron job (issue 16 measures the start against a bare scan)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENGINE_AT_START = (
    "incentcalc.cli.app", "incentcalc.api", "incentcalc.engine.quarter",
    "incentcalc.io.validation", "incentcalc.engine.fx", "incentcalc.money",
    "incentcalc.engine.scoring",
)  # fmt: skip

LOADED_LATER = ("numpy", "pandera", "pandas", "xlsxwriter", "rich")
"""numpy: only to generate sample data (Polars would import it for the first Python Decimal it
converts: the engine hands it config numbers as text, `money.decimal_lit`); pandera: only to
describe a failing row; xlsxwriter and rich: only to write and print."""


def test_the_engine_imports_none_of_the_modules_loaded_later() -> None:
    """Regression: a module-level `pl.lit(Decimal("0.01"))` in money.py imported numpy at
    every start, on the main thread."""
    probe = (
        f"import importlib, sys\nfor name in {ENGINE_AT_START!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {LOADED_LATER!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""


def test_a_calculation_and_its_explanation_import_no_numpy() -> None:
    """Polars imports numpy for the first Python Decimal it converts (0.1 s of every
    `explain`); the engine hands it config numbers as text (`decimal_lit`)."""
    script = (
        "import sys; from pathlib import Path; from incentcalc import api; "
        "from incentcalc.reports.explain import explain_partner; "
        "result = api.run_quarter(Path('sample_data/program.yaml'), '2026Q3'); "
        "explain_partner(result, 'P0001'); print('numpy' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == "False"
