"""The payment columns of the partners a closed period pays (PAYMENTS.md).

`close` stores them in the ledger entry (entry.json's `payees`, covered by its hash), so an
edit of the partner master after the close cannot redirect a closed quarter's money;
`payments` reads them back from there. An entry closed without them (an older one, or one
closed with a config without `payments`) falls back to the current partner master.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from typing import Any

import polars as pl

from incentcalc.config import ProgramConfig, SourceName
from incentcalc.inputs import PAYMENT_COLUMNS
from incentcalc.periods import Period

PAYEES = "payees"
"""entry.json's key: one object per payable partner, partner_id and PAYMENT_COLUMNS."""

Payee = dict[str, str | None]
"""partner_id and the payment columns of one partner (None where the master has no value)."""


def payable_partner_ids(payouts_parquet: bytes) -> list[str]:
    """The partners a period pays: payable_local above zero, in partner_id order."""
    payouts = pl.read_parquet(io.BytesIO(payouts_parquet), columns=["partner_id", "payable_local"])
    return payouts.filter(pl.col("payable_local") > 0)["partner_id"].sort().to_list()


def master_payees(
    config: ProgramConfig, period: Period, partner_ids: Collection[str]
) -> list[Payee]:
    """The payment columns of `partner_ids` in the current partner master, IBAN and BIC in
    their compact form. Raises DataError (exit 1) when one of theirs fails validation (an
    invalid IBAN or BIC, an unknown payment_method), naming the partner, never the IBAN."""
    from incentcalc.accounts import compact
    from incentcalc.io.database import query_dates
    from incentcalc.io.readers import read_source
    from incentcalc.io.validation import failures_error, validate_source

    read = read_source(
        SourceName.PARTNERS, config.sources.partners, dates=query_dates(config, period)
    )
    ids = pl.Series(list(partner_ids), dtype=pl.String()).implode()
    rows = read.frame.filter(pl.col("partner_id").is_in(ids))
    failures = validate_source(read).filter(
        pl.col("column").is_in(PAYMENT_COLUMNS) & pl.col("row").is_in(rows["_row"].implode())
    )
    if failures.height:
        raise failures_error(failures)
    found = {
        row["partner_id"]: row
        for row in rows.select("partner_id", *PAYMENT_COLUMNS).iter_rows(named=True)
    }
    payees = []
    for partner_id in sorted(partner_ids):
        row = found.get(partner_id, {})
        payee: Payee = {"partner_id": partner_id}
        for column in PAYMENT_COLUMNS:
            value = row.get(column)
            payee[column] = compact(value) if value and column in ("iban", "bic") else value
        payees.append(payee)
    return payees


def entry_payees(document: dict[str, Any]) -> list[Payee] | None:
    """The payees an entry stored, or None for an entry closed without them."""
    stored = document.get(PAYEES)
    return None if stored is None else [dict(payee) for payee in stored]
