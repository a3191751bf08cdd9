"""`incentcalc site`: write the static site of a finished run (SITE.md).

Layout: `index.html` (the dashboard) and `assets/` at the top, one folder per in-scope partner
under `partners/<id>/` with its `index.html`, `deals.csv` and `exceptions.csv` (when it has
such rows) and (when the run wrote it) its Excel statement. A partner's folder holds only
that partner's rows and the segment aggregates of the benchmark, so it can be published with
`assets/` alone.

Pages come from Jinja2 templates with autoescaping; nothing on a page depends on when or where
it was built, so the same run gives the same bytes.
"""

from __future__ import annotations

import csv
import multiprocessing
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from incentcalc.engine.tier_history import next_milestones
from incentcalc.history import History
from incentcalc.io.names import safe_file_stems
from incentcalc.io.writers import formula_safe_frame, locked_output
from incentcalc.result import Status
from incentcalc.site.charts import charts_script
from incentcalc.site.dashboard_view import dashboard_view
from incentcalc.site.partner_view import PartnerRows, benchmarks, partner_view
from incentcalc.site.run import SiteRun, read_site_run
from incentcalc.statements.parallel import default_workers

PARTNERS_DIR = "partners"
ASSETS_DIR = "assets"
DEALS_CSV = "deals.csv"
EXCEPTIONS_CSV = "exceptions.csv"
STATIC_FILES = ("site.css", "site.js", "vega.js")

IN_PROCESS_LIMIT = 1_000
"""Up to this many partner pages are written without starting worker processes."""

CHUNKS_PER_WORKER = 8
"""Chunks per worker, so the workers finish close together."""


@dataclass(frozen=True)
class SiteSummary:
    """What `site` reports: where the site is and how many partner pages it has."""

    folder: Path
    partner_pages: int
    provisional: bool


def build_site(run_dir: Path, out: Path | None, *, force: bool) -> SiteSummary:
    """Read the run in `run_dir` and write its site atomically to `out` (default
    `run_dir/site`)."""
    run = read_site_run(run_dir)
    target = out if out is not None else run_dir / "site"
    with locked_output(target, force=force, many_files=True) as folder:
        pages = write_site(run, folder.path)
    return SiteSummary(target, pages, run.as_of is not None)


def templates() -> jinja2.Environment:
    """The page templates, escaping every value (a partner named `<script>` stays text)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("incentcalc.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # loaded once per build: no stat() of every template per page
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment


def write_site(run: SiteRun, root: Path, workers: int | None = None) -> int:
    """Write the site of `run` into the (new, empty or absent) folder `root`; returns the
    number of partner pages. Large sites write their partner pages in `workers` processes
    (default: the CPUs this process may use)."""
    root.mkdir(parents=True, exist_ok=True)
    _write_assets(root / ASSETS_DIR)
    tables = partner_tables(run)
    links = {
        pid: f"{PARTNERS_DIR}/{stem}/index.html"
        for pid, stem in zip(tables.payouts["partner_id"], tables.stems, strict=True)
    }
    dashboard = templates().get_template("dashboard.html")
    view = dashboard_view(run, links)
    _write_text(root / "index.html", dashboard.render(page=_page_context(run), view=view))
    total = tables.payouts.height
    count = workers if workers is not None else default_workers()
    if count < 2 or total <= IN_PROCESS_LIMIT:
        return write_partner_chunk(run, tables, str(root))
    light = _without_tables(run)
    size = -(-total // (count * CHUNKS_PER_WORKER))
    with ProcessPoolExecutor(max_workers=count, mp_context=_context()) as pool:
        futures = [
            pool.submit(write_partner_chunk, light, tables.chunk(start, start + size), str(root))
            for start in range(0, total, size)
        ]
        return sum(future.result() for future in futures)


def write_partner_chunk(run: SiteRun, tables: PartnerTables, root: str) -> int:
    """The folders of the partners in `tables`: page, CSV files, statement; returns how many."""
    partner = templates().get_template("partner.html")
    page = _page_context(run)
    peers = run.config.site.min_peer_group
    partners = Path(root) / PARTNERS_DIR
    for stem, rows in zip(tables.stems, tables.rows(), strict=True):
        folder = partners / stem
        folder.mkdir(parents=True)
        statement = _copy_statement(run, stem, folder)
        view = partner_view(run, rows, statement=statement, peer_minimum=peers)
        _write_text(folder / "index.html", partner.render(page=page, view=view))
    _write_partner_csvs(tables, partners)
    return tables.payouts.height


def _context() -> multiprocessing.context.BaseContext:
    """Workers forked from a forkserver (never from this process, whose Polars threads are
    running: forking them can deadlock), else spawned."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _without_tables(run: SiteRun) -> SiteRun:
    """`run` as a worker needs it (config, period, manifest): its tables travel in chunks."""
    return replace(
        run,
        payouts=run.payouts.clear(),
        kpis=run.kpis.clear(),
        deal_bonuses=run.deal_bonuses.clear(),
        exceptions=run.exceptions.clear(),
        ledger_lines=run.ledger_lines.clear(),
        history=History.empty(),
    )


def _page_context(run: SiteRun) -> dict[str, Any]:
    """What every page's frame says: program, period, provisional or recalculated."""
    as_of = run.as_of
    return {
        "program": run.config.program.name,
        "period": run.period.label,
        "period_start": run.period.start.isoformat(),
        "period_end": run.period.end.isoformat(),
        "as_of": None if as_of is None else as_of.isoformat(),
        "recalculation": run.recalculation,
        "base_currency": run.base_currency,
        "min_peer_group": run.config.site.min_peer_group,
    }


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _write_assets(folder: Path) -> None:
    folder.mkdir()
    _write_text(folder / "charts.js", charts_script())
    static = Path(__file__).parent / "static"
    for name in STATIC_FILES:
        shutil.copyfile(static / name, folder / name)


def _by_partner(rows: Iterable[dict[str, Any]]) -> defaultdict[str, list[dict[str, Any]]]:
    grouped: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["partner_id"]].append(row)
    return grouped


@dataclass(frozen=True)
class PartnerTables:
    """The rows partner pages show, all partners or a chunk of them: payouts (in page order)
    with each partner's folder name (`stems`), and the other tables' rows of those partners,
    in the order the pages list them."""

    payouts: pl.DataFrame
    stems: list[str]
    kpis: pl.DataFrame
    deals: pl.DataFrame
    exceptions: pl.DataFrame
    ledger_lines: pl.DataFrame
    history: pl.DataFrame
    benchmark: pl.DataFrame
    milestones: pl.DataFrame

    def chunk(self, start: int, stop: int) -> PartnerTables:
        """The partners from position `start` to `stop` (excluded) and their rows."""
        payouts = self.payouts.slice(start, stop - start)
        mine = pl.col("partner_id").is_in(payouts["partner_id"].implode())
        return PartnerTables(
            payouts=payouts,
            stems=self.stems[start:stop],
            **{
                name: getattr(self, name).filter(mine)
                for name in ("kpis", "deals", "exceptions", "ledger_lines", "history",
                             "benchmark", "milestones")
            },
        )  # fmt: skip

    def rows(self) -> Iterator[PartnerRows]:
        """Each partner's rows, in payouts order."""
        kpis = _by_partner(self.kpis.iter_rows(named=True))
        deals = _by_partner(self.deals.iter_rows(named=True))
        exceptions = _by_partner(self.exceptions.iter_rows(named=True))
        lines = _by_partner(self.ledger_lines.iter_rows(named=True))
        history = _by_partner(self.history.iter_rows(named=True))
        peers = _by_partner(self.benchmark.iter_rows(named=True))
        milestones = _by_partner(self.milestones.iter_rows(named=True))
        for payout in self.payouts.iter_rows(named=True):
            pid = payout["partner_id"]
            yield PartnerRows(
                payout=payout,
                kpis=kpis.get(pid, []),
                deals=deals.get(pid, []),
                exceptions=exceptions.get(pid, []),
                ledger_lines=lines.get(pid, []),
                history=history.get(pid, []),
                benchmark=peers.get(pid, []),
                milestones=[row["note"] for row in milestones.get(pid, [])],
            )


def partner_tables(run: SiteRun) -> PartnerTables:
    """Every partner's rows of the run, the closed quarters, benchmarks and milestones."""
    return PartnerTables(
        payouts=run.payouts,
        stems=safe_file_stems(run.payouts["partner_id"]).to_list(),
        kpis=run.kpis,
        deals=run.deal_bonuses.sort(
            ["partner_id", "bonus", "deal_id"], descending=[False, True, False]
        ),
        exceptions=run.exceptions,
        ledger_lines=run.ledger_lines,
        history=run.history.closed_payouts(),
        benchmark=benchmarks(run, run.config.site.min_peer_group),
        milestones=_milestones(run),
    )


def _milestones(run: SiteRun) -> pl.DataFrame:
    """The next loyalty milestone of each eligible partner (RULES.md 11.7) as statements say
    it (partner_id, note); none without loyalty milestones in the config."""
    if not run.config.payout.loyalty:
        return pl.DataFrame(schema={"partner_id": pl.String(), "note": pl.String()})
    ranks = {tier.name: index for index, tier in enumerate(run.config.tiers)}
    partners = run.payouts.select(
        "partner_id",
        pl.when(pl.col("status") == Status.INELIGIBLE)
        .then(pl.lit(Status.INELIGIBLE.value))
        .alias("scope_status"),
        pl.col("earned_tier")
        .replace_strict(ranks, default=None, return_dtype=pl.Int64)
        .alias("earned_tier_index"),
    )
    notes = next_milestones(partners, run.history, run.config, run.period)
    return notes.select("partner_id", "note")


def _copy_statement(run: SiteRun, stem: str, folder: Path) -> str | None:
    """The partner's Excel statement copied into its folder, if the run wrote one."""
    source = run.statements / f"{stem}.xlsx"
    if not source.is_file():
        return None
    name = f"statement-{run.period.label}.xlsx"
    shutil.copyfile(source, folder / name)
    return name


def _write_partner_csvs(tables: PartnerTables, partners: Path) -> None:
    """Each partner's counted deals and exception rows as CSV files in its folder (none when
    it has no such row), formula-safe, in `write_csv`'s format. One Polars pass per table,
    then the standard csv module per partner: a Polars write per file costs more than the
    file (40,000 small files on the 20,000-partner quarter)."""
    for frame, name in (
        (tables.deals.sort("partner_id", "deal_id"), DEALS_CSV),
        (tables.exceptions, EXCEPTIONS_CSV),
    ):
        safe = formula_safe_frame(frame)
        stems = dict(zip(tables.payouts["partner_id"], tables.stems, strict=True))
        for pid, rows in _by_partner_tuples(safe).items():
            if pid not in stems:  # an exception row of a partner out of scope: no page
                continue
            with (partners / stems[pid] / name).open("w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(safe.columns)
                writer.writerows([_csv_cell(v) for v in row] for row in rows)


def _by_partner_tuples(frame: pl.DataFrame) -> dict[str, list[tuple[Any, ...]]]:
    """`frame`'s rows by partner_id, in frame order."""
    key = frame.columns.index("partner_id")
    grouped: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in frame.iter_rows():
        grouped[row[key]].append(row)
    return grouped


def _csv_cell(value: Any) -> str:
    """A cell as `write_csv` writes it: empty for null, true/false, ISO dates, decimals at
    their scale."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)
