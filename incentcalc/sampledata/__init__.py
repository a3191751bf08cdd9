"""Realistic synthetic datasets for demos, tests and the benchmark (`incentcalc sample-data`).

One seed gives byte-identical files: every source draws from its own numpy stream
(`plan.generator`) and every frame is built with vectorised Polars expressions, so 20,000
partners and 5,000,000 deals take seconds. The data obeys DATA.md and carries the edge
cases the rules exist for (see `partners`, `deals`, `activity`, `reference`).

>>> from incentcalc.sampledata import SampleOptions, generate_sample
>>> sample = generate_sample(SampleOptions(partners=20, deals=400))
>>> sample.frames[SourceName.DEALS].height
400
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from incentcalc.config import SourceName, load_config
from incentcalc.sample_format import SampleFormat
from incentcalc.sampledata.activity import generate_nps, generate_renewals
from incentcalc.sampledata.deals import DealDraw, generate_deal_chunks, generate_deals
from incentcalc.sampledata.partners import generate_partners
from incentcalc.sampledata.plan import (
    LEDGER_PROGRAM_FILE,
    PROGRAM_FILE,
    SOURCE_ORDER,
    Calendar,
    SampleOptions,
    source_file_name,
)
from incentcalc.sampledata.program import ProgramNumbers, measure_program, render_program
from incentcalc.sampledata.reference import (
    generate_adjustments,
    generate_fx_rates,
    generate_targets,
)

__all__ = [
    "SampleData",
    "SampleFormat",
    "SampleOptions",
    "WrittenSample",
    "generate_sample",
    "write_program",
    "write_sample",
]


@dataclass(frozen=True)
class SampleData:
    """Every canonical source as a frame (canonical names and dtypes) and the program's
    data-dependent numbers."""

    options: SampleOptions
    calendar: Calendar
    frames: dict[SourceName, pl.DataFrame]
    numbers: ProgramNumbers


@dataclass(frozen=True)
class WrittenSample:
    """What `write_sample` wrote: source files, the program YAML(s), rows per source."""

    folder: Path
    files: dict[SourceName, Path]
    programs: tuple[Path, ...]
    rows: dict[SourceName, int] = field(default_factory=dict)


def generate_sample(options: SampleOptions, *, deals_to: Path | None = None) -> SampleData:
    """Draw every source in memory; nothing is written. With `deals_to`, the deals are
    drawn block by block straight into that file instead (bounded memory for tens of
    millions of deals) and left out of `frames`."""
    options.check()
    calendar = Calendar.of(options)
    seed = options.seed
    book = generate_partners(options.partners, seed, calendar)
    if deals_to is None:
        draw = generate_deals(book, options.deal_rows, seed, calendar)
    else:
        chunks = generate_deal_chunks(book, options.deal_rows, seed, calendar)
        draw = write_deal_chunks(chunks, deals_to, options.file_format)
    frames = {
        SourceName.PARTNERS: book.frame,
        SourceName.DEALS: draw.frame,
        SourceName.NPS: generate_nps(book, options.nps_rows, seed, draw.pool, calendar),
        SourceName.RENEWALS: generate_renewals(
            book, options.renewal_rows, seed, draw.pool, calendar
        ),
        SourceName.TARGETS: generate_targets(book, draw.won_usd, draw.new_won, seed, calendar),
        SourceName.FX_RATES: generate_fx_rates(seed, calendar),
        SourceName.ADJUSTMENTS: generate_adjustments(book, seed, calendar),
    }
    if deals_to is not None:
        del frames[SourceName.DEALS]
    return SampleData(options, calendar, frames, measure_program(book, draw, calendar))


def write_deal_chunks(
    chunks: Iterator[DealDraw], path: Path, file_format: SampleFormat
) -> DealDraw:
    """Write the deal blocks to `path` one after the other, holding one block in memory at a
    time; the per-partner totals are summed over the blocks (the returned frame is empty)."""
    parts: list[Path] = []
    total: DealDraw | None = None
    for index, draw in enumerate(chunks):
        part = path.with_name(f".{path.name}.part{index}")
        write_frame(draw.frame, part, file_format)
        parts.append(part)
        draw = replace(draw, frame=draw.frame.clear())
        total = draw if total is None else total.plus(draw)
    assert total is not None, "at least one block of deals"
    if len(parts) == 1:
        parts[0].replace(path)
    elif file_format is SampleFormat.PARQUET:
        pl.scan_parquet(parts).sink_parquet(path, statistics=False)
    else:
        with path.open("wb") as out:
            for index, part in enumerate(parts):
                with part.open("rb") as block:
                    if index:
                        block.readline()  # the header, written once
                    shutil.copyfileobj(block, out)
    for part in parts:
        part.unlink(missing_ok=True)
    return total


def write_frame(frame: pl.DataFrame, path: Path, file_format: SampleFormat) -> None:
    """CSV (ISO dates, exact decimals, empty cells for nulls) or Parquet (canonical dtypes)."""
    if file_format is SampleFormat.PARQUET:
        frame.write_parquet(path, statistics=False)
    else:
        frame.write_csv(path)


def write_program(
    sample: SampleData, files: dict[SourceName, Path], path: Path, *, ledger: bool = False
) -> Path:
    """Write the sample program YAML at `path`, source paths relative to its folder, and
    check it loads (a generated config that does not load is a bug, caught here). With
    `ledger`, the program keeps a ledger beside it and configures every history rule."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = sample.options
    text = render_program(
        sample.numbers,
        files,
        path.parent,
        seed=options.seed,
        partners=options.partners,
        period=sample.calendar.period.label,
        ledger=ledger,
    )
    path.write_text(text, encoding="utf-8")
    load_config(path)
    return path


def write_sample(
    options: SampleOptions, out: Path, *, config_out: Path | None = None
) -> WrittenSample:
    """Generate and write every source into `out`, plus `out/program.yaml`, its ledger
    variant `out/program-ledger.yaml` (and the plain program at `config_out`, paths relative
    to it)."""
    out.mkdir(parents=True, exist_ok=True)
    deals = out / source_file_name(SourceName.DEALS, options.file_format)
    sample = generate_sample(options, deals_to=deals)
    files: dict[SourceName, Path] = {}
    for source in SOURCE_ORDER:
        path = out / source_file_name(source, options.file_format)
        if source in sample.frames:
            write_frame(sample.frames[source], path, options.file_format)
        files[source] = path
    programs = [
        write_program(sample, files, out / PROGRAM_FILE),
        write_program(sample, files, out / LEDGER_PROGRAM_FILE, ledger=True),
    ]
    if config_out is not None:
        programs.append(write_program(sample, files, config_out))
    rows = {
        source: sample.frames[source].height if source in sample.frames else options.deal_rows
        for source in SOURCE_ORDER
    }
    return WrittenSample(out, files, tuple(programs), rows)
