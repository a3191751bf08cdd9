"""Readers: one source file + its mapping in the config -> a canonical frame (DATA.md).

Steps, all vectorised: read the file as text (`formats`), pick the canonical columns through
`columns` (or fill them from `defaults`), trim cells and turn empty/`null_values` cells into
nulls, apply `values`, then parse each column into its canonical dtype (`inputs.py`). A cell
that does not parse is not guessed at: it becomes a failure row (file, row, column, value as
written, rule) and a null in the frame, so validation can report every problem at once.

A Parquet column that already has the canonical dtype is taken as is: no round trip through
strings, which is what keeps a 5M-row typed deals file fast.

Example: a Salesforce export with ``Amount = "$12,500.00"``, ``currency_symbols: ["$"]`` and
``thousands_separator: ","`` gives ``amount = Decimal("12500.00")``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl

from incentcalc.config import Source, SourceName
from incentcalc.errors import ConfigError, DataError
from incentcalc.inputs import (
    EXTRA_COLUMNS,
    FAILURE_SCHEMA,
    ROW,
    SOURCE_COLUMNS,
    Column,
    DealType,
    Kind,
    SourceFile,
    empty_failures,
)
from incentcalc.io.database import read_database_table
from incentcalc.io.formats import FileProblem, RawTable, RowFilter, read_table
from incentcalc.io.numbers import CANONICAL, MONEY_PLACES, NumberFormat
from incentcalc.io.window import Window
from incentcalc.periods import canonical_label_expr

FALLBACK = "*"
"""The `values` key that maps every value not listed."""

PARTNER = "partner_id"

ROW_DEFAULT = "{row}"
"""A `defaults` value that fills the column with each row's number (exports without ids)."""

BLANK = "__blank"
"""Helper column: the row is empty in every cell of the file (a spacer line), so ignored."""

ISO_DATE = "%Y-%m-%d"
TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%f", "%.f", "%z", "%:z", "%p", "%T", "%R", "%X", "%c")
"""strptime directives that make a format a datetime: its calendar date is what counts."""
UTC_OFFSET = r"\s*(Z|[+-]\d{2}(:?\d{2})?)$"
EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's serial dates (a date cell that reaches us as a plain number)."""

OCCURRENCE = re.compile(r"^(?P<header>.+)#(?P<n>[1-9]\d{0,5})$")
"""A header named by its occurrence: `Associated Company IDs#2` is the second of that name."""

WHOLE = r"^[+-]?\d+(\.0*)?$"
SERIAL = r"^\d{1,6}(\.0*)?$"

DECIMAL_KINDS = frozenset({Kind.MONEY, Kind.SIGNED_MONEY, Kind.RATE, Kind.TARGET})

FEW_VALUES = frozenset({Kind.CODE, Kind.PERIOD})
"""Kinds of text column whose cells repeat a few values: parsed once per distinct value."""

EMPTY_MEANS: dict[tuple[SourceName, str], str] = {
    (SourceName.DEALS, "deal_type"): DealType.NEW.value,
}
"""Optional columns whose empty cell has a meaning (DATA.md: deal_type empty = new)."""


@dataclass(frozen=True)
class SourceRead:
    """One source, read and parsed.

    `frame` has the canonical schema (`_row` first); cells that failed to parse are null
    there and listed in `failures`. `written` holds the same rows as written in the file
    (trimmed, before `values` mapping), so any later rule can quote the offending value.
    """

    name: SourceName
    path: Path | str
    frame: pl.DataFrame
    written: pl.DataFrame
    failures: pl.DataFrame
    file: SourceFile
    warnings: tuple[str, ...] = ()
    skipped: pl.DataFrame | None = None
    """The rows `skip_rows_where` left out, parsed like `frame` (a cell that does not parse is
    null): validation warns about any the period would count."""


def read_source(
    name: SourceName,
    source: Source,
    *,
    window: Window | None = None,
    partner: str | None = None,
    dates: dict[str, date] | None = None,
    extra: tuple[Column, ...] = (),
    text_only: bool = False,
    sha256: bool = True,
) -> SourceRead:
    """Read, map and parse one configured source (a file, or a database with `dates` bound
    to its query's `:period_start`-style parameters); with a `window`, only the rows it keeps
    (the rows the period can use, `incentcalc.io.window`), with a `partner`, only that
    partner's rows (`explain`), each with its file row number.

    Fully empty rows are ignored and rows listed by `skip_rows_where` are dropped (and
    counted in `file.skipped`) before anything is parsed. A source without data rows is
    empty, with a warning.

    `extra` columns (of `inputs.EXTRA_COLUMNS`) are read and parsed too. With `text_only`,
    nothing is parsed: `frame` holds the mapped text (partners from the deals need only the
    ids and names, and parsing a whole export's dates and amounts costs more than reading it).
    Without `sha256`, a file is not hashed (`file.sha256` is empty; `validate`).

    Raises `ConfigError` for a missing file or a mapping key that names no canonical column,
    and `DataError` for a file that is not a readable table or lacks a needed header.
    """
    check_mapping(name, source)
    if source.path is None:
        table, file = read_database_table(name, source, dates)
    else:
        filters = _row_filters(name, source, window, partner)
        table, digest = read_table(f"{name} source", source.path, source, filters, sha256=sha256)
        file = SourceFile(name, source.path, digest, 0)
    written = _select_columns(name, source, table, extra)
    mapped = fill_empty_cells(written, source).with_columns(
        _apply_values(pl.col(column), mapping).alias(column)
        for column, mapping in source.values.items()
    )
    if window is not None and source.header_of(window.column) not in table.filtered:
        keep = _in_window(name, source, mapped, window, typed=table.typed)
        written, mapped = written.filter(keep), mapped.filter(keep)
    if partner is not None and PARTNER in mapped.columns:
        keep = mapped.select(pl.col(PARTNER).cast(pl.String()) == partner).to_series()
        written, mapped = written.filter(keep), mapped.filter(keep)
    skipped = None
    if source.skip_rules:
        skip = written.select(skip_listed(source)).to_series()
        skipped, _ = parse_columns(
            name, source, mapped.filter(skip), typed=table.typed, extra=extra
        )
        written, mapped = written.filter(~skip), mapped.filter(~skip)
        skipped = skipped.rechunk()
    if text_only:
        file = replace(file, rows=mapped.height, skipped=0 if skipped is None else skipped.height)
        return SourceRead(name, source.location, mapped, written, empty_failures(), file)
    frame, failures = parse_columns(name, source, mapped, typed=table.typed, extra=extra)
    rows_of = window.describe() if window is not None else "every row"
    count = 0 if skipped is None else skipped.height
    file = replace(file, rows=frame.height, skipped=count, rows_of=rows_of)
    # One chunk per column, made here where the frames are made: the CSV reader returns a
    # chunk per thread, a database one per batch, and the window and partner filters (a
    # boolean Series) leave the chunks they empty in place ([0, 0, 1814] rows for the sample
    # quarter's NPS responses). Polars 2.1's `pl.format` reads a chunk's first value before
    # it checks the chunk has one: on an empty chunk it panics (`assertion failed: i <
    # self.len()`) or reads out of bounds (pola-rs/polars#25339; tests/test_polars_bugs.py).
    frame, written = frame.rechunk(), written.rechunk()
    warnings = _empty_warning(file)
    return SourceRead(name, source.location, frame, written, failures, file, warnings, skipped)


def _row_filters(
    name: SourceName, source: Source, window: Window | None, partner: str | None
) -> tuple[RowFilter, ...]:
    """The window's dates and the partner as filters the Parquet scan can apply to the
    file's own columns (not to a column that `values` or `defaults` rewrite: the filters
    after parsing cover those)."""
    filters: list[tuple[tuple[str, ...], tuple[pl.DataType, ...], Callable[..., pl.Expr]]] = []
    if window is not None and window.label is None:
        dtypes = (pl.Date(), pl.String())[: len(window.columns)]
        filters.append((window.columns, dtypes, window.keeps))
    if partner is not None and any(c.name == PARTNER for c in SOURCE_COLUMNS[name]):
        filters.append(((PARTNER,), (pl.String(),), lambda value: value == partner))
    return tuple(
        RowFilter(tuple(source.header_of(c) for c in columns), dtypes, keeps)
        for columns, dtypes, keeps in filters
        if not any(c in source.values or c in source.defaults for c in columns)
    )


def _in_window(
    name: SourceName, source: Source, mapped: pl.DataFrame, window: Window, *, typed: bool
) -> pl.Series:
    """True for the rows the window keeps, judged on the parsed window column (a cell that
    does not parse is kept, so validation reports it)."""
    column = next(c for c in SOURCE_COLUMNS[name] if c.name == window.column)
    frame = mapped.select(ROW, pl.col(column.name).cast(pl.String()))
    if column.kind is not Kind.PERIOD:
        frame = mapped
    value, _ = _parser(column, frame.schema[column.name], source, typed)
    if frame.schema[column.name] != pl.String():
        dated = frame.select(window.dated(value)).to_series()
    else:
        # text is parsed once per distinct value (a few dozen labels, a few thousand dates),
        # not once per row: the label pattern on 80k rows of targets alone took 50 ms
        distinct = frame.select(pl.col(column.name).unique()).with_columns(
            window.dated(value).alias("_keep")
        )
        dated = frame.select(column.name).join(
            distinct, on=column.name, how="left", nulls_equal=True, maintain_order="left"
        )["_keep"]
    if window.kept_ids is None:
        return dated
    deal_id = pl.col(Window.KEPT_ID).cast(pl.String())
    return dated | mapped.select(window.listed(deal_id)).to_series()


def _empty_warning(file: SourceFile) -> tuple[str, ...]:
    if file.rows:
        return ()
    skipped = f" ({file.skipped} skipped by skip_rows_where)" if file.skipped else ""
    return (
        f"{file.name} source {file.path} has no data rows{skipped}: it is read as empty. "
        "Check the export's filters if rows were expected.",
    )


def skip_listed(source: Source) -> pl.Expr:
    """True for the rows `skip_rows_where` lists, judged on the cells as written (`""` for an
    empty cell) or, for a column with a `values` mapping, on the canonical value it maps to.
    Each rule skips the rows that match all its columns; a row matching any rule is skipped.

    Examples: ``{score: [""]}`` drops a survey's skipped question; ``[{amount: [""], stage:
    [open]}]`` drops open deals without an amount, never a won deal without one.
    """
    rules = [
        pl.all_horizontal(
            _matches(column, listed, source.values.get(column)) for column, listed in rule.items()
        )
        for rule in source.skip_rules
        if rule
    ]
    return pl.any_horizontal(rules) if rules else pl.lit(False)


def _matches(column: str, listed: list[str], mapping: dict[str, str] | None) -> pl.Expr:
    texts = [value.strip() for value in listed]
    cell = pl.col(column).cast(pl.String())
    hit = cell.is_in([t for t in texts if t]).fill_null(False)
    if mapping is not None:
        hit |= _apply_values(cell, mapping).is_in([t for t in texts if t]).fill_null(False)
    return hit | cell.is_null() if "" in texts else hit


def fill_empty_cells(written: pl.DataFrame, source: Source) -> pl.DataFrame:
    """Empty cells of the columns `fill_empty` lists get its value, read from then on like a
    written cell (through `values` and the source's number format): an ERP that writes a
    0.00 total as an empty cell sets ``fill_empty: {amount: "0"}``."""
    return written.with_columns(
        pl.col(column).fill_null(
            pl.lit(value) if written.schema[column] == pl.String()
            else pl.lit(value).cast(written.schema[column], strict=False)
        )
        for column, value in source.fill_empty.items()
    )  # fmt: skip


def check_mapping(name: SourceName, source: Source) -> None:
    """Every key of `columns`, `values`, `defaults`, `fill_empty`, `skip_rows_where` and a
    per-column `date_format` must be a canonical column: a typo there would otherwise be
    silently ignored. An extra column (deals' partner_name) may only be named in `columns`."""
    canonical = [c.name for c in SOURCE_COLUMNS[name]]
    dates = source.date_format if isinstance(source.date_format, dict) else {}
    listed = {
        "columns": list(source.columns),
        "values": list(source.values),
        "defaults": list(source.defaults),
        "fill_empty": list(source.fill_empty),
        "skip_rows_where": [key for rule in source.skip_rules for key in rule],
        "date_format": list(dates),
    }
    for option, keys in listed.items():
        extra = [c.name for c in EXTRA_COLUMNS.get(name, ())] if option == "columns" else []
        known = [*canonical, *extra]
        for key in keys:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"sources.{name}.{option}.{key}: {key!r} is not a column of {name} "
                    f"(columns: {', '.join(known)}).{hint} Keys are canonical names; values "
                    "are the export's headers."
                )


def _trimmed(expr: pl.Expr, dtype: pl.DataType, nulls: list[str], *, trim: bool) -> pl.Expr:
    """Text cells trimmed; empty or listed `null_values` cells become null."""
    if dtype != pl.String():
        return expr
    text = expr.str.strip_chars() if trim else expr
    return pl.when(_missing(text, nulls)).then(None).otherwise(text)


def _missing(text: pl.Expr, nulls: list[str]) -> pl.Expr:
    """True for an empty cell or one of the source's `null_values`."""
    return text.eq("") | text.is_in([n.strip() for n in nulls]) if nulls else text.eq("")


def _untouched(table: RawTable, positions: list[int], nulls: list[str]) -> set[int]:
    """Those of the text columns at `positions` that `_trimmed` would leave as they are: a
    file's taken untrimmed (Parquet) without one missing cell. They are taken as read, not
    rebuilt cell by cell (the 7 text columns of 13.6M deals: a copy of each for nothing)."""
    text = [i for i in positions if table.frame.dtypes[i] == pl.String()]
    if table.trim or not text:
        return set()
    found = table.frame.select(_missing(pl.nth(i), nulls).any() for i in text).row(0)
    return {i for i, missing in zip(text, found, strict=True) if not missing}


def _missing_header(column: Column, header: str, headers: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(header, [h for h in headers if h], n=3)
    hint = f" Headers that look close: {', '.join(map(repr, close))}." if close else ""
    return (
        f"missing column: no header {header!r} for {column.name}. Add it to the file, map the "
        f"export's header with `columns: {{{column.name}: <header>}}`, or give a constant in "
        f"`defaults`.{hint}"
    )


def _select_columns(
    name: SourceName, source: Source, table: RawTable, extra: tuple[Column, ...] = ()
) -> pl.DataFrame:
    """The canonical columns and `extra` (as written, trimmed) plus `_row`; missing headers
    raise."""
    columns = (*SOURCE_COLUMNS[name], *extra)
    frame, headers = table.frame, table.headers
    position = (
        pl.int_range(pl.len(), dtype=pl.Int64) if table.index is None else pl.lit(table.index)
    )
    row = (position + table.rows_before_data + 1).alias(ROW)
    blank = _blank_row(frame) if table.trim and frame.width else pl.lit(False)
    exprs: list[pl.Expr] = [row, blank.alias(BLANK)]
    defaults: list[pl.Expr] = []
    missing: list[dict[str, object]] = []
    found_at = {
        column.name: header_position(headers, source.header_of(column.name), source.location)
        for column in columns
    }
    untouched = _untouched(
        table, [i for i in found_at.values() if i is not None], source.null_values
    )
    for column in columns:
        header = source.header_of(column.name)
        found = found_at[column.name]
        if found is not None:
            dtype = frame.dtypes[found]
            raw = pl.nth(found)
            cell = raw
            if found not in untouched:
                cell = _trimmed(raw, dtype, source.null_values, trim=table.trim)
            exprs.append(cell.alias(column.name))
        elif column.name in source.defaults:
            defaults.append(_default(source.defaults[column.name]).alias(column.name))
        elif column.optional and column.name not in source.columns:
            exprs.append(pl.lit(None, dtype=pl.String()).alias(column.name))
        else:
            missing.append(
                {"file": str(source.location), "row": 1, "column": column.name, "value": None,
                 "rule": _missing_header(column, header, headers)}
            )  # fmt: skip
    if missing:
        failures = pl.DataFrame(missing, schema=FAILURE_SCHEMA)
        listed = ", ".join(str(m["column"]) for m in missing)
        raise DataError(
            f"{source.location}: missing column(s) {listed}. Rename the headers or map them with "
            f"`columns` under sources.{name} in the config.",
            failures=failures,
        )
    names = [c.name for c in columns]
    selected = frame.select(exprs).filter(~pl.col(BLANK)).with_columns(defaults)
    return selected.select(ROW, *names)


def header_position(headers: tuple[str, ...], header: str, where: Path | str) -> int | None:
    """The column index of `header` (None: no such header). A header the export writes more
    than once is named by its occurrence, ``"Associated Company IDs#2"`` for the second
    (DATA.md); naming it plainly is refused with the names to use instead."""
    positions = [i for i, h in enumerate(headers) if h == header]
    if len(positions) == 1:
        return positions[0]
    if len(positions) > 1:
        raise FileProblem.duplicate_header(where, header, len(positions))
    match = OCCURRENCE.match(header)
    if match is None:
        return None
    same = [i for i, h in enumerate(headers) if h == match["header"]]
    occurrence = int(match["n"])
    return same[occurrence - 1] if 1 <= occurrence <= len(same) and len(same) > 1 else None


def _blank_row(frame: pl.DataFrame) -> pl.Expr:
    """True for a row whose every cell is empty (a spacer line in a report): ignored."""
    return pl.all_horizontal(
        pl.nth(i).is_null() | (pl.nth(i).str.strip_chars() == "")
        if dtype == pl.String()
        else pl.nth(i).is_null()
        for i, dtype in enumerate(frame.dtypes)
    )


def _default(value: str) -> pl.Expr:
    if value == ROW_DEFAULT:
        return pl.col(ROW).cast(pl.String())
    return pl.lit(value, dtype=pl.String())


def _apply_values(expr: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """Map export values onto canonical ones. The key `"*"` maps every other non-empty value;
    without it, values not listed pass through unchanged (so validation can name them).

    Example: ``{"Closed Won": closed_won, "*": open}`` makes `Prospecting` open.
    """
    text = expr.cast(pl.String())
    listed = {key: value for key, value in mapping.items() if key != FALLBACK}
    if FALLBACK not in mapping:
        return text.replace(listed)
    fallback = pl.lit(mapping[FALLBACK], dtype=pl.String())
    return (
        pl.when(text.is_null())
        .then(None)
        .otherwise(text.replace_strict(listed, default=fallback, return_dtype=pl.String()))
    )


def parse_columns(
    name: SourceName,
    source: Source,
    mapped: pl.DataFrame,
    *,
    typed: bool = False,
    extra: tuple[Column, ...] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse mapped columns (the source's and `extra`) into canonical dtypes; returns
    (frame, parse failures)."""
    columns = (*SOURCE_COLUMNS[name], *extra)
    mapped = mapped.with_columns(
        pl.col(c.name).cast(pl.String()) for c in columns if c.kind in FEW_VALUES
    )
    parsers = {c.name: _parser(c, mapped.schema[c.name], source, typed) for c in columns}
    parsers.update(
        (c.name, _by_distinct_value(mapped, c.name, *parsers[c.name]))
        for c in columns
        if c.kind in FEW_VALUES
    )
    problems = {n: p for n, (_, p) in parsers.items() if p is not None}
    parsed = mapped.with_columns(
        *(value.alias(n) for n, (value, _) in parsers.items()),
        *(problem.alias(f"__problem_{n}") for n, problem in problems.items()),
        *(_written_text(mapped, n).alias(f"__text_{n}") for n in problems),
    )
    failures = [
        parsed.filter(pl.col(f"__problem_{n}").is_not_null()).select(
            pl.lit(str(source.location)).alias("file"),
            pl.col(ROW).alias("row"),
            pl.lit(n).alias("column"),
            pl.col(f"__text_{n}").alias("value"),
            pl.col(f"__problem_{n}").alias("rule"),
        )
        for n in problems
    ]
    frame = parsed.select(ROW, *(c.name for c in columns)).with_columns(
        pl.col(column).fill_null(value)
        for (source_name, column), value in EMPTY_MEANS.items()
        if source_name == name
    )
    return frame, pl.concat(
        [pl.DataFrame(schema=FAILURE_SCHEMA), *failures], how="vertical_relaxed"
    ).cast(FAILURE_SCHEMA)  # type: ignore[arg-type]


def _by_distinct_value(
    mapped: pl.DataFrame, column: str, value: pl.Expr, problem: pl.Expr | None
) -> tuple[pl.Expr, pl.Expr | None]:
    """A text column's (value, problem) worked out once per distinct cell and looked up for
    each row; the column itself when parsing leaves every value as it is (no copy), and no
    problem when no value has one. Currency codes and period labels repeat a handful of
    values over millions of rows: at 50M deals, upper-casing the window's 13.6M currency
    cells took 0.6 s and a copy of the column, the targets' period labels 1.5 s of CPU."""
    cell = pl.col(column)
    distinct = mapped.select(cell.unique().drop_nulls())
    parsed = distinct.select(
        cell,
        value.alias("__value"),
        (pl.lit(None, pl.String()) if problem is None else problem).alias("__problem"),
    )
    if parsed[column].equals(parsed["__value"]):
        value = cell
    else:
        value = cell.replace_strict(
            parsed[column], parsed["__value"], default=None, return_dtype=pl.String()
        )
    if parsed["__problem"].null_count() == parsed.height:
        return value, None
    return value, cell.replace_strict(
        parsed[column], parsed["__problem"], default=None, return_dtype=pl.String()
    )


def _written_text(mapped: pl.DataFrame, column: str) -> pl.Expr:
    """The failing cell's text; parse failures are never in `values`-mapped cells, so the
    mapped text is what the file says."""
    return pl.col(column) if mapped.schema[column] == pl.String() else pl.lit(None, pl.String())


def _parser(
    column: Column, dtype: pl.DataType, source: Source, typed: bool
) -> tuple[pl.Expr, pl.Expr | None]:
    """(parsed value, rule text when the cell fails to parse or null) for one column."""
    col = pl.col(column.name)
    target = column.dtype
    if column.kind is Kind.PERIOD:
        return _period(column.name, col)
    if column.kind is Kind.CODE:  # currency codes are read case-insensitively: usd is USD
        return col.cast(pl.String()).str.to_uppercase(), None
    if dtype == target:
        return col, None  # already canonical (Parquet fast path)
    if column.kind is Kind.TEXT:
        return col.cast(pl.String()), None
    if column.kind is Kind.DATE:
        if isinstance(dtype, pl.Datetime):
            return col.dt.date(), None
        return _date(col.cast(pl.String()), source.date_format_of(column.name), typed)
    if column.kind in DECIMAL_KINDS:
        if dtype.is_integer() or (
            isinstance(dtype, pl.Decimal) and (dtype.scale or 0) <= _scale(target)
        ):
            return col.cast(target), None
        return _decimal(
            col.cast(pl.String()), column.kind, target, source, typed=dtype != pl.String()
        )
    if column.kind is Kind.INTEGER:
        if dtype.is_integer():
            return col.cast(target), None
        return _integer(col.cast(pl.String()))
    return col.cast(pl.String()), None


def _scale(dtype: pl.DataType) -> int:
    return dtype.scale if isinstance(dtype, pl.Decimal) and dtype.scale is not None else 0


def _failed(text: pl.Expr, value: pl.Expr, rule: str) -> pl.Expr:
    return pl.when(text.is_not_null() & value.is_null()).then(pl.lit(rule))


def _date(text: pl.Expr, date_format: str | None, typed: bool) -> tuple[pl.Expr, pl.Expr]:
    fmt = date_format or ISO_DATE
    value = _parse_date(text, fmt)
    if typed:  # an Excel date cell can reach us as its serial number
        serial = text.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False)
        value = (
            pl.when(text.str.contains(SERIAL))
            .then(pl.lit(EXCEL_EPOCH) + pl.duration(days=serial))
            .otherwise(value)
        )
    shown = "YYYY-MM-DD" if date_format is None else f"the source's date_format {fmt!r}"
    rule = (
        f"not a valid date (expected {shown}); fix the cell, or set `date_format` on this "
        "source to the export's format"
    )
    return value, _failed(text, value, rule)


def _parse_date(text: pl.Expr, fmt: str) -> pl.Expr:
    """Dates, or datetimes reduced to their calendar date as written: a UTC offset is
    dropped, not applied, so `2024-01-22T23:30:00-0500` is 2024-01-22 (its local date).
    Python's `.%f` (fraction of a second) is chrono's `%.f`."""
    chrono = fmt.replace(".%f", "%.f")
    if not any(directive in chrono for directive in TIME_DIRECTIVES):
        return text.str.to_date(chrono, strict=False)
    if re.search(r"%:?z", chrono):
        chrono = re.sub(r"\s*%:?z", "", chrono)
        text = text.str.replace(UTC_OFFSET, "")
    return text.str.to_datetime(chrono, strict=False, time_unit="us").dt.date()


def _decimal(
    text: pl.Expr, kind: Kind, target: pl.DataType, source: Source, *, typed: bool
) -> tuple[pl.Expr, pl.Expr]:
    """A decimal column read strictly in the source's number format (`numbers`). Typed cells
    (an Excel or Parquet number) reach here as canonical text and are read as such."""
    fmt = CANONICAL if typed else source_number_format(source)
    cleaned = text
    if source.currency_symbols and not typed:
        cleaned = cleaned.str.replace_many({s: "" for s in source.currency_symbols})
    cleaned = cleaned.str.strip_chars()
    normalized = fmt.normalized(cleaned)
    places = _scale(target)
    not_number = (
        f"not a number in this source's format ({fmt.describe()}); fix the cell, or set "
        "`decimal_separator`, `thousands_separator` and `currency_symbols` on the source to "
        "the export's format"
    )
    other = "," if fmt.decimal == "." else "."
    ambiguous = (
        f"ambiguous amount: three digits after {fmt.decimal!r} may be decimals or a group of "
        f"thousands; write it with at most {places} decimals, or, if {fmt.decimal!r} groups "
        f"thousands in this export, set thousands_separator: {fmt.decimal!r} and "
        f"decimal_separator: {other!r} on the source"
    )
    too_precise = (
        f"more than {places} decimal places; round it to {places} places in the export"
        if kind in (Kind.MONEY, Kind.SIGNED_MONEY)
        else f"more than {places} decimal places; write it with at most {places}"
    )
    places_pattern = rf"^[+-]?\d*(\.\d{{0,{places}}}0*)?$"
    rule = pl.when(cleaned.is_null()).then(None).when(normalized.is_null()).then(pl.lit(not_number))
    if places == MONEY_PLACES and not typed:
        rule = rule.when(fmt.ambiguous(cleaned)).then(pl.lit(ambiguous))
    rule = rule.when(~normalized.str.contains(places_pattern)).then(pl.lit(too_precise))
    value = pl.when(rule.is_null()).then(normalized.str.to_decimal(scale=places)).cast(target)
    return value, pl.coalesce(rule, _failed(text, value, not_number))


def source_number_format(source: Source) -> NumberFormat:
    """The number format a source declares (`decimal_separator`, `thousands_separator`)."""
    return NumberFormat(decimal=source.decimal_separator, thousands=source.thousands_separator)


def _integer(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    value = (
        pl.when(text.str.contains(WHOLE))
        .then(text.str.replace(r"\.0*$", "").str.to_integer(strict=False))
        .cast(pl.Int64)
    )
    return value, _failed(text, value, "not a whole number; write it like 7")


def _period(name: str, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    value = canonical_label_expr(name)
    rule = "not a period label; write it like 2026Q3 (2026-Q3 and 2026q3 are accepted too)"
    return value, _failed(text, value, rule)
