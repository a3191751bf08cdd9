"""`explain`: one partner's whole calculation as data, so a finance user can answer "why is
my payout X" without reading code. Rendering lives in `report_explain`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from incentcalc.config import Metric, ProgramConfig, ScoreCurve, SourceName
from incentcalc.engine.findings import REJECTED_LINE
from incentcalc.errors import UsageError
from incentcalc.money import minor_unit
from incentcalc.periods import progress_title
from incentcalc.result import QuarterResult

DEAL_METRICS = frozenset(
    {
        Metric.REVENUE,
        Metric.EXPANSION_REVENUE,
        Metric.WON_DEALS,
        Metric.NEW_LOGOS,
        Metric.WIN_RATE,
        Metric.AVG_DEAL_SIZE,
    }
)
RENEWAL_METRICS = frozenset(
    {Metric.GROSS_RENEWAL_RATE, Metric.NET_REVENUE_RETENTION, Metric.LOGO_RETENTION}
)


def _plain(value: Any) -> Any:
    """JSON-friendly scalars: decimals and dates as text."""
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The rows as `_plain` dicts. Dates and decimals of up to 6 places are turned into text
    by Polars (the same text as `str`, and 10x faster on a partner with 16,000 deals); a
    decimal with more places may print as ``0E-18`` in Python, so it keeps `_plain`."""
    as_text = [name for name, dtype in frame.schema.items() if _text_as_in_python(dtype)]
    frame = frame.with_columns(pl.col(as_text).cast(pl.String()))
    if all(_python_scalar(dtype) for dtype in frame.schema.values()):
        return frame.to_dicts()
    return [{k: _plain(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def _text_as_in_python(dtype: pl.DataType) -> bool:
    """Polars writes this type as `str` writes the Python value."""
    return isinstance(dtype, pl.Date) or (isinstance(dtype, pl.Decimal) and dtype.scale <= 6)


def _python_scalar(dtype: pl.DataType) -> bool:
    """Polars hands out values of this type as JSON-ready Python scalars."""
    return dtype.is_integer() or dtype.is_float() or dtype in (pl.String, pl.Boolean, pl.Null)


def describe_curve(curve: ScoreCurve) -> str:
    """The score curve in words, e.g. ``attainment: 0 below 0.5, capped at 1.5``."""
    if curve.attainment is not None:
        limit = curve.attainment.cap
        capped = f", capped at {limit}" if limit is not None else ""
        return f"attainment = value / target: 0 below {curve.attainment.threshold}{capped}"
    if curve.linear is not None:
        line = curve.linear
        cap = f", capped at {line.cap}" if line.cap is not None else ""
        return f"linear: (value - {line.floor}) / ({line.target} - {line.floor}), at least 0{cap}"
    steps = ", ".join(f">= {bound}: {score}" for bound, score in curve.steps or [])
    return f"steps: {steps} (0 below the first)"


def _line_summary(lines: pl.DataFrame) -> dict[str, int]:
    """How many rows behind a KPI were counted, and why the others were not."""
    reason = pl.col("note").str.split(":").list.first().str.split(";").list.first()
    counts = lines.group_by(reason.alias("why")).len().sort("why")
    return {str(why): int(n) for why, n in counts.iter_rows()}


def _kpi_entries(
    result: QuarterResult, partner_id: str, lines: dict[str, pl.DataFrame]
) -> list[dict[str, Any]]:
    config: ProgramConfig = result.config
    read_from = {file.name.value: str(file.path) for file in result.inputs.files}
    entries = []
    for row in result.kpis.filter(pl.col("partner_id") == partner_id).iter_rows(named=True):
        definition = config.kpis[row["kpi"]]
        metric = definition.metric
        source = (
            "deals"
            if metric in DEAL_METRICS
            else "renewals"
            if metric in RENEWAL_METRICS
            else "nps"
        )
        entry = {
            key: _plain(value) for key, value in row.items() if key not in {"period", "partner_id"}
        }
        entry["curve"] = describe_curve(definition.score)
        entry["when_missing"] = definition.when_missing.value
        entry["rows_behind"] = {"source": source, **_line_summary(lines[source])}
        entry["rows_from"] = read_from.get(source)
        entries.append(entry)
    return entries


LEDGER_STEPS = (
    ("loyalty_bonus", "loyalty bonus"),
    ("carried_in", "carried in"),
    ("holdback_released", "holdback released"),
    ("clawback", "clawback"),
)
"""The net's ledger lines (RULES.md 11) as explain names them, in the net formula's order."""


def _ledger_steps(
    payout: dict[str, Any], notes: list[dict[str, Any]]
) -> list[tuple[str, Any, str]]:
    """One step per ledger line with where its amount came from, e.g. carried in: -64.00
    (carried in from 2026Q1 (status negative there))."""
    steps = []
    for column, name in LEDGER_STEPS:
        sources = [n["note"] for n in notes if n["line"] == column]
        steps.append((name, payout[column], "; ".join(sources) or "none"))
    return steps


def _payout_steps(
    payout: dict[str, Any],
    config: ProgramConfig,
    adjustments: list[dict[str, Any]],
    notes: list[dict[str, Any]],
) -> list[dict[str, str]]:
    rules = config.payout
    steps = [
        (
            "bonus base",
            payout["bonus_base"],
            f"value of KPI `{rules.base}` in {config.program.base_currency}",
        ),
        (
            "individual bonus",
            payout["individual_bonus"],
            f"round({rules.individual_share} x base x {payout['tier']} rate)",
        ),
        (
            "team bonus",
            payout["team_bonus"],
            f"round({rules.team_share} x base x team tier {payout['team_tier']} rate)",
        ),
        ("fixed bonus", payout["fixed_bonus"], f"fixed amount of tier {payout['tier']}"),
        ("gross before cap", payout["gross_uncapped"], "individual + team + fixed"),
        (
            "gross after cap",
            payout["gross_capped"],
            "cap applied" if payout["cap_applied"] else "cap not reached or none",
        ),
        ("gross", payout["gross"], f"budget factor {payout['budget_factor']}"),
        ("holdback", payout["holdback"], f"round(gross x {rules.holdback_pct})"),
        (
            "adjustments",
            payout["adjustments"],
            "; ".join(
                f"{a['adjustment_id']} {a['amount']}: {a['reason']} "
                f"(approved by {a['approved_by']})"
                for a in adjustments
            )
            or "none",
        ),
        *_ledger_steps(payout, notes),
        (
            "net",
            payout["net"],
            "gross - holdback + adjustments + loyalty bonus + carried in + holdback released "
            "- clawback",
        ),
        (
            "payable",
            payout["payable"],
            f"status {payout['status']}" + (f": {payout['reason']}" if payout["reason"] else ""),
        ),
        ("carried forward", payout["carried_forward"], f"min payout {rules.min_payout}"),
        (
            "payable in " + payout["payout_currency"],
            _local_amount(payout["payable_local"], payout["payout_currency"]),
            f"round(payable / {payout['fx_rate']}) to the currency's minor unit",
        ),
    ]
    return [{"step": name, "amount": str(amount), "how": how} for name, amount, how in steps]


def _local_amount(amount: Decimal | str, currency: str) -> Decimal:
    """payable_local shown with exactly its currency's minor unit (JPY 1107692, GBP 5400.00)."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-minor_unit(currency)))


def used_sources(config: ProgramConfig) -> set[str]:
    """The row sources the program's KPIs read: deals always (the bonus base), nps and
    renewals only with a KPI on them (explain shows no table for a source not used)."""
    used = {"deals"}
    for kpi in config.kpis.values():
        if kpi.metric in RENEWAL_METRICS:
            used.add("renewals")
        elif kpi.metric not in DEAL_METRICS:
            used.add("nps")
    return used


def _rejected(result: QuarterResult, partner_id: str) -> list[dict[str, Any]]:
    """The partner's rows quarantine set aside, each with every failure of the row."""
    own = result.inputs.rejected.filter(pl.col("partner_id") == partner_id)
    return _rows(own.select("source", "file", "row", "record_id", "column", "value", "rule"))


def _deal_order(deals: pl.DataFrame) -> pl.DataFrame:
    """Counted deals first, then deals excluded by an integrity rule (with the reason), then
    the rest (open, lost, outside the period), each group by deal_id: the deals behind the
    revenue are the first rows a person sees."""
    group = (
        pl.when(pl.col("counted"))
        .then(0)
        .when(pl.col("note").str.starts_with("excluded"))
        .then(1)
        .otherwise(2)
    )
    return deals.sort(group, "deal_id")


def _not_calculated(result: QuarterResult, partner_id: str) -> dict[str, Any] | None:
    """The document of a partner whose partners row quarantine rejected: not calculated,
    the row and why (None when the partner has no rejected partners row)."""
    rows = [r for r in _rejected(result, partner_id) if r["source"] == SourceName.PARTNERS]
    if not rows:
        return None
    return {
        "command": "explain",
        "program": result.config.program.name,
        "period": result.period.label,
        "partner": {"partner_id": partner_id},
        "calculated": False,
        "why": f"its partners row {rows[0]['row']} was set aside by --quarantine, so it is "
        "not calculated this period; fix the row and run again",
        "rejected_rows": _rejected(result, partner_id),
    }


def explain_partner(result: QuarterResult, partner_id: str) -> dict[str, Any]:
    """Everything behind one partner's payout row, as a JSON-able document. Only what the
    program uses is in it: the tables of the sources its KPIs read, and the partner's rows
    quarantine set aside (`rejected_rows`) when there are any."""
    match = result.payouts.filter(pl.col("partner_id") == partner_id)
    if match.is_empty() and (not_calculated := _not_calculated(result, partner_id)) is not None:
        return not_calculated
    if match.is_empty():
        raise UsageError(
            f"Partner {partner_id!r} is not in scope for {result.period.label}: it is not in the "
            "partners file, joined after the period or left before it. Check the id "
            "(ids are case-sensitive)."
        )
    payout = {k: _plain(v) for k, v in match.row(0, named=True).items()}
    detail = _rows(result.details.filter(pl.col("partner_id") == partner_id))[0]
    own = pl.col("partner_id") == partner_id
    bonuses = result.deal_bonuses.filter(own).select("deal_id", "bonus")
    lines = {
        "deals": _deal_order(result.deal_lines.filter(own).collect()).join(
            bonuses, on="deal_id", how="left", maintain_order="left"
        ),
        "nps": result.nps_lines.filter(own).sort("response_id").collect(),
        "renewals": result.renewal_lines.filter(own).sort("contract_id", "due_date").collect(),
    }
    adjustments = _rows(
        result.inputs[SourceName.ADJUSTMENTS].filter(
            own & (pl.col("period") == result.period.label)
        )
    )
    notes = _rows(result.ledger_notes.filter(own & (pl.col("line") != REJECTED_LINE)))
    tier = next(t for t in result.config.tiers if t.name == payout["tier"])
    team = None
    if payout["team_id"]:
        members = result.payouts.filter(pl.col("team_id") == payout["team_id"]).select(
            "partner_id", "status", "composite_score", "bonus_base"
        )
        team = {"team_id": payout["team_id"], "team_score": payout["team_score"],
                "team_tier": payout["team_tier"], "members": _rows(members)}  # fmt: skip
    used = used_sources(result.config)
    return {
        "command": "explain",
        "program": result.config.program.name,
        "period": result.period.label,
        "as_of": None if result.period.as_of is None else result.period.as_of.isoformat(),
        "progress": progress_title(result.period.as_of),
        "partner": {**payout, **detail},
        "kpis": _kpi_entries(result, partner_id, lines),
        "composite_score": payout["composite_score"],
        "tier": {
            "name": tier.name,
            "min_score": str(tier.min_score),
            "perks": tier.perks,
            "blocked_by": detail["blocked_by"],
            "earned": payout["earned_tier"],
            "grace": next((n["note"] for n in notes if n["line"] == "tier"), None),
        },
        "team": team,
        "payout_steps": _payout_steps(payout, result.config, adjustments, notes),
        "ledger": notes,
        "exceptions": _rows(result.exceptions.filter(own)),
        "deals": _rows(lines["deals"]),
        **({"nps_responses": _rows(lines["nps"])} if "nps" in used else {}),
        **({"renewals": _rows(lines["renewals"])} if "renewals" in used else {}),
        **({"rejected_rows": rejected} if (rejected := _rejected(result, partner_id)) else {}),
    }
