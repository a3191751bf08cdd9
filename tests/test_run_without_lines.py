"""`api.calculate_run(..., lines=False)`: a run that writes no statements lets go of the rows
behind the numbers before it writes (issue 28), and keeps everything it writes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from incentcalc import api
from incentcalc.config import SourceName

REPO = Path(__file__).resolve().parents[1]


def test_a_run_without_lines_keeps_what_it_writes_and_drops_the_rows_behind_it() -> None:
    start = api.start_run(REPO / "sample_data" / "program.yaml", "2026Q3", as_of=None,
                          recalculate=False)  # fmt: skip
    whole = api.calculate_run(start, quarantine=False, max_rejected=Decimal("0.01"))
    lean = api.calculate_run(start, quarantine=False, max_rejected=Decimal("0.01"), lines=False)
    for table in ("payouts", "kpis", "exceptions", "deal_bonuses", "ledger_lines", "details"):
        assert getattr(lean, table).equals(getattr(whole, table)), table
    assert lean.inputs.files == whole.inputs.files
    for name in (SourceName.DEALS, SourceName.NPS, SourceName.RENEWALS):
        assert name not in lean.inputs.frames
        assert lean.inputs[name].is_empty()
    for lines in ("deal_lines", "nps_lines", "renewal_lines"):
        got, full = getattr(lean, lines), getattr(whole, lines)
        assert isinstance(got, pl.LazyFrame)
        assert got.collect().is_empty()
        assert got.collect_schema() == full.collect_schema()
