"""`python -m bench.run`: time the CLI on the benchmark quarter against issue 16's targets.

Every step is a child process (interpreter start included). On the two-year dataset (5M
deals): the floor (`bench.floor`, a bare Polars scan of the quarter), `run --no-statements`,
`validate`, `run` with statements for 2,000 partners, `diff`, `explain --partner` (plain and
with `--run` of the run just made), the two peers (`bench.peers`: pandas and DuckDB SQL) and
the progress run (`run --as-of`, halfway through the quarter, without and with statements).
Plain `explain` is timed calculating (`--fresh`) and reusing the run as its out/<period>.
It also reads the 5M deals from PostgreSQL next to the Parquet read (`bench.database`,
skipped without a server or with `--no-database`) and times the ledger (issue 12: four
quarters run and closed, then the quarter run on them, `close`, `ledger --verify`, the
ledger's growth; `--no-ledger` skips it). On the eight-year dataset (20M deals,
same quarterly volume): the floor and `run --no-statements` again. Each target is a ratio
between steps of the same bench run, so a busy machine slows both sides; `--repeat N` keeps
the fastest of N runs of each step. Prints rich tables (wall time, peak memory, ratios,
verdicts, per-stage times from manifest.json) and writes `bench/results.json`. A command
that does not exist yet shows as "not available".
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from bench.database import time_database_read
from bench.datasets import (
    DATA_DIR,
    HISTORY_DEALS,
    HISTORY_QUARTERS,
    MAIN_DEALS,
    PARTNERS,
    PERIOD,
    TEN_X,
    Dataset,
    ensure_dataset,
    largest_partner,
    options_for,
)
from bench.measure import Measured, command_available, incentcalc, measure, measure_best, module
from incentcalc.periods import parse_period
from incentcalc.sampledata.program import LEDGER_BLOCK, LEDGER_PAYOUT

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
MANIFEST = "manifest.json"
STAGES = (
    "ledger", "read", "validate", "read_validate", "integrity", "kpis", "lines", "payouts", "write",
    "summary", "statements",
)  # fmt: skip
"""Known stage names in pipeline order; any other stage a manifest reports is shown after."""

RUN_VS_FLOOR = 5.0
RUN_PEAK_MB = 2 * 1024.0
HISTORY_VS_RUN = 1.5
HISTORY_PEAK_MB = 3 * 1024.0
EXPLAIN_VS_FLOOR = 2.0
EXPLAIN_REUSE_SECONDS = 1.0
"""Issue 28: plain `explain` of the largest partner when out/<period> is a matching run."""
STATEMENTS_PER_SECOND = 400.0
SITE_SECONDS = 60.0
SITE_PAGE_KB = 100.0
"""Issue 24: the 20,000-partner quarter's site on two cores, and its largest partner page."""
PANDAS_VS_RUN = 5.0
RUN_VS_DUCKDB = 3.5
VALIDATE_SECONDS = 6.0
DIFF_VS_RUN = 1.6
GENERATION_SECONDS = 60.0
LEDGER_RUN_RATIO = 1.2
PROGRESS_VS_RUN = 1.1
"""Issue 23: a progress run (`run --as-of`) costs at most 1.1 x the ordinary run."""
CLOSE_SECONDS = 2.0
VERIFY_SECONDS = 2.0
GROWTH_MB = 50.0
CLOSED_QUARTERS = 4
TEN_X_RUN_VS_FLOOR = 5.0
TEN_X_RUN_VS_DUCKDB = 2.5
TEN_X_PEAK_MB = 4 * 1024.0
TEN_X_VALIDATE_VS_FLOOR = 3.0
"""Issue 28: the engine's own cost at ten times the data (`--datasets 10x`)."""
SLOWER = 1.10
"""A step this much slower than in the last committed bench/results.json is reported."""
SCALES = {"2x": 2, "5x": 5, "10x": TEN_X}
"""Multiples of the main set (partners, deals, NPS, renewals) that `--datasets` can add;
10x carries issue 28's targets, 2x and 5x only the scaling curve (docs/scaling.md)."""
DATASETS = ("main", "history", "10x")
"""What `make bench` runs by default (`--datasets`; 2x and 5x are on demand)."""
PEERS = {"pandas": "bench.peers.pandas_quarter", "duckdb": "bench.peers.duckdb_quarter"}
"""Peer name -> module; each needs its library (the `bench` extra)."""


@dataclass
class Row:
    """One benchmarked step: its measurement, target and verdict."""

    name: str
    target: str
    measured: Measured | None = None
    status: str = "not available"
    passed: bool | None = None
    stages: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        m = self.measured
        return {
            "name": self.name,
            "status": self.status,
            "target": self.target,
            "passed": self.passed,
            "seconds": None if m is None or not m.ok else round(m.seconds, 3),
            "peak_mb": None if m is None else round(m.peak_mb, 1),
            "exit_code": None if m is None else m.exit_code,
            "stages": self.stages,
            **self.extra,
        }


def read_timings(out: Path) -> dict[str, float]:
    """Stage -> seconds from a run's manifest (empty if the run wrote none)."""
    path = out / MANIFEST
    if not path.exists():
        return {}
    timings = json.loads(path.read_text(encoding="utf-8")).get("timings", {})
    return {str(stage): float(seconds) for stage, seconds in timings.items()}


REPEAT = 1
"""Runs per step (`--repeat`); the fastest counts."""


def step(
    name: str,
    target: str,
    command: str,
    args: list[str],
    out: Path | None = None,
    *,
    once: bool = False,
    cwd: Path | None = None,
) -> Row:
    """Run one CLI command if it exists (`REPEAT` times unless it may run only `once`, like
    a close), in `cwd` if given; a missing command is a row, not a crash."""
    row = Row(name, target)
    if not command_available(command):
        return row
    measured = measure_best(incentcalc(command, *args), 1 if once else REPEAT, cwd=cwd)
    return _record(row, measured, out)


PEERS_PYTHON = sys.executable
"""The interpreter of the peers (`--peers-python`; `make bench` gives them their own venv)."""


def script_step(
    name: str, target: str, script: str, args: list[str], needs: str, python: str = sys.executable
) -> Row:
    """Run a bench module (floor, peer) with `python` if the library it `needs` is there."""
    row = Row(name, target)
    if not measure([python, "-c", f"import {needs}"]).ok:
        row.status = f"not available ({needs}: make bench installs it)"
        return row
    command = module(script, *args, python=python)
    return _record(row, measure_best(command, REPEAT, cwd=ROOT), None)


def _record(row: Row, measured: Measured, out: Path | None) -> Row:
    """A step that exits non-zero fails the bench: it is not timed (a crash is quick)."""
    row.measured = measured
    row.status = "ok" if measured.ok else f"failed (exit {measured.exit_code})"
    if not measured.ok:
        row.passed = False
        row.extra["error"] = measured.error_tail()
    if out is not None:
        row.stages = read_timings(out)
    return row


def ratio(row: Row, other: Row, label: str, check: Callable[[float], bool]) -> None:
    """Record row / other seconds (as `label`) and judge it, when both ran."""
    a, b = row.measured, other.measured
    if a is None or b is None or not a.ok or not b.ok or b.seconds <= 0:
        return
    value = a.seconds / b.seconds
    row.extra[label] = round(value, 2)
    row.passed = check(value) and (row.passed is not False)


def judge(row: Row, check: Callable[[Measured], bool]) -> None:
    """Set the verdict of a row that ran."""
    if row.measured is not None and row.measured.ok:
        row.passed = check(row.measured)


def floor_step(data: Dataset, name: str = "floor: bare Polars scan") -> Row:
    """The bare scan of the quarter: what every ratio is measured against."""
    period = parse_period(PERIOD)
    args = [str(data.folder), period.start.isoformat(), period.end.isoformat()]
    return script_step(name, "-", "bench.floor", args, "polars")


def run_step(name: str, target: str, data: Dataset, out: Path) -> Row:
    config = ["--config", str(data.program), "--period", PERIOD]
    args = [*config, "--no-statements", "--force", "--out", str(out), "--quiet"]
    return step(name, target, "run", args, out)


def bench_main(data: Dataset, out_root: Path) -> list[Row]:
    """Floor, run, validate, statements, diff, explain and the peers on the main dataset."""
    config = ["--config", str(data.program), "--period", PERIOD]
    out_plain, out_statements = out_root / "run", out_root / "statements"
    floor = floor_step(data)
    run = run_step(
        "run --no-statements",
        f"<= {RUN_VS_FLOOR:g} x floor, < {RUN_PEAK_MB / 1024:g} GB",
        data,
        out_plain,
    )
    judge(run, lambda m: m.peak_mb < RUN_PEAK_MB)
    ratio(run, floor, "x_floor", lambda r: r <= RUN_VS_FLOOR)

    validate = step("validate", f"< {VALIDATE_SECONDS:g} s", "validate", [*config, "--quiet"])
    judge(validate, lambda m: m.seconds < VALIDATE_SECONDS)

    statements = step(
        "run + 2,000 statements",
        f">= {STATEMENTS_PER_SECOND:g} statements/s",
        "run",
        [*config, "--force", "--out", str(out_statements), "--quiet",
         "--partners-file", str(data.statement_partners)],
        out_statements,
    )  # fmt: skip
    _judge_statements(statements, run, out_statements)

    diff = step(
        "diff",
        f"< {DIFF_VS_RUN:g} x run",
        "diff",
        ["--baseline", str(data.program), "--candidate", str(data.candidate),
         "--period", PERIOD, "--quiet"],
    )  # fmt: skip
    ratio(diff, run, "x_run", lambda r: r < DIFF_VS_RUN)

    partner = largest_partner(data)
    explain_args = [*config, "--partner", partner, "--json"]
    explain = step(
        f"explain --partner {partner}", f"<= {EXPLAIN_VS_FLOOR:g} x floor", "explain",
        [*explain_args, "--fresh"],
    )  # fmt: skip
    ratio(explain, floor, "x_floor", lambda r: r <= EXPLAIN_VS_FLOOR)
    explain_run = step(
        "explain --partner --run DIR", f"<= {EXPLAIN_VS_FLOOR:g} x floor", "explain",
        [*explain_args, "--run", str(out_plain)],
    )  # fmt: skip
    ratio(explain_run, floor, "x_floor", lambda r: r <= EXPLAIN_VS_FLOOR)
    explain_reuse = explain_reuse_step(explain_args, out_plain, out_root)

    site = step(
        "site of the run", f"<= {SITE_SECONDS:g} s, <= {SITE_PAGE_KB:g} KB a page", "site",
        ["--run", str(out_plain), "--force", "--quiet"],
    )  # fmt: skip
    _judge_site(site, out_plain / "site")

    peer_args = [str(data.folder), PERIOD]
    pandas = script_step(
        "peer: pandas", f">= {PANDAS_VS_RUN:g} x run", PEERS["pandas"], peer_args, "pandas",
        PEERS_PYTHON,
    )  # fmt: skip
    ratio(pandas, run, "x_run", lambda r: r >= PANDAS_VS_RUN)
    duckdb = script_step(
        "peer: DuckDB SQL", f"run <= {RUN_VS_DUCKDB:g} x this", PEERS["duckdb"], peer_args,
        "duckdb", PEERS_PYTHON,
    )  # fmt: skip
    if duckdb.measured is not None and duckdb.measured.ok and run.measured is not None:
        times = run.measured.seconds / duckdb.measured.seconds
        duckdb.extra["run_x_this"] = round(times, 2)
        duckdb.passed = run.measured.ok and times <= RUN_VS_DUCKDB
    return [floor, run, validate, statements, diff, explain, explain_run, explain_reuse, site,
            pandas, duckdb, *bench_progress(data, run, statements, out_root)]  # fmt: skip


def explain_reuse_step(explain_args: list[str], run_out: Path, out_root: Path) -> Row:
    """Plain `explain` (no --run) in a folder whose out/<period> is the run just made: it
    checks that the run matches the config and inputs and explains from it (issue 28)."""
    folder = out_root / "explain-reuse"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "out").mkdir(parents=True)
    (folder / "out" / PERIOD).symlink_to(run_out.resolve(), target_is_directory=True)
    log = folder / "explain.log"
    row = step(
        "explain (reuses the run)", f"<= {EXPLAIN_REUSE_SECONDS:g} s", "explain",
        [*explain_args, "--log-file", str(log)], cwd=folder,
    )  # fmt: skip
    judge(row, lambda m: m.seconds <= EXPLAIN_REUSE_SECONDS)
    said = log.read_text(encoding="utf-8") if log.exists() else ""
    if row.status == "ok" and "explain: Explaining the run in" not in said:
        row.passed, row.extra["error"] = False, "explain calculated instead of reusing the run"
    return row


def bench_progress(data: Dataset, run: Row, statements: Row, out_root: Path) -> list[Row]:
    """`run --as-of` halfway through the quarter, without and with the 2,000 statements,
    each against its ordinary run (issue 23)."""
    period = parse_period(PERIOD)
    day = period.start + timedelta(days=period.days // 2)
    config = ["--config", str(data.program), "--period", PERIOD, "--as-of", day.isoformat()]
    target = f"<= {PROGRESS_VS_RUN:g} x its run"
    plain_out, statements_out = out_root / "progress", out_root / "progress-statements"
    plain = step(
        f"run --as-of {day.isoformat()} --no-statements", target, "run",
        [*config, "--no-statements", "--force", "--out", str(plain_out), "--quiet"], plain_out,
    )  # fmt: skip
    ratio(plain, run, "x_run", lambda r: r <= PROGRESS_VS_RUN)
    with_statements = step(
        f"run --as-of {day.isoformat()} + 2,000 statements", target, "run",
        [*config, "--force", "--out", str(statements_out), "--quiet",
         "--partners-file", str(data.statement_partners)],
        statements_out,
    )  # fmt: skip
    ratio(with_statements, statements, "x_run", lambda r: r <= PROGRESS_VS_RUN)
    return [plain, with_statements]


def _judge_site(row: Row, site: Path) -> None:
    """Issue 24: the site in at most SITE_SECONDS, no partner page above SITE_PAGE_KB (its
    index.html; shared assets and CSV files apart)."""
    if row.measured is None or not row.measured.ok:
        return
    pages = [page.stat().st_size for page in (site / "partners").glob("*/index.html")]
    largest = max(pages, default=0) / 1024
    row.extra.update(pages=len(pages), largest_page_kb=round(largest, 1),
                     mean_page_kb=round(sum(pages) / max(1, len(pages)) / 1024, 1))  # fmt: skip
    row.passed = row.measured.seconds <= SITE_SECONDS and largest <= SITE_PAGE_KB


def bench_database(data: Dataset, out_root: Path) -> Row:
    """Deals read from PostgreSQL (window query) next to the Parquet read; optional."""
    row = Row("deals: PostgreSQL window query vs Parquet", "-")
    measured = time_database_read(data, out_root / "postgres")
    if isinstance(measured, str):
        row.status = measured
        return row
    row.status = "ok"
    row.extra |= measured.notes()
    return row


def judge_inside(row: Row, limit: float) -> None:
    """Judge a command by the seconds it reports itself (`--json` "seconds": from reading the
    config to the result, without the interpreter's start and imports, which the wall time
    adds and which a busy machine stretches)."""
    if row.measured is None or not row.measured.ok:
        return
    inside = float(json.loads(row.measured.stdout)["seconds"])
    row.extra["command_s"] = inside
    row.passed = inside < limit


def write_ledger_program(data: Dataset, ledger: Path) -> Path:
    """The benchmark program with every history rule and a ledger at `ledger` (the sample's
    program-ledger.yaml, made from the cached dataset's program.yaml)."""
    text = data.program.read_text(encoding="utf-8")
    anchor = "  min_payout: 100\n"
    assert anchor in text, "the sample program's payout block changed"
    block = LEDGER_BLOCK.replace("path: ledger", f"path: {json.dumps(str(ledger))}")
    path = data.folder / "program-ledger-bench.yaml"
    path.write_text(text.replace(anchor, anchor + LEDGER_PAYOUT) + block, encoding="utf-8")
    return path


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def bench_ledger(data: Dataset, plain_run: Row, out_root: Path) -> list[Row]:
    """Close CLOSED_QUARTERS quarters before PERIOD, then time PERIOD's run on them against
    the plain run, each close, `ledger --verify`, and the ledger's growth per quarter."""
    ledger = out_root / "ledger"
    shutil.rmtree(ledger, ignore_errors=True)
    config = ["--config", str(write_ledger_program(data, ledger))]
    period = parse_period(PERIOD)
    closes: list[Row] = []
    for back in range(CLOSED_QUARTERS, 0, -1):
        label = period.shifted(-back).label
        out = out_root / f"ledger-{label}"
        args = [*config, "--period", label, "--no-statements", "--force", "--out", str(out)]
        ran = step(f"run {label} (ledger)", "", "run", [*args, "--quiet"], out)
        if ran.measured is None or not ran.measured.ok:
            return [*closes, ran]
        closed = step(f"close {label}", f"< {CLOSE_SECONDS:g} s in the command", "close",
                      [*config, "--run", str(out), "--json"], once=True)  # fmt: skip
        judge_inside(closed, CLOSE_SECONDS)
        closes.append(closed)
    out = out_root / "ledger-run"
    run = step(
        f"run --no-statements on {CLOSED_QUARTERS} closed quarters",
        f"<= {LEDGER_RUN_RATIO:g} x run without ledger",
        "run",
        [*config, "--period", PERIOD, "--no-statements", "--force", "--out", str(out), "--quiet"],
        out,
    )
    if plain_run.measured is not None and plain_run.measured.ok:
        base = plain_run.measured.seconds
        judge(run, lambda m: m.seconds <= LEDGER_RUN_RATIO * base)
        if run.measured is not None:
            run.extra["ratio_to_run"] = round(run.measured.seconds / base, 3)
    verify = step("ledger --verify", f"< {VERIFY_SECONDS:g} s in the command", "ledger",
                  [*config, "--verify", "--json"])  # fmt: skip
    judge_inside(verify, VERIFY_SECONDS)
    growth = Row("ledger growth per quarter", f"< {GROWTH_MB:g} MB", status="ok")
    sizes = [folder_mb(entry) for entry in sorted((ledger / "entries").glob("[0-9]*"))]
    growth.extra["mb_per_entry"] = [round(size, 1) for size in sizes]
    growth.passed = bool(sizes) and max(sizes) < GROWTH_MB
    return [*closes, run, verify, growth]


def _judge_statements(row: Row, plain: Row, out: Path) -> None:
    """Statements per second: files written / the statements stage (or the extra wall time)."""
    if row.measured is None or not row.measured.ok:
        return
    folder = out / "statements"
    count = len(list(folder.glob("*.xlsx"))) if folder.exists() else 0
    seconds = row.stages.get("statements")
    if seconds is None and plain.measured is not None:
        seconds = row.measured.seconds - plain.measured.seconds
    if not count or not seconds or seconds <= 0:
        return
    rate = count / seconds
    row.extra |= {"statements": count, "statements_per_second": round(rate, 1)}
    row.passed = rate >= STATEMENTS_PER_SECOND


def bench_history(data: Dataset, main_run: Row, out_root: Path) -> list[Row]:
    """The same quarter inside eight years of history: floor and run again."""
    floor = floor_step(data, "floor (8-year history)")
    run = run_step(
        "run --no-statements (8-year history)",
        f"<= {HISTORY_VS_RUN:g} x 2-year run, < {HISTORY_PEAK_MB / 1024:g} GB",
        data,
        out_root / "history",
    )
    judge(run, lambda m: m.peak_mb < HISTORY_PEAK_MB)
    ratio(run, main_run, "x_2year_run", lambda r: r <= HISTORY_VS_RUN)
    ratio(run, floor, "x_floor", lambda r: True)
    return [floor, run]


def bench_scaled(data: Dataset, label: str, out_root: Path) -> list[Row]:
    """The main quarter at a multiple of its size: floor, DuckDB peer, `run
    --no-statements` and `validate`; at 10x judged against issue 28's targets."""
    judged = label == "10x"
    config = ["--config", str(data.program), "--period", PERIOD]
    floor = floor_step(data, f"floor ({label})")
    duckdb = script_step(
        f"peer: DuckDB SQL ({label})", "-", PEERS["duckdb"], [str(data.folder), PERIOD],
        "duckdb", PEERS_PYTHON,
    )  # fmt: skip
    target = (
        f"<= {TEN_X_RUN_VS_FLOOR:g} x floor, <= {TEN_X_RUN_VS_DUCKDB:g} x DuckDB, "
        f"<= {TEN_X_PEAK_MB / 1024:g} GB"
    )
    run = run_step(
        f"run --no-statements ({label})", target if judged else "-", data, out_root / label
    )
    validate = step(
        f"validate ({label})",
        f"<= {TEN_X_VALIDATE_VS_FLOOR:g} x floor" if judged else "-",
        "validate",
        [*config, "--quiet"],
    )
    io = io_floor_step(data, label, out_root / label, run)
    ratio(io, floor, "x_floor", lambda r: True)
    if judged:
        judge(run, lambda m: m.peak_mb <= TEN_X_PEAK_MB)
        ratio(run, floor, "x_floor", lambda r: r <= TEN_X_RUN_VS_FLOOR)
        ratio(run, duckdb, "x_duckdb", lambda r: r <= TEN_X_RUN_VS_DUCKDB)
        ratio(validate, floor, "x_floor", lambda r: r <= TEN_X_VALIDATE_VS_FLOOR)
    else:
        for row in (run, validate):
            ratio(row, floor, "x_floor", lambda r: True)
        ratio(run, duckdb, "x_duckdb", lambda r: True)
    if not judged:  # ratios recorded for the curve, no verdict (a failed command stays failed)
        for row in (run, validate):
            row.passed = None if row.passed else row.passed
    return [floor, duckdb, run, validate, io]


def io_floor_step(data: Dataset, label: str, run_out: Path, run: Row) -> Row:
    """`bench.io_floor` on the run just made: the reads and writes the run is bound to, with
    no calculation. Its time is the figure the script prints (loading the run's files back,
    and starting the interpreter, are left out): a lower bound for any run writing the same
    files, to read the run's ratio to the floor against."""
    name = f"I/O floor: the run's reads and writes ({label})"
    if run.measured is None or not run.measured.ok:
        return Row(name, "-", status="not run (the run failed)")
    row = script_step(
        name, "-", "bench.io_floor", [str(data.folder), str(run_out), PERIOD], "polars"
    )
    measured = row.measured
    if measured is None or not measured.ok:
        return row
    for line in measured.stdout.splitlines():
        if line.startswith(IO_FLOOR_LINE):
            seconds = float(line.removeprefix(IO_FLOOR_LINE).removesuffix(" s"))
            row.measured = replace(measured, seconds=seconds)
    return row


IO_FLOOR_LINE = "io floor: "
"""How `bench.io_floor` prints its figure."""


def slower_steps(previous: dict[str, Any], steps: list[Row]) -> list[tuple[str, float, float]]:
    """(step, seconds before, seconds now) of each step more than SLOWER x its time in the
    `previous` results (steps that did not run in both are left out)."""
    before = {
        step["name"]: float(step["seconds"])
        for step in previous.get("steps", [])
        if step.get("seconds")
    }
    return [
        (row.name, before[row.name], row.measured.seconds)
        for row in steps
        if row.name in before
        and row.measured is not None
        and row.measured.ok
        and row.measured.seconds > SLOWER * before[row.name]
    ]


def report_slower(console: Console, slower: list[tuple[str, float, float]], since: str) -> None:
    """Print the steps slower than in the last committed results (issue 28: no silent
    regressions)."""
    if not slower:
        console.print(f"No step more than {SLOWER - 1:.0%} slower than the results of {since}.")
        return
    table = Table(title=f"Steps more than {SLOWER - 1:.0%} slower than the results of {since}")
    for name in ("step", "before s", "after s", "ratio"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for name, before, after in slower:
        table.add_row(name, f"{before:.2f}", f"{after:.2f}", f"{after / before:.2f}")
    console.print(table)


def _verdict(row: Row) -> str:
    if row.passed is None:
        return "-" if row.status == "ok" else row.status
    return "[green]PASS[/]" if row.passed else "[red]FAIL[/]"


def _seconds(row: Row) -> str:
    if row.measured is None:
        return "-"
    return f"{row.measured.seconds:.2f}" if row.measured.ok else row.status


def _peak(row: Row) -> str:
    return "-" if row.measured is None else f"{row.measured.peak_mb:,.0f}"


def render(
    console: Console,
    generation: list[Dataset],
    steps: list[Row],
    load_warning: str = "",
    main_set: Dataset | None = None,
) -> None:
    """The two tables: steps with ratios and verdicts, per-stage times."""
    main = generation[0].options
    table = Table(
        title=f"incentcalc benchmark ({main.deal_rows:,} deals, {main.partners:,} partners, "
        f"{main.nps_rows:,} NPS, {main.renewal_rows:,} renewals, {main.quarters} quarters)"
    )
    for name in ("step", "wall s", "peak MB", "target", "result", "notes"):
        table.add_column(name, justify="right" if name in {"wall s", "peak MB"} else "left")
    for data in generation:
        made = data.generation
        if made is not None:
            peak = "-" if made.peak_mb is None else f"{made.peak_mb:,.0f}"
            note = f"{made.how}{', cached' if made.cached else ''}"
            judged = data is main_set  # issue 8's target is for the main set only
            table.add_row(
                f"sample-data {data.name}",
                f"{made.seconds:.2f}",
                peak,
                "< 60 s" if judged else "-",
                _mark(made.seconds < GENERATION_SECONDS) if judged else "-",
                note,
            )
    for row in steps:
        notes = ", ".join(f"{k}={v}" for k, v in row.extra.items())
        table.add_row(row.name, _seconds(row), _peak(row), row.target, _verdict(row), notes)
    console.print(table)

    timed = [row for row in steps if row.stages]
    if timed:
        seen = {s for r in timed for s in r.stages}
        stages = [s for s in STAGES if s in seen] + sorted(seen - set(STAGES))
        stage_table = Table(title="Per-stage seconds (manifest.json timings)")
        stage_table.add_column("step")
        for stage in stages:
            stage_table.add_column(stage, justify="right")
        for row in timed:
            cells = [f"{row.stages[s]:.2f}" if s in row.stages else "-" for s in stages]
            stage_table.add_row(row.name, *cells)
        console.print(stage_table)

    if load_warning:
        console.print(load_warning)


def _mark(passed: bool) -> str:
    return "[green]PASS[/]" if passed else "[red]FAIL[/]"


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse the data, run every step, print and save the results."""
    global PEERS_PYTHON, REPEAT
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="Multiply every dataset size (0.1 for a quick run while iterating).",
    )
    parser.add_argument(
        "--no-history", action="store_true", help="Skip the eight-year history dataset."
    )
    parser.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        help="Comma-separated datasets to bench: main (the 5M-deal quarter, every step), "
        "history (8 years), 10x (50M deals, issue 28's targets), 2x, 5x (the scaling curve). "
        f"Default: {','.join(DATASETS)}.",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Runs per step; the fastest counts (busy machine)."
    )
    parser.add_argument(
        "--no-database", action="store_true", help="Skip the PostgreSQL read of the deals."
    )
    parser.add_argument("--no-ledger", action="store_true", help="Skip the ledger steps.")
    parser.add_argument(
        "--peers-python", default=sys.executable, help="Interpreter with pandas and duckdb."
    )
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="Cache folder.")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Where to write JSON.")
    args = parser.parse_args(argv)
    REPEAT, PEERS_PYTHON = args.repeat, args.peers_python

    compile_sources()
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    load_before = os.getloadavg()[0]
    chosen = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = set(chosen) - {*DATASETS, *SCALES}
    if unknown:
        parser.error(f"--datasets: unknown {', '.join(sorted(unknown))}")
    if args.no_history and "history" in chosen:
        chosen.remove("history")
    sizes = {"main": options_for(MAIN_DEALS, args.scale)}
    sizes["history"] = options_for(HISTORY_DEALS, args.scale, HISTORY_QUARTERS)
    for label, times in SCALES.items():
        sizes[label] = options_for(MAIN_DEALS * times, args.scale, partners=PARTNERS * times)
    if "history" in chosen and "main" not in chosen:
        chosen.insert(0, "main")  # history is judged against the main run
    with console.status("Generating or reusing datasets"):
        named = {name: ensure_dataset(sizes[name], args.data) for name in chosen}
    datasets = list(named.values())
    out_root = args.data / "out"
    # The runs write with --force, which first deletes the previous bench's folders (the
    # site alone is 19,400 pages): cleared here, untimed, so no step pays for it.
    shutil.rmtree(out_root, ignore_errors=True)
    steps: list[Row] = []
    if "main" in named:
        main_set = named["main"]
        with console.status("Benchmarking the quarter"):
            steps = bench_main(main_set, out_root)
        main_run = steps[1]
        if not args.no_database:
            with console.status("Reading the deals from PostgreSQL"):
                steps.append(bench_database(main_set, out_root))
        if not args.no_ledger:
            with console.status("Benchmarking the ledger"):
                steps += bench_ledger(main_set, main_run, out_root)
        if "history" in named:
            with console.status("The same quarter inside eight years of history"):
                steps += bench_history(named["history"], main_run, out_root)
    for label in SCALES:
        if label in named:
            with console.status(f"The quarter at {label}"):
                steps += bench_scaled(named[label], label, out_root)
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    warning = ""
    if max(load.values()) > _cpus():
        warning = (
            f"[yellow]Warning:[/] the machine was busy (1-minute load {load['before']} before, "
            f"{load['after']} after, {_cpus()} CPUs): other processes shared the CPUs, so these "
            "times are pessimistic (the ratios less so). Rerun on a quiet machine."
        )
    render(console, datasets, steps, warning, named.get("main"))
    if args.results.exists():
        previous = json.loads(args.results.read_text(encoding="utf-8"))
        report_slower(console, slower_steps(previous, steps), previous.get("created_at", "?"))
    document = {
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "polars": pl.__version__,
            "platform": platform.platform(),
            "cpus": _cpus(),
            "load_average_1m": load,
            "repeat": REPEAT,
        },
        "datasets": [
            {
                "name": d.name,
                "partners": d.options.partners,
                "deals": d.options.deal_rows,
                "quarters": d.options.quarters,
                "nps": d.options.nps_rows,
                "renewals": d.options.renewal_rows,
                "generation": None if d.generation is None else asdict(d.generation),
            }
            for d in datasets
        ],
        "steps": [row.document() for row in steps],
        "targets_met": all(row.passed for row in steps if row.passed is not None),
    }
    args.results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    console.print(f"Results written to {args.results}")
    return exit_code(console, steps)


def exit_code(console: Console, steps: list[Row]) -> int:
    """1 when a step's command exited non-zero (named on the console), else 0: a broken
    command fails the bench (missed targets do not: they are its findings)."""
    failed = [row for row in steps if row.measured is not None and not row.measured.ok]
    for row in failed:
        console.print(f"[red]Failed:[/] {row.name}: {row.status}: {row.extra.get('error', '')}")
    return 1 if failed else 0


def compile_sources() -> None:
    """Byte-compile incentcalc and the bench scripts, as `pip install` does for an installed
    package: an editable checkout under PYTHONDONTWRITEBYTECODE (set on CI machines) would
    otherwise compile every module from source at each start, 0.1 s that no user pays."""
    root = Path(__file__).resolve().parent.parent
    for package in ("incentcalc", "bench"):
        compileall.compile_dir(root / package, quiet=1)


def _cpus() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
