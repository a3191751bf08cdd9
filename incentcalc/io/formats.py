"""File formats: turn one source file into a frame with the file's own headers (and its sha256).

This layer knows about CSV dialects, encodings, gzip, Parquet and Excel, and nothing about
canonical columns (that is `readers`). Everything that makes a file unreadable as a table
(empty, binary, wrong encoding, ragged rows, truncated gzip, duplicate headers) becomes a
`DataError` built by `FileProblem`, so a person sees one clear paragraph, never a traceback.

CSV text is always read as strings: types are never guessed from the data, because a guess
(``007`` -> 7, ``1.10`` -> 1.1) silently changes ids and amounts.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc.config import Source
from incentcalc.errors import ConfigError, DataError
from incentcalc.io.digest import file_sha256

ROW_INDEX = "__file_row_index"
"""Private column of a scan: each row's position in the file, kept through the filters."""

SNIFF_BYTES = 1 << 16
"""How much of a file is inspected for NUL bytes (binary) and for the header line."""

logging.getLogger("fastexcel").setLevel(logging.ERROR)
"""fastexcel logs "Could not determine dtype for column N, falling back to string" as a
warning for every mixed column; with no logging configured Python prints it on stderr, which
breaks `--quiet` (cron). Falling back to text is exactly what incentcalc wants anyway."""

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
WIDE_CODECS = ("utf-16", "utf-32")
"""Codecs whose text is full of NUL bytes, so the binary check runs after decoding."""


class FileFormat(StrEnum):
    """The input file formats readers recognise, by file name suffix."""

    CSV = ".csv"
    CSV_GZ = ".csv.gz"
    PARQUET = ".parquet"
    XLSX = ".xlsx"


class FileProblem:
    """Named constructors for the `DataError`s of an unreadable file (what, where, fix)."""

    @staticmethod
    def _error(path: Path | str, text: str) -> DataError:
        return DataError(f"{path}: {text}")

    @classmethod
    def empty(cls, path: Path) -> DataError:
        """A file with no bytes at all."""
        return cls._error(path, "the file is empty. Export it again with a header row and data.")

    @classmethod
    def no_header_row(cls, path: Path, header_row: int) -> DataError:
        """A file with nothing on the row `header_row` names."""
        return cls._error(
            path,
            f"there is nothing on row {header_row}, where `header_row` says the headers are. "
            "Open the file, find the row with the column names, and set `header_row` to its "
            "number (counted from 1).",
        )

    @classmethod
    def binary(cls, path: Path) -> DataError:
        """A file named as CSV that holds binary data."""
        return cls._error(
            path,
            "the file holds binary data, not CSV text. Is it an Excel or Parquet file with a "
            ".csv name? Rename it to .xlsx/.parquet or export it again as CSV.",
        )

    @classmethod
    def bad_encoding(cls, path: Path, encoding: str, line: int, detail: str) -> DataError:
        """A line that does not decode in the configured `encoding`."""
        return cls._error(
            path,
            f"line {line} is not valid {encoding} text ({detail}). Save the file as UTF-8, or set "
            "`encoding` on this source in the config (for example `encoding: latin-1`).",
        )

    @classmethod
    def utf16(cls, path: Path) -> DataError:
        """A UTF-16 file where UTF-8 was expected."""
        return cls._error(
            path,
            "the file is UTF-16 text (as Excel's 'Unicode Text' saves it), not UTF-8. Save it "
            "as 'CSV UTF-8', or set `encoding: utf-16` on this source in the config.",
        )

    @classmethod
    def ragged(cls, path: Path, line: int, found: int, expected: int) -> DataError:
        """A line with another number of fields than the header."""
        return cls._error(
            path,
            f"line {line} has {found} fields but the header has {expected}. Check the delimiter "
            "(set `delimiter` on the source) and quote cells that contain it.",
        )

    @classmethod
    def unparsable(cls, path: Path, what: str, detail: str) -> DataError:
        """A file the parser refused, with the first line of its `detail`."""
        first = detail.strip().splitlines()[0] if detail.strip() else "no detail"
        return cls._error(
            path,
            f"cannot be read as {what} ({first}). Export the file again, or check that its "
            "name ends with the right extension (.csv, .csv.gz, .parquet, .xlsx).",
        )

    @classmethod
    def truncated_gzip(cls, path: Path, detail: str) -> DataError:
        """A gzip file that is damaged or cut short."""
        return cls._error(
            path,
            f"the gzip data is damaged or cut short ({detail}). Copy or compress the file again.",
        )

    @classmethod
    def changed(cls, path: Path) -> DataError:
        """A file that changed while it was read (its rows and sha256 would disagree)."""
        return cls._error(
            path,
            "the file changed while it was being read, so the rows read and the sha256 "
            "recorded might not belong together. Run again once the export is complete.",
        )

    @classmethod
    def duplicate_header(cls, path: Path | str, header: str, count: int) -> DataError:
        """A header that appears `count` times, with the names it could be renamed to."""
        names = ", ".join(f"{header}#{n}" for n in range(1, count + 1))
        return cls._error(
            path,
            f"the header {header!r} appears {count} times, so it is unclear which column to use. "
            f"Name the one you mean by its occurrence in `columns` ({names}), or map another "
            "header.",
        )


@dataclass(frozen=True)
class RawTable:
    """A source file as read: its own headers (trimmed), data rows only, and how many rows
    of the file come before the first data row (title block, header and `skip_rows`)."""

    frame: pl.DataFrame
    headers: tuple[str, ...]
    rows_before_data: int
    typed: bool
    """True for Parquet and Excel, whose columns may already carry real types."""
    trim: bool
    """Trim text cells (CSV, Excel: typed by people). Parquet text is written by programs
    and taken as is, which keeps the 5M-row fast path fast."""
    index: pl.Series | None = None
    """Each row's position among the data rows when a `RowFilter` left some out (None:
    every data row is in `frame`, in order)."""
    filtered: frozenset[str] = frozenset()
    """Headers whose `RowFilter` the scan applied: their rows need no second look."""


@dataclass(frozen=True)
class RowFilter:
    """A condition on columns of a typed (Parquet) file, decided in the scan before the
    other columns are decoded: `keeps` gets the columns (in `headers`' order) and says which
    rows to keep. It applies only where each file column has its `dtypes` entry (otherwise
    the readers filter after parsing)."""

    headers: tuple[str, ...]
    dtypes: tuple[pl.DataType, ...]
    keeps: Callable[..., pl.Expr]


def detect_format(path: Path) -> FileFormat:
    """The format named by the file's extension (case-insensitive)."""
    name = path.name.lower()
    for fmt in sorted(FileFormat, key=len, reverse=True):
        if name.endswith(fmt.value):
            return fmt
    raise ConfigError(
        f"Source file {path} has an unsupported extension. Use .csv, .csv.gz, .parquet or .xlsx."
    )


@contextmanager
def _readable(what: str, path: Path) -> Iterator[None]:
    """Turn the OS errors of opening or reading a source file into a `ConfigError` that
    names the file and the fix."""
    try:
        yield
    except FileNotFoundError:
        raise ConfigError.missing_file(what, path) from None
    except IsADirectoryError:
        raise ConfigError(f"{what} path {path} is a folder; point it at a file.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} file {path}: {exc.strerror}.") from None


def _file_state(what: str, path: Path) -> tuple[int, int, int]:
    """What changes when a file is rewritten or replaced: inode, size, modification time."""
    with _readable(what, path), path.open("rb") as handle:
        state = os.fstat(handle.fileno())
    return state.st_ino, state.st_size, state.st_mtime_ns


def read_table(
    what: str,
    path: Path,
    source: Source,
    row_filters: tuple[RowFilter, ...] = (),
    *,
    sha256: bool = True,
) -> tuple[RawTable, str]:
    """Parse the file at `path` according to its extension and the source's options; returns
    the table and the sha256 of the file's bytes (hashed in a thread while it is parsed;
    empty with `sha256=False`, for `validate`, which reports none: 0.65 CPU s for the 0.77 GB
    of 50M deals).

    A Parquet file is scanned from the file itself, which Polars maps into memory instead of
    copying, with `row_filters` pushed into the scan; a file that changes between the hash and
    the scan is refused, so the manifest's sha256 is always that of the rows read. The other
    formats are read once and parsed from memory.
    """
    fmt = detect_format(path)
    if fmt is not FileFormat.PARQUET:
        with _readable(what, path):
            data = path.read_bytes()
        hashing = (lambda: hashlib.sha256(data).hexdigest()) if sha256 else None
        return _beside_hash(hashing, lambda: _parse_bytes(data, path, source, fmt))
    if source.header_row != 1:
        raise ConfigError(
            f"`header_row` does not apply to the Parquet file {path}: its column names are "
            "part of the file. Remove `header_row` from this source."
        )
    before = _file_state(what, path)
    if before[1] == 0:
        raise FileProblem.empty(path)
    with _readable(what, path):
        read = _beside_hash(
            (lambda: file_sha256(path)) if sha256 else None,
            lambda: _read_parquet(path, source, row_filters),
        )
    if _file_state(what, path) != before:
        raise FileProblem.changed(path)
    return read


def _beside_hash(
    hashing: Callable[[], str] | None, parse: Callable[[], RawTable]
) -> tuple[RawTable, str]:
    """`parse()`, and `hashing()` in a thread meanwhile (hashlib lets go of the GIL while it
    hashes); the digest is empty when there is nothing to hash (`validate`)."""
    if hashing is None:
        return parse(), ""
    with ThreadPoolExecutor(max_workers=1) as hasher:
        digest = hasher.submit(hashing)
        return parse(), digest.result()


def _parse_bytes(data: bytes, path: Path, source: Source, fmt: FileFormat) -> RawTable:
    """A CSV (plain or gzipped) or Excel file's table, from its bytes."""
    if fmt is FileFormat.CSV_GZ:
        data = _gunzip(data, path)
    if fmt in (FileFormat.CSV, FileFormat.CSV_GZ):
        return _read_csv(data, path, source)
    if not data:
        raise FileProblem.empty(path)
    frame = _read_xlsx(data, path, source)
    frame = frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})
    headers = tuple(frame.columns)
    if fmt is FileFormat.XLSX and _renamed_duplicates(headers):
        headers = _xlsx_header_row(data, source)
    return RawTable(
        frame.slice(min(source.skip_rows, frame.height)),
        headers,
        source.header_row + source.skip_rows,
        typed=True,
        trim=fmt is FileFormat.XLSX,
    )


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileProblem.truncated_gzip(path, str(exc) or type(exc).__name__) from None


def _read_parquet(path: Path, source: Source, row_filters: tuple[RowFilter, ...]) -> RawTable:
    """Scan the file, keeping the data rows after `skip_rows` that `row_filters` keep (the
    filter runs inside the Parquet reader: row groups and rows it drops are not decoded)."""
    try:
        names = pl.scan_parquet(path).collect_schema()
        # a scan of its own: once its schema is collected, a scan decodes more (Polars 2.1:
        # 0.28 instead of 0.20 CPU s for the window of 5M deals)
        scan = pl.scan_parquet(path)
        in_file = scan.select(pl.len()).collect().item()
        skip = min(source.skip_rows, in_file)
        keep = pl.col(ROW_INDEX) >= skip
        stripped = {name.strip(): name for name in names}
        applied: set[str] = set()
        for condition in row_filters:
            headers = [stripped.get(header) for header in condition.headers]
            if all(
                header is not None and names[header] == dtype
                for header, dtype in zip(headers, condition.dtypes, strict=True)
            ):
                keep = keep & condition.keeps(*(pl.col(h) for h in headers if h is not None))
                applied.update(condition.headers)
        frame = _collect_one_chunk(scan.with_row_index(ROW_INDEX).filter(keep))
    except Exception as exc:  # the Parquet reader raises several unrelated types
        raise FileProblem.unparsable(path, "Parquet", str(exc)) from None
    index = frame[ROW_INDEX].cast(pl.Int64) - skip
    frame = frame.drop(ROW_INDEX)
    frame = frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})
    return RawTable(
        frame,
        tuple(frame.columns),
        source.header_row + source.skip_rows,
        typed=True,
        trim=False,
        index=index,
        filtered=frozenset(applied),
    )


def _collect_one_chunk(query: pl.LazyFrame) -> pl.DataFrame:
    """The query's result with one chunk per column (`readers.read_source` says why), made
    column by column: the scan returns a chunk per morsel, and one `rechunk` of the whole
    frame would hold two copies of the rows read at once (1.9 GB more for the window of 50M
    deals), and the written and parsed frames would each make their own."""
    frame = query.collect()
    for name in frame.columns:
        frame = frame.with_columns(frame.get_column(name).rechunk())
    return frame


def _read_xlsx(data: bytes, path: Path, source: Source) -> pl.DataFrame:
    """The sheet with its headers on `header_row`; empty rows are kept (as nulls) so that
    row numbers stay those of the sheet."""
    sheet = source.sheet
    options = {"header_row": source.header_row - 1}
    try:
        if isinstance(sheet, str):
            return pl.read_excel(
                io.BytesIO(data),
                engine="calamine",
                sheet_name=sheet,
                read_options=options,
                drop_empty_rows=False,
            )
        return pl.read_excel(
            io.BytesIO(data),
            engine="calamine",
            sheet_id=(sheet or 0) + 1,
            read_options=options,
            drop_empty_rows=False,
        )
    except pl.exceptions.NoDataError:
        raise _no_data(path, source) from None
    except Exception as exc:  # fastexcel/calamine raise their own types for bad workbooks
        detail = str(exc)
        if sheet is not None and "sheet" in detail.lower():
            raise ConfigError(
                f"Sheet {sheet!r} not found in {path}: fix `sheet` on this source "
                "(a sheet name, or a 0-based position)."
            ) from None
        raise FileProblem.unparsable(path, "an Excel .xlsx workbook", detail) from None


def _renamed_duplicates(headers: tuple[str, ...]) -> bool:
    """True when the Excel reader renamed a repeated header (`X`, `X_1`): the sheet's own
    header row is then read again, so a duplicate is named by occurrence (`X#2`) as in a
    CSV, never silently taken as its first column."""
    return any(
        (match := re.match(r"^(.*)_\d+$", name)) is not None and match[1] in headers[:index]
        for index, name in enumerate(headers)
    )


def _xlsx_header_row(data: bytes, source: Source) -> tuple[str, ...]:
    """The header row of the sheet as written (repeated names kept), trimmed."""
    sheet = source.sheet
    where: dict[str, Any] = (
        {"sheet_name": sheet} if isinstance(sheet, str) else {"sheet_id": (sheet or 0) + 1}
    )
    options = {"header_row": None, "skip_rows": source.header_row - 1, "n_rows": 1}
    row = pl.read_excel(
        io.BytesIO(data), engine="calamine", has_header=False, read_options=options, **where
    ).row(0)
    return tuple("" if cell is None else str(cell).strip() for cell in row)


def _no_data(path: Path, source: Source) -> DataError:
    """Nothing to read: an empty file, or a `header_row` below the file's last row."""
    if source.header_row > 1:
        return FileProblem.no_header_row(path, source.header_row)
    return FileProblem.empty(path)


def _codec(source: Source) -> str:
    try:
        return codecs.lookup(source.encoding).name
    except LookupError:
        raise ConfigError(
            f"Unknown encoding {source.encoding!r} for source file {source.path}. Use a Python "
            "codec name such as utf-8, latin-1 or cp1252."
        ) from None


def _decode_error(data: bytes, path: Path, encoding: str, exc: UnicodeDecodeError) -> DataError:
    line = data.count(b"\n", 0, exc.start) + 1
    detail = f"byte 0x{data[exc.start]:02x}" if exc.start < len(data) else exc.reason
    return FileProblem.bad_encoding(path, encoding, line, detail)


def _to_utf8(data: bytes, path: Path, source: Source) -> bytes:
    """UTF-8 bytes for Polars: other encodings are decoded here, UTF-8 is checked as is."""
    codec = _codec(source)
    try:
        if codec == "utf-8":
            data.decode("utf-8")  # Polars' own error does not say where the bad byte is
            return data
        return data.decode(codec).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise _decode_error(data, path, source.encoding, exc) from None


def _header(text: bytes, source: Source) -> list[str]:
    """The header record (record `header_row`, after any title block)."""
    sample = text[:SNIFF_BYTES].decode("utf-8", errors="replace").removeprefix("\ufeff")
    # newline="" as the csv module wants: a lone "\r" ends a line instead of raising
    records = csv.reader(io.StringIO(sample, newline=""), delimiter=source.delimiter)
    try:
        first = next(itertools.islice(records, source.header_row - 1, None), [])
    except csv.Error:
        return []  # the header is unreadable: `_read_csv` reports it as unsplittable
    return [name.strip() for name in first]


def _read_csv(data: bytes, path: Path, source: Source) -> RawTable:
    if not data.strip():
        raise FileProblem.empty(path)
    wide = _codec(source).startswith(WIDE_CODECS)
    if not wide and b"\x00" in data[:SNIFF_BYTES]:
        raise FileProblem.utf16(path) if data.startswith(UTF16_BOMS) else FileProblem.binary(path)
    text = _to_utf8(data, path, source)
    if wide and b"\x00" in text[:SNIFF_BYTES]:
        raise FileProblem.binary(path)
    headers = _header(text, source)
    try:
        frame = pl.read_csv(
            io.BytesIO(text),
            infer_schema=False,
            separator=source.delimiter,
            skip_rows=min(source.header_row - 1, len(text)),
            # a file has fewer rows than bytes; a huge skip_rows would overflow Polars' usize
            skip_rows_after_header=min(source.skip_rows, len(text)),
            raise_if_empty=True,
        )
    except pl.exceptions.NoDataError:
        raise _no_data(path, source) from None
    except pl.exceptions.ComputeError as exc:
        raise _csv_problem(text, path, source, str(exc)) from None
    if frame.width != len(headers):
        raise FileProblem.unparsable(path, "CSV", "the header line could not be split")
    return RawTable(
        frame, tuple(headers), source.header_row + source.skip_rows, typed=False, trim=True
    )


def _csv_problem(text: bytes, path: Path, source: Source, detail: str) -> DataError:
    """Find the first ragged record with the csv module (slow, but only on the error path)."""
    reader = csv.reader(
        io.StringIO(text.decode("utf-8").removeprefix("\ufeff"), newline=""),
        delimiter=source.delimiter,
    )
    expected = None
    try:
        for record in reader:
            if expected is None:
                expected = len(record)
            elif record and len(record) != expected:
                return FileProblem.ragged(path, reader.line_num, len(record), expected)
    except csv.Error as exc:
        return FileProblem.unparsable(path, "CSV", f"line {reader.line_num}: {exc}")
    return FileProblem.unparsable(path, "CSV", detail)
