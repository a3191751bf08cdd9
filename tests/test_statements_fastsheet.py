"""FastCellWorksheet writes exactly the bytes xlsxwriter's own Worksheet writes, and tables
built as XML with Polars read back exactly like the same tables written cell by cell."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from xlsxwriter.workbook import Workbook

from incentcalc.statements.cell_formats import (
    WORKBOOK_OPTIONS,
    Column,
    Formats,
    Kind,
    add_table_sheet,
    append_table,
    open_workbook,
    write_cell,
    write_frame_table,
    write_table,
)
from incentcalc.statements.fastsheet import (
    ROWS_PER_SLICE,
    CellColumn,
    CellType,
    FastCellWorksheet,
    FastWorkbook,
    list_rows_xml,
    row_xml,
    rows_xml,
)


def build(cls: type[Workbook], path: Path) -> dict[str, bytes]:
    book = cls(str(path), WORKBOOK_OPTIONS)
    book.set_properties({"created": datetime(2026, 9, 30)})
    money = book.add_format({"num_format": '#,##0.00 "USD"'})
    column = book.add_format({"bold": True})
    sheet = book.add_worksheet("Data")
    sheet.set_column(3, 3, 12, column)  # a column format applies to unformatted cells
    sheet.set_row(5, None, money)  # and a row format too
    for row in range(8):
        sheet.write_string(row, 0, f'=text & <{row}> "quoted"', None)
        sheet.write_number(row, 1, row * 1234.5 - 0.01, money)
        sheet.write_number(row, 2, 10**15 + row / 3)
        sheet.write_string(row, 3, "in a formatted column")
        sheet.write_boolean(row, 4, row % 2 == 0)
        sheet.write_blank(row, 5, None, money)
    sheet.write_string(5, 6, "row formatted")
    sheet.write_formula(9, 1, "=SUM(B1:B8)", money, 1)
    book.close()
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_fast_worksheet_bytes_equal_xlsxwriter_bytes(tmp_path: Path) -> None:
    """The same files in the zip, byte for byte, and the same archive."""
    assert build(FastWorkbook, tmp_path / "fast.xlsx") == build(Workbook, tmp_path / "plain.xlsx")
    assert (tmp_path / "fast.xlsx").read_bytes() == (tmp_path / "plain.xlsx").read_bytes()


def test_fast_workbook_repeats_its_bytes(tmp_path: Path) -> None:
    build(FastWorkbook, tmp_path / "one.xlsx")
    build(FastWorkbook, tmp_path / "two.xlsx")
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "two.xlsx").read_bytes()


ESCAPED_LOOKALIKE = "_x0041_ looks escaped"
RICH_LOOKALIKE = "<r><t>rich</t></r>"
HOSTILE_TEXT = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "a & b < c > d \"quoted\" 'single'",
    "\x00\x01control\x1f chars\x0b",
    "  leading",
    "trailing\t",
    "new\nline",
    "ünïcödé 😀 \ufffe",
    "",
    None,
    "x" * 40_000,
    "😀" * 20_000,
    "😀" * 16_383 + "x😀",
]


def hostile_frame() -> pl.DataFrame:
    count = len(HOSTILE_TEXT)
    return pl.DataFrame(
        {
            "name": HOSTILE_TEXT,
            "note": list(reversed(HOSTILE_TEXT)),
            "amount": [1234.5, -0.01, None, 1e15, 0.3, 12.0, 1e-7, *[7.25] * (count - 7)],
            "currency": ["EUR", None, "USD", "JPY", "EUR", "", *["USD"] * (count - 6)],
            "score": [None, *[i / 4 for i in range(count - 1)]],
            "count": list(range(count)),
            "flag": [True, False, None, *[i % 2 == 0 for i in range(count - 3)]],
        }
    )


COLUMNS = (
    Column("name", "Name"),
    Column("note", "Note", Kind.WRAP),
    Column("amount", "Amount", Kind.MONEY, currency_key="currency"),
    Column("currency", "Currency"),
    Column("score", "Score", Kind.SCORE),
    Column("count", "Count", Kind.INTEGER),
    Column("flag", "Flag", Kind.BOOLEAN),
)


def read_cells(path: Path) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(path)["Data"]
    widths = [sheet.column_dimensions[chr(ord("A") + col)].width for col in range(len(COLUMNS))]
    cells = [
        (cell.coordinate, cell.value, cell.data_type, cell.number_format, cell.font.b)
        for row in sheet.iter_rows()
        for cell in row
    ]
    wraps = [cell.alignment.wrap_text for row in sheet.iter_rows() for cell in row]
    return [tuple(widths), sheet.dimensions, tuple(wraps), *cells]


def write_hostile_table(path: Path, how: str) -> None:
    """The hostile table below a title row, by `write_table`, `append_table` or
    `write_frame_table` (`how`)."""
    frame = hostile_frame()
    data = {name: frame[name].to_list() for name in frame.columns}
    book = open_workbook(path, datetime(2026, 9, 30))
    sheet = add_table_sheet(book, "Data")
    formats = Formats(book)
    sheet.write_string(0, 0, "above the table", formats.title)
    if how == "frame":
        end = write_frame_table(sheet, formats, 2, COLUMNS, frame)
    elif how == "lists":
        end = append_table(sheet, formats, 2, COLUMNS, data)
    else:
        end = write_table(sheet, formats, 2, COLUMNS, data)
    assert end == 3 + frame.height
    book.close()


@pytest.mark.parametrize("how", ["frame", "lists"])
def test_xml_tables_read_back_like_the_ordinary_table(tmp_path: Path, how: str) -> None:
    """write_frame_table (XML built with Polars) and append_table (XML built from lists) give
    the same cells, formats and widths as write_table (xlsxwriter cells), hostile and
    over-long text included, and text stays text.

    (openpyxl reads "_xHHHH_" look-alikes back differently from shared and inline strings, so
    those are compared at the XML level in the next test.)"""
    write_hostile_table(tmp_path / "ordinary.xlsx", "ordinary")
    write_hostile_table(tmp_path / "xml.xlsx", how)
    assert read_cells(tmp_path / "xml.xlsx") == read_cells(tmp_path / "ordinary.xlsx")
    xml = sheet_data(tmp_path / "xml.xlsx")
    assert 't="inlineStr"><is><t>=HYPERLINK(' in xml  # text, never a formula
    assert "<f>" not in xml


def sheet_data(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    return xml[xml.index("<sheetData>") : xml.index("</sheetData>")]


def test_text_cells_are_xlsxwriters_own_inline_strings(tmp_path: Path) -> None:
    """Text XML is byte for byte what xlsxwriter writes for inline strings (constant_memory
    mode): same escapes, "_xHHHH_" look-alikes kept literal, same cut at 32,767 UTF-16 units.
    One deliberate difference: xlsxwriter writes text shaped like "<r>...</r>" raw, as rich
    text (a malformed one would break the file); here it is escaped like any text."""
    texts = [t for t in HOSTILE_TEXT if t is not None] + [ESCAPED_LOOKALIKE]
    book = Workbook(str(tmp_path / "xlsxwriter.xlsx"), {"constant_memory": True})
    book.set_properties({"created": datetime(2026, 9, 30)})
    sheet = book.add_worksheet("Data")
    for row, text in enumerate(texts):
        sheet.write_string(row, 0, text)
    book.close()
    text = [CellColumn("text", CellType.TEXT)]
    ours = "".join(rows_xml(pl.DataFrame({"text": texts}), text, 0))
    assert sheet_data(tmp_path / "xlsxwriter.xlsx") == f"<sheetData>{ours}"
    assert list_rows_xml({"text": texts}, text, 0) == ours
    rich = "".join(rows_xml(pl.DataFrame({"text": [RICH_LOOKALIKE]}), text, 0))
    assert "&lt;r&gt;&lt;t&gt;rich&lt;/t&gt;&lt;/r&gt;" in rich
    assert list_rows_xml({"text": [RICH_LOOKALIKE]}, text, 0) == rich


def test_a_long_table_built_in_slices_is_the_table_built_cell_by_cell() -> None:
    """rows_xml builds a big table in slices, one per thread, and leaves out the escaping of a
    column that needs none: rows must still be numbered on from slice to slice, and escaped
    and space-preserving cells must come out as `list_rows_xml` writes them."""
    count = 4 * ROWS_PER_SLICE + 7
    table = {
        "plain": [f"P{n:05d}" for n in range(count)],
        "hostile": [" lead" if n == 5_000 else "a&b" if n == 3 else f"x{n}" for n in range(count)],
        "flag": [n % 2 == 0 for n in range(count)],
    }
    columns = [
        CellColumn("plain", CellType.TEXT),
        CellColumn("hostile", CellType.TEXT),
        CellColumn("flag", CellType.BOOLEAN),
    ]
    xml = "".join(rows_xml(pl.DataFrame(table), columns, 4))
    assert xml == list_rows_xml(table, columns, 4)
    assert xml.count("<row ") == count and f'<row r="{count + 4}">' in xml
    assert '<is><t xml:space="preserve"> lead</t></is>' in xml and "a&amp;b" in xml


@pytest.mark.parametrize("how", ["frame", "lists"])
def test_xml_tables_are_byte_identical_on_rewrite(tmp_path: Path, how: str) -> None:
    write_hostile_table(tmp_path / "one.xlsx", how)
    write_hostile_table(tmp_path / "two.xlsx", how)
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "two.xlsx").read_bytes()


def test_appended_rows_must_stay_below_ordinary_cells(tmp_path: Path) -> None:
    book = FastWorkbook(str(tmp_path / "x.xlsx"), WORKBOOK_OPTIONS)
    sheet = book.add_worksheet("Data")
    assert isinstance(sheet, FastCellWorksheet)
    frame = pl.DataFrame({"n": [1.0, 2.0]})
    sheet.append_rows(rows_xml(frame, [CellColumn("n", CellType.NUMBER)], 1), 1, 2, 0)
    with pytest.raises(ValueError, match="overlap"):
        sheet.append_rows(rows_xml(frame, [CellColumn("n", CellType.NUMBER)], 2), 2, 3, 0)
    sheet.write_string(2, 0, "inside the appended rows")
    with pytest.raises(ValueError, match="ordinary cells"):
        book.close()


def test_numbers_are_written_exactly() -> None:
    """Shortest round-trip text: the double read back is the one written (xlsxwriter's
    16 significant digits would turn 0.1 + 0.2 into 0.3)."""
    frame = pl.DataFrame({"n": [0.1 + 0.2, 1e15 + 0.5, 2.0]})
    xml = "".join(rows_xml(frame, [CellColumn("n", CellType.NUMBER)], 0))
    assert xml == (
        '<row r="1"><c r="A1"><v>0.30000000000000004</v></c></row>'
        '<row r="2"><c r="A2"><v>1000000000000000.5</v></c></row>'
        '<row r="3"><c r="A3"><v>2.0</v></c></row>'
    )


def test_nan_is_refused_like_xlsxwriter() -> None:
    column = [CellColumn("n", CellType.NUMBER)]
    with pytest.raises(TypeError, match="NAN/INF"):
        rows_xml(pl.DataFrame({"n": [1.0, float("nan")]}), column, 0)
    with pytest.raises(TypeError, match="NAN/INF"):
        list_rows_xml({"n": [1.0, float("inf")]}, column, 0)


def test_text_shaped_like_rich_string_markup_stays_plain_text(tmp_path: Path) -> None:
    """xlsxwriter passes `<r>...</r>` through unescaped; a hostile name must not break the file."""
    path = tmp_path / "rich.xlsx"
    workbook = FastWorkbook(str(path), {"strings_to_formulas": False})
    sheet = workbook.add_worksheet("S")
    hostile = "<r>oops</t></r>"
    sheet.write_string(0, 0, hostile)
    sheet.write_string(1, 0, "plain")
    workbook.close()
    cells = openpyxl.load_workbook(path)["S"]
    assert cells["A1"].value == hostile
    assert cells["A1"].data_type == "s"
    assert cells["A2"].value == "plain"


ROW_VALUES: list[Any] = [*HOSTILE_TEXT, 1234.5, -0.01, 1e15 + 0.5, 1e-7, 3, True, False]


def write_value_rows(path: Path, how: str) -> None:
    """Each of ROW_VALUES in a row of its own (value in column B, bold money format; a
    formatted blank in column C), by xlsxwriter cells (`write_cell`) or by `row_xml`."""
    book = open_workbook(path, datetime(2026, 9, 30))
    sheet = add_table_sheet(book, "Data")
    formats = Formats(book)
    money = formats.number(Kind.MONEY, "USD", bold=True)
    sheet.write_string(0, 0, "above the rows", formats.title)
    rows = []
    for row, value in enumerate(ROW_VALUES, start=1):
        cells = [(0, f"row {row}", formats.label), (1, value, money), (2, None, money)]
        height = 30.0 if row % 3 == 0 else None
        if how == "cells":
            for col, cell_value, fmt in cells:
                write_cell(sheet, row, col, cell_value, fmt)
            if height is not None:
                sheet.set_row(row, height)
        else:
            rows.append(row_xml(row, [*cells, (3, None, None)], height))
    if rows:
        sheet.append_rows("".join(rows), 1, len(ROW_VALUES), 3)
    book.close()


def test_xml_rows_read_back_like_xlsxwriter_cells(tmp_path: Path) -> None:
    write_value_rows(tmp_path / "cells.xlsx", "cells")
    write_value_rows(tmp_path / "xml.xlsx", "xml")
    sheets = [
        openpyxl.load_workbook(tmp_path / name)["Data"] for name in ("cells.xlsx", "xml.xlsx")
    ]
    cells, xml = (
        [
            (c.coordinate, c.value, c.data_type, c.number_format, c.font.b, c.has_style)
            for row in sheet.iter_rows()
            for c in row
        ]
        for sheet in sheets
    )
    assert xml == cells
    heights = [{r: d.height for r, d in s.row_dimensions.items() if d.height} for s in sheets]
    assert heights[1] == heights[0] != {}
    with pytest.raises(TypeError, match="NAN/INF"):
        row_xml(0, [(0, float("nan"), None)])


FIXED_FORMATS: list[dict[str, Any]] = [
    {"bold": True, "font_size": 14},
    {"num_format": '#,##0.00 "EUR"', "valign": "top"},
    {"bold": True, "bottom": 1, "bg_color": "#DDEBF7", "text_wrap": True},
    {"num_format": "0.00%", "valign": "top", "bold": True},
]


def write_formatted(
    cls: type[Workbook], path: Path, order: list[int], in_memory: bool = True
) -> bytes:
    """A cell in each of FIXED_FORMATS, used in `order` (fixed formats for a FastWorkbook);
    returns the workbook's styles.xml."""
    book = cls(str(path), {**WORKBOOK_OPTIONS, "in_memory": in_memory})
    add = book.add_fixed_format if isinstance(book, FastWorkbook) else book.add_format
    formats = [add(props) for props in FIXED_FORMATS]
    sheet = book.add_worksheet("Data")
    for row, index in enumerate(order):
        sheet.write_number(row, 0, row, formats[index])
    book.close()
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/styles.xml")


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0], [2]])
def test_fixed_formats_and_reused_styles_are_xlsxwriter_own(
    tmp_path: Path, order: list[int]
) -> None:
    """Fixed formats are copies, and a styles.xml written before for the same formats is
    reused (in memory; a workbook built in temporary files writes its own): the bytes are
    those of plain xlsxwriter formats, whatever the order of use."""
    plain = write_formatted(Workbook, tmp_path / "plain.xlsx", order)
    assert write_formatted(FastWorkbook, tmp_path / "first.xlsx", order) == plain
    assert write_formatted(FastWorkbook, tmp_path / "again.xlsx", order) == plain
    assert write_formatted(FastWorkbook, tmp_path / "on_disk.xlsx", order, False) == plain


def write_sheets(
    cls: type[Workbook], path: Path, names: list[str], author: str
) -> dict[str, bytes]:
    """A workbook of sheets `names` (print titles on each, text in the first) by `author`;
    returns its members."""
    book = cls(str(path), WORKBOOK_OPTIONS)
    book.set_properties({"author": author, "created": datetime(2026, 9, 30)})
    for name in names:
        book.add_worksheet(name).repeat_rows(0)
    book.worksheets()[0].write_string(0, 0, "text")
    book.close()
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_reused_package_parts_follow_the_workbook(tmp_path: Path) -> None:
    """Content types, relationships and document properties written before in the process
    are reused only for a workbook with the same sheets, names and properties: one after
    another, every workbook's members are those of plain xlsxwriter."""
    for index, (names, author) in enumerate(
        [(["A", "B"], "x"), (["A", "B"], "x"), (["A", "B", "C"], "x"), (["A", "B"], "y")]
    ):
        plain = write_sheets(Workbook, tmp_path / f"plain{index}.xlsx", names, author)
        assert write_sheets(FastWorkbook, tmp_path / f"fast{index}.xlsx", names, author) == plain
