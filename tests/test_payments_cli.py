"""`incentcalc payments` through the console script (issue 25, PAYMENTS.md): the payment
files of a closed quarter on the ledger example with hostile names, a partner without an
IBAN, a non-EUR payee; byte-identical exports; the redirect attempt (the partner master
edited after the close); an open period, a tampered ledger, a zero-payable quarter, an entry
closed without payment columns; and no full IBAN in any output but the payment files."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from conftest import EXAMPLES
from schwifty import IBAN

LEDGER_EXAMPLE = EXAMPLES / "ledger"
EXE = Path(sys.executable).with_name("incentcalc")
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}

DEBTOR_IBAN = "DE89370400440532013000"
L1_IBAN = IBAN.generate("DE", bank_code="37040044", account_code="1234567890").compact
L2_IBAN = IBAN.generate("FR", bank_code="30006", account_code="12345678901").compact
L6_IBAN = IBAN.generate("GB", bank_code="NWBK601613", account_code="31926819").compact
REDIRECT_IBAN = IBAN.generate("NL", bank_code="ABNA", account_code="417164300").compact
ALL_IBANS = (L1_IBAN, L2_IBAN, L6_IBAN, REDIRECT_IBAN)

HOSTILE = '=HYPERLINK("http://evil.example","click")'
PARTNERS = [
    # partner_id, partner_name, payout_currency, vendor_id, payee_name, iban, bic, method
    ("L1", "Loyal Networks", "EUR", "V-1", "Müller & Söhne GmbH",
     " ".join(L1_IBAN[i : i + 4] for i in range(0, len(L1_IBAN), 4)).lower(), "COBADEFFXXX", ""),
    ("L2", "Łódź Trading ☃", "EUR", "@SUM(1)", "", L2_IBAN, "", "sepa"),
    ("L3", "Clawback Corp", "EUR", "V-3", "", "", "", ""),
    ("L4", "Small Steps", "", "", "", "", "", ""),
    ("L5", "Paused Partners", "", "", "", "", "", ""),
    ("L6", HOSTILE, "", "V-6", "", L6_IBAN, "NWBKGB2LXXX", ""),
]  # fmt: skip
PAYMENTS_SECTION = """
payments:
  debtor: {name: Example Corp & Co, iban: DE89370400440532013000, bic: COBADEFFXXX}
  execution_date_after_days: 5
  reference: "Partner incentive {period} {partner_id}"
"""


def incentcalc(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )


def write_partners(folder: Path, rows: list[tuple[str, ...]]) -> None:
    base = list(csv.DictReader((LEDGER_EXAMPLE / "partners.csv").open(encoding="utf-8")))
    columns = [*base[0], "vendor_id", "payee_name", "iban", "bic", "payment_method"]
    with (folder / "partners.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for row, (pid, name, currency, vendor, payee, iban, bic, method) in zip(
            base, rows, strict=True
        ):
            assert row["partner_id"] == pid
            writer.writerow({**row, "partner_name": name, "payout_currency": currency,
                             "vendor_id": vendor, "payee_name": payee, "iban": iban, "bic": bic,
                             "payment_method": method})  # fmt: skip


def make_program(folder: Path, *, payments: bool = True, extra: str = "") -> Path:
    shutil.copytree(LEDGER_EXAMPLE, folder)
    write_partners(folder, PARTNERS)
    program = folder / "program.yaml"
    text = program.read_text(encoding="utf-8") + (PAYMENTS_SECTION if payments else "") + extra
    program.write_text(text, encoding="utf-8")
    return program


def run_and_close(program: Path, period: str, *run_options: str) -> Path:
    out = program.parent / "out" / period
    ran = incentcalc("run", "--config", program, "--period", period, "--out", out, *run_options)
    assert ran.returncode == 0, ran.stderr
    closed = incentcalc("close", "--config", program, "--run", out)
    assert closed.returncode == 0, closed.stderr
    return out


def pay(program: Path, period: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return incentcalc("payments", "--config", program, "--period", period, "--out", out,
                      "--execution-date", "2026-04-10", *extra)  # fmt: skip


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with payment columns, 2026Q1 run (with statements) and closed."""
    program = make_program(tmp_path_factory.mktemp("payments") / "program")
    run_and_close(program, "2026Q1")
    return program


@pytest.fixture
def program(closed: Path, tmp_path: Path) -> Path:
    """A private copy of the closed example, for tests that change it."""
    shutil.copytree(closed.parent, tmp_path / "program")
    return tmp_path / "program" / "program.yaml"


def test_the_payment_files_of_a_closed_quarter(closed: Path, tmp_path: Path) -> None:
    out = tmp_path / "pay"
    result = pay(closed, "2026Q1", out, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert sorted(p.name for p in out.iterdir()) == [
        "manual.csv", "payments-manifest.json", "payments.csv", "sepa-pain.001.001.09.xml"
    ]  # fmt: skip
    lines = {row["partner_id"]: row for row in rows(out / "payments.csv")}
    assert list(lines) == ["L1", "L2", "L3", "L6"]  # payable > 0, by partner_id
    assert lines["L1"]["payment_id"] == "2026Q1-L1"
    assert lines["L1"]["iban"] == L1_IBAN  # spaces removed, upper case
    assert lines["L1"]["payee_name"] == "Müller & Söhne GmbH"
    assert lines["L2"]["vendor_id"] == "'@SUM(1)"  # stays text in a spreadsheet
    assert lines["L6"]["payee_name"] == "'" + HOSTILE
    assert {pid: row["method"] for pid, row in lines.items()} == {
        "L1": "sepa", "L2": "sepa", "L3": "manual", "L6": "manual"
    }  # fmt: skip
    assert lines["L6"]["currency"] == "USD" and lines["L6"]["amount"] == "3600.00"
    manual = {row["partner_id"]: row["reason"] for row in rows(out / "manual.csv")}
    assert manual == {
        "L3": "no IBAN in the partner master",
        "L6": "paid in USD; the SEPA file pays EUR only",
    }
    # the sums tie per currency with the entry's payable_local
    payouts = {r["partner_id"]: r for r in rows(closed.parent / "out" / "2026Q1" / "payouts.csv")}
    eur = sum(Decimal(payouts[p]["payable_local"]) for p in ("L1", "L2", "L3"))
    sums = doc["sums_by_currency"]
    assert sums["EUR"]["amount"] == str(eur) and sums["EUR"]["ties"] is True
    assert sums["USD"] == {**sums["USD"], "amount": "3600.00", "ties": True}
    assert doc["counts_by_method"] == {"sepa": 2, "manual": 2}
    assert any("☃" in warning and "L2" in warning for warning in doc["warnings"])
    manifest = json.loads((out / "payments-manifest.json").read_text(encoding="utf-8"))
    assert manifest["entry_sha256"] == doc["entry_sha256"] and manifest["payees_from"] == "entry"
    assert set(manifest["files"]) == {"manual.csv", "payments.csv", "sepa-pain.001.001.09.xml"}
    console = pay(closed, "2026Q1", tmp_path / "again")
    assert "EUR" in console.stdout and "ties with the entry" in console.stdout


def test_the_sepa_file_is_valid_pain_001_001_09(closed: Path, tmp_path: Path) -> None:
    out = tmp_path / "pay"
    assert pay(closed, "2026Q1", out).returncode == 0
    data = (out / "sepa-pain.001.001.09.xml").read_bytes()
    schema = xmlschema.XMLSchema(str(files("sepaxml") / "schemas" / "pain.001.001.09.xsd"))
    schema.validate(data.decode())
    tree = ElementTree.fromstring(data)
    text = data.decode()
    assert text.isascii()
    assert "<Nm>Muller + Sohne GmbH</Nm>" in text  # transliterated, & -> +
    assert "<Nm>Lodz Trading</Nm>" in text  # the snowman is left out, with a warning
    assert "<Nm>Example Corp + Co</Nm>" in text
    ids = [e.text for e in tree.iterfind(".//p:EndToEndId", NS)]
    assert ids == ["2026Q1-L1", "2026Q1-L2"]  # EndToEndId = payment_id
    assert [e.text for e in tree.iterfind(".//p:NbOfTxs", NS)] == ["2", "2"]
    amounts = [Decimal(r["amount"]) for r in rows(out / "payments.csv") if r["method"] == "sepa"]
    assert [e.text for e in tree.iterfind(".//p:CtrlSum", NS)] == [str(sum(amounts))] * 2
    assert "<Dt>2026-04-10</Dt>" in text
    assert f"<IBAN>{L1_IBAN}</IBAN>" in text and f"<IBAN>{DEBTOR_IBAN}</IBAN>" in text
    entry = next((closed.parent / "ledger" / "entries").iterdir())
    closed_at = json.loads((entry / "entry.json").read_text(encoding="utf-8"))["closed_at"]
    assert f"<CreDtTm>{closed_at}</CreDtTm>" in text


def test_exporting_again_gives_the_same_bytes(closed: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert pay(closed, "2026Q1", first).returncode == 0
    assert pay(closed, "2026Q1", second).returncode == 0
    for path in sorted(first.iterdir()):
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name
    refused = pay(closed, "2026Q1", first)
    assert refused.returncode == 3 and "--force" in refused.stderr
    replaced = pay(closed, "2026Q1", first, "--force")
    assert replaced.returncode == 0, replaced.stderr
    other_day = incentcalc("payments", "--config", closed, "--period", "2026Q1", "--out",
                           tmp_path / "later", "--execution-date", "2026-04-17")  # fmt: skip
    later = (tmp_path / "later" / "sepa-pain.001.001.09.xml").read_text(encoding="utf-8")
    assert other_day.returncode == 0 and "<Dt>2026-04-17</Dt>" in later
    assert "-20260417</MsgId>" in later


def test_an_edit_of_the_partner_master_after_the_close_cannot_redirect_the_money(
    program: Path, tmp_path: Path
) -> None:
    redirected = [(*p[:5], REDIRECT_IBAN, "", p[7]) if p[0] == "L1" else p for p in PARTNERS]
    write_partners(program.parent, redirected)
    result = pay(program, "2026Q1", tmp_path / "pay", "--json")
    assert result.returncode == 0, result.stderr
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "pay").iterdir())
    assert L1_IBAN in text and REDIRECT_IBAN not in text
    assert json.loads(result.stdout)["payees_from"] == "entry"


def test_an_open_period_is_refused(closed: Path, tmp_path: Path) -> None:
    result = pay(closed, "2026Q2", tmp_path / "pay")
    assert result.returncode == 3
    assert "2026Q2 is not closed" in result.stderr and "close" in result.stderr
    assert not (tmp_path / "pay").exists()


def test_a_tampered_ledger_fails_verification(program: Path, tmp_path: Path) -> None:
    entry = next((program.parent / "ledger" / "entries").iterdir())
    document = json.loads((entry / "entry.json").read_text(encoding="utf-8"))
    document["payees"][0]["iban"] = REDIRECT_IBAN  # a redirect written into the ledger
    (entry / "entry.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    result = pay(program, "2026Q1", tmp_path / "pay", "--json")
    assert result.returncode == 1
    assert "failed verification" in json.loads(result.stdout)["error"]
    assert not (tmp_path / "pay").exists()


def test_without_a_payments_section_it_is_a_config_error(tmp_path: Path) -> None:
    program = make_program(tmp_path / "program", payments=False)
    result = pay(program, "2026Q1", tmp_path / "pay")
    assert result.returncode == 2 and "payments" in result.stderr


def test_a_wrong_debtor_iban_is_a_config_error_that_validate_shows(tmp_path: Path) -> None:
    typo = DEBTOR_IBAN[:-1] + "1"
    program = make_program(tmp_path / "program", payments=False)
    program.write_text(
        program.read_text(encoding="utf-8") + PAYMENTS_SECTION.replace(DEBTOR_IBAN, typo),
        encoding="utf-8",
    )
    result = incentcalc("validate", "--config", program, "--period", "2026Q1")
    assert result.returncode == 2
    assert "payments.debtor.iban" in result.stderr and "…3001" in result.stderr
    assert typo not in result.stderr and typo not in result.stdout


def test_an_entry_closed_without_payment_columns_uses_the_current_master(tmp_path: Path) -> None:
    program = make_program(tmp_path / "program", payments=False)
    run_and_close(program, "2026Q1", "--no-statements")
    program.write_text(program.read_text(encoding="utf-8") + PAYMENTS_SECTION, encoding="utf-8")
    result = pay(program, "2026Q1", tmp_path / "pay", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["payees_from"] == "partner master"
    assert any("current partner master" in warning for warning in doc["warnings"])
    assert L1_IBAN in (tmp_path / "pay" / "payments.csv").read_text(encoding="utf-8")


def test_a_zero_payable_quarter_writes_empty_files_that_tie(tmp_path: Path) -> None:
    program = make_program(tmp_path / "program")
    text = program.read_text(encoding="utf-8").replace("min_payout: 500", "min_payout: 1000000")
    program.write_text(text, encoding="utf-8")
    run_and_close(program, "2026Q1", "--no-statements")
    result = pay(program, "2026Q1", tmp_path / "pay")
    assert result.returncode == 0, result.stderr
    assert "Nothing is payable" in result.stdout
    assert rows(tmp_path / "pay" / "payments.csv") == []
    assert not (tmp_path / "pay" / "sepa-pain.001.001.09.xml").exists()
    manifest = json.loads((tmp_path / "pay" / "payments-manifest.json").read_text("utf-8"))
    assert manifest["lines"] == 0 and manifest["sums_by_currency"] == {}


def test_an_invalid_iban_fails_validate_naming_the_partner_not_the_iban(tmp_path: Path) -> None:
    program = make_program(tmp_path / "program")
    typo = L1_IBAN[:-1] + ("1" if L1_IBAN[-1] != "1" else "2")
    bad = [(*p[:5], typo, p[6], p[7]) if p[0] == "L1" else p for p in PARTNERS]
    bad = [(*p[:6], "COBADEFF1", p[7]) if p[0] == "L6" else p for p in bad]
    write_partners(program.parent, bad)
    report = tmp_path / "report.csv"
    result = incentcalc("validate", "--config", program, "--period", "2026Q1", "--report", report)
    assert result.returncode == 1
    output = result.stdout + result.stderr + report.read_text(encoding="utf-8")
    assert "'L1'" in output and typo[-4:] in output and "check digits" in output
    assert "'L6'" in output and "BIC" in output
    assert typo not in output and typo[:-4] not in output
    ran = incentcalc("run", "--config", program, "--period", "2026Q1", "--out", tmp_path / "r")
    assert ran.returncode == 1 and typo not in ran.stdout + ran.stderr
    quarantined = incentcalc("run", "--config", program, "--period", "2026Q1", "--out",
                             tmp_path / "q", "--quarantine", "--max-rejected", "50%",
                             "--no-statements")  # fmt: skip
    assert quarantined.returncode == 0, quarantined.stderr
    rejected = (tmp_path / "q" / "rejected_rows.csv").read_text(encoding="utf-8")
    assert "…" + typo[-4:] in rejected and typo not in rejected


def _text_of(path: Path) -> str:
    """A file's text; for a zip (xlsx), its members' text."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    return path.read_bytes().decode("utf-8", "replace")


def test_no_full_iban_outside_the_payment_files_and_the_ledger(
    closed: Path, tmp_path: Path
) -> None:
    """Every output of run (statements, summary.xlsx, CSV, Parquet, manifest), close, ledger,
    validate and payments, console and --json and the log: an IBAN appears whole only in
    the payment files and the ledger entry."""
    log = tmp_path / "incentcalc.log"
    said = [
        pay(closed, "2026Q1", tmp_path / "pay", "--log-file", log),
        pay(closed, "2026Q1", tmp_path / "pay-json", "--json", "--log-file", log),
        incentcalc("ledger", "--config", closed, "--json", "--log-file", log),
        incentcalc("ledger", "--config", closed, "--partner", "L1", "--log-file", log),
        incentcalc("validate", "--config", closed, "--period", "2026Q1", "--log-file", log),
        incentcalc("explain", "--config", closed, "--period", "2026Q2", "--partner", "L1",
                   "--json"),
    ]  # fmt: skip
    assert all(r.returncode == 0 for r in said), [r.stderr for r in said]
    texts = {f"console {i}": r.stdout + r.stderr for i, r in enumerate(said)}
    texts["log"] = log.read_text(encoding="utf-8")
    run_folder = closed.parent / "out" / "2026Q1"
    assert (run_folder / "statements").is_dir() and (run_folder / "summary.xlsx").is_file()
    texts |= {str(p): _text_of(p) for p in run_folder.rglob("*") if p.is_file()}
    for name, text in texts.items():
        for iban in ALL_IBANS:
            assert iban not in text and iban.lower() not in text, (name, iban[-4:])
    spaced = " ".join(L1_IBAN[i : i + 4] for i in range(0, len(L1_IBAN), 4))
    assert all(spaced.lower() not in text for text in texts.values())
    payment_files = "".join(_text_of(p) for p in (tmp_path / "pay").iterdir())
    assert L1_IBAN in payment_files and L6_IBAN in payment_files
