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
