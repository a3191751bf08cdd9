"""RULES.md 11.5 on rows older than the read window (issue 22): the usual CRM case turns the
deal itself into a cancellation and keeps its close_date. On the ledger's worked example,
D11 (closed 2026-02-10, L1's 4,400.00 share stored in 2026Q1's entry) is exported as
`cancelled` with the same close_date after 2026Q2 was closed; 2026Q3's window of dated rows
starts on 2026-04-02 (90 days of clawback look-back), yet the run must read the row and
claw the share back. The same for each kind of source: a CSV (rows filtered after
parsing), a typed Parquet file (the filter runs inside the scan) and a SQLite query
filtered with `:window_start` (docs/database.md)."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest
from test_ledger_example import LEDGER, cli, read_rows

DEALS_SOURCE = "  deals: {path: deals.csv}\n"
WINDOW_QUERY = (
    "select * from deals where close_date between :window_start and :window_end "
    "or close_date is null order by rowid"
)


def write_deals(folder: Path, kind: str, deals: pl.DataFrame) -> str:
    """Write the deals export as `kind`; returns the config line of its source."""
    if kind == "csv":
        deals.write_csv(folder / "deals.csv")
        return DEALS_SOURCE
    if kind == "parquet":
        typed = deals.with_columns(pl.col("close_date", "registered_on").str.to_date())
        typed.write_parquet(folder / "deals.parquet")
        return "  deals: {path: deals.parquet}\n"
    database = folder / "crm.db"
    database.unlink(missing_ok=True)
    with sqlite3.connect(database) as db:
        db.execute(f"create table deals ({', '.join(f'{c} text' for c in deals.columns)})")
        marks = ", ".join("?" for _ in deals.columns)
        db.executemany(f"insert into deals values ({marks})", deals.iter_rows())
    db.close()
    return f'  deals: {{uri: "sqlite:///crm.db", query: "{WINDOW_QUERY}"}}\n'


@pytest.mark.parametrize("kind", ["csv", "parquet", "sqlite"])
def test_a_deal_cancelled_with_its_old_close_date_is_clawed_back(tmp_path: Path, kind: str) -> None:
    example = tmp_path / "example"
    shutil.copytree(LEDGER, example)
    config = example / "program.yaml"
    deals = pl.read_csv(example / "deals.csv", infer_schema=False)
    source = write_deals(example, kind, deals)
    config.write_text(config.read_text().replace(DEALS_SOURCE, source))
    for period in ("2026Q1", "2026Q2"):
        out = tmp_path / period
        cli("run", "--config", str(config), "--period", period, "--out", str(out), "--quiet")
        cli("close", "--config", str(config), "--run", str(out), "--quiet")

    flipped = pl.when(pl.col("deal_id") == "D11").then(pl.lit("cancelled"))
    write_deals(example, kind, deals.with_columns(flipped.otherwise("stage").alias("stage")))
    out = tmp_path / "2026Q3"
    cli("run", "--config", str(config), "--period", "2026Q3", "--out", str(out), "--quiet")

    ledger = [r for r in read_rows(out / "exceptions.csv") if r["kind"] == "ledger"]
    clawed = [r for r in ledger if r["rule"] == "clawback"]
    assert [(r["partner_id"], r["deal_id"]) for r in clawed] == [("L1", "D11")]
    assert "cancelled by D11 on 2026-02-10" in clawed[0]["detail"]
    payouts = {r["partner_id"]: r for r in read_rows(out / "payouts.csv")}
    assert payouts["L1"]["clawback"] == "4400.00"
    with (out / "deal_bonuses.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert "D11" not in {row["deal_id"] for row in csv.DictReader(handle)}
