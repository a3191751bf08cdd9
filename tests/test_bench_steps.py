"""The bench (issue 22): a step whose command exits non-zero fails the bench (exit 1, named
on the console, no time recorded) instead of being timed as if it had worked; a crash is
fast, so its time would pass any target."""

from __future__ import annotations

import io
import sys

from rich.console import Console

from bench.measure import measure
from bench.run import Row, _record, exit_code, judge


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
