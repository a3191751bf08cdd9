"""`incentcalc site` (SITE.md) through the console script: the pages and files it writes,
privacy over every partner folder, escaping, benchmarks only over large enough segments,
progress runs marked provisional, same bytes for the same run, and refusals."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from site_quarter import HOSTILE_ID, HOSTILE_NAME, PERIOD, incentcalc, site_run

from incentcalc.io.writers import write_csv
from incentcalc.site import build
from incentcalc.site.charts import VEGA_LITE_VERSION, vega_bundle
from incentcalc.site.partner_view import benchmarks
from incentcalc.site.run import read_site_run

__all__ = ["site_run"]  # the session fixture


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def partner_texts(folder: Path) -> str:
    """Every text file of a partner's folder (the Excel statement is the run's own)."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())
                     if p.suffix != ".xlsx")  # fmt: skip


def test_a_page_per_partner_with_its_csv_files_and_statement(
    site_run: Path, tmp_path: Path
) -> None:
    site = site_run / "site"
    payouts = pl.read_parquet(site_run / "payouts.parquet")
    deals = pl.read_parquet(site_run / "deal_bonuses.parquet")
    assert (site / "index.html").is_file()
    assert sorted(p.name for p in (site / "assets").iterdir()) == [
        "charts.js", "site.css", "site.js", "vega.js"]  # fmt: skip
    pages = sorted(p.name for p in (site / "partners").iterdir())
    assert pages == sorted(payouts["partner_id"].to_list())
    for pid in pages:
        folder = site / "partners" / pid
        own = deals.filter(pl.col("partner_id") == pid).sort("deal_id")
        if own.is_empty():
            assert not (folder / "deals.csv").exists()
        else:
            write_csv(own, tmp_path / "expected.csv")
            assert (folder / "deals.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
        statement = folder / f"statement-{PERIOD}.xlsx"
        assert statement.read_bytes() == (site_run / "statements" / f"{pid}.xlsx").read_bytes()


def test_every_page_number_is_the_runs(site_run: Path) -> None:
    site = site_run / "site"
    manifest = json.loads((site_run / "manifest.json").read_text(encoding="utf-8"))
    dashboard = (site / "index.html").read_text(encoding="utf-8")
    for column in ("gross", "net", "payable", "holdback", "carried_forward"):
        assert f"{Decimal(manifest['totals'][column]):,.2f} USD" in dashboard
    for row in pl.read_parquet(site_run / "payouts.parquet").iter_rows(named=True):
        page = (site / "partners" / row["partner_id"] / "index.html").read_text(encoding="utf-8")
        assert f'<dd class="amount">{row["payable"]:,.2f} USD</dd>' in page
        for column in ("bonus_base", "gross", "net", "carried_forward"):
            assert f"{row[column]:,.2f} USD" in page


def test_no_partner_folder_holds_anything_of_another_partner(site_run: Path) -> None:
    payouts = pl.read_parquet(site_run / "payouts.parquet")
    deals = pl.read_parquet(site_run / "deal_bonuses.parquet", columns=["deal_id", "partner_id"])
    names = dict(zip(payouts["partner_id"], payouts["partner_name"], strict=True))
    unique = payouts.filter(
        (pl.col("payable") >= 100) & (pl.col("payable").count().over("payable") == 1)
    )
    amounts = dict(zip(unique["partner_id"], unique["payable"], strict=True))
    for pid in names:
        text = partner_texts(site_run / "site" / "partners" / pid)
        for other, name in names.items():
            if other == pid:
                continue
            assert not re.search(rf"\b{re.escape(other)}\b", text), (pid, other)
            assert name not in text and html.escape(name) not in text, (pid, name)
            if other in amounts:
                amount = amounts[other]
                assert f"{amount:,.2f}" not in text and f"{amount}" not in text, (pid, other)
        for deal in deals.filter(pl.col("partner_id") != pid)["deal_id"]:
            assert not re.search(rf"\b{re.escape(deal)}\b", text), (pid, deal)


def test_text_from_the_inputs_is_escaped(site_run: Path) -> None:
    for page in (site_run / "site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert HOSTILE_NAME not in text
    page = (site_run / "site" / "partners" / HOSTILE_ID / "index.html").read_text(encoding="utf-8")
    assert html.escape(HOSTILE_NAME, quote=False) in page


def test_benchmarks_only_over_segments_of_the_minimum_size(site_run: Path) -> None:
    run = read_site_run(site_run)
    sizes = (
        run.kpis.filter(pl.col("value").is_not_null() & ~pl.col("missing"))
        .join(run.payouts.select("partner_id", "segment"), on="partner_id")
        .group_by("segment", "kpi")
        .len()
    )
    smallest, largest = int(sizes["len"].min()), int(sizes["len"].max())  # type: ignore[arg-type]
    assert benchmarks(run, largest + 1).is_empty()
    shown = benchmarks(run, smallest + 1)
    assert shown["peers"].min() >= smallest + 1  # type: ignore[operator]
    everything = benchmarks(run, 1)
    assert everything.height == sizes["len"].sum()
    assert everything["percentile"].is_between(1, 100).all()
    assert (everything["q1"] <= everything["median"]).all()
    assert (everything["median"] <= everything["q3"]).all()


def test_the_same_run_gives_the_same_bytes(site_run: Path, tmp_path: Path) -> None:
    incentcalc("site", "--run", site_run, "--out", tmp_path / "again", "--quiet")
    assert tree_digest(tmp_path / "again") == tree_digest(site_run / "site")


def test_a_progress_run_says_provisional_on_every_page(site_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "progress"
    shutil.copytree(site_run, run, ignore=shutil.ignore_patterns("site"))
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest["as_of"] = "2026-08-15"
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = incentcalc("site", "--run", run, "--json")
    assert json.loads(result.stdout)["provisional"] is True
    pages = list((run / "site").rglob("index.html"))
    assert len(pages) == len(list((run / "site" / "partners").iterdir())) + 1
    for page in pages:
        assert "Progress to 2026-08-15, provisional." in page.read_text(encoding="utf-8")
    routes = [p.read_text(encoding="utf-8") for p in pages]
    assert any("by 30 Sep 2026:" in text for text in routes)


def test_run_with_site_builds_it_into_the_run_folder(site_run: Path, tmp_path: Path) -> None:
    manifest = json.loads((site_run / "manifest.json").read_text(encoding="utf-8"))
    out = tmp_path / "run"
    incentcalc("run", "--config", manifest["config"]["path"], "--period", PERIOD, "--out", out,
               "--no-statements", "--site", "--quiet")  # fmt: skip
    site = out / "site"
    assert (site / "index.html").is_file()
    assert len(list((site / "partners").iterdir())) == manifest["partners"]


def test_refusals_say_what_to_do(site_run: Path, tmp_path: Path) -> None:
    missing = incentcalc("site", "--run", tmp_path, check=False)
    assert missing.returncode == 2
    assert "not a readable run folder" in missing.stderr or "not a readable" in missing.stdout
    exists = incentcalc("site", "--run", site_run, check=False)
    assert exists.returncode == 3 and "--force" in exists.stdout + exists.stderr
    moved = tmp_path / "moved"
    shutil.copytree(site_run, moved, ignore=shutil.ignore_patterns("site"))
    manifest = json.loads((moved / "manifest.json").read_text(encoding="utf-8"))
    manifest["config"]["sha256"] = "0" * 64
    (moved / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    changed = incentcalc("site", "--run", moved, check=False)
    assert changed.returncode == 2
    assert "changed after the run" in changed.stdout + changed.stderr
    assert not (moved / "site").exists()


def test_the_shipped_vega_bundle_is_vl_converts() -> None:
    vl_convert = pytest.importorskip("vl_convert")
    shipped = vega_bundle()
    assert shipped == vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    assert "window.vegaEmbed=" in shipped and "http" not in shipped.split("window.vegaEmbed=")[1]


def test_worker_processes_write_the_same_site(
    site_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "IN_PROCESS_LIMIT", 0)
    pages = build.write_site(read_site_run(site_run), tmp_path / "site", workers=2)
    assert pages == pl.read_parquet(site_run / "payouts.parquet").height
    assert tree_digest(tmp_path / "site") == tree_digest(site_run / "site")
