"""What a command loads before it reads its first row: every module imported at start is paid
by every run, explain and cron job (issue 16 measures the start against a bare scan)."""

from __future__ import annotations

import subprocess
import sys

ENGINE_AT_START = (
    "incentcalc.cli.app", "incentcalc.api", "incentcalc.engine.quarter",
    "incentcalc.io.validation", "incentcalc.engine.fx", "incentcalc.money",
    "incentcalc.engine.scoring",
)  # fmt: skip

LOADED_LATER = ("numpy", "pandera", "pandas", "xlsxwriter", "rich")
"""numpy: Polars imports it for its first Python Decimal, which the readers' thread triggers;
pandera: only to describe a failing row; xlsxwriter and rich: only to write and print."""


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
