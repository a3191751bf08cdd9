"""`--quiet` means quiet: on success nothing reaches stdout or stderr, even with .xlsx sources
whose mixed columns make fastexcel log "Could not determine dtype ..." (a cron contract).

Run as a real process: a logging or warnings message printed by a library bypasses
CliRunner's captured streams, so only a subprocess sees what cron would see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def incentcalc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incentcalc", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("config", "period"),
    [
        ("rsurvey-en-xlsx", "2019Q4"),
        ("excel-report", "2026Q3"),
        ("salesforce-dataloader", "2023Q4"),
    ],
)
def test_quiet_commands_print_nothing_on_success(config: str, period: str, tmp_path: Path) -> None:
    """The English survey's 52 columns include mixed ones (the fastexcel warnings); the
    Salesforce example parses datetimes with `.%f` (once a chrono format warning)."""
    args = ["--config", f"configs/examples/{config}.yaml", "--period", period, "--quiet"]
    checked = incentcalc("validate", *args)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
    ran = incentcalc("run", *args, "--out", str(tmp_path / "out"), "--no-statements")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "", "")
    assert (tmp_path / "out" / "payouts.csv").is_file()
