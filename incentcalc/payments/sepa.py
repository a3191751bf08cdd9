"""The SEPA credit transfer file: one ISO 20022 pain.001.001.09 message (PAYMENTS.md).

sepaxml builds the message (one payment information block, batch booking, one transaction per
line, control sums from integer cents). It stamps a random MsgId and PmtInfId and the current
time, so those three elements of its output are then replaced with values from the entry
(MsgId from the entry's hash and the execution date, PmtInfId from the period and that date,
CreDtTm = the entry's closing time): exporting a period again for the same date gives the
same bytes. The final bytes are checked against the official
pain.001.001.09 XSD that sepaxml ships, with xmlschema, before anything is written.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from incentcalc.accounts import compact, masked
from incentcalc.config import Debtor
from incentcalc.errors import IncentcalcError
from incentcalc.payments.charset import sepa_text
from incentcalc.payments.lines import NAME_LIMIT, SEPA_CURRENCY, PaymentLine

if TYPE_CHECKING:  # xmlschema is imported when a file is checked (0.2 s)
    from xmlschema import XMLSchema

SCHEMA = "pain.001.001.09"


class SepaSchemaError(IncentcalcError):
    """The message failed the XSD: a bug in what incentcalc wrote (exit 4)."""


def message_id(entry_sha256: str, execution_date: date) -> str:
    """MsgId (Max35Text): the entry's hash and the execution date, the same on every export
    of the entry for that date, different for another date."""
    return f"{entry_sha256[:24]}-{execution_date:%Y%m%d}"


def sepa_message(
    lines: list[PaymentLine],
    debtor: Debtor,
    *,
    msg_id: str,
    payment_info_id: str,
    created_at: str,
    execution_date: date,
) -> bytes:
    """The pain.001.001.09 document of `lines` (all SEPA, EUR), validated against the XSD."""
    from sepaxml import SepaTransfer

    config: dict[str, Any] = {
        "name": sepa_text(debtor.name, NAME_LIMIT).text,
        "IBAN": compact(debtor.iban),
        "batch": True,
        "currency": SEPA_CURRENCY,
    }
    if debtor.bic:
        config["BIC"] = compact(debtor.bic)
    transfer = SepaTransfer(config, schema=SCHEMA, clean=False)
    for line in lines:
        payment: dict[str, Any] = {
            "name": line.sepa_name,
            "IBAN": line.iban,
            "amount": int(line.amount.scaleb(2)),
            "execution_date": execution_date,
            "description": line.sepa_reference,
            "endtoend_id": line.payment_id,
        }
        if line.bic:
            payment["BIC"] = line.bic
        transfer.add_payment(payment)
    data = transfer.export(validate=False, pretty_print=True)
    stamped = {"MsgId": msg_id, "CreDtTm": created_at, "PmtInfId": payment_info_id}
    for tag, value in stamped.items():
        data, found = re.subn(f"<{tag}>[^<]*</{tag}>".encode(), f"<{tag}>{value}</{tag}>".encode(),
                              data)  # fmt: skip
        if found != 1:
            raise SepaSchemaError(f"sepaxml wrote {found} {tag} elements, expected one.")
    check_schema(data, [line.iban or "" for line in lines] + [debtor.iban])
    return data


@cache
def official_schema() -> XMLSchema:
    """The official pain.001.001.09 XSD that sepaxml ships, parsed once per process (0.3 s)."""
    from xmlschema import XMLSchema

    return XMLSchema(str(files("sepaxml") / "schemas" / f"{SCHEMA}.xsd"))


def check_schema(data: bytes, ibans: list[str]) -> None:
    """Raise SepaSchemaError naming every place the document breaks the pain.001.001.09 XSD;
    IBANs in the schema's messages are cut to their last 4 characters."""
    problems = [f"{e.path}: {e.reason}" for e in official_schema().iter_errors(data.decode())]
    if not problems:
        return
    text = "; ".join(problems[:5])
    for iban in ibans:
        if iban:
            text = text.replace(compact(iban), masked(iban))
    raise SepaSchemaError(
        f"The SEPA file failed the official {SCHEMA} schema, so no payment file was written: "
        f"{text}. This is a bug in incentcalc; please report it with this message."
    )
