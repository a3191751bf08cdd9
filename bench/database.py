"""Bench step: the benchmark quarter's deals read from PostgreSQL, next to the Parquet read.

The dataset's deals.parquet is loaded into a throwaway server (`tests/postgres.py`) with
COPY into a typed table (numeric(18,2) amounts, dates), then both sources are read the way
a run reads them (`read_source`: read, map, parse), the database one through a query
filtered to the period's window with bound dates. Optional: without PostgreSQL server
programs the step is reported as skipped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from bench.datasets import PERIOD, Dataset
from incentcalc.config import SourceName, load_config
from incentcalc.io.database import query_dates
from incentcalc.io.readers import read_source
from incentcalc.periods import parse_period
from tests.postgres import ServerUnavailable, start_postgres

DEALS_TABLE = (
    "create table deals (deal_id text, partner_id text, customer_id text, stage text, "
    "close_date date, amount numeric(18,2), currency text, deal_type text, "
    "registered_on date, product text)"
)
WINDOW_QUERY = (
    "select * from deals where close_date between :window_start and :window_end "
    "or close_date is null"
)
PASSWORD_VARIABLE = "INCENTCALC_BENCH_PGPASSWORD"


@dataclass(frozen=True)
class DatabaseRead:
    """Seconds and rows of: loading with COPY, the Parquet read, the database read."""

    loaded_rows: int
    copy_seconds: float
    parquet_seconds: float
    parquet_rows: int
    database_seconds: float
    database_rows: int

    def notes(self) -> dict[str, Any]:
        return {
            "loaded_rows": self.loaded_rows,
            "copy_s": round(self.copy_seconds, 2),
            "parquet_read_s": round(self.parquet_seconds, 2),
            "parquet_rows": self.parquet_rows,
            "postgres_read_s": round(self.database_seconds, 2),
            "postgres_rows": self.database_rows,
        }


def time_database_read(data: Dataset, work: Path) -> DatabaseRead | str:
    """The measurement, or why it was skipped (no server programs here)."""
    try:
        server = start_postgres("bench")
    except ServerUnavailable as exc:
        return f"skipped: {exc}"
    try:
        started = time.perf_counter()
        server.psql(DEALS_TABLE)
        csv = server.folder / "deals.csv"
        pl.read_parquet(data.folder / "deals.parquet").write_csv(csv)
        server.psql(f"\\copy deals from '{csv}' with (format csv, header true)")
        server.psql("analyze deals")
        csv.unlink()
        copy_seconds = time.perf_counter() - started
        loaded = int(server.psql("select count(*) from deals").strip())

        os.environ[PASSWORD_VARIABLE] = server.password
        config_path = _database_program(data, work, server.uri(f"${{{PASSWORD_VARIABLE}}}"))
        files = load_config(data.program)
        database = load_config(config_path)
        dates = query_dates(database, parse_period(PERIOD))
        parquet_seconds, parquet_rows = _timed_read(files.sources.deals, dates)
        database_seconds, database_rows = _timed_read(database.sources.deals, dates)
        return DatabaseRead(loaded, copy_seconds, parquet_seconds, parquet_rows,
                            database_seconds, database_rows)  # fmt: skip
    finally:
        server.stop()


def _timed_read(source: Any, dates: Any) -> tuple[float, int]:
    started = time.perf_counter()
    read = read_source(SourceName.DEALS, source, dates=dates)
    return time.perf_counter() - started, read.frame.height


def _database_program(data: Dataset, work: Path, uri: str) -> Path:
    """The dataset's program with deals read from the database (other sources as files)."""
    program = yaml.safe_load(data.program.read_text(encoding="utf-8"))
    for name, entry in program["sources"].items():
        entry["path"] = str((data.folder / entry["path"]).resolve())
        program["sources"][name] = entry
    program["sources"]["deals"] = {"uri": uri, "query": WINDOW_QUERY}
    work.mkdir(parents=True, exist_ok=True)
    path = work / "program_postgres.yaml"
    path.write_text(yaml.safe_dump(program, sort_keys=False), encoding="utf-8")
    return path
