"""What a verified ledger says: one line per closed period, and a partner's history and open
balances (carry, holdbacks awaiting release, deals that can still be clawed back, streaks).

Figures of a period come from its entry.json totals; a partner's rows are read from the
entries' Parquet files, filtered to that partner before anything is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc.config import ProgramConfig
from incentcalc.errors import LedgerRefusedError
from incentcalc.ledger.store import Entry, Ledger
from incentcalc.periods import Period
from incentcalc.result import (
    DEAL_BONUSES_PARQUET,
    LEDGER_LINES_PARQUET,
    PAYOUTS_PARQUET,
    REJECTED_CSV,
    LedgerLineKind,
)

CLAWBACK_KINDS = (LedgerLineKind.CLAWBACK.value, LedgerLineKind.UNRECOVERED_CLAWBACK.value)
"""ledger_lines kinds that use up a deal's one clawback (RULES.md 11.5)."""

HISTORY_COLUMNS = (
    "period", "status", "tier", "earned_tier", "gross", "holdback", "loyalty_bonus",
    "carried_in", "holdback_released", "clawback", "net", "payable", "carried_forward",
)  # fmt: skip
"""A partner's row in each closed period, as `ledger --partner` shows it."""


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0))


def release_period(entry: Entry) -> Period:
    """When the entry's holdbacks come back: its period + K as configured at its close."""
    return entry.period().shifted(int(entry.document.get("holdback_release_after", 1)))


def period_lines(ledger: Ledger) -> list[dict[str, Any]]:
    """One line per closed period: closed at, partners, gross, payable, carried forward,
    holdback outstanding after it, clawbacks, and the entry's hash."""
    lines = []
    for index, entry in enumerate(ledger.entries):
        totals = entry.document.get("totals") or {}
        period = entry.period()
        outstanding = sum(
            (
                _money((earlier.document.get("totals") or {}).get("holdback"))
                for earlier in ledger.entries[: index + 1]
                if release_period(earlier) > period
            ),
            Decimal(0),
        )
        lines.append(
            {
                "entry": entry.name,
                "period": entry.period_label,
                "closed_at": entry.document.get("closed_at"),
                "partners": entry.document.get("partners"),
                "gross": f"{_money(totals.get('gross')):.2f}",
                "payable": f"{_money(totals.get('payable')):.2f}",
                "carried_forward": f"{_money(totals.get('carried_forward')):.2f}",
                "holdback_outstanding": f"{outstanding:.2f}",
                "clawbacks": f"{_money(totals.get('clawback')):.2f}",
                "sha256": entry.sha256,
            }
        )
    return lines


def _scan(entries: tuple[Entry, ...] | list[Entry], name: str) -> pl.LazyFrame | None:
    paths = [entry.folder / name for entry in entries]
    return pl.scan_parquet(paths) if paths else None


def open_balances(ledger: Ledger) -> pl.DataFrame:
    """partner_id -> carry (carried_forward of the last entry) and holdback outstanding (the
    holdbacks whose release period is after the last entry), for partners with either."""
    schema = {"partner_id": pl.String(), "carry": pl.Decimal(38, 2), "holdback": pl.Decimal(38, 2)}
    if not ledger.entries:
        return pl.DataFrame(schema=schema)
    last = ledger.entries[-1]
    carry = pl.scan_parquet(last.folder / PAYOUTS_PARQUET).select(
        "partner_id", pl.col("carried_forward").alias("carry")
    )
    outstanding = [e for e in ledger.entries if release_period(e) > last.period()]
    frames = [carry.with_columns(pl.lit(0).cast(pl.Decimal(38, 2)).alias("holdback"))]
    frames += [
        pl.scan_parquet(e.folder / PAYOUTS_PARQUET).select(
            "partner_id", pl.lit(0).cast(pl.Decimal(38, 2)).alias("carry"), "holdback"
        )
        for e in outstanding
    ]
    return (
        pl.concat(frames)
        .group_by("partner_id")
        .agg(pl.col("carry").sum(), pl.col("holdback").sum())
        .filter((pl.col("carry") != 0) | (pl.col("holdback") != 0))
        .sort("partner_id")
        .collect()
        .cast(schema)  # type: ignore[arg-type]
    )


def check_no_rejected_balances(
    ledger: Ledger, run_folder: Path, manifest: dict[str, Any], config: ProgramConfig
) -> None:
    """Refuse (exit 3) to close a quarantined run whose partners file lost rows while a
    partner missing from the run has an open balance (RULES.md 11.8): closing would forfeit
    the balance of a partner that was only dropped for bad data.

    rejected_rows.csv names a row's partner_id as written, which may be unreadable or
    mistyped, so every partner with an open balance and no row in the run is treated as
    possibly rejected (docs/ledger.md).
    """
    partners_file = next(
        (i["path"] for i in manifest.get("inputs", []) if i.get("source") == "partners"), None
    )
    rejected_path = run_folder / REJECTED_CSV
    if partners_file is None or not rejected_path.is_file():
        return
    rejected = pl.read_csv(rejected_path, infer_schema=False)
    if rejected.filter(pl.col("file") == partners_file).is_empty():
        return
    in_run = pl.read_parquet(run_folder / PAYOUTS_PARQUET, columns=["partner_id"])
    missing = open_balances(ledger).join(in_run, on="partner_id", how="anti")
    if missing.is_empty():
        return
    shown = ", ".join(
        f"{row['partner_id']} (carry {row['carry']}, holdback {row['holdback']})"
        for row in missing.head(10).iter_rows(named=True)
    )
    raise LedgerRefusedError(
        f"The run in {run_folder} set rows of the partners file aside (quarantine), and "
        f"{missing.height} partner(s) with an open balance in the ledger have no row in it: "
        f"{shown}. Closing would forfeit their balances. Fix the rows listed in "
        f"{REJECTED_CSV}, run again and close that run."
    )


@dataclass(frozen=True)
class PartnerReport:
    """One partner's closed periods and what is still open for it."""

    partner_id: str
    history: pl.DataFrame
    carry: Decimal
    holdbacks: pl.DataFrame
    clawable: pl.DataFrame
    streaks: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        return {
            "partner_id": self.partner_id,
            "history": self.history.to_dicts(),
            "carry": f"{self.carry:.2f}",
            "holdbacks_awaiting_release": self.holdbacks.to_dicts(),
            "clawable_deals": self.clawable.to_dicts(),
            "streaks": self.streaks,
        }


def partner_report(ledger: Ledger, config: ProgramConfig, partner_id: str) -> PartnerReport:
    """`ledger --partner ID`: history, carry, holdbacks awaiting release, deals that can
    still be clawed back and the loyalty streaks, as of the ledger's last entry."""
    is_partner = pl.col("partner_id") == partner_id
    history = _rows(ledger, PAYOUTS_PARQUET, is_partner, HISTORY_COLUMNS)
    last = ledger.entries[-1].period_label if ledger.entries else None
    last_row = history.filter(pl.col("period") == last)
    carry = _money(last_row["carried_forward"].sum()) if last_row.height else Decimal(0)
    return PartnerReport(
        partner_id=partner_id,
        history=history,
        carry=carry,
        holdbacks=_holdbacks(ledger, history),
        clawable=_clawable(ledger, config, is_partner),
        streaks=_streaks(ledger, config, history),
    )


def _rows(ledger: Ledger, file: str, condition: pl.Expr, columns: tuple[str, ...]) -> pl.DataFrame:
    scan = _scan(ledger.entries, file)
    if scan is None:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String()))
    return scan.filter(condition).select(columns).collect()


def _holdbacks(ledger: Ledger, history: pl.DataFrame) -> pl.DataFrame:
    """The partner's stored holdbacks not yet released after the last entry."""
    if not ledger.entries:
        return pl.DataFrame(schema={"period": pl.String(), "holdback": pl.String()})
    last = ledger.entries[-1].period()
    releases = {
        e.period_label: release_period(e).label for e in ledger.entries if release_period(e) > last
    }
    return (
        history.filter(pl.col("period").is_in(list(releases)) & (pl.col("holdback") != 0))
        .select("period", "holdback")
        .with_columns(pl.col("period").replace_strict(releases).alias("released_in"))
    )


def _clawable(ledger: Ledger, config: ProgramConfig, is_partner: pl.Expr) -> pl.DataFrame:
    """Deal bonuses (share > 0, not clawed back yet) whose clawback window reaches the next
    open period: a cancellation dated up to `clawback_within_days` after the deal's close
    can still arrive (RULES.md 11.5)."""
    columns = ("period", "deal_id", "customer_id", "close_date", "bonus")
    days = config.payout.clawback_within_days
    following = ledger.next_period()
    if days is None or following is None:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String()))
    bonuses = _rows(ledger, DEAL_BONUSES_PARQUET, is_partner & (pl.col("bonus") > 0), columns)
    used = _rows(
        ledger,
        LEDGER_LINES_PARQUET,
        is_partner & pl.col("kind").is_in(CLAWBACK_KINDS),
        ("deal_id",),
    )
    window_end = pl.col("close_date") + timedelta(days=days)
    return (
        bonuses.join(used, on="deal_id", how="anti")
        .with_columns(window_end.alias("clawable_until"))
        .filter(pl.col("clawable_until") >= following.start)
        .sort("close_date", "deal_id")
    )


def _streaks(ledger: Ledger, config: ProgramConfig, history: pl.DataFrame) -> list[dict[str, Any]]:
    """Per loyalty milestone: consecutive closed quarters, ending at the last entry, at its
    tier or above, and where the next payment falls if the partner keeps it (RULES.md 11.7)."""
    rank = {tier.name: i for i, tier in enumerate(config.tiers)}
    earned = dict(zip(history["period"], history["earned_tier"], strict=True))
    following = ledger.next_period()
    streaks = []
    for milestone in config.payout.loyalty:
        streak = 0
        for entry in reversed(ledger.entries):
            tier = earned.get(entry.period_label)
            if tier is None or rank.get(tier, -1) < rank[milestone.tier]:
                break
            streak += 1
        to_go = milestone.quarters - streak % milestone.quarters
        streaks.append(
            {
                "tier": milestone.tier,
                "quarters": milestone.quarters,
                "bonus": f"{Decimal(str(milestone.bonus)):.2f}",
                "streak": streak,
                "next_paid_in": None if following is None else following.shifted(to_go - 1).label,
                "quarters_to_go": to_go,
            }
        )
    return streaks
