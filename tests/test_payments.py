"""Unit tests of the payment modules (PAYMENTS.md): SEPA text, IBAN/BIC checks and masking,
how a line's method is decided, and the XSD check that guards the SEPA file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentcalc.accounts import bic_problem, iban_problem, masked
from incentcalc.config import Debtor, Payments
from incentcalc.inputs import PaymentMethod
from incentcalc.payments.charset import NOT_SEPA, is_sepa_identifier, sepa_text
from incentcalc.payments.lines import PaymentLine, payment_lines
from incentcalc.payments.sepa import SepaSchemaError, message_id, sepa_message

IBAN = "DE89370400440532013000"
DEBTOR = Debtor(name="Example Corp", iban=IBAN, bic="COBADEFFXXX")
SETTINGS = Payments(debtor=DEBTOR)
DAY = date(2026, 4, 10)


@pytest.mark.parametrize(
    ("written", "expected", "dropped"),
    [
        ("Müller & Söhne", "Muller + Sohne", ""),
        ("Łódź", "Lodz", ""),
        ("Straße  Nº 5", "Strasse No 5", ""),
        ('=HYPERLINK("x")', "HYPERLINK(x)", '=""'),
        ("Acme ☃ Ltd", "Acme Ltd", "☃"),
        ("<script>", "script", "<>"),
    ],
)
def test_sepa_text_transliterates_and_reports_what_it_leaves_out(
    written: str, expected: str, dropped: str
) -> None:
    text = sepa_text(written, 70)
    assert (text.text, text.dropped, text.cut) == (expected, dropped, False)


def test_sepa_text_cuts_to_the_field_length() -> None:
    text = sepa_text("A" * 80, 70)
    assert text.text == "A" * 70 and text.cut


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2026Q1-P0001", True), ("2026Q1-" + "P" * 29, False), ("2026Q1-a b", False),
     ("2026Q1-=1", False), ("/2026Q1-P", False), ("2026Q1//P", False)],
)  # fmt: skip
def test_end_to_end_ids(value: str, ok: bool) -> None:
    assert is_sepa_identifier(value) is ok


def test_ibans_are_checked_and_shown_by_their_last_four_characters() -> None:
    assert iban_problem("de89 3704 0044 0532 0130 00") is None
    problem = iban_problem("DE89370400440532013001")
    assert problem is not None and "check digits" in problem
    assert "0532013" not in (iban_problem("DE89370400440532O13000") or "")
    assert iban_problem("XX89370400440532013000") is not None
    assert masked("DE89 3704 0044 0532 0130 00") == "…3000" and masked(None) == ""
    assert bic_problem("COBADEFFXXX") is None and bic_problem("COBADEFF1") is not None


def payouts(*rows: tuple[str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"partner_id": p, "partner_name": n, "payout_currency": c, "payable_local": Decimal(a)}
         for p, n, c, a in rows],
        schema={"partner_id": pl.String(), "partner_name": pl.String(),
                "payout_currency": pl.String(), "payable_local": pl.Decimal(38, 4)},
    )  # fmt: skip


def test_the_method_of_each_line_and_why_it_is_manual() -> None:
    frame = payouts(
        ("A", "Alpha", "EUR", "10.00"),
        ("B", "Beta", "EUR", "20.00"),
        ("C", "Gamma", "USD", "30.00"),
        ("D", "Delta", "EUR", "40.00"),
        ("E" * 40, "Long id", "EUR", "50.00"),
        ("F", "☃☃", "EUR", "60.00"),
        ("G", "Zero", "EUR", "0.00"),
        ("H", "Brasil", "EUR", "70.00"),
    )
    payees = [{"partner_id": pid, "iban": IBAN, "payment_method": None} for pid in "ABCF"]
    payees += [{"partner_id": "E" * 40, "iban": IBAN}]
    payees += [{"partner_id": "H", "iban": "BR1800360305000010009795493C1"}]
    payees[1]["payment_method"] = "manual"
    lines, warnings = payment_lines(frame, payees, SETTINGS, "2026Q1", DAY)
    reasons = {line.partner_id[:1]: line.reason for line in lines}
    assert reasons["A"] is None and "G" not in reasons
    assert reasons["B"] == "payment_method is manual in the partner master"
    assert reasons["C"] == "paid in USD; the SEPA file pays EUR only"
    assert reasons["D"] == "no IBAN in the partner master"
    assert "EndToEndId" in str(reasons["E"])
    assert reasons["F"] == "the payee name has no character a SEPA file can write"
    assert reasons["H"] == "the IBAN's country BR is outside the SEPA zone"
    assert warnings == []


def line(**changes: object) -> PaymentLine:
    fields: dict[str, object] = {
        "payment_id": "2026Q1-P1", "partner_id": "P1", "vendor_id": None, "payee_name": "N",
        "amount": Decimal("10.00"), "currency": "EUR", "method": PaymentMethod.SEPA,
        "iban": IBAN, "bic": None, "reference": "r", "execution_date": DAY,
        "sepa_name": "N", "sepa_reference": "r",
    }  # fmt: skip
    return PaymentLine(**{**fields, **changes})  # type: ignore[arg-type]


def write(*lines: PaymentLine) -> bytes:
    return sepa_message(list(lines), DEBTOR, msg_id=message_id("ab" * 32, DAY),
                        payment_info_id="2026Q1-20260410", created_at="2026-04-05T10:00:00+00:00",
                        execution_date=DAY)  # fmt: skip


def test_the_sepa_file_is_deterministic() -> None:
    assert write(line()) == write(line())
    assert len(message_id("ab" * 32, DAY)) <= 35


@pytest.mark.parametrize(
    ("changes", "where"),
    [({"payment_id": "2026Q1-" + "P" * 40}, "EndToEndId"), ({"sepa_name": ""}, "Cdtr/Nm"),
     ({"iban": IBAN.lower()}, "CdtrAcct/Id/IBAN"), ({"bic": "COBADEFF1"}, "BICFI")],
)  # fmt: skip
def test_the_xsd_check_refuses_what_the_schema_forbids(
    changes: dict[str, object], where: str
) -> None:
    """What the pain.001.001.09 XSD caught while the guards in `lines` were written: the
    guards now keep these lines out of the SEPA file, the XSD stays as the last check."""
    with pytest.raises(SepaSchemaError) as caught:
        write(line(), line(**changes))
    assert where in str(caught.value) and int(caught.value.exit_code) == 4
    assert IBAN not in str(caught.value) and IBAN.lower() not in str(caught.value)


@given(st.text(max_size=200))
def test_sepa_text_is_always_writable(value: str) -> None:
    text = sepa_text(value, 70)
    assert len(text.text) <= 70 and text.text == text.text.strip()
    assert NOT_SEPA.search(text.text) is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=90), st.integers(1, 10**9)), max_size=4))
def test_any_sepa_lines_pass_the_xsd(payees: list[tuple[str, int]]) -> None:
    """Whatever the names and amounts, the lines `payment_lines` lets into the SEPA file
    make a document the pain.001.001.09 XSD accepts."""
    frame = payouts(
        *((f"P{i}", name, "EUR", str(Decimal(cents).scaleb(-2))) for i, (name, cents) in
          enumerate(payees, start=1))
    )  # fmt: skip
    ibans = [{"partner_id": f"P{i}", "iban": IBAN} for i in range(1, len(payees) + 1)]
    lines, _ = payment_lines(frame, ibans, SETTINGS, "2026Q1", DAY)
    sepa = [line for line in lines if line.method is PaymentMethod.SEPA]
    if sepa:
        assert write(*sepa).startswith(b"<?xml")
