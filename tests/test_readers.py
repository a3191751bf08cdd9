"""Readers: file formats, source mapping options and parsing into canonical dtypes."""

from __future__ import annotations

import gzip
import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from incentcalc.config import Source, SourceName
from incentcalc.errors import ConfigError, DataError
from incentcalc.inputs import ROW, canonical_schema
from incentcalc.io import formats
from incentcalc.io.readers import read_source
from incentcalc.io.validation import validate_source

DEALS_HEADER = "deal_id,partner_id,customer_id,stage,close_date,amount,currency\n"


def source(path: Path, **options: Any) -> Source:
    return Source(path=path, **options)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def deals_csv(tmp_path: Path, *rows: str, name: str = "deals.csv") -> Path:
    return write(tmp_path, name, DEALS_HEADER + "".join(r + "\n" for r in rows))


def failures(frame: pl.DataFrame) -> list[tuple[int | None, str | None, str | None]]:
    return [(r["row"], r["column"], r["value"]) for r in frame.iter_rows(named=True)]


def test_plain_csv_is_parsed_into_canonical_dtypes_with_file_row_numbers(tmp_path: Path) -> None:
    path = deals_csv(
        tmp_path,
        "D1,P1,C1,closed_won,2026-07-14,60000.00,USD",
        " D2 , P1 ,C2,open,,12.5,EUR",
    )
    read = read_source(SourceName.DEALS, source(path))
    assert read.frame.schema == canonical_schema(SourceName.DEALS)
    assert read.frame[ROW].to_list() == [2, 3]
    assert read.frame["deal_id"].to_list() == ["D1", "D2"]  # trimmed
    assert read.frame["amount"].to_list() == [Decimal("60000.00"), Decimal("12.50")]
    assert read.frame["close_date"].to_list() == [date(2026, 7, 14), None]
    assert read.frame["deal_type"].to_list() == ["new", "new"]  # empty deal_type = new
    assert read.failures.height == 0
    assert read.file.rows == 2 and len(read.file.sha256) == 64


def test_bom_gzip_and_parquet_give_the_same_frame(tmp_path: Path) -> None:
    rows = ["D1,P1,C1,closed_won,2026-07-14,10.00,USD"]
    plain = read_source(SourceName.DEALS, source(deals_csv(tmp_path, *rows)))
    bom = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + (DEALS_HEADER + rows[0] + "\n").encode())
    gz = write(tmp_path, "deals.csv.gz", gzip.compress((DEALS_HEADER + rows[0] + "\n").encode()))
    parquet = tmp_path / "deals.parquet"
    plain.frame.drop(ROW).write_parquet(parquet)
    for path in (bom, gz, parquet):
        read = read_source(SourceName.DEALS, source(path))
        assert read.frame.equals(plain.frame), path


def test_typed_parquet_columns_are_used_as_is(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"deal_id": ["D1"], "partner_id": ["P1"], "customer_id": ["C1"], "stage": ["open"],
         "close_date": [date(2026, 7, 1)], "amount": [Decimal("5.10")], "currency": ["USD"]},
        schema_overrides={"amount": pl.Decimal(38, 2)},
    )  # fmt: skip
    path = tmp_path / "deals.parquet"
    frame.write_parquet(path)
    read = read_source(SourceName.DEALS, source(path))
    assert read.frame["amount"].to_list() == [Decimal("5.10")]
    assert read.frame["close_date"].to_list() == [date(2026, 7, 1)]


def test_a_parquet_source_records_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    """The scan maps the file and the hash reads it separately: the manifest's sha256 must
    still be that of the whole file."""
    path = tmp_path / "deals.parquet"
    read_source(SourceName.DEALS, source(deals_csv(tmp_path, "D1,P1,C1,open,,1,USD"))).frame.drop(
        ROW
    ).write_parquet(path)
    read = read_source(SourceName.DEALS, source(path))
    assert read.file.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_source_read_without_sha256_is_not_hashed(tmp_path: Path) -> None:
    """`validate` reports no sha256 and does not pay for one (0.65 CPU s at 50M deals); the
    rows are those of a hashed read."""
    csv_path = deals_csv(tmp_path, "D1,P1,C1,open,,1,USD")
    parquet = tmp_path / "deals.parquet"
    read_source(SourceName.DEALS, source(csv_path)).frame.drop(ROW).write_parquet(parquet)
    for path in (csv_path, parquet):
        hashed = read_source(SourceName.DEALS, source(path))
        unhashed = read_source(SourceName.DEALS, source(path), sha256=False)
        assert unhashed.file.sha256 == "" and len(hashed.file.sha256) == 64
        assert unhashed.frame.equals(hashed.frame)


def test_codes_and_labels_are_parsed_once_per_distinct_value(tmp_path: Path) -> None:
    """Currency codes and period labels are parsed per distinct value and looked up for
    every row: the same values, nulls and failures as parsing each cell."""
    path = tmp_path / "fx.parquet"
    pl.DataFrame(
        {"period": ["2026Q3", "2026-q3", None, "FY2026 Q3", "Q3", "2026Q3"],
         "currency": ["eur", "EUR", "usd", None, "GBP", "eur"],
         "rate_to_base": ["1.1", "1.1", "1", "1.2", "1.3", "1.1"]}
    ).write_parquet(path)  # fmt: skip
    read = read_source(SourceName.FX_RATES, Source(path=path))
    assert read.frame["period"].to_list() == ["2026Q3", "2026Q3", None, "2026Q3", None, "2026Q3"]
    assert read.frame["currency"].to_list() == ["EUR", "EUR", "USD", None, "GBP", "EUR"]
    assert failures(read.failures) == [(6, "period", "Q3")]


def test_an_upper_case_code_column_is_kept_as_read(tmp_path: Path) -> None:
    """Parsing that changes no value leaves the column as it was read (no copy): the
    frame's and the as-written currency column are then the same column."""
    path = tmp_path / "deals.parquet"
    read_source(SourceName.DEALS, source(deals_csv(tmp_path, "D1,P1,C1,open,,1,USD"))).frame.drop(
        ROW
    ).write_parquet(path)
    read = read_source(SourceName.DEALS, source(path))
    assert read.frame["currency"].to_list() == ["USD"]
    assert read.frame["currency"].equals(read.written["currency"])


def test_a_parquet_text_column_with_an_empty_cell_still_reads_it_as_null(tmp_path: Path) -> None:
    """Only a Parquet text column without an empty (or `null_values`) cell is taken as
    read; one with such a cell still has it as null."""
    path = tmp_path / "deals.parquet"
    pl.DataFrame(
        {"deal_id": ["D1", "D2"], "partner_id": ["P1", "P1"], "customer_id": ["C1", "C2"],
         "stage": ["open", "open"], "currency": ["USD", "USD"], "product": ["", "n/a"]}
    ).write_parquet(path)  # fmt: skip
    read = read_source(SourceName.DEALS, Source(path=path, null_values=["n/a"]))
    assert read.frame["product"].to_list() == [None, None]
    assert read.frame["deal_id"].to_list() == ["D1", "D2"]


def test_a_parquet_file_rewritten_while_it_is_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows read and the sha256 recorded must belong to the same bytes: an export that is
    still being written when the run reads it is an error, not a silent mix."""
    path = tmp_path / "deals.parquet"
    frame = read_source(SourceName.DEALS, source(deals_csv(tmp_path, "D1,P1,C1,open,,1,USD")))
    frame.frame.drop(ROW).write_parquet(path)
    scan = formats._read_parquet

    def scan_then_rewrite(*args: Any) -> Any:
        table = scan(*args)
        pl.concat([frame.frame.drop(ROW)] * 2).write_parquet(path)
        return table

    monkeypatch.setattr(formats, "_read_parquet", scan_then_rewrite)
    with pytest.raises(DataError) as caught:
        read_source(SourceName.DEALS, source(path))
    assert str(path) in str(caught.value)
    assert "changed while it was being read" in str(caught.value)
    assert "Run again once the export is complete" in str(caught.value)


def test_empty_parquet_file_and_a_folder_are_named(tmp_path: Path) -> None:
    empty = write(tmp_path, "deals.parquet", b"")
    with pytest.raises(DataError, match="the file is empty"):
        read_source(SourceName.DEALS, source(empty))
    folder = tmp_path / "export.parquet"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder; point it at a file"):
        read_source(SourceName.DEALS, source(folder))


def test_xlsx_named_sheet_with_dates_numbers_and_formatted_amounts(tmp_path: Path) -> None:
    path = tmp_path / "deals.xlsx"
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("Notes").write(0, 0, "ignore me")
    sheet = book.add_worksheet("Deals")
    date_cell = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, DEALS_HEADER.strip().split(","))
    sheet.write_row(1, 0, ["D1", "P1", "C1", "closed_won"])
    sheet.write_datetime(1, 4, date(2026, 8, 3), date_cell)
    sheet.write_row(1, 5, [1250.5, "USD"])
    sheet.write_row(2, 0, ["D2", "P1", "C2", "open", None, "$1,000.00", "USD"])
    book.close()
    opts = {"sheet": "Deals", "currency_symbols": ["$"], "thousands_separator": ","}
    read = read_source(SourceName.DEALS, source(path, **opts))
    assert read.frame["amount"].to_list() == [Decimal("1250.50"), Decimal("1000.00")]
    assert read.frame["close_date"].to_list() == [date(2026, 8, 3), None]
    assert read.failures.height == 0


def test_mapping_columns_values_date_format_and_symbols(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sf.csv",
        "Opportunity ID;Account;Customer;Stage;Close Date;Amount;Extra\n"
        'O1;A1;C1;Closed Won;11/22/2026;"$12,500.00";x\n'
        "O2;A1;C2;Prospecting;;€7;y\n",
    )
    mapped = source(
        path,
        columns={"deal_id": "Opportunity ID", "partner_id": "Account", "customer_id": "Customer",
                 "stage": "Stage", "close_date": "Close Date", "amount": "Amount"},
        values={"stage": {"Closed Won": "closed_won", "Prospecting": "open"}},
        date_format="%m/%d/%Y", delimiter=";", currency_symbols=["$", "€"],
        thousands_separator=",", defaults={"currency": "USD"},
    )  # fmt: skip
    read = read_source(SourceName.DEALS, mapped)
    assert read.frame["stage"].to_list() == ["closed_won", "open"]
    assert read.frame["close_date"].to_list() == [date(2026, 11, 22), None]
    assert read.frame["amount"].to_list() == [Decimal("12500.00"), Decimal("7.00")]
    assert read.frame["currency"].to_list() == ["USD", "USD"]


def test_latin1_skip_rows_null_values_and_row_defaults(tmp_path: Path) -> None:
    text = "response_id,who,score\nlabel row,,\nR1,Ren\xe9e,9\nR2,NA,NA\n"
    path = write(tmp_path, "nps.csv", text.encode("latin-1"))
    mapped = source(
        path, encoding="latin-1", skip_rows=1, null_values=["NA"],
        columns={"customer_id": "who"},
        defaults={"partner_id": "P1", "responded_on": "2026-08-01", "response_id": "{row}"},
    )  # fmt: skip
    read = read_source(SourceName.NPS, mapped)
    assert read.frame[ROW].to_list() == [3, 4]  # header = 1, skipped label row = 2
    assert read.frame["response_id"].to_list() == ["R1", "R2"]  # the file's column wins
    assert read.frame["customer_id"].to_list() == ["Renée", None]
    assert failures(validate_source(read)) == [(4, "score", None)]


def test_row_default_fills_ids_with_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "nps.csv", "score\n10\n7\n")
    mapped = source(
        path, defaults={"response_id": "{row}", "partner_id": "P1", "responded_on": "2026-08-01"}
    )
    read = read_source(SourceName.NPS, mapped)
    assert read.frame["response_id"].to_list() == ["2", "3"]
    assert read.frame["score"].to_list() == [10, 7]


@pytest.mark.parametrize(
    ("cell", "rule_part"),
    [
        ("12.3456", "more than 2 decimal places"),
        ("12.345", "ambiguous amount"),
        ("1,234.5", "decimal separator '.', no thousands separator"),
        ("1e3", "not a number"),
        ("12,50", "not a number"),
        ("abc", "not a number"),
    ],
)
def test_bad_amount_text_is_a_parse_failure_with_the_value_as_written(
    tmp_path: Path, cell: str, rule_part: str
) -> None:
    path = deals_csv(tmp_path, f'D1,P1,C1,open,,"{cell}",USD')
    read = read_source(SourceName.DEALS, source(path))
    assert failures(read.failures) == [(2, "amount", cell)]
    assert rule_part in read.failures["rule"][0]
    assert read.frame["amount"].to_list() == [None]


def test_trailing_zeros_beyond_cents_are_exact_not_a_failure(tmp_path: Path) -> None:
    read = read_source(SourceName.DEALS, source(deals_csv(tmp_path, "D1,P1,C1,open,,12.5000,USD")))
    assert read.failures.height == 0
    assert read.frame["amount"].to_list() == [Decimal("12.50")]


def test_bad_date_and_negative_amount_and_stage_are_reported(tmp_path: Path) -> None:
    path = deals_csv(tmp_path, "D1,P1,C1,won,2026-02-30,-5.00,dollar")
    found = validate_source(read_source(SourceName.DEALS, source(path)))
    assert failures(found) == [
        (2, "close_date", "2026-02-30"),
        (2, "stage", "won"),
        (2, "currency", "dollar"),
        (2, "amount", "-5.00"),  # a rule between columns: negative only as a credit
    ]
    rules = dict(zip(found["column"], found["rule"], strict=True))
    assert "YYYY-MM-DD" in rules["close_date"]
    assert "closed_won, closed_lost, open, cancelled" in rules["stage"]
    assert "0 or more" in rules["amount"]
    assert "ISO 4217" in rules["currency"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04\x00\x00binary", "binary data"),
        (DEALS_HEADER.encode() + b"D1,P1,C\xff,open,,1,USD\n", "line 2 is not valid utf-8"),
        (DEALS_HEADER.encode() + b"D1,P1,C1,open,,1,USD,extra,more\n", "line 2 has 9 fields"),
        (b"deal_id,deal_id,partner_id\nD1,D2,P1\n", "'deal_id' appears 2 times"),
    ],
)
def test_unreadable_files_raise_a_data_error_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = write(tmp_path, "deals.csv", content)
    with pytest.raises(DataError) as caught:
        read_source(SourceName.DEALS, source(path))
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_truncated_gzip_and_garbage_parquet_are_data_errors(tmp_path: Path) -> None:
    whole = gzip.compress((DEALS_HEADER + "D1,P1,C1,open,,1,USD\n").encode())
    gz = write(tmp_path, "deals.csv.gz", whole[: len(whole) // 2])
    with pytest.raises(DataError, match="gzip data is damaged"):
        read_source(SourceName.DEALS, source(gz))
    parquet = write(tmp_path, "deals.parquet", b"not parquet at all")
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        read_source(SourceName.DEALS, source(parquet))


def test_missing_header_is_named_with_close_matches(tmp_path: Path) -> None:
    path = write(tmp_path, "deals.csv", "deal_id,partner_id,customer,stage,amount,currency\n"
                                        "D1,P1,C1,open,1,USD\n")  # fmt: skip
    with pytest.raises(DataError) as caught:
        read_source(SourceName.DEALS, source(path))
    assert "missing column(s) customer_id" in str(caught.value)
    assert caught.value.failures is not None
    assert caught.value.failures["column"].to_list() == ["customer_id"]
    assert "'customer'" in caught.value.failures["rule"][0]


def test_mapped_optional_header_that_is_missing_is_an_error(tmp_path: Path) -> None:
    path = deals_csv(tmp_path, "D1,P1,C1,open,,1,USD")
    with pytest.raises(DataError, match="product"):
        read_source(SourceName.DEALS, source(path, columns={"product": "Product Name"}))


def test_mapping_key_typo_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    path = deals_csv(tmp_path, "D1,P1,C1,open,,1,USD")
    with pytest.raises(ConfigError, match=r"sources\.deals\.columns\.dael_id.*'deal_id'"):
        read_source(SourceName.DEALS, source(path, columns={"dael_id": "Id"}))
    with pytest.raises(ConfigError, match="not found"):
        read_source(SourceName.DEALS, source(tmp_path / "nope.csv"))
    with pytest.raises(ConfigError, match="encoding"):
        read_source(SourceName.DEALS, source(path, encoding="klingon"))
