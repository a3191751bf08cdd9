"""Cell formats and the one table writer shared by the statement and summary workbooks.

Everything that decides how a value looks in Excel lives here, so a partner statement and the
finance summary show money, dates and scores the same way. Two safety rules are enforced in
this module and nowhere else:
- text is written with `write_string` only, and workbooks are opened with
  `strings_to_formulas`/`strings_to_urls` off, so a partner called ``=HYPERLINK(...)`` stays
  text (CLI.md: text cells a spreadsheet would run stay text); tables written as XML
  (`append_table`, `write_frame_table`) make every text an inline string, never a formula;
- numbers are values, never formulas, and a workbook's properties carry a fixed creation date,
  so writing the same result twice gives identical bytes.

Cells receive display-ready Python values: ``str``, ``int``/``float`` (money is an exact
Decimal converted to the float Excel stores, which keeps 2 decimals exactly), ``bool``, ``None``,
and dates as Excel serial day numbers (see `frames.excel_dates`), which is much faster than
`write_datetime` and gives the same cell.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from incentcalc.money import minor_unit
from incentcalc.statements.fastsheet import (
    CellColumn,
    CellType,
    FastCellWorksheet,
    FastWorkbook,
    list_rows_xml,
    row_xml,
    rows_xml,
)

WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,
}
"""xlsxwriter options for every workbook: text stays text; build in memory (no temp files,
which is both faster and leaves nothing behind if a write fails)."""

AUTHOR = "incentcalc"

MAX_TEXT_WIDTH = 60
"""Widest a text column gets (characters); longer notes wrap."""

MIN_WIDTH = 6


class Kind(StrEnum):
    """How a column's values are shown."""

    TEXT = "text"
    WRAP = "wrap"  # long text: wraps at MAX_TEXT_WIDTH
    MONEY = "money"  # 2 decimals and a currency code
    AMOUNT = "amount"  # 2 decimals, currency in a neighbouring column
    DATE = "date"
    PERCENT = "percent"
    SCORE = "score"  # 4 decimals, like RULES.md's scores
    FACTOR = "factor"  # 6 decimals: budget factor, FX rates, weights
    INTEGER = "integer"
    NUMBER = "number"  # up to 4 decimals, for KPI values
    ONE_DECIMAL = "one_decimal"  # NPS, as people quote it: 42.9
    BOOLEAN = "boolean"


_NUM_FORMATS: dict[Kind, str] = {
    Kind.AMOUNT: "#,##0.00",
    Kind.DATE: "yyyy-mm-dd",
    Kind.PERCENT: "0.00%",
    Kind.SCORE: "0.0000",
    Kind.FACTOR: "0.000000",
    Kind.INTEGER: "#,##0",
    Kind.NUMBER: "#,##0.0000",
    Kind.ONE_DECIMAL: "#,##0.0",
}

_WIDTH_OF_KIND: dict[Kind, int] = {
    Kind.DATE: 11,
    Kind.PERCENT: 9,
    Kind.SCORE: 8,
    Kind.FACTOR: 10,
    Kind.BOOLEAN: 7,
}


LINE_HEIGHT = 15.0
"""Points per line of 11-point text (Excel's and LibreOffice's default row height)."""


def money_format(currency: str) -> str:
    """Excel number format for an amount in `currency`: ``#,##0.00 "USD"``, ``#,##0 "JPY"``.

    Decimals follow the currency's minor unit; the code is quoted text inside the format, so
    any 3-letter code is safe there."""
    code = "".join(ch for ch in currency if ch.isalnum())
    places = minor_unit(code)
    number = "#,##0." + "0" * places if places else "#,##0"
    return f'{number} "{code}"' if code else "#,##0.00"


def wrapped_lines(text: str | None, width: float) -> int:
    """Lines `text` takes when wrapped in a column `width` characters wide (word wrap, as
    Excel and LibreOffice do; one character of padding)."""
    if not text:
        return 1
    chars = max(1, int(width) - 1)
    if len(text) <= chars and "\n" not in text and "\t" not in text:
        return 1  # fits as it is (a tab could widen it)
    return _wrapped_lines(text, chars)


@functools.lru_cache(maxsize=4096)
def _wrapped_lines(text: str, chars: int) -> int:
    """`wrapped_lines` the slow way, cached: statements repeat their notes on many rows."""
    return sum(max(1, len(textwrap.wrap(part, chars))) for part in text.split("\n"))


def row_height(cells: Iterable[tuple[str | None, float]]) -> float | None:
    """Height for a row whose wrapped `cells` are (text, column width): enough lines for the
    tallest one, None when every text fits on one line (the default height is right)."""
    lines = max((wrapped_lines(text, width) for text, width in cells), default=1)
    return LINE_HEIGHT * lines if lines > 1 else None


def open_workbook(path: Path, created: datetime) -> FastWorkbook:
    """A workbook at `path` with safe options and fixed properties (byte-identical re-runs)."""
    workbook = FastWorkbook(str(path), WORKBOOK_OPTIONS)
    workbook.set_properties({"author": AUTHOR, "created": created})
    return workbook


def add_table_sheet(workbook: Workbook, name: str) -> FastCellWorksheet:
    """A worksheet of `workbook` (from `open_workbook`) that takes `append_table` and
    `write_frame_table`."""
    sheet = workbook.add_worksheet(name)
    if not isinstance(sheet, FastCellWorksheet):
        raise TypeError(f"{name}: open the workbook with formats.open_workbook")
    return sheet


class Formats:
    """The formats of one workbook, made on first use (formats belong to a workbook and each
    one costs time when the file is written, so a statement only makes what it shows).
    They are fixed formats (`FastWorkbook.add_fixed_format`): never change one."""

    def __init__(self, workbook: FastWorkbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[str, str], Format] = {}
        self._numbers: dict[tuple[Kind, str, bool], Format] = {}

    def _make(self, key: tuple[str, str], props: dict[str, Any]) -> Format:
        found = self._cache.get(key)
        if found is None:
            found = self._workbook.add_fixed_format(props)
            self._cache[key] = found
        return found

    @property
    def title(self) -> Format:
        return self._make(("title", ""), {"bold": True, "font_size": 14})

    @property
    def heading(self) -> Format:
        return self._make(("heading", ""), {"bold": True, "font_size": 12})

    @property
    def header(self) -> Format:
        props = {
            "bold": True,
            "bottom": 1,
            "bg_color": "#DDEBF7",
            "text_wrap": True,
            "valign": "top",
        }
        return self._make(("header", ""), props)

    @property
    def label(self) -> Format:
        return self._make(("label", ""), {"bold": True, "valign": "top"})

    @property
    def total(self) -> Format:
        return self._make(("total", ""), {"bold": True, "top": 1})

    @property
    def total_count(self) -> Format:
        """A count on a total row: bold, top border, thousands separator."""
        return self._make(("total_count", ""), {"bold": True, "top": 1, "num_format": "#,##0"})

    @property
    def check(self) -> Format:
        """A reconciliation check ("ties"): bold, set off from the amount beside it."""
        return self._make(
            ("check", ""), {"bold": True, "valign": "top", "align": "left", "indent": 1}
        )

    @property
    def top(self) -> Format:
        """Plain text aligned to the top, like everything else on a row that wraps."""
        return self._make(("top", ""), {"valign": "top"})

    @property
    def wrap(self) -> Format:
        return self._make(
            ("wrap", ""), {"text_wrap": True, "valign": "top", "align": "left", "indent": 1}
        )

    def number(self, kind: Kind, currency: str = "", bold: bool = False) -> Format:
        """Format for a value of `kind` (money in `currency`). Every cell is aligned to the
        top, so a value sits level with its label when a neighbour wraps onto more lines."""
        key = (kind, currency if kind is Kind.MONEY else "", bold)
        if key in self._numbers:
            return self._numbers[key]
        if kind is Kind.MONEY:
            num_format = money_format(currency)
        elif kind in _NUM_FORMATS:
            num_format = _NUM_FORMATS[kind]
        elif kind is Kind.WRAP:
            return self.wrap
        elif bold:
            return self.label
        else:
            return self.top
        props: dict[str, Any] = {"num_format": num_format, "valign": "top"}
        if bold:
            props["bold"] = True
        found = self._numbers[key] = self._workbook.add_fixed_format(props)
        return found


@dataclass(frozen=True)
class Column:
    """One column of a table: the data column it shows (`key`), its header, how values look,
    and for money either one `currency` or `currency_key`, the data column holding each row's
    currency (so an amount reads "1,200.00 EUR" without a separate currency column)."""

    key: str
    title: str
    kind: Kind = Kind.TEXT
    currency: str = ""
    currency_key: str = ""


def text_width(values: Sequence[Any]) -> int:
    """Display width of the longest text in `values` (None ignored)."""
    return max(map(len, [value for value in values if isinstance(value, str)]), default=0)


def number_width(values: Sequence[Any], kind: Kind, currency: str = "") -> int:
    """Rough display width of the widest number in `values` under `kind`'s format."""
    if kind in _WIDTH_OF_KIND:  # a fixed width: no need to look at the numbers
        return _WIDTH_OF_KIND[kind]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return _number_width(max(map(abs, numbers), default=None), kind, currency)


def _number_width(largest: float | None, kind: Kind, currency: str) -> int:
    """Width of `largest` (the biggest absolute value, None when there is none) as shown."""
    if kind in _WIDTH_OF_KIND:
        return _WIDTH_OF_KIND[kind]
    if largest is None:
        return 0
    widest = len(f"{largest:,.2f}") + 1
    return widest + (len(currency) + 1 if kind is Kind.MONEY else 0)


def column_width(column: Column, values: Sequence[Any]) -> float:
    """Width for `column` that fits its header and values, text capped at MAX_TEXT_WIDTH."""
    if column.kind in (Kind.TEXT, Kind.WRAP):
        return _fit(column, text_width(values))
    currency = "XXX" if column.currency_key else column.currency
    return _fit(column, number_width(values, column.kind, currency))


def frame_column_width(column: Column, frame: pl.DataFrame) -> float:
    """`column_width` of `frame`'s column `column.key`, measured with Polars."""
    values = frame[column.key]
    if column.kind in (Kind.TEXT, Kind.WRAP):
        longest = values.cast(pl.String).str.len_chars().max()
        return _fit(column, int(longest) if longest is not None else 0)  # type: ignore[arg-type]
    largest = None if values.dtype == pl.Boolean() else values.abs().max()
    currency = "XXX" if column.currency_key else column.currency
    return _fit(column, _number_width(largest, column.kind, currency))  # type: ignore[arg-type]


def _fit(column: Column, content: int) -> float:
    header = max((len(word) for word in column.title.split()), default=0)
    return float(min(MAX_TEXT_WIDTH, max(MIN_WIDTH, header + 1, content + 1)))


def writer_for(sheet: Worksheet, kind: Kind) -> Callable[..., Any]:
    """The xlsxwriter method that writes values of `kind` (text only ever as a string).

    Uses xlsxwriter's undecorated `_write_string`/`_write_number` (the public methods minus
    A1-notation parsing) when present: tables always pass row and column numbers."""
    if kind in (Kind.TEXT, Kind.WRAP):
        return getattr(sheet, "_write_string", sheet.write_string)
    if kind is Kind.BOOLEAN:
        return sheet.write_boolean
    return getattr(sheet, "_write_number", sheet.write_number)


def write_cell(sheet: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
    """Write one display-ready value by its Python type; text always as a string."""
    if value is None:
        if fmt is not None:
            sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        sheet.write_string(row, col, value, fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def write_table(
    sheet: Worksheet,
    formats: Formats,
    top: int,
    columns: Sequence[Column],
    table: Mapping[str, Sequence[Any]],
    *,
    widths: bool = True,
) -> int:
    """Write a header row at `top` and the `table` columns named by `columns` below it.

    Returns the index of the first row after the table. Column by column, so each column's
    writer and format are looked up once; None cells are left empty. Rows whose wrapped text
    needs more than one line get the height for it (with `widths`), so nothing overprints.
    """
    rows = 0
    texts: dict[int, list[Any]] = {}
    sizes: list[float] = []
    for col, column in enumerate(columns):
        values = table[column.key]
        write = writer_for(sheet, column.kind)
        if column.kind in (Kind.TEXT, Kind.WRAP):
            values = [v if v is None or isinstance(v, str) else str(v) for v in values]
        if column.kind is Kind.WRAP:
            texts[col] = list(values)
        if column.currency_key:
            _write_money_by_row(sheet, formats, top + 1, col, values, table[column.currency_key])
        else:
            fmt = formats.number(column.kind, column.currency)
            for row, value in enumerate(values, start=top + 1):
                if value is not None:
                    write(row, col, value, fmt)
        rows = max(rows, len(values))
        sizes.append(column_width(column, values))
        if widths:
            sheet.set_column(col, col, sizes[col])
    _header(sheet, formats, top, columns, sizes if widths else None)
    if widths:
        for row, height in enumerate(_row_heights(texts, sizes, rows), start=top + 1):
            if height is not None:
                sheet.set_row(row, height)
    return top + 1 + rows


def _row_heights(
    texts: Mapping[int, Sequence[str | None]], widths: Sequence[float], rows: int
) -> list[float | None]:
    """Each row's height from its wrapped columns' texts (`texts` by column index): as
    `row_height` gives it, counted column by column."""
    if not texts:
        return [None] * rows
    columns = [
        [wrapped_lines(text, widths[col]) for text in values] for col, values in texts.items()
    ]
    most = [max(lines) for lines in zip(*columns, strict=True)]
    return [LINE_HEIGHT * lines if lines > 1 else None for lines in most]


def _write_money_by_row(
    sheet: Worksheet,
    formats: Formats,
    first: int,
    col: int,
    values: Sequence[Any],
    currencies: Sequence[Any],
) -> None:
    """Amounts each formatted in its own row's currency."""
    cache: dict[Any, Format | None] = {}
    write = writer_for(sheet, Kind.MONEY)
    for row, (value, currency) in enumerate(zip(values, currencies, strict=True), start=first):
        if value is None:
            continue
        fmt = cache.get(currency)
        if fmt is None:
            fmt = cache[currency] = formats.number(Kind.MONEY, currency or "")
        write(row, col, value, fmt)


def write_frame_table(
    sheet: FastCellWorksheet,
    formats: Formats,
    top: int,
    columns: Sequence[Column],
    frame: pl.DataFrame,
) -> int:
    """`append_table` for a big table held in a frame of display values (see
    `payload.excel_display`): its rows' XML is built with Polars (`fastsheet.rows_xml`), so
    20,000 rows cost no Python work per cell. Widths, and the heights of rows with wrapped
    text (`frame_row_heights`), are measured with Polars too."""
    cells = []
    sizes = []
    for col, column in enumerate(columns):
        sizes.append(frame_column_width(column, frame))
        sheet.set_column(col, col, sizes[-1])
        cell = _cell_column(formats, column)
        if cell.style is not None:
            codes = frame[column.currency_key].fill_null("").unique().sort().to_list()
            frame = frame.with_columns(
                pl.col(column.currency_key)
                .fill_null("")
                .replace_strict(_money_styles(formats, codes), return_dtype=pl.Int64)
                .alias(cell.style)
            )
        cells.append(cell)
    _header(sheet, formats, top, columns, sizes)
    if not frame.is_empty():
        wrapped = {col: c.key for col, c in enumerate(columns) if c.kind is Kind.WRAP}
        heights = frame_row_heights(frame, wrapped, sizes)
        xml = rows_xml(frame.with_columns(heights.alias(ROW_HEIGHT)), cells, top + 1, ROW_HEIGHT)
        sheet.append_rows(xml, top + 1, top + frame.height, len(columns) - 1)
    return top + 1 + frame.height


ROW_HEIGHT = "row height"
"""The frame column holding each row's height (null: the default) for `rows_xml`."""


def frame_row_heights(
    frame: pl.DataFrame, wrapped: Mapping[int, str], widths: Sequence[float]
) -> pl.Series:
    """Row heights (null for one line) of `frame`'s wrapped text columns (`wrapped`: column
    index -> data column), estimated with Polars: characters / characters per line, with
    a tenth of slack for word breaks. Exact enough for 20,000 rows of exception details."""
    lines = [
        (
            pl.col(name).cast(pl.String).str.len_chars().fill_null(0)
            / max(1.0, (widths[col] - 1) * 0.9)
        ).ceil()
        for col, name in wrapped.items()
    ]
    if not lines:
        return pl.Series(ROW_HEIGHT, [None] * frame.height, dtype=pl.Float64)
    most = pl.max_horizontal(lines)
    height = pl.when(most > 1).then(most * LINE_HEIGHT)
    return frame.select(height.cast(pl.Float64).alias(ROW_HEIGHT))[ROW_HEIGHT]


def append_table(
    sheet: FastCellWorksheet,
    formats: Formats,
    top: int,
    columns: Sequence[Column],
    table: Mapping[str, Sequence[Any]],
) -> int:
    """`write_table` for a table that ends its sheet: the same header, widths, heights, cells
    and formats, but the header and the rows go in as ready-made XML (`fastsheet.row_xml`,
    `fastsheet.list_rows_xml`) instead of one xlsxwriter cell object per value (a statement's
    Deals sheet is most of its cells). Text is an inline string, always text. Nothing may be
    written below the table afterwards (`append_rows`), except below the header of an empty
    table, which is an ordinary row.

    Returns the index of the first row after the table.
    """
    data = dict(table)
    cells = []
    sizes = []
    texts: dict[int, list[Any]] = {}
    for col, column in enumerate(columns):
        values = table[column.key]
        if column.kind in (Kind.TEXT, Kind.WRAP):
            values = [v if v is None or isinstance(v, str) else str(v) for v in values]
        if column.kind is Kind.WRAP:
            texts[col] = list(values)
        sizes.append(column_width(column, values))
        sheet.set_column(col, col, sizes[-1])
        cell = _cell_column(formats, column)
        if cell.style is not None:
            currencies = [code or "" for code in table[column.currency_key]]
            indexes = _money_styles(formats, sorted(set(currencies)))
            data[cell.style] = [indexes[code] for code in currencies]
        cells.append(cell)
    rows = len(table[columns[0].key]) if columns else 0
    if not rows:  # an ordinary header row: the caller may write a note below it
        _header(sheet, formats, top, columns, sizes)
        return top + 1
    titles = [(col, column.title, formats.header) for col, column in enumerate(columns)]
    header = row_xml(top, titles, row_height(zip([c.title for c in columns], sizes, strict=True)))
    xml = list_rows_xml(data, cells, top + 1, _row_heights(texts, sizes, rows))
    sheet.append_rows(header + xml, top, top + rows, len(cells) - 1)
    return top + 1 + rows


def _header(
    sheet: Worksheet,
    formats: Formats,
    top: int,
    columns: Sequence[Column],
    widths: Sequence[float] | None = None,
) -> None:
    """The header row; tall enough for titles that wrap in their `widths` ("FX rate to USD"
    in a 10-wide column takes two lines)."""
    header = formats.header
    for col, column in enumerate(columns):
        sheet.write_string(top, col, column.title, header)
    if widths is not None:
        height = row_height(zip((c.title for c in columns), widths, strict=True))
        if height is not None:
            sheet.set_row(top, height)


def _cell_column(formats: Formats, column: Column) -> CellColumn:
    """How a table column becomes cells. Money in each row's currency takes its format index
    from a data column the caller adds, named by `style`."""
    if column.kind in (Kind.TEXT, Kind.WRAP):
        kind = CellType.TEXT
    elif column.kind is Kind.BOOLEAN:
        kind = CellType.BOOLEAN
    else:
        kind = CellType.NUMBER
    if column.currency_key:
        return CellColumn(column.key, kind, style=f"{column.key} format")
    return CellColumn(column.key, kind, formats.number(column.kind, column.currency))


def _money_styles(formats: Formats, codes: Sequence[str]) -> dict[str, int]:
    """Format index of money in each currency of `codes` ("" for none)."""
    indexes = {}
    for code in codes:
        fmt = formats.number(Kind.MONEY, code)
        indexes[code] = fmt._get_xf_index() if fmt is not None else 0
    return indexes


def set_print_layout(sheet: Worksheet, *, header_row: int | None, landscape: bool) -> None:
    """One page wide when printed, header row repeated on every page, page numbers."""
    sheet.fit_to_pages(1, 0)
    sheet.set_paper(9)  # A4
    if landscape:
        sheet.set_landscape()
    if header_row is not None:
        sheet.repeat_rows(header_row)
    sheet.set_footer("&CPage &P of &N")
