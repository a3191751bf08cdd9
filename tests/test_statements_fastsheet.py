"""FastCellWorksheet writes exactly the bytes xlsxwriter's own Worksheet writes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from xlsxwriter.workbook import Workbook

from incentcalc.statements.fastsheet import FastWorkbook
from incentcalc.statements.formats import WORKBOOK_OPTIONS


def build(cls: type[Workbook], path: Path) -> bytes:
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
    return path.read_bytes()


def test_fast_worksheet_bytes_equal_xlsxwriter_bytes(tmp_path: Path) -> None:
    assert build(FastWorkbook, tmp_path / "fast.xlsx") == build(Workbook, tmp_path / "plain.xlsx")
