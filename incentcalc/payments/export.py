"""`incentcalc payments`: the payment files of a closed period, from its ledger entry only.

Nothing is calculated: the entry's payouts.parquet says who is paid how much, the payees it
stored say where to. The files are checked (the XML against its XSD, the sums per currency
against the entry) before the folder is written, atomically, by `io.writers.locked_output`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc import __version__
from incentcalc.config import Payments, ProgramConfig
from incentcalc.errors import ConfigError, InvariantError, LedgerRefusedError
from incentcalc.inputs import PaymentMethod
from incentcalc.io.digest import file_sha256
from incentcalc.io.writers import locked_output, write_csv, write_json
from incentcalc.ledger.payees import entry_payees, master_payees
from incentcalc.ledger.store import Entry, open_ledger
from incentcalc.money import minor_unit
from incentcalc.payments.charset import sepa_text
from incentcalc.payments.lines import (
    LINE_COLUMNS,
    NAME_LIMIT,
    PaymentLine,
    paid_rows,
    payment_lines,
)
from incentcalc.payments.sepa import SCHEMA, message_id, sepa_message
from incentcalc.periods import Period
from incentcalc.result import PAYOUTS_PARQUET

PAYMENTS_CSV = "payments.csv"
MANUAL_CSV = "manual.csv"
SEPA_XML = f"sepa-{SCHEMA}.xml"
PAYMENTS_MANIFEST = "payments-manifest.json"


@dataclass(frozen=True)
class Tie:
    """One currency's sum in the payment files against the entry's payable_local."""

    currency: str
    files: Decimal
    entry: Decimal

    @property
    def ties(self) -> bool:
        return self.files == self.entry

    @property
    def difference(self) -> Decimal:
        return self.files - self.entry


@dataclass(frozen=True)
class PaymentExport:
    """What `payments` wrote (or would write): lines, ties, manifest, warnings."""

    entry: Entry
    lines: list[PaymentLine]
    ties: list[Tie]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def payments_settings(config: ProgramConfig) -> Payments:
    """The config's `payments` section (its IBAN and BIC were checked when it loaded)."""
    if config.payments is None:
        raise ConfigError(
            "The config has no `payments` section, so there is no debtor account to pay "
            "from. Add `payments: {debtor: {name, iban, bic}}` (PAYMENTS.md)."
        )
    debtor = config.payments.debtor
    if not sepa_text(debtor.name, NAME_LIMIT).text:
        raise ConfigError(
            f"payments.debtor.name {debtor.name!r} has no character a SEPA file can write "
            "(a-z A-Z 0-9 / - ? : ( ) . , ' + and space, or letters that transliterate)."
        )
    return config.payments


def closed_entry(config: ProgramConfig, period: Period) -> Entry:
    """The verified ledger's entry of `period` (exit 1 when the ledger fails verification,
    exit 3 when the period is not closed)."""
    ledger = open_ledger(config)
    entry = ledger.entry_of(period)
    if entry is None:
        raise LedgerRefusedError(
            f"{period.label} is not closed: the ledger {ledger.path} has no entry for it, and "
            "payment files are written only from a closed period. Run it, review it and "
            f"`incentcalc close` it first."
        )
    return entry


def export_payments(
    config: ProgramConfig, period: Period, execution_date: date, out: Path, *, force: bool
) -> PaymentExport:
    """Write the payment folder of the closed `period` into `out`, whole or not at all."""
    settings = payments_settings(config)
    entry = closed_entry(config, period)
    payouts = pl.read_parquet(io.BytesIO((entry.folder / PAYOUTS_PARQUET).read_bytes()))
    warnings: list[str] = []
    payees = entry_payees(entry.document)
    if payees is None:
        paid = paid_rows(payouts)["partner_id"].to_list()
        payees = master_payees(config, period, paid)
        warnings.append(
            f"Entry {entry.name} was closed without the partners' payment columns, so they "
            "were taken from the current partner master: check them before paying."
        )
    lines, said = payment_lines(payouts, payees, settings, period.label, execution_date)
    warnings += said
    ties = tie_out(payouts, lines)
    untied = [t for t in ties if not t.ties]
    if untied:
        raise InvariantError.broken(
            [
                f"{t.currency}: payment files {t.files}, entry {t.entry}, off by {t.difference}"
                for t in untied
            ]
        )
    sepa_lines = [line for line in lines if line.method is PaymentMethod.SEPA]
    documents = {
        PAYMENTS_CSV: _frame(lines, LINE_COLUMNS),
        MANUAL_CSV: _frame(
            [line for line in lines if line.method is PaymentMethod.MANUAL],
            (*LINE_COLUMNS, "reason"),
        ),
    }
    xml = (
        sepa_message(
            sepa_lines,
            settings.debtor,
            msg_id=message_id(entry.sha256, execution_date),
            payment_info_id=f"{period.label}-{execution_date:%Y%m%d}",
            created_at=str(entry.document["closed_at"]),
            execution_date=execution_date,
        )
        if sepa_lines
        else None
    )
    if xml is None:
        warnings.append(f"No line is paid by SEPA, so no {SEPA_XML} was written.")
    with locked_output(out, force=force) as folder:
        for name, frame in documents.items():
            write_csv(frame, folder.path / name)
        if xml is not None:
            (folder.path / SEPA_XML).write_bytes(xml)
        hashes = {p.name: file_sha256(p) for p in sorted(folder.path.iterdir())}
        manifest = payments_manifest(entry, lines, ties, hashes, execution_date, warnings)
        write_json(manifest, folder.path / PAYMENTS_MANIFEST)
        warnings += folder.warnings
    return PaymentExport(entry, lines, ties, manifest, warnings)


def _frame(lines: list[PaymentLine], columns: tuple[str, ...]) -> pl.DataFrame:
    schema = {c: pl.Date() if c == "execution_date" else pl.String() for c in columns}
    rows = [{**line.row(), "reason": line.reason} for line in lines]
    return pl.DataFrame([{c: row[c] for c in columns} for row in rows], schema=schema)


def tie_out(payouts: pl.DataFrame, lines: list[PaymentLine]) -> list[Tie]:
    """Per currency: the lines' amounts against the entry's payable_local of its paid rows."""
    entry = dict(
        paid_rows(payouts)
        .group_by("payout_currency")
        .agg(pl.col("payable_local").sum())
        .iter_rows()
    )
    written: dict[str, Decimal] = {}
    for line in lines:
        amount = Decimal(money_text(line.amount, line.currency))
        written[line.currency] = written.get(line.currency, Decimal(0)) + amount
    return [
        Tie(currency, written.get(currency, Decimal(0)), Decimal(entry.get(currency, 0)))
        for currency in sorted({*entry, *written})
    ]


def money_text(amount: Decimal, currency: str) -> str:
    """An amount with its currency's minor unit (`12.50`, `1107692`)."""
    return f"{amount:.{minor_unit(currency)}f}"


def payments_manifest(
    entry: Entry,
    lines: list[PaymentLine],
    ties: list[Tie],
    hashes: dict[str, str],
    execution_date: date,
    warnings: list[str],
) -> dict[str, Any]:
    """payments-manifest.json: the entry, counts and sums per currency and method, the ties,
    the files' sha256. Nothing in it depends on when it was written."""
    sums: dict[str, dict[str, Any]] = {}
    for tie in ties:
        of_currency = [line for line in lines if line.currency == tie.currency]
        sums[tie.currency] = {
            "count": len(of_currency),
            "amount": money_text(tie.files, tie.currency),
            "entry_payable_local": money_text(tie.entry, tie.currency),
            "ties": tie.ties,
            "by_method": {
                method.value: {
                    "count": len(chosen := [x for x in of_currency if x.method is method]),
                    "amount": money_text(sum((x.amount for x in chosen), Decimal(0)), tie.currency),
                }
                for method in PaymentMethod
            },
        }
    return {
        "period": entry.period_label,
        "entry": entry.name,
        "entry_sha256": entry.sha256,
        "closed_at": entry.document.get("closed_at"),
        "payees_from": "entry" if entry_payees(entry.document) is not None else "partner master",
        "execution_date": execution_date.isoformat(),
        "incentcalc_version": __version__,
        "lines": len(lines),
        "counts_by_method": {
            m.value: sum(1 for x in lines if x.method is m) for m in PaymentMethod
        },
        "sums_by_currency": sums,
        "files": hashes,
        "warnings": list(warnings),
    }
