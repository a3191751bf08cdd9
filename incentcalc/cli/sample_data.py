"""`incentcalc sample-data`: write a realistic synthetic dataset and a program that runs on it.

The same options always give the same bytes, so the repo's `sample_data/` can be
regenerated (`make sample`) and the benchmark caches its data by options.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from incentcalc.cli.options import (
    Reporting,
    emit_json,
    stdout_console,
    with_reporting,
)
from incentcalc.sample_format import SampleFormat

if TYPE_CHECKING:  # the generator is imported when the command runs, not for `--help`
    from incentcalc.sampledata import WrittenSample


@with_reporting
def sample_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    partners: Annotated[int, typer.Option("--partners", help="Number of partners.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")] = 7,
    period: Annotated[
        str, typer.Option("--period", "-p", help="The quarter the program runs on.")
    ] = "2026Q3",
    quarters: Annotated[
        int, typer.Option("--quarters", help="Quarters of history up to and with the period.")
    ] = 4,
    file_format: Annotated[
        SampleFormat, typer.Option("--format", help="File format of the sources.")
    ] = SampleFormat.CSV,
    deals: Annotated[
        int | None, typer.Option("--deals", help="Deal rows (default 8 per partner-quarter).")
    ] = None,
    nps: Annotated[
        int | None, typer.Option("--nps", help="NPS responses (default 6 per partner-quarter).")
    ] = None,
    renewals: Annotated[
        int | None,
        typer.Option("--renewals", help="Renewal rows (default 3 per partner-quarter)."),
    ] = None,
    config_out: Annotated[
        Path | None,
        typer.Option(
            "--config-out",
            help="Also write the program here, source paths relative to it.",
            dir_okay=False,
        ),
    ] = None,
    *,
    reporting: Reporting,
) -> None:
    """Write a synthetic dataset (every source, planted edge cases) and its program.yaml."""
    from incentcalc.sampledata import SampleOptions, write_sample

    with reporting.guarded("sample-data"):
        options = SampleOptions(
            partners=partners,
            seed=seed,
            period=period,
            quarters=quarters,
            deals=deals,
            nps=nps,
            renewals=renewals,
            file_format=file_format,
        )
        started = time.perf_counter()
        written = write_sample(options, out, config_out=config_out)
        elapsed = time.perf_counter() - started
        if reporting.as_json:
            emit_json(sample_document(written, elapsed))
        elif not reporting.quiet:
            render_sample(written, elapsed)


def sample_document(written: WrittenSample, seconds: float) -> dict[str, object]:
    """The `--json` document: files, row counts, programs and the time taken."""
    return {
        "command": "sample-data",
        "status": "ok",
        "out": str(written.folder),
        "files": {name.value: str(path) for name, path in written.files.items()},
        "rows": {name.value: count for name, count in written.rows.items()},
        "programs": [str(path) for path in written.programs],
        "seconds": round(seconds, 3),
    }


def render_sample(written: WrittenSample, seconds: float) -> None:
    """A small table of what was written."""
    from rich.table import Table

    table = Table(title=f"Sample data in {written.folder} ({seconds:.1f} s)")
    table.add_column("source")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, path in written.files.items():
        table.add_row(name.value, path.name, f"{written.rows[name]:,}")
    console = stdout_console()
    console.print(table)
    for program in written.programs:
        console.print(f"Program: {program}")
