"""Warnings a run gives about things that are allowed but probably wrong: a tier rate above
100% of the bonus base, a KPI weighted in a segment where no partner has a value for it this
period, and `--partners` ids that are not in scope (they get no statement).

They never stop a run (exit 0 with warnings, CLI.md); they are printed, listed in
`--json`, the manifest and summary.xlsx.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import polars as pl

from incentcalc.config import ProgramConfig
from incentcalc.ledger.basis import stranded_warnings
from incentcalc.result import QuarterResult

MAX_IDS_NAMED = 10
"""Unknown partner ids named in the warning; the rest are counted."""


def tier_rate_warnings(config: ProgramConfig) -> list[str]:
    """One warning per tier whose rate is above 1 (100% of the bonus base)."""
    return [
        f"tiers[{tier.name}].rate is {(tier.rate * 100).normalize():f}% of the bonus base. "
        "Rates are shares: "
        "write 0.035 for 3.5%."
        for tier in config.tiers
        if tier.rate > 1
    ]


def unused_weight_warnings(config: ProgramConfig, result: QuarterResult) -> list[str]:
    """A segment weights a KPI that none of its partners has a value for in the period:
    the weight is dropped (or scores 0) for everybody, which is rarely what was meant."""
    if result.payouts.is_empty():
        return []
    kpis = result.kpis.join(
        result.payouts.select("partner_id", "segment"), on="partner_id", how="inner"
    )
    has_value = kpis.group_by("segment", "kpi").agg((~pl.col("missing")).any().alias("any"))
    found = {(row[0], row[1]): row[2] for row in has_value.iter_rows()}
    period = result.period.label
    return [
        f"segments.{segment}.weights.{kpi} is {weight} but no {segment} partner has a {kpi} "
        f"value in {period}: the weight is dropped or scores 0 for all of them. Check the data "
        "or the weight."
        for segment, settings in config.segments.items()
        for kpi, weight in settings.weights.items()
        if weight > 0 and found.get((segment, kpi)) is False
    ]


def unknown_partner_warnings(selection: Sequence[str] | None, result: QuarterResult) -> list[str]:
    """`--partners` ids that are not in scope for the period (no statement is written)."""
    if selection is None:
        return []
    known = set(result.payouts["partner_id"].to_list())
    split = split_ids(selection, known)
    pieces = {piece.strip() for pid in split for piece in pid.split(",")}
    unknown = sorted({pid for pid in selection if pid not in known and pid not in pieces})
    warnings = [
        f"--partners split the id {pid!r} at its commas, so it got no statement: write it in "
        f"double quotes (--partners '\"{pid}\"') or one id per line in --partners-file"
        for pid in split
    ]
    if unknown:
        warnings.append(
            f"--partners: {len(unknown)} id(s) not in scope for {result.period.label}, no "
            f"statement written: {named_ids(unknown)}"
        )
    return warnings


def split_ids(selection: Sequence[str], known: set[str]) -> list[str]:
    """In-scope ids with commas that `selection` holds as their comma-separated pieces in a
    row (`--partners Mid Atlantic (MD, DE, DC)` without quotes), sorted."""
    found = []
    for pid in sorted(p for p in known if "," in p and p not in selection):
        pieces = [piece.strip() for piece in pid.split(",")]
        starts = range(len(selection) - len(pieces) + 1)
        if any(list(selection[i : i + len(pieces)]) == pieces for i in starts):
            found.append(pid)
    return found


def named_ids(ids: Sequence[str]) -> str:
    """The first MAX_IDS_NAMED ids, the rest counted: "P1, P2 and 12 more"."""
    named = ", ".join(ids[:MAX_IDS_NAMED])
    more = len(ids) - MAX_IDS_NAMED
    return f"{named} and {more} more" if more > 0 else named


def run_warnings(result: QuarterResult, selection: Sequence[str] | None) -> list[str]:
    """Every warning of this module for one run."""
    config = result.config
    totals = result.payouts.select(pl.col("holdback").sum(), pl.col("carried_forward").sum())
    holdback, carried = (Decimal(value or 0) for value in totals.row(0))
    return [
        *tier_rate_warnings(config),
        *unused_weight_warnings(config, result),
        *unknown_partner_warnings(selection, result),
        *stranded_warnings(config, holdback, carried),
    ]
