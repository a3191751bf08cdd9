"""The bench (issue 22): a step whose command exits non-zero fails the bench (exit 1, named
on the console, no time recorded) instead of being timed as if it had worked; a crash is
fast, so its time would pass any target."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from bench.measure import measure
from bench.run import IO_FLOOR_LINE, Row, _record, exit_code, judge


def test_a_step_whose_command_fails_fails_the_bench_untimed() -> None:
    crashed = measure([sys.executable, "-c", "import sys; sys.exit(4)"])
    row = _record(Row("explain --partner", "< 2 x floor"), crashed, None)
    judge(row, lambda measured: measured.seconds < 60)
    assert row.passed is False
    assert row.document()["seconds"] is None
    assert row.document()["exit_code"] == 4
    console = Console(file=io.StringIO(), width=200)
    assert exit_code(console, [row]) == 1
    assert "explain --partner: failed (exit 4)" in console.file.getvalue()  # type: ignore[attr-defined]


def test_steps_that_ran_leave_the_bench_exit_0_even_when_a_target_is_missed() -> None:
    row = _record(Row("run", "< 1 s"), measure([sys.executable, "-c", "pass"]), None)
    judge(row, lambda measured: measured.seconds < 0)
    assert row.passed is False
    assert row.document()["seconds"] is not None
    assert exit_code(Console(file=io.StringIO()), [row, Row("site", "-")]) == 0


def test_the_io_floor_writes_a_runs_files_again_and_prints_its_time(tmp_path: Path) -> None:
    """`bench.io_floor` reads a small Parquet quarter's window and writes the run's outputs
    again, summary.xlsx with the same parts; its figure is what the bench records."""
    data, out = tmp_path / "data", tmp_path / "out"
    cli = [sys.executable, "-m", "incentcalc"]
    subprocess.run([*cli, "sample-data", "--out", str(data), "--partners", "30",
                    "--format", "parquet", "--quiet"], check=True)  # fmt: skip
    subprocess.run([*cli, "run", "--config", str(data / "program.yaml"), "--period", "2026Q3",
                    "--no-statements", "--out", str(out), "--quiet"], check=True)  # fmt: skip
    floor = [sys.executable, "-m", "bench.io_floor", str(data), str(out), "2026Q3"]
    said = subprocess.run(floor, check=True, capture_output=True, text=True).stdout
    last = said.splitlines()[-1]
    assert last.startswith(IO_FLOOR_LINE)
    assert float(last.removeprefix(IO_FLOOR_LINE).removesuffix(" s")) > 0
