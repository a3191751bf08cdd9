"""The mapping options of DATA.md "Mapping real exports", through the CLI on copies of the
worked example: title blocks, blank rows, per-column date formats, skipped rows (counted,
never silent), the `"*"` fallback, case-insensitive currency codes, unmapped values listed
with counts, sources a program does not need, header-only sources, European numbers."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from conftest import EXAMPLE
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.config import Source, SourceName
from incentcalc.errors import DataError
from incentcalc.io.readers import read_source

runner = CliRunner()
PERIOD = "2026Q3"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def invoke(command: str, folder: Path, *extra: str) -> Any:
    args = [command, "--config", str(folder / "program.yaml"), "--period", PERIOD, *extra]
    if command == "run":
        args += ["--out", str(folder / "out"), "--no-statements"]
    return runner.invoke(app, args)


def validate_json(folder: Path) -> dict[str, Any]:
    result = invoke("validate", folder, "--json")
    document: dict[str, Any] = json.loads(result.output)
    assert document["exit_code"] == result.exit_code
    return document


def payouts(folder: Path) -> list[dict[str, str]]:
    with (folder / "payouts.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reference_payouts(tmp_path: Path) -> list[dict[str, str]]:
    """The untouched worked example's payouts, for runs that only change how data is written."""
    out = tmp_path / "reference"
    args = ["run", "--config", str(EXAMPLE / "program.yaml"), "--period", PERIOD]
    result = runner.invoke(app, [*args, "--out", str(out), "--no-statements", "--quiet"])
    assert result.exit_code == 0, result.output
    return payouts(out)


def map_deals(example: Path, options: str) -> None:
    """Add mapping `options` (YAML flow text) to the example's deals source."""
    replace_in(example / "program.yaml", "{path: deals.csv}", f"{{path: deals.csv, {options}}}")


def assert_deals_pay_as_the_reference(example: Path, tmp_path: Path, options: str) -> None:
    """Run the example with `options` added to its deals source: the same payouts, to the
    cent, as the untouched example (the data only changed how it is written)."""
    map_deals(example, options)
    result = invoke("run", example, "--quiet")
    assert result.exit_code == 0, result.output
    assert payouts(example / "out") == reference_payouts(tmp_path)


def test_title_block_and_blank_rows_are_ignored_and_rows_keep_file_numbers(
    example: Path, tmp_path: Path
) -> None:
    deals = example / "deals.csv"
    lines = deals.read_text(encoding="utf-8").splitlines()
    title = ["Opportunity report", "Generated 2026-10-01,,", ""]
    deals.write_text("\n".join([*title, lines[0], lines[1], ",,,,,,,,,", *lines[2:]]) + "\n")
    assert_deals_pay_as_the_reference(example, tmp_path, "header_row: 4")

    replace_in(deals, "D003,P1,C102,closed_lost", "D003,P1,C102,lost")
    failure = validate_json(example)["failures"]["by_rule"][0]
    # D003 is on line 8 of the file: 3 title lines, the header, D001, the blank line, D002
    assert failure["examples"] == [{"row": 8, "value": "lost"}]


def test_date_format_per_column_reads_datetimes_as_their_local_calendar_date(
    tmp_path: Path,
) -> None:
    path = tmp_path / "Opportunity.csv"
    path.write_text(
        "Id,AccountId,Name,StageName,CloseDate,Amount,CreatedDate\n"
        "006A,001A,Acme,Closed Won,2024-11-10,100,2024-01-22T16:14:25.000+0000\n"
        "006B,001A,Bolt,Closed Won,2024-11-11,200,2024-03-31T23:30:00.000-0500\n",
        encoding="utf-8",
    )
    source = Source(
        path=path,
        columns={"deal_id": "Id", "partner_id": "AccountId", "customer_id": "Name",
                 "stage": "StageName", "close_date": "CloseDate", "amount": "Amount",
                 "registered_on": "CreatedDate"},
        values={"stage": {"Closed Won": "closed_won"}},
        defaults={"currency": "USD"},
        date_format={"close_date": "%Y-%m-%d", "registered_on": "%Y-%m-%dT%H:%M:%S.%f%z"},
    )  # fmt: skip
    read = read_source(SourceName.DEALS, source)
    assert read.failures.height == 0
    assert read.frame["close_date"].to_list() == [date(2024, 11, 10), date(2024, 11, 11)]
    # 23:30 at -05:00 is already April 1st in UTC: the export's own date is what counts
    assert read.frame["registered_on"].to_list() == [date(2024, 1, 22), date(2024, 3, 31)]


def test_a_date_format_key_that_is_not_a_column_is_a_config_error(example: Path) -> None:
    map_deals(example, 'date_format: {closing_date: "%d.%m.%Y"}')
    result = invoke("validate", example)
    assert result.exit_code == 2
    assert "sources.deals.date_format.closing_date" in " ".join(result.output.split())


def test_skipped_rows_are_counted_in_validate_run_and_manifest(example: Path) -> None:
    with (example / "deals.csv").open("a", encoding="utf-8") as handle:
        handle.write("TOTAL,,,,,905000.00,,,,\n")
    map_deals(example, 'skip_rows_where: {deal_id: ["TOTAL"], partner_id: [P7]}')
    document = validate_json(example)
    assert document["exit_code"] == 0
    assert document["sources"]["deals"]["skipped"] == 2  # the Total row and P7's deal
    assert document["sources"]["deals"]["rows"] == 11
    shown = invoke("validate", example)
    assert "Skipped" in shown.output
    result = invoke("run", example)
    assert result.exit_code == 0, result.output
    assert (
        "Skipped 2 row(s) of deals (skip_rows_where) among the rows read: close_date "
        "2026-05-31..2026-10-31 or empty." in " ".join(result.output.split())
    )
    manifest = json.loads((example / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["skipped_rows"] == {"deals": 2}
    deals = next(i for i in manifest["inputs"] if i["source"] == "deals")
    assert (deals["rows"], deals["skipped_rows"]) == (11, 2)


def test_star_maps_every_other_value_and_currency_codes_ignore_case(
    example: Path, tmp_path: Path
) -> None:
    deals = example / "deals.csv"
    text = deals.read_text(encoding="utf-8").replace(",USD,", ",usd,").replace(",EUR,", ",Eur,")
    deals.write_text(text.replace(",open,", ",Prospecting,"), encoding="utf-8")
    assert_deals_pay_as_the_reference(
        example,
        tmp_path,
        'values: {stage: {closed_won: closed_won, closed_lost: closed_lost, "*": open}}',
    )


def test_every_distinct_unmapped_value_is_listed_with_its_row_count(example: Path) -> None:
    deals = example / "deals.csv"
    text = deals.read_text(encoding="utf-8").replace(",closed_won,", ",Won,")
    deals.write_text(text.replace(",open,", ",Prospecting,"), encoding="utf-8")
    document = validate_json(example)
    assert document["exit_code"] == 1
    groups = [g for g in document["failures"]["by_rule"] if g["column"] == "stage"]
    # D004 and D012, closed outside 2026Q3 and read only to be listed, are not validated
    assert len(groups) == 1 and groups[0]["count"] == 9
    assert groups[0]["rule"].endswith("values found: 'Won' (8 rows), 'Prospecting' (1 row)")


def test_sources_no_kpi_reads_may_be_left_out(example: Path) -> None:
    config = example / "program.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("  nps: {path: nps.csv}\n", "").replace(
        "  renewals: {path: renewals.csv}\n", ""
    )
    text = text.replace("revenue: 0.6, nps: 0.2, grr: 0.2", "revenue: 1")
    text = text.replace("revenue: 0.7, nps: 0.1, grr: 0.2", "revenue: 1")
    text = text.replace(", requires: {nps: 30}", "")
    kpis_start, segments = text.index("kpis:"), text.index("segments:")
    revenue_only = "kpis:\n  revenue: {metric: revenue, score: {attainment: {threshold: 0.5}}}\n\n"
    config.write_text(text[:kpis_start] + revenue_only + text[segments:], encoding="utf-8")
    result = invoke("run", example, "--json")
    assert result.exit_code == 0, result.output
    assert {row["partner_id"] for row in payouts(example / "out")} >= {"P1", "P2", "P3"}

    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "kpis:\n", "kpis:\n  nps: {metric: nps, score: {linear: {target: 50}}}\n"
        ),
        encoding="utf-8",
    )
    refused = invoke("validate", example)
    assert refused.exit_code == 2
    flat = " ".join(refused.output.split())
    assert "kpis.nps: metric nps reads the nps source" in flat and "sources.nps" in flat


def test_a_header_only_file_is_an_empty_source_with_a_warning(example: Path) -> None:
    nps = example / "nps.csv"
    nps.write_text(nps.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    document = validate_json(example)
    assert document["exit_code"] == 0
    assert document["sources"]["nps"]["rows"] == 0
    assert any("nps.csv has no data rows" in w for w in document["warnings"])
    result = invoke("run", example, "--json")
    assert result.exit_code == 0, result.output
    assert any("nps.csv has no data rows" in w for w in json.loads(result.output)["warnings"])


def german_deals(example: Path) -> None:
    """deals.csv with amounts written as a German export does: 60.000,00 €."""
    deals = example / "deals.csv"
    rows = list(csv.reader(deals.read_text(encoding="utf-8").splitlines()))
    for row in rows[1:]:
        whole, cents = row[5].split(".")
        row[5] = f"{int(whole):,}".replace(",", ".") + f",{cents} €"
    with deals.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(rows)


def test_german_amounts_read_with_their_format_pay_exactly_the_same(
    example: Path, tmp_path: Path
) -> None:
    german_deals(example)
    assert_deals_pay_as_the_reference(
        example,
        tmp_path,
        'delimiter: ";", thousands_separator: ".", decimal_separator: ",", currency_symbols: ["€"]',
    )


def test_german_amounts_read_as_us_format_fail_naming_the_format(example: Path) -> None:
    """Once `60.000,00 €` with thousands_separator "," became 60.00 and `run` exited 0."""
    german_deals(example)
    map_deals(example, 'delimiter: ";", thousands_separator: ",", currency_symbols: ["€"]')
    expected = "decimal separator '.', thousands separator ','"
    groups = validate_json(example)["failures"]["by_rule"]
    assert [(g["column"], g["count"]) for g in groups] == [("amount", 10)]  # 2 listed only
    assert expected in groups[0]["rule"]
    assert groups[0]["examples"][0] == {"row": 2, "value": "60.000,00 €"}
    result = invoke("run", example)
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "value '60.000,00 €'" in flat and expected in flat
    assert not (example / "out").exists()


def test_plain_amounts_with_thousands_dot_are_a_config_error(example: Path) -> None:
    """Once `1234.56` read with thousands_separator "." became 123,456.00, silently."""
    map_deals(example, 'thousands_separator: "."')
    result = invoke("run", example)
    assert result.exit_code == 2
    assert "decimal_separator: ','" in " ".join(result.output.split())
    assert not (example / "out").exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_row_below_the_data_names_the_option(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deals{suffix}"
    if suffix == ".csv":
        path.write_text("deal_id,amount\nD1,5\n", encoding="utf-8")
    else:
        book = xlsxwriter.Workbook(path)
        book.add_worksheet().write_row(0, 0, ["deal_id", "amount"])
        book.close()
    with pytest.raises(DataError, match="nothing on row 9, where `header_row` says"):
        read_source(SourceName.DEALS, Source(path=path, header_row=9))
