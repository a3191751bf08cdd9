"""Partner statements: what each workbook holds, safety of text and file names, byte-identical
re-runs, and the parallel writer giving the same files as the in-process one.

Built on `bench.statements.synthetic_result` (the result.py frames, made directly)
with a few partners renamed to hostile text and ids.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from bench.statements import synthetic_result
from incentcalc.result import QuarterResult
from incentcalc.statements.batch import write_statements
from incentcalc.statements.parallel import IN_PROCESS_LIMIT
from incentcalc.statements.partner import (
    DEALS_SHEET,
    KPI_SHEET,
    NONE_NEAR,
    NPS_SHEET,
    RENEWALS_SHEET,
    SHEETS,
    STATEMENT_SHEET,
)
from incentcalc.statements.payload import FrameT

FORMULA_NAME = '=HYPERLINK("http://x","y")'
AT_NAME = "@SUM(1)"
TRAVERSAL_ID = "../../x"


def rename_partner(result: QuarterResult, old: str, new: str) -> QuarterResult:
    """`result` with partner `old` called `new` in every frame."""
    swap = pl.when(pl.col("partner_id") == old).then(pl.lit(new)).otherwise(pl.col("partner_id"))

    def frame(df: FrameT) -> FrameT:
        has_partner = "partner_id" in df.collect_schema().names()
        return df.with_columns(swap.alias("partner_id")) if has_partner else df

    inputs = dataclasses.replace(
        result.inputs, frames={name: frame(df) for name, df in result.inputs.frames.items()}
    )
    return dataclasses.replace(
        result,
        inputs=inputs,
        payouts=frame(result.payouts).sort("partner_id"),
        kpis=frame(result.kpis).sort("partner_id", maintain_order=True),
        deal_lines=frame(result.deal_lines).sort("partner_id", maintain_order=True),
        nps_lines=frame(result.nps_lines).sort("partner_id", maintain_order=True),
        renewal_lines=frame(result.renewal_lines).sort("partner_id", maintain_order=True),
    )


def hostile_result(partners: int = 6, deals: int = 4) -> QuarterResult:
    """Synthetic result where P00001 is named like a formula, P00002 starts with @, and
    P00000 (which has an adjustment) has the id ../../x."""
    result = synthetic_result(partners, deals)
    names = {"P00001": FORMULA_NAME, "P00002": AT_NAME}
    payouts = result.payouts.with_columns(
        pl.col("partner_id")
        .replace_strict(names, default=pl.col("partner_name"))
        .alias("partner_name")
    )
    return rename_partner(dataclasses.replace(result, payouts=payouts), "P00000", TRAVERSAL_ID)


@pytest.fixture(scope="module")
def result() -> QuarterResult:
    return hostile_result()


@pytest.fixture(scope="module")
def written(result: QuarterResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "statements"
    assert write_statements(result, folder, workers=1) == result.payouts.height
    return folder


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def sheet_values(path: Path, sheet: str) -> list[list[object]]:
    book = openpyxl.load_workbook(path)
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


def labelled(rows: list[list[object]]) -> dict[str, object]:
    """Statement sheet rows as label -> value (first occurrence)."""
    found: dict[str, object] = {}
    for row in rows:
        if isinstance(row[0], str) and len(row) > 1:
            found.setdefault(row[0], row[1])
    return found


def statement_path(folder: Path, partner_id: str) -> Path:
    matches = [
        p
        for p in folder.iterdir()
        if partner_id in labelled(sheet_values(p, STATEMENT_SHEET)).values()
    ]
    assert len(matches) == 1, partner_id
    return matches[0]


def test_every_statement_holds_name_tier_money_and_deal_lines(
    result: QuarterResult, written: Path
) -> None:
    assert len(list(written.iterdir())) == result.payouts.height
    for row in result.payouts.iter_rows(named=True):
        path = statement_path(written, row["partner_id"])
        book = openpyxl.load_workbook(path)
        assert book.sheetnames == list(SHEETS)
        values = labelled(sheet_values(path, STATEMENT_SHEET))
        assert values["Partner"] == row["partner_name"]
        assert values["Tier"] == row["tier"]
        for label, column in (
            ("Bonus base", "bonus_base"),
            ("Gross", "gross"),
            ("Net", "net"),
            ("Payable", "payable"),
        ):
            assert Decimal(str(values[label])) == row[column], (label, row["partner_id"])
        deal_ids = [r[0] for r in sheet_values(path, DEALS_SHEET)[1:]]
        own = result.deal_lines.filter(pl.col("partner_id") == row["partner_id"])
        expected = own.sort("deal_id").collect()["deal_id"]
        assert deal_ids == expected.to_list()


def test_payout_summary_lists_each_step_and_adjustment_reason(written: Path) -> None:
    """P00000 (renamed ../../x) has a -25.50 adjustment with its reason on its own line. The
    synthetic program has a cap and a holdback but no budget: no budget line."""
    rows = sheet_values(statement_path(written, TRAVERSAL_ID), STATEMENT_SHEET)
    labels = [row[0] for row in rows]
    steps = [
        "Bonus base", "Individual bonus", "Team bonus", "Fixed bonus", "Gross before cap", "Cap",
        "Gross after cap", "Gross", "Holdback", "Adjustments total", "Net",
        "Carried forward", "Payable", "Payable in USD",
    ]  # fmt: skip
    positions = [labels.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "Budget factor" not in labels
    assert labels.count("Status") == 1
    adjustment = next(row for row in rows if str(row[0]).startswith("Adjustment A"))
    assert adjustment[1] == -25.5
    assert "Returned hardware credit" in str(adjustment[2])


def test_cells_have_money_and_percent_formats_frozen_headers_and_fit_to_width(
    written: Path,
) -> None:
    book = openpyxl.load_workbook(next(iter(sorted(written.iterdir()))))
    statement = book[STATEMENT_SHEET]
    base = next(row[1] for row in statement.iter_rows() if row[0].value == "Bonus base")
    assert base.number_format == '#,##0.00 "USD"'
    kpis = book[KPI_SHEET]
    assert kpis["E2"].number_format == "0.00%"  # attainment
    assert kpis.freeze_panes == "A2"
    for name in (KPI_SHEET, DEALS_SHEET, NPS_SHEET, RENEWALS_SHEET):
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.page_setup.fitToWidth in (None, 1)  # 1 is the XML default
        assert sheet.page_setup.fitToHeight == 0  # as many pages down as needed
        assert sheet.print_title_rows == "$1:$1"
    deals = book[DEALS_SHEET]
    assert deals["E2"].number_format in ('#,##0.00 "USD"', '#,##0.00 "EUR"')
    assert deals.column_dimensions["M"].width > 10  # notes get room


def test_formula_like_names_stay_plain_text(written: Path) -> None:
    for name in (FORMULA_NAME, AT_NAME):
        path = next(
            p
            for p in written.iterdir()
            if name in labelled(sheet_values(p, STATEMENT_SHEET)).values()
        )
        sheet = openpyxl.load_workbook(path)[STATEMENT_SHEET]
        cell = next(row[1] for row in sheet.iter_rows() if row[0].value == "Partner")
        assert cell.data_type == "s"
        assert cell.value == name


def test_traversal_id_writes_inside_the_statements_folder(written: Path) -> None:
    inside = [p.resolve().parent for p in written.iterdir()]
    assert set(inside) == {written.resolve()}
    assert not (written.parent.parent / "x.xlsx").exists()
    assert not (written.parent / "x.xlsx").exists()
    statement_path(written, TRAVERSAL_ID)  # its statement exists, under a safe name


def test_two_writes_give_identical_bytes(
    result: QuarterResult, written: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    write_statements(result, again, workers=1)
    assert files(again) == files(written)


def test_subset_writes_only_the_partners_asked_for_and_skips_unknown_ids(
    result: QuarterResult, tmp_path: Path
) -> None:
    count = write_statements(result, tmp_path / "some", partner_ids=["P00003", "P00004", "nobody"])
    assert count == 2
    assert len(list((tmp_path / "some").iterdir())) == 2


def test_partner_without_lines_says_none_near_the_period(
    result: QuarterResult, tmp_path: Path
) -> None:
    empty = dataclasses.replace(result, nps_lines=result.nps_lines.clear())
    write_statements(empty, tmp_path / "s", partner_ids=["P00003"])
    (path,) = (tmp_path / "s").iterdir()
    rows = sheet_values(path, NPS_SHEET)
    assert rows[1][0] == NONE_NEAR


def test_parallel_workers_write_the_same_bytes_as_one_process(tmp_path: Path) -> None:
    many = synthetic_result(IN_PROCESS_LIMIT + 8, 3)
    assert write_statements(many, tmp_path / "one", workers=1) == many.payouts.height
    assert write_statements(many, tmp_path / "two", workers=2) == many.payouts.height
    assert files(tmp_path / "one") == files(tmp_path / "two")
