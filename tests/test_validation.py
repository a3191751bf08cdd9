"""`incentcalc validate` and `load_inputs` on the worked example with planted bad inputs:
exit codes, and messages that name the file, row, column and offending value."""

from __future__ import annotations

import csv
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.config import SourceName, load_config
from incentcalc.errors import DataError
from incentcalc.io.validation import load_inputs
from incentcalc.periods import parse_period

runner = CliRunner()
PERIOD = "2026Q3"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def validate(folder: Path, *extra: str, config: str = "program.yaml") -> Any:
    return runner.invoke(
        app, ["validate", "--config", str(folder / config), "--period", PERIOD, *extra]
    )


def report_rows(folder: Path, *extra: str) -> list[dict[str, str]]:
    report = folder / "failures.csv"
    result = validate(folder, "--report", str(report), *extra)
    assert result.exit_code == 1, result.output
    with report.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_worked_example_validates_cleanly() -> None:
    result = validate(EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "All sources are valid for 2026Q3" in result.output
    assert validate(EXAMPLE, "--quiet").output == ""


def test_json_document_of_a_clean_run() -> None:
    document = json.loads(validate(EXAMPLE, "--json").output)
    assert document["command"] == "validate"
    assert (document["status"], document["exit_code"], document["period"]) == ("ok", 0, PERIOD)
    assert document["sources"]["deals"]["rows"] == 12
    assert document["sources"]["deals"]["path"].endswith("deals.csv")
    assert document["failures"] == {"total": 0, "by_rule": []}


@pytest.mark.parametrize(
    ("file", "old", "new", "row", "column", "value", "rule_part"),
    [
        ("deals.csv", "D001,P1,C100,closed_won,2026-07-14,60000.00",
         "D001,P1,C100,closed_won,2026-07-14,sixty", 2, "amount", "sixty", "not a number"),
        ("deals.csv", "2026-07-14,60000.00", "14/07/2026,60000.00",
         2, "close_date", "14/07/2026", "not a valid date"),
        ("deals.csv", "60000.00", "60000.125", 2, "amount", "60000.125",
         "more than 2 decimal places"),
        ("nps.csv", "R01,P1,C100,2026-07-20,10", "R01,P1,C100,2026-07-20,11",
         2, "score", "11", "range 0 to 10"),
        ("nps.csv", "R02,", "R01,", 2, "response_id", "R01", "duplicate response_id"),
        ("deals.csv", "D001,P1,", "D001,P99,", 2, "partner_id", "P99", "unknown partner"),
        ("partners.csv", "P1,Acme Systems,reseller", "P1,Acme Systems,retail",
         2, "segment", "retail", "not a segment of the config"),
        ("partners.csv", "2024-02-01,,active", "2024-02-01,,on hold",
         2, "status", "on hold", "must be one of active, suspended, terminated"),
        ("partners.csv", "P1,Acme Systems,reseller,NA,T1,,2024-02-01,,active",
         "P1,Acme Systems,reseller,NA,T1,,2024-02-01,2023-01-01,active",
         2, "left_on", "2023-01-01", "must not be before joined_on"),
        ("deals.csv", "D001,P1,C100,closed_won,2026-07-14", "D001,P1,C100,closed_won,",
         2, "close_date", None, "required when stage is closed_won"),
        ("renewals.csv", "10000.00,12000.00,USD,renewed", "10000.00,,USD,renewed",
         2, "renewed_amount", None, "required when status is renewed"),
        ("renewals.csv", "10000.00,12000.00,USD", "10000.00,12000.00,US Dollar",
         2, "currency", "US Dollar", "ISO 4217"),
        ("targets.csv", "P3,2026Q3,revenue", "P3,2026Q3,revenu",
         2, "kpi", "revenu", "not a KPI of the config"),
        ("fx_rates.csv", "2026Q2,EUR,1.08", "2026Q3,EUR,1.08",
         2, "period", "2026Q3, EUR", "duplicate (period, currency)"),
        ("adjustments.csv", "A01,P8,2026Q3,50.00", "A01,P8,Q3 2026,50.00",
         2, "period", "Q3 2026", "not a period label"),
    ],
)  # fmt: skip
def test_bad_input_exits_1_and_names_file_row_column_and_value(
    example: Path, file: str, old: str, new: str, row: int, column: str, value: str | None,
    rule_part: str,
) -> None:  # fmt: skip
    edit(example / file, old, new)
    rows = report_rows(example)
    hits = [r for r in rows if r["file"].endswith(file) and r["column"] == column]
    assert hits, rows
    assert hits[0]["row"] == str(row)
    assert hits[0]["value"] == (value or "")
    assert rule_part in hits[0]["rule"]
    table = validate(example).output
    assert file in table and column in table


def test_missing_fx_rate_is_reported_once_where_the_currency_is_first_used(example: Path) -> None:
    edit(example / "deals.csv", "50000.00,EUR", "50000.00,CHF")
    edit(
        example / "partners.csv",
        "P1,Acme Systems,reseller,NA,T1,,",
        "P1,Acme Systems,reseller,NA,T1,CHF,",
    )
    rows = report_rows(example)
    assert [(r["file"].split("/")[-1], r["row"], r["column"], r["value"]) for r in rows] == [
        ("deals.csv", "3", "currency", "CHF")  # deals are looked at first, then renewals, partners
    ]
    assert "no FX rate for CHF in 2026Q3 (2 row(s) use it" in rows[0]["rule"]


def test_missing_fx_rate_for_a_deal_currency(example: Path) -> None:
    edit(example / "deals.csv", "50000.00,EUR", "50000.00,JPY")
    (row,) = report_rows(example)
    assert (row["row"], row["column"], row["value"]) == ("3", "currency", "JPY")
    assert "fx_rates" in row["rule"]


def test_missing_target_is_reported_against_the_partners_row(example: Path) -> None:
    edit(example / "program.yaml", "    targets: {revenue: 1000000}\n", "")
    assert validate(example).exit_code == 0  # P3 has its own targets row for 2026Q3
    edit(example / "targets.csv", "P3,2026Q3", "P3,2026Q2")
    (row,) = report_rows(example)
    assert row["file"].endswith("partners.csv")
    assert (row["row"], row["column"], row["value"]) == ("4", "partner_id", "P3")
    assert "no target for KPI revenue in 2026Q3" in row["rule"]
    assert "segments.distributor.targets.revenue" in row["rule"]


def test_all_failures_are_reported_not_just_the_first(example: Path) -> None:
    edit(example / "deals.csv", "60000.00", "60000.001")
    edit(example / "nps.csv", "2026-07-20,10", "2026-07-20,ten")
    edit(example / "partners.csv", "Bolt IT,reseller", "Bolt IT,vendor")
    result = validate(example, "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["status"] == "failed" and document["exit_code"] == 1
    assert document["failures"]["total"] == 3
    columns = {g["column"] for g in document["failures"]["by_rule"]}
    assert columns == {"amount", "score", "segment"}


def test_a_systematic_error_stays_one_readable_group(example: Path) -> None:
    deals = example / "deals.csv"
    header, *rows = deals.read_text(encoding="utf-8").splitlines()
    many = [f"X{i:05d},P1,C1,closed_won,07/01/2026,1.00,USD,new,," for i in range(3000)]
    deals.write_text("\n".join([header, *rows, *many]) + "\n", encoding="utf-8")
    result = validate(example)
    assert result.exit_code == 1
    assert "3,000" in result.output
    assert result.output.count("07/01/2026") == 3  # only the first examples are quoted


def test_missing_source_file_and_missing_config_exit_2(example: Path) -> None:
    (example / "nps.csv").unlink()
    result = validate(example)
    assert result.exit_code == 2
    assert "nps source file not found" in result.output and "nps.csv" in result.output
    missing = runner.invoke(app, ["validate", "--config", str(example / "x.yaml"), "-p", PERIOD])
    assert missing.exit_code == 2 and "x.yaml" in missing.output


def test_empty_and_binary_files_exit_1_with_a_clear_message(example: Path) -> None:
    (example / "nps.csv").write_bytes(b"")
    (example / "renewals.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    rows = report_rows(example)
    messages = {r["file"].split("/")[-1]: r["rule"] for r in rows}
    assert "the file is empty" in messages["nps.csv"]
    assert "binary data" in messages["renewals.csv"]
    assert "Traceback" not in validate(example).output


def test_missing_column_exits_1_naming_it(example: Path) -> None:
    edit(example / "deals.csv", "customer_id", "customer")
    result = validate(example, "--json")
    assert result.exit_code == 1
    (group,) = json.loads(result.output)["failures"]["by_rule"]
    assert group["column"] == "customer_id" and "'customer'" in group["rule"]


def test_bad_period_is_a_usage_error() -> None:
    result = validate(EXAMPLE, "--period", "2026Q5")
    assert result.exit_code == 2


def test_load_inputs_raises_a_data_error_with_every_failure(example: Path) -> None:
    edit(example / "deals.csv", "60000.00", "60000.001")
    edit(example / "deals.csv", "D002,P1", "D002,P42")
    config = load_config(example / "program.yaml")
    with pytest.raises(DataError) as caught:
        load_inputs(config, parse_period(PERIOD))
    assert caught.value.exit_code == 1
    assert caught.value.failures is not None and caught.value.failures.height == 2
    assert "deals.csv row 2, column amount, value '60000.001'" in str(caught.value)
    assert "P42" in str(caught.value)


def test_quarantine_drops_failing_rows_and_keeps_the_rest(example: Path) -> None:
    edit(example / "deals.csv", "60000.00", "60000.001")
    config = load_config(example / "program.yaml")
    inputs = load_inputs(config, parse_period(PERIOD), quarantine=True, max_rejected=Decimal("0.1"))
    deals = inputs[SourceName.DEALS]
    assert deals.height == 11 and "D001" not in deals["deal_id"].to_list()
    assert inputs.rejected.select("row", "column", "value").rows() == [(2, "amount", "60000.001")]
    assert {f.name: f.rows for f in inputs.files}[SourceName.DEALS] == 12


def test_quarantine_still_stops_on_cross_source_failures(example: Path) -> None:
    edit(example / "partners.csv", "Bolt IT,reseller", "Bolt IT,vendor")
    config = load_config(example / "program.yaml")
    with pytest.raises(DataError, match="not a segment"):
        load_inputs(config, parse_period(PERIOD), quarantine=True)


def test_reuse_skips_reading_and_reruns_only_config_rules(example: Path) -> None:
    config = load_config(example / "program.yaml")
    period = parse_period(PERIOD)
    inputs = load_inputs(config, period)
    (example / "deals.csv").unlink()  # not read again
    assert load_inputs(config, period, reuse=inputs) is inputs
    fewer_segments = config.model_copy(
        update={"segments": {"reseller": config.segments["reseller"]}}
    )
    with pytest.raises(DataError, match="not a segment of the config"):
        load_inputs(fewer_segments, period, reuse=inputs)


def test_file_hashes_and_parsed_values_of_the_example() -> None:
    config = load_config(EXAMPLE / "program.yaml")
    inputs = load_inputs(config, parse_period(PERIOD))
    files = {f.name: f for f in inputs.files}
    assert set(files) == set(SourceName)
    assert files[SourceName.DEALS].rows == 12
    fx = inputs[SourceName.FX_RATES]
    assert fx["rate_to_base"].to_list()[0] == Decimal("1.100000")
    partners = inputs[SourceName.PARTNERS]
    assert partners.filter(pl.col("partner_id") == "P4")["joined_on"].item() == date(2026, 8, 16)


def test_validating_a_large_typed_parquet_is_fast(tmp_path: Path, example: Path) -> None:
    """A 1M-row typed deals Parquet validates in well under the benchmark's budget."""
    config = load_config(example / "program.yaml")
    deals = load_inputs(config, parse_period(PERIOD))[SourceName.DEALS].drop("_row")
    size = 1_000_000
    big = deals.select(pl.all().gather(pl.int_range(size) % deals.height)).with_columns(
        pl.format("D{}", pl.int_range(size)).alias("deal_id")
    )
    big.write_parquet(example / "deals.parquet")
    edit(example / "program.yaml", "deals.csv", "deals.parquet")
    started = time.perf_counter()
    inputs = load_inputs(load_config(example / "program.yaml"), parse_period(PERIOD))
    assert inputs[SourceName.DEALS].height == size
    assert time.perf_counter() - started < 5
