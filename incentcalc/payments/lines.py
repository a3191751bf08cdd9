"""A closed period's payment lines (PAYMENTS.md): one per partner with payable_local above
zero, from the ledger entry's payouts and the payees it stored, each either paid by the SEPA
file or listed for AP to pay by hand, with why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from incentcalc.accounts import in_sepa_zone
from incentcalc.config import Payments
from incentcalc.inputs import PaymentMethod
from incentcalc.ledger.payees import Payee
from incentcalc.money import minor_unit
from incentcalc.payments.charset import SepaText, is_sepa_identifier, sepa_text

SEPA_CURRENCY = "EUR"
NAME_LIMIT = 70
"""Max70Text: a party's name in pain.001."""
REFERENCE_LIMIT = 140
"""Max140Text: the unstructured remittance information."""

LINE_COLUMNS = ("payment_id", "partner_id", "vendor_id", "payee_name", "amount", "currency",
                "method", "iban", "bic", "reference", "execution_date")  # fmt: skip
"""payments.csv's columns, in order; manual.csv adds `reason`."""


@dataclass(frozen=True)
class PaymentLine:
    """One payment: what payments.csv writes, and for a SEPA line the texts the XML uses."""

    payment_id: str
    partner_id: str
    vendor_id: str | None
    payee_name: str
    amount: Decimal
    currency: str
    method: PaymentMethod
    iban: str | None
    bic: str | None
    reference: str
    execution_date: date
    reason: str | None = None
    """Why AP pays it by hand (manual lines only)."""
    sepa_name: str = ""
    sepa_reference: str = ""

    def row(self) -> dict[str, Any]:
        """The line as payments.csv writes it (the amount with its currency's minor unit)."""
        return {
            "payment_id": self.payment_id, "partner_id": self.partner_id,
            "vendor_id": self.vendor_id, "payee_name": self.payee_name,
            "amount": f"{self.amount:.{minor_unit(self.currency)}f}", "currency": self.currency,
            "method": self.method.value, "iban": self.iban, "bic": self.bic,
            "reference": self.reference, "execution_date": self.execution_date,
        }  # fmt: skip


def paid_rows(payouts: pl.DataFrame) -> pl.DataFrame:
    """The entry's payout rows that are paid: payable_local above zero, by partner_id."""
    return payouts.filter(pl.col("payable_local") > 0).sort("partner_id")


def payment_lines(
    payouts: pl.DataFrame,
    payees: list[Payee],
    settings: Payments,
    period: str,
    execution_date: date,
) -> tuple[list[PaymentLine], list[str]]:
    """The period's payment lines in partner_id order, and the warnings of their SEPA texts
    (characters left out, texts cut). Never a full IBAN in a warning."""
    by_partner = {payee["partner_id"]: payee for payee in payees}
    lines, warnings = [], []
    for row in paid_rows(payouts).iter_rows(named=True):
        partner_id = str(row["partner_id"])
        payee = by_partner.get(partner_id, {})
        name = payee.get("payee_name") or str(row["partner_name"])
        vendor_id = payee.get("vendor_id")
        reference = settings.reference.format(
            period=period, partner_id=partner_id, partner_name=row["partner_name"],
            vendor_id=vendor_id or "",
        )[:REFERENCE_LIMIT]  # fmt: skip
        line = PaymentLine(
            payment_id=f"{period}-{partner_id}",
            partner_id=partner_id,
            vendor_id=vendor_id,
            payee_name=name,
            amount=Decimal(row["payable_local"]),
            currency=str(row["payout_currency"]),
            method=PaymentMethod.SEPA,
            iban=payee.get("iban"),
            bic=payee.get("bic"),
            reference=reference,
            execution_date=execution_date,
        )
        line, said = _decide_method(line, payee.get("payment_method"))
        lines.append(line)
        warnings += said
    return lines, warnings


def _decide_method(line: PaymentLine, chosen: str | None) -> tuple[PaymentLine, list[str]]:
    """SEPA when the partner master allows it, the line is in EUR, has an IBAN, and its id,
    name and reference can be written in a SEPA file; else manual, with the reason."""
    who = f"partner {line.partner_id!r}"
    if chosen == PaymentMethod.MANUAL:
        return _manual(line, "payment_method is manual in the partner master"), []
    if not line.iban:
        return _manual(line, "no IBAN in the partner master"), []
    if line.currency != SEPA_CURRENCY:
        return _manual(line, f"paid in {line.currency}; the SEPA file pays EUR only"), []
    if not in_sepa_zone(line.iban):
        return _manual(line, f"the IBAN's country {line.iban[:2]} is outside the SEPA zone"), []
    if not is_sepa_identifier(line.payment_id):
        reason = (
            f"payment_id {line.payment_id!r} cannot be a SEPA EndToEndId (at most 35 of the "
            "characters a-z A-Z 0-9 / - ? : ( ) . , ' +, no space)"
        )
        return _manual(line, reason), []
    name = sepa_text(line.payee_name, NAME_LIMIT)
    if not name.text:
        return _manual(line, "the payee name has no character a SEPA file can write"), []
    reference = sepa_text(line.reference, REFERENCE_LIMIT)
    warnings = [
        f"{what} of {who} in the SEPA file: {_lost(text)}"
        for what, text in (("payee name", name), ("reference", reference))
        if text.dropped or text.cut
    ]
    sepa = replace(line, sepa_name=name.text, sepa_reference=reference.text or line.payment_id)
    return sepa, warnings


def _lost(text: SepaText) -> str:
    parts = []
    if text.dropped:
        parts.append(f"left out {text.dropped!r} (not in the SEPA character set)")
    if text.cut:
        parts.append("cut to the field's length")
    return f"written as {text.text!r}; " + " and ".join(parts)


def _manual(line: PaymentLine, reason: str) -> PaymentLine:
    return replace(line, method=PaymentMethod.MANUAL, reason=reason)
