"""Comparing the reference's rows with an engine's CSV output, column by column.

Numbers are compared as exact decimals (money to the cent, scores to 4 places), text exactly,
`reason` by the facts RULES.md says it must name. Every mismatch is one readable line.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from reference.inputs import Row
from reference.quarter import MONEY_COLUMNS
from reference.rules import MINOR_UNITS

TEXT_COLUMNS = {"period", "partner_id", "partner_name", "segment", "region", "team_id",
                "status", "tier", "earned_tier", "team_tier", "payout_currency", "deal_id",
                "customer_id", "close_date"}  # fmt: skip


def read_csv_text(path: Path) -> list[dict[str, str]]:
    """An output CSV as rows of text."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def compare_rows(want: list[Row], got: list[dict[str, str]], key: str, what: str) -> list[str]:
    """Mismatches between reference rows `want` and CSV rows `got`, matched on `key`."""
    problems = []
    columns = list(want[0]) if want else []
    present = set(got[0]) if got else set(columns)
    for column in columns:
        if column not in present:
            problems.append(f"{what}: column {column} missing from the engine's output")
    if got and set(columns) <= present and list(got[0]) != columns:
        problems.append(f"{what}: columns {list(got[0])}, CLI.md's order is {columns}")
    got_by_key = {row[key]: row for row in got}
    want_by_key = {row[key]: row for row in want}
    for missing in sorted(set(want_by_key) - set(got_by_key)):
        problems.append(f"{what}: {key} {missing}: row missing from the engine's output")
    for extra in sorted(set(got_by_key) - set(want_by_key)):
        problems.append(f"{what}: {key} {extra}: engine wrote a row the reference does not have")
    for ident in sorted(set(want_by_key) & set(got_by_key)):
        reference, engine = want_by_key[ident], got_by_key[ident]
        for column, expected in reference.items():
            if column in engine and not _agrees(column, expected, engine[column], reference):
                problems.append(
                    f"{what}: {key} {ident}, column {column}: reference {_show(expected)!r}, "
                    f"engine {engine[column]!r}"
                )
    return problems


def _agrees(column: str, expected: Any, cell: str, row: Row) -> bool:
    if column == "reason":
        facts = [fact for fact in str(expected).split("; ") if fact]
        return bool(facts) == bool(cell) and all(f.lower() in cell.lower() for f in facts)
    if isinstance(expected, bool):
        return cell == _show(expected)
    if column in TEXT_COLUMNS or not isinstance(expected, Decimal):
        return cell == str(expected)
    try:
        value = Decimal(cell)
    except InvalidOperation:
        return False
    if column in MONEY_COLUMNS and value.as_tuple().exponent != -2:
        return False
    if column == "payable_local":
        places = MINOR_UNITS.get(row["payout_currency"], 2)
        if value.as_tuple().exponent != -places:
            return False
    return value == expected


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compare_hits(want: list[Row], got: list[dict[str, str]]) -> list[str]:
    """Integrity hits (RULES.md 10) against exceptions.csv's `integrity` rows, as sets of
    (deal_id, rule, action): `flag` hits change no payout, so only this sees them."""
    expected = {(hit["deal_id"], hit["rule"], hit["action"]) for hit in want}
    found = {(r["deal_id"], r["rule"], r["action"]) for r in got if r["kind"] == "integrity"}
    problems = [f"exceptions.csv: integrity hit {hit} missing" for hit in sorted(expected - found)]
    problems += [
        f"exceptions.csv: integrity hit {hit} that the reference does not find"
        for hit in sorted(found - expected)
    ]
    return problems


def compare_ledger_rows(want: list[Row], got: list[dict[str, str]]) -> list[str]:
    """Ledger rows of 11.5 and 11.8 against exceptions.csv's `ledger` rows: the same (rule,
    partner_id, deal_id) rows, each detail naming its amount (and cancellation, CLI.md)."""
    found = [r for r in got if r["kind"] == "ledger"]
    problems = []
    for row in want:
        amount = str(row["amount"])
        matches = [
            r
            for r in found
            if (r["rule"], r["partner_id"], r["deal_id"])
            == (row["rule"], row["partner_id"], row["deal_id"])
            and amount in r["detail"]
            and row["cancellation_deal_id"] in r["detail"]
        ]
        if matches:
            found.remove(matches[0])
        else:
            problems.append(f"exceptions.csv: ledger row {row} missing")
    problems += [f"exceptions.csv: ledger row {r} that the reference does not have" for r in found]
    return problems
