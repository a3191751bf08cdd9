"""Real third-party exports read through the example configs' mappings (tests/fixtures/data,
each with its PROVENANCE.txt and licence).

Each example in configs/examples maps one export onto a canonical source; these tests prove
the mapping options cope with what users really have: BOMs, Latin-1, extra header rows,
`NA` and lone-space nulls, MM/DD/YY dates, Salesforce stage labels, Yes/No statuses.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import polars as pl
from typer.testing import CliRunner

from incentcalc.cli.app import app
from incentcalc.config import Source, SourceName, load_config
from incentcalc.io.readers import SourceRead, read_source
from incentcalc.io.validation import validate_source

DATA = Path(__file__).resolve().parent / "fixtures" / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "configs" / "examples"
runner = CliRunner()


def read_example(config: str, name: SourceName) -> SourceRead:
    source = getattr(load_config(EXAMPLES / config).sources, name.value)
    return read_source(name, source)


def test_salesforce_devorg_opportunities_become_deals() -> None:
    read = read_example("salesforce-devorg.yaml", SourceName.DEALS)
    deals = read.frame
    assert (deals.height, read.file.skipped) == (31, 5)  # 2026 pipeline rows without Amount
    first = deals.row(0, named=True)
    assert first["deal_id"] == "006bm00000LKJNNAA5"
    assert (first["stage"], first["close_date"], first["amount"]) == (
        "open",
        date(2024, 2, 3),
        Decimal("15000.00"),
    )
    assert deals.filter(pl.col("stage") == "closed_won").height == 12
    assert deals.filter(pl.col("stage") == "closed_lost").height == 6  # 2 lost ones skipped
    assert deals.filter(pl.col("stage") == "open").height == 13  # every other label: "*"
    assert deals["currency"].unique().to_list() == ["USD"]
    assert validate_source(read).height == 0


def test_salesforce_devorg_accounts_become_partners() -> None:
    read = read_example("salesforce-devorg.yaml", SourceName.PARTNERS)
    assert read.frame.height == 18
    edge = read.frame.filter(pl.col("partner_id") == "001bm00001ZL8U9AAL").row(0, named=True)
    assert (edge["partner_name"], edge["region"], edge["segment"]) == (
        "Edge Communications",
        "TX",
        "reseller",
    )
    assert validate_source(read).height == 0


def test_salesforce_dataloader_export_with_bom_and_iso_dates() -> None:
    read = read_example("salesforce-dataloader.yaml", SourceName.DEALS)
    deals = read.frame
    assert deals.height == 50
    assert deals["deal_id"][0] == "006Ec00000AieKFIAZ"  # the BOM is not part of the header
    won = deals.filter(pl.col("deal_id") == "006Ec00000AieKGIAZ").row(0, named=True)
    assert (won["stage"], won["close_date"], won["amount"], won["product"]) == (
        "closed_won",
        date(2023, 6, 17),
        Decimal("1651993.36"),
        "Business Loans",
    )
    assert validate_source(read).height == 0
    partners = read_example("salesforce-dataloader.yaml", SourceName.PARTNERS)
    assert partners.frame.height == 22
    assert set(deals["partner_id"]) <= set(partners.frame["partner_id"])


def test_qualtrics_export_with_two_extra_header_rows() -> None:
    read = read_example("qualtrics-nps.yaml", SourceName.NPS)
    assert read.frame.rows(named=True) == [
        {"_row": 4, "response_id": "R_2YPOQ602ER1jkf1", "partner_id": "P1", "customer_id": None,
         "responded_on": date(2017, 7, 18), "score": 2}
    ]  # fmt: skip
    assert validate_source(read).height == 0


def test_qualtrics_legacy_export_maps_v_columns_with_one_skipped_row() -> None:
    path = DATA / "qualtrics-header-fixtures" / "qualtRics_sample_legacy.csv"
    source = Source(
        path=path, skip_rows=1, date_format="%Y-%m-%d %H:%M:%S",
        columns={"response_id": "V1", "responded_on": "V8", "score": "Q1"},
        defaults={"partner_id": "P1"},
    )  # fmt: skip
    read = read_source(SourceName.NPS, source)
    row = read.frame.row(0, named=True)
    assert (row["_row"], row["response_id"], row["responded_on"], row["score"]) == (
        3,
        "R_2YPOQ602ER1jkf1",
        date(2017, 7, 18),
        2,
    )


def test_botanic_latin1_nps_with_na_and_row_ids() -> None:
    read = read_example("botanic-nps.yaml", SourceName.NPS)
    nps = read.frame
    assert (nps.height, read.file.skipped) == (13_954 - 342, 342)  # NA scores are skipped
    assert read.file.sha256.startswith("bca23856ef7ba207")  # PROVENANCE.txt checksum
    assert nps.row(0, named=True) == {
        "_row": 2, "response_id": "2", "partner_id": "P1", "customer_id": "2368",
        "responded_on": date(2026, 8, 15), "score": 10,
    }  # fmt: skip
    assert nps["response_id"].n_unique() == nps.height
    assert nps["score"].min() == 1 and nps["score"].max() == 10
    assert nps["score"].null_count() == 0 and validate_source(read).height == 0


def test_ibm_telco_churn_as_renewals() -> None:
    read = read_example("telco-renewals.yaml", SourceName.RENEWALS)
    renewals = read.frame
    assert (renewals.height, read.file.skipped) == (7_032, 11)  # the lone-space cells
    counts = dict(renewals.group_by("status").len().rows())
    assert counts == {"renewed": 5_163, "churned": 1_869}
    second = renewals.row(1, named=True)
    assert (second["contract_id"], second["original_amount"], second["renewed_amount"]) == (
        "5575-GNVDE",
        Decimal("56.95"),
        Decimal("1889.50"),
    )
    assert renewals["renewed_amount"].null_count() == 0
    assert validate_source(read).height == 0


def survey_nps(responses: list[tuple[date, int]], start: date, end: date) -> Decimal:
    """NPS of the scores dated in [start, end], by hand: % promoters - % detractors."""
    scores = [score for day, score in responses if start <= day <= end]
    net = sum(score >= 9 for score in scores) - sum(score <= 6 for score in scores)
    return (Decimal(net) * 100 / len(scores)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def run_example_kpis(config: str, period: str, out: Path) -> dict[tuple[str, str], str]:
    args = ["run", "--config", str(EXAMPLES / config), "--period", period, "--out", str(out)]
    result = runner.invoke(app, [*args, "--no-statements", "--quiet"])
    assert result.exit_code == 0, result.output
    with (out / "kpis.csv").open(encoding="utf-8") as handle:
        return {(r["partner_id"], r["kpi"]): r["value"] for r in csv.DictReader(handle)}


def test_google_forms_xlsx_survey_maps_with_config_alone(tmp_path: Path) -> None:
    """1,838 responses, 43 skipped scores: skipped and counted, no --quarantine needed; the
    NPS equals one computed by hand from the workbook with openpyxl."""
    read = read_example("rsurvey-en-xlsx.yaml", SourceName.NPS)
    assert (read.frame.height, read.file.skipped, validate_source(read).height) == (1_795, 43, 0)
    assert read.frame["responded_on"].min() == date(2019, 12, 13)
    workbook = openpyxl.load_workbook(
        DATA / "rsurvey-en-xlsx" / "2019 English R Community Survey Responses.xlsx",
        read_only=True,
    )
    rows = workbook.active.iter_rows(values_only=True)
    header = list(next(rows))
    column = header.index(
        "How likely are you to recommend R to a colleague, friend, or family member?"
    )
    answered = [row for row in rows if len(row) > column and row[column] is not None]
    responses = [(row[0].date(), int(row[column])) for row in answered]
    assert len(responses) == 1_795
    kpis = run_example_kpis("rsurvey-en-xlsx.yaml", "2019Q4", tmp_path / "out")
    expected = survey_nps(responses, date(2019, 10, 1), date(2019, 12, 31))
    assert Decimal(kpis[("R-EN", "nps")]) == expected


def test_google_sheets_csv_survey_maps_with_config_alone(tmp_path: Path) -> None:
    """Multi-line cells, a duplicated header, `1/9/2020 20:30:20` datetimes, 7 skipped scores;
    the NPS equals one computed by hand with the csv module and strptime."""
    read = read_example("rsurvey-es-csv.yaml", SourceName.NPS)
    assert (read.frame.height, read.file.skipped, validate_source(read).height) == (331, 7, 0)
    assert read.frame["responded_on"].max() == date(2020, 1, 9)
    path = DATA / "rsurvey-es-csv" / "2019 Spanish R Community Survey Responses.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index(
        "¿Qué tan probable es que recomiendes R a un colega, amiga/o o un familiar?"
    )
    responses = [
        (datetime.strptime(row[0], "%m/%d/%Y %H:%M:%S").date(), int(row[column]))
        for row in rows[1:]
        if row[column]
    ]
    kpis = run_example_kpis("rsurvey-es-csv.yaml", "2019Q4", tmp_path / "out")
    expected = survey_nps(responses, date(2019, 10, 1), date(2019, 12, 31))
    assert Decimal(kpis[("R-ES", "nps")]) == expected


def test_salesforce_dataloader_dates_and_datetimes_per_column() -> None:
    read = read_example("salesforce-dataloader.yaml", SourceName.DEALS)
    assert read.failures.height == 0
    first = read.frame.row(0, named=True)
    assert (first["close_date"], first["registered_on"]) == (date(2024, 11, 10), date(2024, 1, 22))
    assert set(read.frame["stage"]) == {"closed_won", "closed_lost", "open"}
