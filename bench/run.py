"""`python -m bench.run`: time the CLI on the benchmark quarter and check issue #8's targets.

Steps: generate (or reuse) the datasets, then run as subprocesses `validate`,
`run --no-statements`, `run` with statements for 2,000 partners, `diff` and `explain` on the
5M-deal quarter, read its deals from PostgreSQL next to the Parquet read (`bench.database`,
skipped without a server), and `run --no-statements` on the 1.25M and 2.5M scaling datasets. Prints
rich tables (wall time, peak memory, per-stage times from manifest.json, the scaling ratio)
and writes `bench/results.json`. A command that does not exist yet shows as "not available".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from bench.database import time_database_read
from bench.datasets import (
    DATA_DIR,
    MAIN_DEALS,
    PERIOD,
    SCALING_DEALS,
    Dataset,
    ensure_dataset,
    largest_partner,
    options_for,
)
from bench.measure import Measured, command_available, incentcalc, measure

RESULTS = Path(__file__).resolve().parent / "results.json"
MANIFEST = "manifest.json"
STAGES = (
    "read", "validate", "read_validate", "integrity", "kpis", "lines", "payouts", "write",
    "summary", "statements",
)  # fmt: skip
"""Known stage names in pipeline order; any other stage a manifest reports is shown after."""

RUN_SECONDS = 10.0
RUN_PEAK_MB = 3 * 1024.0
VALIDATE_SECONDS = 6.0
DIFF_VS_RUN = 1.6
STATEMENTS_PER_SECOND = 150.0
SCALING_RATIO = 4.4
GENERATION_SECONDS = 60.0


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
            "seconds": None if m is None else round(m.seconds, 3),
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


def step(name: str, target: str, command: str, args: list[str], out: Path | None = None) -> Row:
    """Run one CLI command if it exists; a missing command is a row, not a crash."""
    row = Row(name, target)
    if not command_available(command):
        return row
    row.measured = measure(incentcalc(command, *args))
    row.status = "ok" if row.measured.ok else f"failed (exit {row.measured.exit_code})"
    if not row.measured.ok:
        row.extra["error"] = row.measured.error_tail()
    if out is not None:
        row.stages = read_timings(out)
    return row


def judge(row: Row, check: Callable[[Measured], bool]) -> None:
    """Set the verdict of a row that ran."""
    if row.measured is not None and row.measured.ok:
        row.passed = check(row.measured)


def bench_main(data: Dataset, out_root: Path) -> list[Row]:
    """validate, run, run with statements, diff and explain on the main dataset."""
    config = ["--config", str(data.program), "--period", PERIOD]
    out_plain, out_statements = out_root / "run", out_root / "statements"
    validate = step("validate", f"< {VALIDATE_SECONDS:g} s", "validate", [*config, "--quiet"])
    judge(validate, lambda m: m.seconds < VALIDATE_SECONDS)

    run = step(
        "run --no-statements",
        f"< {RUN_SECONDS:g} s, < {RUN_PEAK_MB / 1024:g} GB",
        "run",
        [*config, "--no-statements", "--force", "--out", str(out_plain), "--quiet"],
        out_plain,
    )
    judge(run, lambda m: m.seconds < RUN_SECONDS and m.peak_mb < RUN_PEAK_MB)

    statements = step(
        "run + 2,000 statements",
        f">= {STATEMENTS_PER_SECOND:g} statements/s",
        "run",
        [
            *config,
            "--force",
            "--out",
            str(out_statements),
            "--quiet",
            "--partners-file",
            str(data.statement_partners),
        ],
        out_statements,
    )
    _judge_statements(statements, run, out_statements)

    diff = step(
        "diff",
        f"< {DIFF_VS_RUN:g} x run",
        "diff",
        [
            "--baseline",
            str(data.program),
            "--candidate",
            str(data.candidate),
            "--period",
            PERIOD,
            "--quiet",
        ],
    )
    if run.measured is not None and run.measured.ok:
        run_seconds = run.measured.seconds
        judge(diff, lambda m: m.seconds < DIFF_VS_RUN * run_seconds)
        if diff.measured is not None:
            diff.extra["ratio_to_run"] = round(diff.measured.seconds / run_seconds, 3)

    partner = largest_partner(data)
    explain = step(
        f"explain --partner {partner}", "-", "explain", [*config, "--partner", partner, "--json"]
    )
    return [validate, run, statements, diff, explain]


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


def bench_scaling(datasets: list[Dataset], main_run: Row, out_root: Path) -> list[Row]:
    """`run --no-statements` time against the number of deals."""
    rows: list[Row] = []
    for data in datasets:
        if data.options.deal_rows == datasets[-1].options.deal_rows and main_run.measured:
            row = Row(f"{data.options.deal_rows:,} deals", "", main_run.measured,
                      main_run.status, stages=main_run.stages)  # fmt: skip
        else:
            out = out_root / f"scale-{data.name}"
            config = ["--config", str(data.program), "--period", PERIOD]
            row = step(
                f"{data.options.deal_rows:,} deals",
                "",
                "run",
                [*config, "--no-statements", "--force", "--out", str(out), "--quiet"],
                out,
            )
        row.extra["deals"] = data.options.deal_rows
        rows.append(row)
    first, last = rows[0].measured, rows[-1].measured
    if first is not None and last is not None and first.ok and last.ok:
        ratio = last.seconds / first.seconds
        rows[-1].extra["ratio_to_smallest"] = round(ratio, 3)
        rows[-1].target = f"<= {SCALING_RATIO:g} x smallest"
        rows[-1].passed = ratio <= SCALING_RATIO
    return rows


def _verdict(row: Row) -> str:
    if row.passed is None:
        return "-" if row.status == "ok" else row.status
    return "[green]PASS[/]" if row.passed else "[red]FAIL[/]"


def _seconds(row: Row) -> str:
    return "-" if row.measured is None else f"{row.measured.seconds:.2f}"


def _peak(row: Row) -> str:
    return "-" if row.measured is None else f"{row.measured.peak_mb:,.0f}"


def render(
    console: Console, generation: list[Dataset], steps: list[Row], scaling: list[Row]
) -> None:
    """The three tables: commands, stages, scaling."""
    main = generation[-1].options
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
            table.add_row(
                f"sample-data {data.name}",
                f"{made.seconds:.2f}",
                peak,
                "< 60 s",
                _mark(made.seconds < GENERATION_SECONDS),
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

    if not scaling:
        return
    scale = Table(title="Scaling: run --no-statements vs deals")
    for name in ("deals", "wall s", "peak MB", "s per 1M deals", "ratio to smallest", "result"):
        scale.add_column(name, justify="right")
    for row in scaling:
        per_million = (
            f"{row.measured.seconds / row.extra['deals'] * 1e6:.2f}"
            if row.measured is not None and row.measured.ok
            else "-"
        )
        ratio = row.extra.get("ratio_to_smallest", "-")
        scale.add_row(f"{row.extra['deals']:,}", _seconds(row), _peak(row), per_million,
                      str(ratio), _verdict(row))  # fmt: skip
    console.print(scale)


def _mark(passed: bool) -> str:
    return "[green]PASS[/]" if passed else "[red]FAIL[/]"


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse the data, run every step, print and save the results."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="Multiply every dataset size (0.05 for a quick smoke run).",
    )
    parser.add_argument("--no-scaling", action="store_true", help="Skip the scaling runs.")
    parser.add_argument(
        "--no-database", action="store_true", help="Skip the PostgreSQL read of the deals."
    )
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="Cache folder.")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Where to write JSON.")
    args = parser.parse_args(argv)  # fmt: skip

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)
    load_before = os.getloadavg()[0]
    sizes = (MAIN_DEALS,) if args.no_scaling else SCALING_DEALS
    with console.status("Generating or reusing datasets"):
        datasets = [ensure_dataset(options_for(deals, args.scale), args.data) for deals in sizes]
    main_data = datasets[-1]
    out_root = args.data / "out"
    with console.status("Benchmarking the main quarter"):
        steps = bench_main(main_data, out_root)
    if not args.no_database:
        with console.status("Reading the deals from PostgreSQL"):
            steps.append(bench_database(main_data, out_root))
    scaling: list[Row] = []
    if not args.no_scaling:
        with console.status("Scaling runs"):
            scaling = bench_scaling(datasets, steps[1], out_root)
    render(console, datasets, steps, scaling)
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    if max(load.values()) > _cpus():
        console.print(
            f"[yellow]Warning:[/] the machine was busy (1-minute load {load['before']} before, "
            f"{load['after']} after, {_cpus()} CPUs): other processes shared the CPUs, so these "
            "times are pessimistic. Rerun on a quiet machine for numbers to compare."
        )
    document = {
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "polars": pl.__version__,
            "platform": platform.platform(),
            "cpus": _cpus(),
            "load_average_1m": load,
        },
        "datasets": [
            {
                "name": d.name,
                "partners": d.options.partners,
                "deals": d.options.deal_rows,
                "nps": d.options.nps_rows,
                "renewals": d.options.renewal_rows,
                "generation": None if d.generation is None else asdict(d.generation),
            }
            for d in datasets
        ],
        "steps": [row.document() for row in steps],
        "scaling": [row.document() for row in scaling],
    }
    args.results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    console.print(f"Results written to {args.results}")
    return 0


def _cpus() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
