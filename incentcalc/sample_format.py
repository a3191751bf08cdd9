"""The file formats `sample-data` writes; its own module so the CLI can offer them as
choices without importing the generator (numpy, Polars) for `--help`."""

from __future__ import annotations

from enum import StrEnum


class FileFormat(StrEnum):
    """A file format `sample-data` can write."""

    CSV = "csv"
    PARQUET = "parquet"
