"""A worksheet that writes cell XML faster, and whole tables without a Python object per cell.

Why: a statement has ~900 cells and xlsxwriter spends about a fifth of a statement's time in
`Worksheet._write_cell`, mostly escaping attribute values (a cell reference and a style index,
which never need escaping) through regular expressions. Writing 2,000 statements a quarter at
150+ per second on two cores needs that time back.

`FastCellWorksheet._write_cell` handles the two cell kinds statements and the summary use
(shared strings and numbers) with one f-string each and hands every other kind to xlsxwriter.
That XML is identical to xlsxwriter's own (tests/test_statements_fastsheet.py writes the same
workbook both ways and compares the bytes), so nothing downstream can tell the difference.

The summary's Payouts sheet is different in size: 20,000 rows x 29 columns. Through
xlsxwriter every cell is a Python tuple made when written and turned into XML at close, which
took seconds. `rows_xml` instead builds the rows' XML with Polars, column by column, and
`FastCellWorksheet.append_rows` puts it after the sheet's ordinary cells. Text is written as
an inline string (`t="inlineStr"`, as xlsxwriter's constant_memory mode does), escaped the way
xlsxwriter escapes it: always text, never a formula, and no shared-string table to build.

`FastWorkbook` also makes what many statements share once per process: fixed formats are
copies, and styles.xml, the package's content types, relationships and properties are
reused for a workbook made of the same things (each key below says what that is), so the
bytes are the ones xlsxwriter would write (tests compare them).

This module is the one adapter onto xlsxwriter's internals: nothing else in incentcalc
touches them. xlsxwriter is pinned in pyproject.toml to the versions the byte-identity tests
passed on, and tests/test_statements_fastsheet.py fails, naming the name or the version, when
the installed xlsxwriter is outside that range, when a name listed here is missing from it, or
when this module uses a private name not listed here. Before widening the pin, run those tests
on the new version. xlsxwriter internals used, and why:

- `Worksheet._write_cell` (overridden): the fast cell path, one f-string per string and
  number cell instead of xlsxwriter's escaping of attributes that never need it.
- `Worksheet._write_string` (overridden): keeps text shaped like rich-string markup out of
  the shared-string table, where xlsxwriter would write it raw.
- `Worksheet._write_rows` (overridden): writes the rows built by `rows_xml` after the
  ordinary ones; reads and sets `Worksheet.dim_rowmax`, writes to `Worksheet.fh`.
- `Worksheet._check_dimensions` (called): the same bounds check as a written cell.
- `Worksheet._write_string`, `Worksheet._write_number` (called, `cell_writer`): the public
  `write_string`/`write_number` minus their decorator's A1-notation parsing, for tables,
  which always pass row and column numbers.
- `Worksheet.table`, `Worksheet.row_info`, `Worksheet.col_info`,
  `Worksheet.constant_memory`, `worksheet.CellStringTuple`, `worksheet.CellNumberTuple`:
  the cells kept in memory and the formats a cell inherits, as `_write_cell` reads them.
- `Format._get_xf_index` (called): a cell's style index, in the fast cell path and the
  Polars-built rows. `Format._get_format_key` (called), `Format.xf_format_indices`,
  `Format.dxf_format_indices`: a fixed format's copy is keyed and indexed as a new Format.
- `Workbook._prepare_format_properties` (overridden), `Workbook._prepare_formats`
  (called): skips numbering fonts, fills and borders when styles.xml is reused.
- `Workbook._get_packager` (overridden): the packager that reuses parts.
- `Workbook.formats`, `Workbook.xf_formats`, `Workbook.dxf_formats`,
  `Workbook.custom_colors`, `Workbook.default_format_properties`,
  `Workbook.excel2003_style`, `Workbook.has_comments`, `Workbook.in_memory`,
  `Workbook.fileclosed`, `Workbook.filename`: what styles.xml is made of, and where the
  workbook goes.
- `Packager._write_styles_file`, `Packager._write_content_types_file`,
  `Packager._write_root_rels_file`, `Packager._write_workbook_rels_file`,
  `Packager._write_core_file`, `Packager._write_app_file`, `Packager._add_workbook`
  (overridden), `Packager._filename` (called), `Packager.filenames`: a part written before
  is written again from this process's copy.
- `Packager.workbook`, `Packager.in_memory`, `Packager.chart_count`,
  `Packager.drawing_count`, `Packager.num_vml_files`, `Packager.num_comment_files`,
  `Packager.named_ranges`, `Workbook._has_feature_property_bags` (called),
  `Workbook.image_types`, `Workbook.vba_project`, `Workbook.custom_properties`,
  `Workbook.has_metadata`, `Workbook.embedded_images`, `Workbook.doc_properties`,
  `Workbook.str_table`, `Workbook.read_only`, `Worksheet.is_chartsheet`,
  `Worksheet.tables`: what the package's parts are made of (`_package_key`).
"""

from __future__ import annotations

import copy
import functools
import io
import math
import os
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.packager import Packager
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell_fast
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import CellNumberTuple, CellStringTuple, Worksheet

ROWS_WRITTEN_AT_ONCE = 10_000
"""Rows of a `rows_xml` Series made Python strings at a time when the sheet is written: the
XML of 200,000 payout rows (280 MB) is never one string, nor held twice."""


class InlineTextTuple(NamedTuple):
    """A text cell written as an inline string (see `FastCellWorksheet._write_string`)."""

    string: str
    format: Format | None


class FastCellWorksheet(Worksheet):
    """Worksheet whose string and number cells skip attribute escaping (never needed there),
    and which takes ready-made rows of XML below its ordinary cells (`append_rows`)."""

    def __init__(self) -> None:
        """An empty worksheet, with no appended rows yet."""
        super().__init__()
        self._row_blocks: list[tuple[int, int, str | pl.Series]] = []

    def append_rows(
        self, xml: str | pl.Series, first_row: int, last_row: int, last_col: int
    ) -> None:
        """Add rows `first_row`..`last_row` (0-based, inclusive) as `<row>` XML: one string, or
        the Series of `rows_xml` (a row's element a value), written out in slices at close.

        They must lie below every ordinary cell of the sheet and below earlier blocks: they are
        written after the ordinary rows, as they are. Autofilters, widths and frozen panes work as
        for ordinary cells; charts cannot read these cells (they read cells kept in memory).
        """
        previous = self._row_blocks[-1][1] if self._row_blocks else -1
        if first_row <= previous or last_row < first_row:
            raise ValueError(f"rows {first_row}-{last_row} overlap rows already appended")
        if self._check_dimensions(first_row, 0) or self._check_dimensions(last_row, last_col):
            raise ValueError(f"rows {first_row}-{last_row} are outside the worksheet")
        self._row_blocks.append((first_row, last_row, xml))

    def _write_rows(self) -> None:
        if not self._row_blocks:
            super()._write_rows()
            return
        first = self._row_blocks[0][0]
        if any(row >= first and cells for row, cells in self.table.items()) or any(
            row >= first for row in self.row_info
        ):
            raise ValueError(f"ordinary cells at or below row {first}, where appended rows start")
        self.dim_rowmax = first - 1  # xlsxwriter writes the ordinary rows above the blocks
        try:
            super()._write_rows()
        finally:
            self.dim_rowmax = self._row_blocks[-1][1]
        # the blocks are let go once written: the sheet's text is about to be copied twice
        # more by xlsxwriter (its whole text, then that as UTF-8 bytes), 280 MB each at 10x
        blocks, self._row_blocks = self._row_blocks, []
        for _, _, xml in blocks:
            if isinstance(xml, str):
                self.fh.write(xml)
                continue
            for top in range(0, xml.len(), ROWS_WRITTEN_AT_ONCE):
                self.fh.writelines(xml.slice(top, ROWS_WRITTEN_AT_ONCE).to_list())

    def _style(self, row: int, col: int, cell: Any) -> str:
        """The ` s="N"` attribute as xlsxwriter chooses it: cell, row, then column format."""
        fmt = cell.format
        if fmt is None:
            info = self.row_info.get(row)
            if info is not None and info.row_format:
                fmt = info.row_format
            elif col in self.col_info:
                fmt = self.col_info[col].column_format
        return "" if fmt is None else f' s="{fmt._get_xf_index()}"'

    def _write_string(
        self, row: int, col: int, string: str, cell_format: Format | None = None
    ) -> Any:
        """Text that looks like xlsxwriter's rich-string markup (``<r>...</r>``) would go into
        the shared-string table unescaped and break the file (a partner named
        ``<r>x</t></r>``); such text is kept out of that table and written inline, escaped."""
        if string.startswith("<r>") and string.endswith("</r>"):
            if self._check_dimensions(row, col):
                return -1
            self.table[row][col] = InlineTextTuple(string, cell_format)
            return 0
        return super()._write_string(row, col, string, cell_format)

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        kind = type(cell)
        if kind is InlineTextTuple:
            style = self._style(row, col, cell)
            self.fh.write(
                f'<c r="{_cell_ref(row, col)}"{style} t="inlineStr">{text_xml(cell.string)}</c>'
            )
        elif kind is CellStringTuple and not self.constant_memory:
            ref = _cell_ref(row, col)
            self.fh.write(
                f'<c r="{ref}"{self._style(row, col, cell)} t="s"><v>{cell.string}</v></c>'
            )
        elif kind is CellNumberTuple:
            ref = _cell_ref(row, col)
            self.fh.write(
                f'<c r="{ref}"{self._style(row, col, cell)}><v>{cell.number:.16G}</v></c>'
            )
        else:
            super()._write_cell(row, col, cell)


def cell_writer(sheet: Worksheet, text: bool) -> Callable[..., Any]:
    """`sheet.write_string` (`text`) or `sheet.write_number`, taking (row, col, value,
    format) without the A1-notation parsing of the public methods."""
    writer: Callable[..., Any] = sheet._write_string if text else sheet._write_number
    return writer


def style_index(fmt: Format) -> int:
    """The style index (` s="N"`) xlsxwriter gives cells of `fmt` in this workbook."""
    index: int = fmt._get_xf_index()
    return index


_COLUMN_NAMES = [xl_col_to_name(col) for col in range(64)]


def _cell_ref(row: int, col: int) -> str:
    """The "A1"-style reference of a cell, column names of the first 64 columns precomputed."""
    if col < len(_COLUMN_NAMES):
        return f"{_COLUMN_NAMES[col]}{row + 1}"
    ref: str = xl_rowcol_to_cell_fast(row, col)
    return ref


STYLES_PART = "xl/styles.xml"
CONTENT_TYPES_PART, ROOT_RELS_PART, WORKBOOK_RELS_PART = (
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/_rels/workbook.xml.rels",
)
CORE_PART, APP_PART = "docProps/core.xml", "docProps/app.xml"


MAX_PARTS = 1_000
"""At most this many parts are kept per process (a few KB each; the bench's 2,000
statements have ~110 distinct styles.xml and one of each other part)."""

FormatKey = tuple[tuple[tuple[str, Hashable], ...], tuple[tuple[str, Hashable], ...]]
"""A fixed format's properties: the workbook's defaults, then its own."""

_PROTOTYPES: dict[FormatKey, Format] = {}
"""This process's first Format of each fixed format's properties (`add_fixed_format`); a
program uses a few dozen."""

_PARTS: dict[tuple[str, Hashable], str] = {}
"""Package parts as written in this process, by name and what they are made of."""


class _ReusingPackager(Packager):
    """Packager that writes a part it wrote before in this process for a workbook where it is
    made of the same things as it was: styles.xml (`FastWorkbook.styles_key`), and the parts
    that describe the package (`_package_key`), the same for every statement of a run."""

    def _add_workbook(self, workbook: Any) -> None:
        super()._add_workbook(workbook)
        self.package_key = self._package_key()

    def _package_key(self) -> Hashable | None:
        """What content types, relationships and document properties are made of, for a
        workbook of worksheets and cells only; None for one with anything else (charts,
        images, tables, comments, macros, custom properties...), which they list as well."""
        book = self.workbook
        if (
            not self.in_memory  # parts are temporary files
            or self.chart_count
            or self.drawing_count
            or self.num_vml_files
            or self.num_comment_files
            or any(book.image_types.values())
            or book.vba_project
            or book.custom_properties
            or book.has_metadata
            or book._has_feature_property_bags()
            or book.embedded_images.has_images()
            or any(sheet.is_chartsheet or sheet.tables for sheet in book.worksheets())
        ):
            return None
        sheets = tuple((sheet.name, sheet.hidden) for sheet in book.worksheets())
        properties = tuple(book.doc_properties.items())
        shared = bool(book.str_table.count)
        return (sheets, tuple(self.named_ranges), shared, properties, book.read_only)

    def _reuse(self, name: str, key: Hashable | None, write: Callable[[], None]) -> None:
        """Part `name` as written before for `key`, else by `write` (kept for next time
        unless `key` is None)."""
        if (name, key) in _PARTS:
            self._filename(name).write(_PARTS[name, key])
            return
        write()
        if key is not None and len(_PARTS) < MAX_PARTS:
            _PARTS[name, key] = self.filenames[-1][0].getvalue()

    def _write_styles_file(self) -> None:
        self._reuse(STYLES_PART, self.workbook.styles_key, super()._write_styles_file)

    def _write_content_types_file(self) -> None:
        # Also counts the tables, for _write_table_files: there are none when it is reused.
        self._reuse(CONTENT_TYPES_PART, self.package_key, super()._write_content_types_file)

    def _write_root_rels_file(self) -> None:
        self._reuse(ROOT_RELS_PART, self.package_key, super()._write_root_rels_file)

    def _write_workbook_rels_file(self) -> None:
        self._reuse(WORKBOOK_RELS_PART, self.package_key, super()._write_workbook_rels_file)

    def _write_core_file(self) -> None:
        self._reuse(CORE_PART, self.package_key, super()._write_core_file)

    def _write_app_file(self) -> None:
        self._reuse(APP_PART, self.package_key, super()._write_app_file)


class FastWorkbook(Workbook):
    """Workbook whose worksheets are FastCellWorksheets, zipped in memory and written to its
    file in one go.
    Within a process, fixed formats (`add_fixed_format`) are copied, and styles.xml and the
    parts that describe the package are reused (`_ReusingPackager`)."""

    worksheet_class = FastCellWorksheet
    filename: Any  # a path or a file object, as for xlsxwriter

    def __init__(self, filename: Any = None, options: dict[str, Any] | None = None) -> None:
        """A workbook as xlsxwriter makes it, to `filename` (a path or a file object)."""
        super().__init__(filename, options)
        self._fixed: dict[int, FormatKey] = {}  # id(format) -> its properties, while it lives
        self.styles_key: Hashable | None = None

    def add_fixed_format(self, properties: Mapping[str, Hashable]) -> Format:
        """`add_format` for a format that is never changed once made.

        Why: a new Format applies each property through its setter, and builds the key that
        xlsxwriter indexes it by when first used: ~25 us a format, ~20 formats a statement.
        A fixed format is instead a copy of this process's first Format with the same
        properties, key included (safe as neither changes). The copy is tied to this
        workbook's index tables and has no index yet, so it is indexed as a new Format is."""
        key = (tuple(self.default_format_properties.items()), tuple(properties.items()))
        prototype = _PROTOTYPES.get(key)
        if prototype is None:
            prototype = Format({**self.default_format_properties, **properties})
            prototype._get_format_key()
            _PROTOTYPES[key] = prototype
        fmt = copy.copy(prototype)
        fmt.xf_format_indices = self.xf_format_indices
        fmt.dxf_format_indices = self.dxf_format_indices
        self.formats.append(fmt)
        self._fixed[id(fmt)] = key
        return fmt

    def _styles_key(self) -> Hashable | None:
        """All that styles.xml is made of, when every format it lists is fixed: their
        properties in index order and the default format's (index 0, made from the workbook's
        options); None when another format, a conditional one or a custom colour is in it,
        or when the parts are temporary files (not `in_memory`)."""
        if not self.in_memory or self.dxf_formats or self.custom_colors:
            return None
        fixed = [self._fixed.get(id(fmt)) for fmt in self.xf_formats[1:]]
        if None in fixed:
            return None
        defaults = tuple(self.default_format_properties.items())
        return (self.excel2003_style, defaults, self.has_comments, tuple(fixed))

    def _prepare_format_properties(self) -> None:
        """When styles.xml will be reused, only put the formats in index order: the rest
        (numbering fonts, fills, borders and number formats) only serves to write it."""
        self._prepare_formats()
        self.styles_key = self._styles_key()
        if (STYLES_PART, self.styles_key) not in _PARTS:
            super()._prepare_format_properties()

    def _get_packager(self) -> Packager:
        return _ReusingPackager()

    def close(self) -> None:
        """Close the workbook as xlsxwriter does, building the zip in memory when the
        workbook goes to a path, then writing the file in one go (zipfile otherwise seeks
        back on disk after each member)."""
        target = self.filename
        if self.fileclosed or not isinstance(target, str | os.PathLike):
            super().close()
            return
        self.filename = buffer = io.BytesIO()
        try:
            super().close()
        finally:
            self.filename = target
        Path(target).write_bytes(buffer.getbuffer())


class CellType(StrEnum):
    """What a column of `rows_xml` / `list_rows_xml` holds."""

    TEXT = "text"  # any value, written as its text
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class CellColumn:
    """One column of a table built as XML: the data column, its cell type, and its format:
    `fmt` for every row, or `style`, the data column holding each row's format index."""

    name: str
    type: CellType
    fmt: Format | None = None
    style: str | None = None


MAX_TEXT = 32_767
"""Longest text an Excel cell holds, in UTF-16 code units; xlsxwriter truncates there too."""

_ESCAPED_ESCAPE = r"(_x[0-9a-fA-F]{4}_)"
_CONTROL = [chr(code) for code in (*range(0x00, 0x09), *range(0x0B, 0x20))]
_TEXT_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    **{char: f"_x{ord(char):04X}_" for char in _CONTROL},
    "\ufffe": "_xFFFE_",
    "\uffff": "_xFFFF_",
}
"""xlsxwriter's escapes for inline text: XML's three, and control characters as _xHHHH_
(after a literal "_xHHHH_" in the text has become "_x005F_xHHHH_", so it reads back as is)."""

_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(_TEXT_ESCAPES)) + "]|" + _ESCAPED_ESCAPE)
_ESCAPED_ESCAPE_RE = re.compile(_ESCAPED_ESCAPE)
_TRANSLATION = str.maketrans(_TEXT_ESCAPES)


def cut_text(text: str) -> str:
    """`text` cut to MAX_TEXT UTF-16 units like xlsxwriter's `write_string` (never splitting a
    character outside the BMP)."""
    if len(text) <= MAX_TEXT // 2:
        return text
    return text.encode("utf-16-le")[: 2 * MAX_TEXT].decode("utf-16-le", errors="ignore")


@functools.lru_cache(maxsize=4096)
def text_xml(text: str) -> str:
    """`<is>` element of an inline string cell holding `text`: `inline_text` for one string.

    Cached: a statement repeats its stages, currencies, products and notes on every line."""
    text = cut_text(text)
    if _NEEDS_ESCAPE.search(text):
        text = _ESCAPED_ESCAPE_RE.sub(r"_x005F\1", text).translate(_TRANSLATION)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


_EDGE_SPACE = r"^\s|\s$"


def inline_text(text: pl.Expr, values: pl.Series) -> pl.Expr:
    """The `<is>` element of an inline string cell holding `text` (null stays null), escaped
    as xlsxwriter escapes inline strings. Leading or trailing whitespace gets
    xml:space="preserve", as xlsxwriter does. Text must already be cut (`fit_text`).

    `values` is the column `text` will read: the escaping and the whitespace test are left
    out when no value needs them, as in most columns of ids, names and codes (the summary's
    Payouts sheet: 135 -> 95 ms)."""
    texts = values.cast(pl.String)
    escaped = text.cast(pl.String)
    if texts.str.contains(_NEEDS_ESCAPE.pattern).any():
        escaped = escaped.str.replace_all(_ESCAPED_ESCAPE, "_x005F$1").str.replace_many(
            list(_TEXT_ESCAPES), list(_TEXT_ESCAPES.values())
        )
    plain = pl.format("<is><t>{}</t></is>", escaped)
    if not texts.str.contains(_EDGE_SPACE).any():
        return plain
    preserved = pl.format('<is><t xml:space="preserve">{}</t></is>', escaped)
    return pl.when(escaped.str.contains(_EDGE_SPACE)).then(preserved).otherwise(plain)


def fit_text(values: pl.Series) -> pl.Series:
    """`values` as text, each cut to MAX_TEXT UTF-16 units (`cut_text`).

    Only text longer than MAX_TEXT bytes in UTF-8 can be too long, so Python sees just those
    (normally none)."""
    texts = values.cast(pl.String)
    long = (texts.str.len_bytes() > MAX_TEXT).fill_null(False)
    if not long.any():
        return texts
    where = long.arg_true()
    cut = [cut_text(text) for text in texts.gather(where).to_list()]
    return texts.clone().scatter(where, pl.Series(cut, dtype=pl.String))


_OPEN = {CellType.TEXT: ' t="inlineStr">', CellType.BOOLEAN: ' t="b"><v>', CellType.NUMBER: "><v>"}
_CLOSE = {CellType.TEXT: "</c>", CellType.BOOLEAN: "</v></c>", CellType.NUMBER: "</v></c>"}


def _style_attr(column: CellColumn) -> str:
    return "" if column.fmt is None else f' s="{style_index(column.fmt)}"'


def _cell(col: int, column: CellColumn, values: pl.Series, row: pl.Expr) -> pl.Expr:
    """One column's `<c>` elements; null where the value is null (no cell written)."""
    value = pl.col(column.name)
    if column.type is CellType.TEXT:
        content = inline_text(value, values)
    elif column.type is CellType.BOOLEAN:
        content = value.cast(pl.Int8).cast(pl.String)
    else:
        if values.dtype.is_float() and not values.is_finite().fill_null(True).all():
            raise TypeError(f"{column.name}: NAN/INF not supported in a worksheet cell")
        content = value.cast(pl.String)
    if column.style is not None:
        style = pl.format(' s="{}"', pl.col(column.style))
    else:
        style = pl.lit(_style_attr(column))
    template = f'<c r="{xl_col_to_name(col)}{{}}"{{}}{_OPEN[column.type]}{{}}{_CLOSE[column.type]}'
    return pl.format(template, row, style, content)


def cell_xml(row: int, col: int, value: Any, fmt: Format | None) -> str:
    """The `<c>` element of one cell (0-based `row`, `col`) as `cell_formats.write_cell` has
    xlsxwriter write it, except that text is an inline string: text (anything not a number or
    bool is written as its text), a bool, a number (printed as xlsxwriter prints it), or for
    None a blank cell when it has a format and nothing when not."""
    style = "" if fmt is None else f' s="{fmt._get_xf_index()}"'
    if value is None:
        return "" if fmt is None else f'<c r="{_cell_ref(row, col)}"{style}/>'
    if isinstance(value, bool):
        return f'<c r="{_cell_ref(row, col)}"{style} t="b"><v>{value:d}</v></c>'
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise TypeError("NAN/INF not supported in a worksheet cell")
        return f'<c r="{_cell_ref(row, col)}"{style}><v>{value:.16G}</v></c>'
    return f'<c r="{_cell_ref(row, col)}"{style} t="inlineStr">{text_xml(str(value))}</c>'


def row_xml(
    row: int, cells: Iterable[tuple[int, Any, Format | None]], height: float | None = None
) -> str:
    """A `<row>` element for `FastCellWorksheet.append_rows`: 0-based `row`, its `cells`
    as (column, value, format) in column order (`cell_xml`), and its height in points (None:
    the default)."""
    xml = "".join(cell_xml(row, col, value, fmt) for col, value, fmt in cells)
    return f"{row_open_xml(row + 1, height)}{xml}</row>"


def row_open_xml(row: int | str, height: float | None) -> str:
    """A `<row>` start tag, with a custom height when `height` is given (wrapped text)."""
    if height is None:
        return f'<row r="{row}">'
    return f'<row r="{row}" ht="{height:g}" customHeight="1">'


def rows_xml(
    frame: pl.DataFrame,
    columns: Sequence[CellColumn],
    first_row: int,
    height: str | None = None,
) -> pl.Series:
    """`<row>` elements for `frame`'s rows at `first_row` (0-based) and below, one cell per
    non-null value of `columns` in order (the first at column A), for `append_rows`: a String
    Series, a row's element a value. For thousands of rows: no Python work per cell, but
    ~10 ms of Polars overhead per table. The rows stay apart until the sheet is written
    (`append_rows`): joining 200,000 of them into one string took a second and two copies.

    Text is cut to MAX_TEXT (`fit_text`). Numbers are written in Polars' shortest round-trip
    form (``1234.5``, ``12.0``, ``1e-7``), which Excel reads as the same double; NaN and
    infinity are refused, as by xlsxwriter. A null value leaves its cell empty. `height`
    names a frame column of row heights in points (null: the default height).
    """
    if frame.is_empty():
        return pl.Series(_ROW_XML, [], dtype=pl.String)
    frame = frame.with_columns(
        fit_text(frame[column.name]) for column in columns if column.type is CellType.TEXT
    ).with_row_index(_ROW_NUMBER, offset=first_row + 1)
    row = pl.col(_ROW_NUMBER).cast(pl.String)
    cells = [_cell(col, column, frame[column.name], row) for col, column in enumerate(columns)]
    start = pl.format('<row r="{}">', row)
    if height is not None:
        tall = pl.format(
            '<row r="{}" ht="{}" customHeight="1">', row, pl.col(height).round(2).cast(pl.String)
        )
        start = pl.when(pl.col(height).is_not_null()).then(tall).otherwise(start)
    xml = pl.concat_str([start, *cells, pl.lit("</row>")], ignore_nulls=True).alias(_ROW_XML)
    # one string expression runs on one thread: a slice of the rows per thread instead, and
    # no more slices at once than threads, so each cell's text is held for a slice only
    threads = pl.thread_pool_size()
    size = -(-frame.height // max(1, min(threads, frame.height // ROWS_PER_SLICE)))
    size = min(size, MAX_ROWS_PER_SLICE)
    slices = [frame.lazy().slice(top, size).select(xml) for top in range(0, frame.height, size)]
    parts = [
        part.to_series()
        for batch in range(0, len(slices), threads)
        for part in pl.collect_all(slices[batch : batch + threads])
    ]
    return pl.concat(parts, rechunk=False)


_ROW_NUMBER = "__row_number"
"""Private column of `rows_xml`: each row's 1-based number in the sheet."""

_ROW_XML = "row_xml"
"""The name of the Series `rows_xml` returns."""

ROWS_PER_SLICE = 2_000
"""Fewer rows than this per thread are not worth a slice of their own."""

MAX_ROWS_PER_SLICE = 25_000
"""More rows than this per slice hold more memory and gain no speed: the cells' text of a
slice is made before its rows are (200,000 payout rows in one go held ~0.5 GB more)."""


def _list_cells(
    col: int, column: CellColumn, table: Mapping[str, Sequence[Any]], rows: Sequence[int]
) -> list[str]:
    """One column's `<c>` elements from plain values ("" where the value is None)."""
    values = table[column.name]
    if column.type is CellType.TEXT:
        contents = [None if v is None else text_xml(str(v)) for v in values]
    elif column.type is CellType.BOOLEAN:
        contents = [None if v is None else "1" if v else "0" for v in values]
    else:
        if not all(math.isfinite(v) for v in values if v is not None):
            raise TypeError(f"{column.name}: NAN/INF not supported in a worksheet cell")
        contents = [None if v is None else repr(v) for v in values]
    name, start, end = xl_col_to_name(col), _OPEN[column.type], _CLOSE[column.type]
    if column.style is None:
        style = _style_attr(column)
        return [
            "" if c is None else f'<c r="{name}{r}"{style}{start}{c}{end}'
            for c, r in zip(contents, rows, strict=True)
        ]
    styles = table[column.style]
    return [
        "" if c is None else f'<c r="{name}{r}" s="{s}"{start}{c}{end}'
        for c, r, s in zip(contents, rows, styles, strict=True)
    ]


def list_rows_xml(
    table: Mapping[str, Sequence[Any]],
    columns: Sequence[CellColumn],
    first_row: int,
    heights: Sequence[float | None] | None = None,
) -> str:
    """`rows_xml` for plain lists (column name -> values): for the few dozen rows of a
    statement's table, where Polars' fixed cost per table would be more than the work.

    Same XML as `rows_xml` except numbers, written by `repr` (``1e-07`` where Polars writes
    ``1e-7``: the same double). `heights`: each row's height in points, None for the default.
    """
    count = len(table[columns[0].name]) if columns else 0
    rows = range(first_row + 1, first_row + 1 + count)
    cells = [_list_cells(col, column, table, rows) for col, column in enumerate(columns)]
    tall = heights if heights is not None else [None] * count
    return "".join(
        f"{row_open_xml(r, h)}{''.join(row_cells)}</row>"
        for r, h, *row_cells in zip(rows, tall, *cells, strict=True)
    )
