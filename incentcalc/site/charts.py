"""The site's charts as Vega-Lite specs built with Altair, and the scripts that draw them.

Each spec reads a named dataset `values` that the page carries next to the chart (the same rows
as the chart's table, numbers as exact decimal text that the spec turns into numbers in the
browser). The specs are the same for every page, so they are written once into
`assets/charts.js`, beside the Vega, Vega-Lite and vega-embed bundle made by vl-convert
(`vega_bundle`; nothing is fetched from a CDN). Colours are the Okabe-Ito palette, which
readers with any common colour-vision deficiency can tell apart.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt

VEGA_LITE_VERSION = "6.4"
"""The Vega-Lite of the bundle, matching the schema Altair writes."""

VEGA_BUNDLE = "vega.js"

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
BAR = OKABE_ITO[0]
TEXT = "#1a1a1a"

DATA = alt.NamedData("values")


def _number(*fields: str) -> dict[str, str]:
    """Calculate transforms turning the decimal text of `fields` into numbers."""
    return {field: f"toNumber(datum.{field})" for field in fields}


MONEY_FORMAT = ",.2f"
COUNT_FORMAT = ",d"


def _bars(
    category: str,
    title: str,
    value: str,
    value_title: str,
    description: str,
    number_format: str = COUNT_FORMAT,
) -> alt.TopLevelMixin:
    """Horizontal bars with their value written at the end."""
    base = (
        alt.Chart(DATA, description=description)
        .transform_calculate(**_number(value))
        .encode(
            y=alt.Y(f"{category}:N", title=title, sort=None),
            x=alt.X(f"{value}:Q", title=value_title),
        )
    )
    return alt.layer(
        base.mark_bar(color=BAR),
        base.mark_text(align="left", dx=4, color=TEXT).encode(
            text=alt.Text(f"{value}:Q", format=number_format)
        ),
        _room(base, value),
    ).properties(width="container")


def _room(base: alt.Chart, value: str) -> alt.Chart:
    """An invisible point a quarter beyond each bar, so the scale leaves room for the number
    written after the longest bar."""
    room: alt.Chart = (
        base.transform_calculate(room=f"datum.{value} * 1.25")
        .mark_point(opacity=0)
        .encode(x=alt.X("room:Q"))
    )
    return room


def _specs() -> dict[str, alt.TopLevelMixin]:
    scores = alt.Chart(DATA, description="Each KPI's score").transform_calculate(**_number("score"))
    kpi_axis = alt.Y("kpi:N", title="KPI", sort=None)
    kpis = alt.layer(
        scores.mark_bar(color=BAR).encode(y=kpi_axis, x=alt.X("score:Q", title="Score")),
        scores.mark_text(align="left", dx=4, color=TEXT).encode(
            y=kpi_axis, x="score:Q", text="label:N"
        ),
        scores.transform_calculate(room="datum.score * 2 + 0.5")
        .mark_point(opacity=0)
        .encode(y=kpi_axis, x="room:Q"),
        alt.Chart(alt.Data(values=[{"target": 1}]))
        .mark_rule(color=OKABE_ITO[5], strokeDash=[4, 3], strokeWidth=2)
        .encode(x="target:Q"),
    ).properties(width="container")
    trend = (
        alt.Chart(DATA, description="Payable in each quarter, coloured by tier")
        .transform_calculate(**_number("value"))
        .mark_bar()
        .encode(
            x=alt.X("period:N", title="Quarter", sort=None),
            y=alt.Y("value:Q", title="Payable"),
            color=alt.Color("tier:N", title="Tier", scale=alt.Scale(range=list(OKABE_ITO))),
        )
        .properties(width="container")
    )
    percentile = (
        alt.Chart(DATA, description="Your percentile in your segment for each KPI")
        .transform_calculate(**_number("percentile"))
        .encode(
            y=alt.Y("kpi:N", title="KPI", sort=None),
            x=alt.X(
                "percentile:Q", title="Percentile in segment", scale=alt.Scale(domain=[0, 100])
            ),
        )
    )
    benchmark = alt.layer(
        percentile.mark_bar(color=BAR),
        percentile.mark_text(align="left", dx=4, color=TEXT).encode(text="percentile:Q"),
    ).properties(width="container")
    histogram = (
        alt.Chart(DATA, description="Number of partners per band of payable")
        .transform_calculate(**_number("value"))
        .mark_bar(color=BAR)
        .encode(
            x=alt.X("band:N", title="Payable", sort=None, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("value:Q", title="Partners"),
        )
        .properties(width="container")
    )
    migration_base = (
        alt.Chart(DATA, description="Partners by tier in the previous quarter and now")
        .transform_calculate(**_number("partners"))
        .transform_joinaggregate(most="max(partners)")
        .encode(
            y=alt.Y("before:N", title="Tier before", sort=None),
            x=alt.X("now:N", title="Tier now", sort=None, axis=alt.Axis(labelAngle=0)),
        )
    )
    dark_cell = alt.datum.partners > alt.datum.most / 2
    migration = alt.layer(
        migration_base.mark_rect().encode(
            color=alt.Color("partners:Q", title="Partners", scale=alt.Scale(scheme="blues"))
        ),
        migration_base.mark_text(fontWeight="bold").encode(
            text="partners:Q",
            color=alt.condition(dark_cell, alt.value("#ffffff"), alt.value(TEXT)),
        ),
    ).properties(width="container")
    quarters = _bars("period", "Quarter", "value", "Payable", "Payable per quarter", MONEY_FORMAT)
    return {
        "kpis": kpis,
        "trend": trend,
        "benchmark": benchmark,
        "tiers_partners": _bars("tier", "Tier", "partners_value", "Partners", "Partners per tier"),
        "tiers_payable": _bars(
            "tier", "Tier", "value", "Payable", "Payable per tier", MONEY_FORMAT
        ),
        "statuses": _bars("status", "Status", "value", "Partners", "Partners per status"),
        "histogram": histogram,
        "migration": migration,
        "quarters": quarters,
        "integrity": _bars("rule", "Rule", "value", "Hits", "Integrity hits per rule"),
    }


LOOK = {
    "autosize": {"type": "fit-x", "contains": "padding"},
    "config": {
        "view": {"continuousHeight": 220, "stroke": None},
        "axis": {"labelFontSize": 12, "titleFontSize": 13, "labelColor": TEXT,
                 "titleColor": TEXT, "labelLimit": 220},
        "legend": {"labelFontSize": 12, "titleFontSize": 13},
        "text": {"fontSize": 12},
    },
}  # fmt: skip
"""Every chart: as wide as its container, readable type, dark text."""


@cache
def chart_specs() -> dict[str, dict[str, Any]]:
    """Every chart's Vega-Lite spec by name."""
    return {name: {**chart.to_dict(), **LOOK} for name, chart in _specs().items()}


def charts_script() -> str:
    """assets/charts.js: the specs as one global the page script reads."""
    text = json.dumps(chart_specs(), sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return f"window.incentcalcCharts = {text};\n"


def vega_bundle() -> str:
    """`javascript_bundle(vl_version=VEGA_LITE_VERSION)` of vl-convert-python 1.9: Vega,
    Vega-Lite and vega-embed in one script (BSD-3-Clause), shipped as package data so a build
    does not spend seconds bundling it; `make vega-bundle` writes it again and a test keeps
    it equal to vl-convert's."""
    return (Path(__file__).parent / "static" / VEGA_BUNDLE).read_text(encoding="utf-8")
