"""The bench's I/O floor: the reads and writes a run of the quarter must do, and no calculation.

Issue 28 judges `run --no-statements` against the bare scan (`bench.floor`), which reads four
columns of the quarter's rows and writes nothing. A run is also bound to:

- hash every input file (the manifest's sha256, which a later `explain` and `ledger --verify`
  rely on);
- read every column of the rows the period can use (`incentcalc.io.window`: the quarter, the
  days around it, the reversal window and every open deal), not just the quarter's;
- write the same output files: payouts, KPIs, deal bonuses and ledger lines as CSV and
  Parquet, exceptions.csv, and summary.xlsx, a zip whose parts are deflated at zlib's
  default level (xlsxwriter's choice; the bytes are part of the run's identity).

This script does exactly that with the files of a finished run (`RUN_DIR`, the output folder
of `run --no-statements` on the same data) and nothing else: no parsing, validation, FX,
rules or workbook layout. Loading the run's own files back is timed apart and left out of
the figure it prints, the I/O floor: the least any tool writing these files must spend::

    python -m bench.io_floor DATA_DIR RUN_DIR 2026Q3
"""

from __future__ import annotations

import sys
import tempfile
import time
import zipfile
from pathlib import Path

import polars as pl

from incentcalc.config import load_config
from incentcalc.io.digest import file_sha256
from incentcalc.io.window import read_windows
from incentcalc.io.writers import write_csv, write_parquet
from incentcalc.periods import parse_period

TABLES = ("payouts", "kpis", "deal_bonuses")
"""Tables written as CSV and Parquet (ledger_lines is Parquet only, exceptions CSV only)."""


def read_inputs(data: Path, period_label: str) -> int:
    """Hash every input and read every column of the rows the period can use; rows read."""
    config = load_config(data / "program.yaml")
    windows = read_windows(config, parse_period(period_label))
    rows = 0
    for name, source in config.sources.items():
        assert source.path is not None
        file_sha256(source.path)
        scan = pl.scan_parquet(source.path)
        window = windows.get(name)
        if window is not None and window.first is not None:
            scan = scan.filter(window.dated(pl.col(window.column)))
        rows += scan.collect().height
    return rows


def write_outputs(run: Path, folder: Path) -> float:
    """Write the run's tables and summary.xlsx again into `folder`; the seconds spent writing
    (loading the run's files back is not counted)."""
    loaded = {name: pl.read_parquet(run / f"{name}.parquet") for name in TABLES}
    ledger = pl.read_parquet(run / "ledger_lines.parquet")
    exceptions = pl.read_csv(run / "exceptions.csv", infer_schema=False)
    with zipfile.ZipFile(run / "summary.xlsx") as summary:
        parts = [(info, summary.read(info)) for info in summary.infolist()]
    started = time.perf_counter()
    for name, frame in loaded.items():
        write_csv(frame, folder / f"{name}.csv")
        write_parquet(frame, folder / f"{name}.parquet")
    write_parquet(ledger, folder / "ledger_lines.parquet")
    write_csv(exceptions, folder / "exceptions.csv")
    with zipfile.ZipFile(folder / "summary.xlsx", "w", zipfile.ZIP_DEFLATED) as copy:
        for info, data in parts:
            copy.writestr(info, data)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    data, run, period = Path(argv[0]), Path(argv[1]), argv[2]
    started = time.perf_counter()
    rows = read_inputs(data, period)
    reading = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        writing = write_outputs(run, Path(folder))
    print(f"read {rows} rows in {reading:.2f} s, wrote the outputs in {writing:.2f} s")
    print(f"io floor: {reading + writing:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
