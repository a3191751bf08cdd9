"""Rich rendering only: turn results into tables a person reads on a terminal.

Nothing here computes or decides; it formats what `validation` (and, later, a run) found.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from incentcalc.io.validation import group_failures

EXAMPLES_PER_GROUP = 3
"""Example rows quoted per (file, column, rule) group: enough to find the pattern."""

MAX_GROUPS = 40
"""Groups shown in the table; the rest are counted (`--report FILE` has every failure)."""

MAX_VALUE_CHARS = 40


def short_path(path: str) -> str:
    """The path relative to the working folder when it lies inside it (tables stay narrow)."""
    try:
        return os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path
    except ValueError:  # a different drive on Windows
        return path


def _quoted(value: str | None) -> str:
    if value is None:
        return "(empty)"
    shown = value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"
    return repr(shown)


def _examples(rows: list[int | None], values: list[str | None]) -> str:
    return "; ".join(
        f"row {row}: {_quoted(value)}" if row is not None else _quoted(value)
        for row, value in zip(rows, values, strict=True)
    )


def failures_by_rule(
    failures: pl.DataFrame, examples: int = EXAMPLES_PER_GROUP
) -> list[dict[str, Any]]:
    """JSON-ready groups: file, column, rule, count and the first example rows."""
    groups = group_failures(failures, examples)
    return [
        {
            "file": group["file"],
            "column": group["column"],
            "rule": group["rule"],
            "count": group["count"],
            "examples": [
                {"row": row, "value": value}
                for row, value in zip(group["rows"], group["values"], strict=True)
            ],
        }
        for group in groups.iter_rows(named=True)  # one per kind of failure, not per row
    ]


def render_failures(console: Console, failures: pl.DataFrame, *, report: Path | None) -> None:
    """All failures as one table grouped by (file, column, rule), with counts and examples."""
    groups = group_failures(failures, EXAMPLES_PER_GROUP)
    files = failures["file"].n_unique()
    table = Table(
        title=f"{failures.height:,} failure(s) in {files} file(s)",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("File", overflow="fold")
    table.add_column("Column")
    table.add_column("Rule", overflow="fold", ratio=3)
    table.add_column("Rows", justify="right")
    table.add_column("First rows and values", overflow="fold", ratio=2)
    for group in groups.head(MAX_GROUPS).iter_rows(named=True):
        table.add_row(
            short_path(group["file"]),
            group["column"] or "",
            group["rule"],
            f"{group['count']:,}",
            _examples(group["rows"], group["values"]),
        )
    console.print(table)
    if groups.height > MAX_GROUPS:
        console.print(f"... and {groups.height - MAX_GROUPS} more kind(s) of failure.")
    if report is not None:
        console.print(f"Every failure is listed in {report}.")
    else:
        console.print("Add --report FILE to write every failure to a CSV file.")


def render_sources(console: Console, sources: dict[str, dict[str, Any]]) -> None:
    """Which file each source was read from, how many data rows it has and how many rows
    `skip_rows_where` left out."""
    table = Table(title="Sources", title_justify="left")
    table.add_column("Source")
    table.add_column("File", overflow="fold")
    table.add_column("Rows", justify="right")
    table.add_column("Skipped", justify="right")
    table.add_column("Rows counted", overflow="fold")
    for name, facts in sources.items():
        rows, skipped = facts["rows"], facts.get("skipped")
        table.add_row(
            name,
            short_path(facts["path"]),
            "-" if rows is None else f"{rows:,}",
            "-" if skipped is None else f"{skipped:,}",
            facts.get("rows_of") or "-",
        )
    table.caption = "Rows and Skipped count the same rows: the rows counted."
    console.print(table)


def render_validation(
    console: Console,
    *,
    period: str,
    sources: dict[str, dict[str, Any]],
    failures: pl.DataFrame,
    report: Path | None,
) -> None:
    """The `validate` summary: sources read, then either OK or the failure table."""
    render_sources(console, sources)
    if failures.height == 0:
        console.print(Text(f"All sources are valid for {period}.", style="bold green"))
        return
    render_failures(console, failures, report=report)
