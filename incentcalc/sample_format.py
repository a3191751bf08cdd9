"""The file formats `sample-data` writes (the readers' formats are `io.formats.FileFormat`).

Its own top-level module so the CLI can offer them as choices without importing the generator
(numpy, Polars) for `--help`: `sampledata/__init__` imports the generator, and the generator
cannot import the CLI (tests/test_layout.py)."""

from __future__ import annotations

from enum import StrEnum


class SampleFormat(StrEnum):
    """A format `sample-data --format` writes the sources in."""

    CSV = "csv"
    PARQUET = "parquet"
