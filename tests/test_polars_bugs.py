"""Polars bugs incentcalc works around, each with its minimal reproduction.

`pl.format` on a column with an empty chunk (issue 22): Polars 2.1's `str.format` kernel reads
the first value of each input chunk before checking that the chunk has one, so a column with
an empty chunk panics (`assertion failed: i < self.len()` in polars-arrow's binview) or reads
out of bounds (pola-rs/polars#25339, open). Filtering a multi-chunk frame with a boolean
Series keeps the chunks it empties, and the CSV reader returns a chunk per thread: that is how
`make run` met it. The reproduction is a strict xfail: when a Polars release fixes the bug it
passes, the suite fails, and whoever raises the pin can drop the workaround in
`io.readers.read_source` knowingly.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import typer

from incentcalc.cli.options import guarded
from incentcalc.config import Source, SourceName
from incentcalc.engine.lines import build_nps_lines
from incentcalc.io.readers import read_source
from incentcalc.io.window import Window
from incentcalc.periods import parse_period

PERIOD = parse_period("2026Q3")


def with_empty_first_chunk() -> pl.DataFrame:
    """A two-chunk frame filtered by a boolean Series that empties its first chunk (two rows
    left: a one-row column is taken as a scalar, on another path)."""
    days = ["2026-05-01", "2026-05-02", "2026-07-01", "2026-07-02"]
    parts = [pl.DataFrame({"day": days[:2]}), pl.DataFrame({"day": days[2:]})]
    frame = pl.concat(parts, rechunk=False).filter(pl.Series([False, False, True, True]))
    assert frame["day"].chunk_lengths() == [0, 2]
    return frame


@pytest.mark.xfail(raises=pl.exceptions.PanicException, strict=True, reason="polars#25339")
def test_polars_format_reads_past_an_empty_chunk() -> None:
    frame = with_empty_first_chunk()
    assert frame.select(pl.format("on {}", "day"))["day"].to_list() == [
        "on 2026-07-01",
        "on 2026-07-02",
    ]


def test_the_same_frame_rechunked_formats() -> None:
    frame = with_empty_first_chunk().rechunk()
    assert frame.select(pl.format("on {}", "day"))["day"].to_list() == [
        "on 2026-07-01",
        "on 2026-07-02",
    ]


def test_a_windowed_csv_source_is_read_as_one_chunk_per_column(tmp_path: Path) -> None:
    """The sample quarter's case: a CSV big enough for the reader to split it across threads,
    read through the NPS window, whose early rows fill the first chunks entirely."""
    first = date(2025, 10, 1)
    lines = ["response_id,partner_id,customer_id,responded_on,score"]
    lines += [
        f"R{i:06d},P{i % 50:03d},C{i % 7},{first + timedelta(days=i // 80)},{i % 11}"
        for i in range(40_000)
    ]
    path = tmp_path / "nps.csv"
    path.write_text("\n".join(lines) + "\n")
    window = Window("responded_on", PERIOD.start - timedelta(days=31), PERIOD.end)
    read = read_source(SourceName.NPS, Source(path=path), window=window)
    assert read.frame.height > 0
    for frame in (read.frame, read.written):
        assert {name: frame[name].n_chunks() for name in frame.columns} == dict.fromkeys(
            frame.columns, 1
        )
    notes = build_nps_lines(read.frame, PERIOD).collect()["note"]
    assert notes.str.starts_with("outside the period: responded on 2026-").any()


def test_a_panic_inside_polars_exits_4_with_one_paragraph_and_the_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PanicException derives from BaseException, not Exception: it used to escape as a
    traceback and exit 1 (which means "the data failed validation")."""
    with pytest.raises(typer.Exit) as exited, guarded("run", as_json=False, debug=False):
        with_empty_first_chunk().select(pl.format("on {}", "day"))
    assert exited.value.exit_code == 4
    message = " ".join(capsys.readouterr().err.split())
    assert "Internal error in `run` (PanicException)" in message
    log = Path(message.split("The traceback is in ")[1].split(";")[0])
    assert "PanicException" in log.read_text()
    assert "Traceback" not in message
    log.unlink()
