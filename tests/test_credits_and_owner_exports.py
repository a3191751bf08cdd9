"""Issue 26's spec changes through the real console script (`.venv/bin/incentcalc`): credits
(RULES.md 4, 8), partners from the deals, amounts required only on won deals, `fill_empty`,
and a header named by its occurrence (DATA.md).

Fixtures: tests/fixtures/derived/crm-owners (the Salesforce Data Loader export as an
owner-based CRM export with credits) and tests/fixtures/derived/hubspot-deals (HubSpot's
layout, written by hand), run with configs/examples/crm-owners-credits.yaml and
hubspot-deals.yaml.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INCENTCALC = Path(sys.executable).parent / "incentcalc"
CONFIGS = REPO / "configs" / "examples"
DERIVED = REPO / "tests" / "fixtures" / "derived"
OWNERS = CONFIGS / "crm-owners-credits.yaml"
HUBSPOT = CONFIGS / "hubspot-deals.yaml"
AVERY, BLAKE, CASEY = "005Ec000004oBPNIA2", "005Ec000004oBQAIA2", "005Ec000004oBQBIA2"


def incentcalc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The installed console script in its own process."""
    return subprocess.run(
        [str(INCENTCALC), *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def copy_example(config: Path, fixture: str, folder: Path) -> Path:
    """A writable copy of an example config and its derived fixture; returns the config."""
    shutil.copytree(DERIVED / fixture, folder / fixture)
    text = config.read_text(encoding="utf-8").replace("../../tests/fixtures/derived/", "")
    copy = folder / config.name
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def owners_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("owners") / "out"
    done = incentcalc("run", "--config", OWNERS, "--period", "2023Q4", "--out", out,
                      "--no-statements", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_credits_net_each_owners_revenue_to_the_cent(owners_run: Path) -> None:
    """Avery's 231,413.88 de-scope nets 1,931,413.88 of sales to 1,700,000.00 (Gold, 3%);
    Blake's 50,000.00 credit note with no sale leaves revenue -50,000.00 and a base of 0;
    Casey's credit note entered twice counts once (duplicate_deals)."""
    payouts = {row["partner_id"]: row for row in rows(owners_run / "payouts.csv")}
    assert {pid: (row["partner_name"], row["tier"], row["bonus_base"], row["gross"])
            for pid, row in payouts.items()} == {
        AVERY: ("Avery Cole", "Gold", "1700000.00", "51000.00"),
        BLAKE: ("Blake Diaz", "Bronze", "0.00", "0.00"),
        CASEY: ("Casey Ng", "Gold", "2800000.00", "84000.00"),
    }  # fmt: skip
    revenue = {r["partner_id"]: Decimal(r["value"]) for r in rows(owners_run / "kpis.csv")
               if r["kpi"] == "revenue"}  # fmt: skip
    assert revenue[BLAKE] == Decimal("-50000")
    win_rate = {r["partner_id"]: Decimal(r["value"]) for r in rows(owners_run / "kpis.csv")
                if r["kpi"] == "win_rate"}  # fmt: skip
    assert win_rate == {AVERY: 1, BLAKE: 0, CASEY: 1}  # credits are not won deals


def test_credits_get_no_deal_bonus_share(owners_run: Path) -> None:
    bonuses = rows(owners_run / "deal_bonuses.csv")
    assert all(Decimal(row["amount_base"]) > 0 for row in bonuses)
    avery = [row["bonus"] for row in bonuses if row["partner_id"] == AVERY]
    assert avery == ["27707.53", "16461.87", "6830.60"]  # 51,000.00 over the three sales
    exceptions = rows(owners_run / "exceptions.csv")
    assert [(r["deal_id"], r["rule"]) for r in exceptions] == [
        ("006Ec00000AieZ4IAJ", "duplicate_deals")
    ]


def test_partners_from_deals_are_named_in_the_manifest(owners_run: Path) -> None:
    manifest = json.loads((owners_run / "manifest.json").read_text(encoding="utf-8"))
    partners = next(i for i in manifest["inputs"] if i["source"] == "partners")
    deals = next(i for i in manifest["inputs"] if i["source"] == "deals")
    assert partners["path"] == "partners from deals"
    assert partners["sha256"] == deals["sha256"]  # made from the deals file's bytes


def test_one_owner_under_two_names_fails_naming_both(tmp_path: Path) -> None:
    config = copy_example(OWNERS, "crm-owners", tmp_path)
    export = tmp_path / "crm-owners" / "Opportunity.csv"
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].replace("Blake Diaz", "B. Diaz")  # file row 6
    export.write_text("".join(lines), encoding="utf-8")
    done = incentcalc("validate", "--config", config, "--period", "2023Q4", "--json")
    assert done.returncode == 1, done.stderr
    (group,) = json.loads(done.stdout)["failures"]["by_rule"]
    assert group["file"] == str(export) and group["column"] == "partner_name"
    assert f"partner_id '{BLAKE}' has 2 names in the deals" in group["rule"]
    assert "'Blake Diaz' (rows 3, 9, 12 and 14 more)" in group["rule"]
    assert "'B. Diaz' (row 6)" in group["rule"]
    assert group["examples"] == [{"row": 6, "value": "B. Diaz"}]


def test_negative_amounts_without_credits_fail_with_the_fix(tmp_path: Path) -> None:
    config = copy_example(OWNERS, "crm-owners", tmp_path)
    config.write_text(config.read_text().replace("    credits: true\n", ""), encoding="utf-8")
    done = incentcalc("run", "--config", config, "--period", "2023Q4", "--out",
                      tmp_path / "out")  # fmt: skip
    assert done.returncode == 1
    assert "credits: true" in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("    defaults: {segment: direct, joined_on: \"2023-01-01\", status: active}\n",
         "needs segment, joined_on, status in `defaults`"),
        ("    from: deals\n", "give exactly one of `path`"),
    ],
)  # fmt: skip
def test_partners_from_deals_config_errors_exit_2(
    tmp_path: Path, change: str, message: str
) -> None:
    config = copy_example(OWNERS, "crm-owners", tmp_path)
    config.write_text(config.read_text().replace(change, ""), encoding="utf-8")
    done = incentcalc("validate", "--config", config, "--period", "2023Q4")
    assert done.returncode == 2
    assert message in " ".join((done.stderr + done.stdout).split())


def test_hubspot_export_keeps_lost_deals_without_amount_in_the_win_rate(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = incentcalc("run", "--config", HUBSPOT, "--period", "2026Q3", "--out", out,
                      "--no-statements", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    win_rate = {r["partner_id"]: r["value"] for r in rows(out / "kpis.csv")
                if r["kpi"] == "win_rate"}  # fmt: skip
    assert win_rate == {"Dana Reyes": "0.5000", "Eli Brooks": "0.6667"}
    payouts = {r["partner_id"]: (r["partner_name"], r["tier"], r["gross"])
               for r in rows(out / "payouts.csv")}  # fmt: skip
    assert payouts == {"Dana Reyes": ("Dana Reyes", "Silver", "750.00"),
                       "Eli Brooks": ("Eli Brooks", "Gold", "1715.03")}  # fmt: skip
    lines = rows(out / "deal_bonuses.csv")
    assert {r["customer_id"] for r in lines} >= {"8812001", "8812004"}  # the second header


def test_a_header_written_twice_must_be_named_by_occurrence(tmp_path: Path) -> None:
    config = copy_example(HUBSPOT, "hubspot-deals", tmp_path)
    config.write_text(config.read_text().replace("IDs#2", "IDs"), encoding="utf-8")
    done = incentcalc("validate", "--config", config, "--period", "2026Q3")
    assert done.returncode == 1
    said = " ".join((done.stderr + done.stdout).split())
    assert "'Associated Company IDs' appears 2 times" in said
    assert "Associated Company IDs#1, Associated Company IDs#2" in said


def test_a_won_deal_without_amount_fails_until_fill_empty_says_it_is_zero(tmp_path: Path) -> None:
    config = copy_example(HUBSPOT, "hubspot-deals", tmp_path)
    export = tmp_path / "hubspot-deals" / "deals.csv"
    export.write_text(export.read_text().replace(",12000,Dana", ",,Dana"), encoding="utf-8")
    done = incentcalc("validate", "--config", config, "--period", "2026Q3", "--json")
    assert done.returncode == 1
    (group,) = json.loads(done.stdout)["failures"]["by_rule"]
    assert (group["column"], group["examples"]) == ("amount", [{"row": 9, "value": None}])
    assert "required when stage is closed_won" in group["rule"] and "fill_empty" in group["rule"]

    fill = "    defaults: {currency: USD}\n    fill_empty: {amount: 0}\n"
    text = config.read_text().replace("    defaults: {currency: USD}\n", fill)
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    done = incentcalc("run", "--config", config, "--period", "2026Q3", "--out", out,
                      "--no-statements", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    dana = next(r for r in rows(out / "payouts.csv") if r["partner_id"] == "Dana Reyes")
    assert dana["bonus_base"] == "18000.00"


def test_explain_counts_credits_apart_and_says_what_they_do() -> None:
    done = incentcalc("explain", "--config", OWNERS, "--period", "2023Q4", "--partner", AVERY,
                      "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    revenue = next(k for k in document["kpis"] if k["kpi"] == "revenue")
    assert (revenue["rows_behind"]["counted"], revenue["rows_behind"]["credit"]) == (3, 1)
    done = incentcalc("explain", "--config", OWNERS, "--period", "2023Q4", "--partner", AVERY)
    assert "credit: counted, nets against revenue" in " ".join(done.stdout.split())


def test_an_excel_header_written_twice_is_named_by_occurrence_too(tmp_path: Path) -> None:
    """The Excel reader renames a repeated header (`Company_1`); the sheet's own header row is
    read again, so `Company#2` means the second column and a plain `Company` is refused."""
    import xlsxwriter

    from incentcalc.config import Source, SourceName
    from incentcalc.errors import DataError
    from incentcalc.io.readers import read_source

    path = tmp_path / "deals.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["id", "p", "Company", "Company", "stage", "date", "amount", "cur"])
    sheet.write_row(1, 0, ["D1", "P1", "C9", "C1", "closed_won", "2026-07-01", 10, "USD"])
    book.close()
    columns = {"deal_id": "id", "partner_id": "p", "customer_id": "Company#2", "stage": "stage",
               "close_date": "date", "amount": "amount", "currency": "cur"}  # fmt: skip
    read = read_source(SourceName.DEALS, Source(path=path, columns=columns))
    assert read.frame["customer_id"].to_list() == ["C1"]
    plain = Source(path=path, columns={**columns, "customer_id": "Company"})
    with pytest.raises(DataError, match="Company#1, Company#2"):
        read_source(SourceName.DEALS, plain)
