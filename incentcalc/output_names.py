"""File names inside a run's output folder (CLI.md "Outputs of run"), in one place that
everything writing or naming them can import."""

from __future__ import annotations

PAYOUTS_CSV = "payouts.csv"
PAYOUTS_PARQUET = "payouts.parquet"
KPIS_CSV = "kpis.csv"
KPIS_PARQUET = "kpis.parquet"
EXCEPTIONS_CSV = "exceptions.csv"
REJECTED_CSV = "rejected_rows.csv"
SUMMARY_XLSX = "summary.xlsx"
STATEMENTS_DIR = "statements"
MANIFEST_JSON = "manifest.json"
DEAL_BONUSES_CSV = "deal_bonuses.csv"
DEAL_BONUSES_PARQUET = "deal_bonuses.parquet"
LEDGER_LINES_PARQUET = "ledger_lines.parquet"

ENTRY_FILES = (PAYOUTS_PARQUET, DEAL_BONUSES_PARQUET, LEDGER_LINES_PARQUET, MANIFEST_JSON)
"""The files of a run that `close` copies byte for byte into the run's ledger entry."""
