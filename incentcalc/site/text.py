"""Numbers as the pages write them: exact decimals to text, never through a float.

Money and KPI values reuse the statement's wording (`statements.partner`), so a partner reads
the same "8,000.00 USD" and "92.5%" in the workbook and on the page.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from incentcalc.result import Status
from incentcalc.statements.partner import money, plain, value_text

__all__ = [
    "STATUS_WORDS",
    "chart_number",
    "count",
    "money",
    "percent",
    "plain",
    "share",
    "value_text",
]

STATUS_WORDS: dict[str, str] = {
    Status.PAYABLE: "Payable",
    Status.BELOW_MINIMUM: "Below minimum",
    Status.NEGATIVE: "Negative",
    Status.HELD: "Held",
    Status.INELIGIBLE: "Ineligible",
}


def percent(ratio: Decimal | None, places: int = 1) -> str:
    """A ratio as a percentage with `places` decimals: 1.6674 -> '166.7%'; None -> '-'."""
    if ratio is None:
        return "-"
    unit = Decimal(1).scaleb(-places)
    return f"{(ratio * 100).quantize(unit, rounding=ROUND_HALF_UP):,}%"


def share(ratio: Decimal) -> str:
    """A factor as written in the manifest (6 places): 0.908715."""
    return f"{ratio:.6f}"


def count(number: int) -> str:
    """A count with thousands separators: 20000 -> '20,000'."""
    return f"{number:,}"


def chart_number(value: Decimal | None) -> str | None:
    """A chart's datum: the exact decimal as text (the chart spec turns it into a number in
    the browser), None when there is none."""
    return None if value is None else f"{value:f}"
