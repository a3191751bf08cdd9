"""`incentcalc site`: write the static site of a finished run (SITE.md).

Layout: `index.html` (the dashboard) and `assets/` at the top, one folder per in-scope partner
under `partners/<id>/` with its `index.html`, `deals.csv`, `exceptions.csv` and (when the run
wrote it) its Excel statement. A partner's folder holds only that partner's rows and the
segment aggregates of the benchmark, so it can be published with `assets/` alone.

Pages come from Jinja2 templates with autoescaping; nothing on a page depends on when or where
it was built, so the same run gives the same bytes.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from incentcalc.io.names import safe_file_stems
from incentcalc.io.writers import locked_output, write_csv
from incentcalc.ledger_rules.tier_history import next_milestones
from incentcalc.result import Status
from incentcalc.site.charts import charts_script
from incentcalc.site.dashboard_view import dashboard_view
from incentcalc.site.partner_view import PartnerRows, benchmarks, partner_view
from incentcalc.site.run import SiteRun, read_site_run

PARTNERS_DIR = "partners"
ASSETS_DIR = "assets"
DEALS_CSV = "deals.csv"
EXCEPTIONS_CSV = "exceptions.csv"
STATIC_FILES = ("site.css", "site.js", "vega.js")


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
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment


def write_site(run: SiteRun, root: Path) -> int:
    """Write the site of `run` into the (new, empty or absent) folder `root`; returns the
    number of partner pages."""
    environment = templates()
    root.mkdir(parents=True, exist_ok=True)
    _write_assets(root / ASSETS_DIR)
    stems = dict(
        zip(run.payouts["partner_id"], safe_file_stems(run.payouts["partner_id"]), strict=True)
    )
    links = {pid: f"{PARTNERS_DIR}/{stem}/index.html" for pid, stem in stems.items()}
    page = _page_context(run)
    dashboard = environment.get_template("dashboard.html")
    _write_text(root / "index.html", dashboard.render(page=page, view=dashboard_view(run, links)))
    partner = environment.get_template("partner.html")
    peers = run.config.site.min_peer_group
    groups = _partner_rows(run, peers)
    for stem, rows in zip(stems.values(), groups, strict=True):
        folder = root / PARTNERS_DIR / stem
        folder.mkdir(parents=True)
        statement = _copy_statement(run, stem, folder)
        view = partner_view(run, rows, statement=statement, peer_minimum=peers)
        _write_text(folder / "index.html", partner.render(page=page, view=view))
    _write_partner_tables(run, stems, root / PARTNERS_DIR)
    return len(stems)


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


def _partner_rows(run: SiteRun, peer_minimum: int) -> Iterable[PartnerRows]:
    """Each partner's rows, in payouts order (partner_id)."""
    kpis = _by_partner(run.kpis.iter_rows(named=True))
    deals = _by_partner(
        run.deal_bonuses.sort(
            ["partner_id", "bonus", "deal_id"], descending=[False, True, False]
        ).iter_rows(named=True)
    )
    exceptions = _by_partner(run.exceptions.iter_rows(named=True))
    lines = _by_partner(run.ledger_lines.iter_rows(named=True))
    history = _by_partner(run.history.closed_payouts().iter_rows(named=True))
    peers = _by_partner(benchmarks(run, peer_minimum).iter_rows(named=True))
    milestones = _milestones(run)
    for payout in run.payouts.iter_rows(named=True):
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


def _milestones(run: SiteRun) -> dict[str, list[dict[str, Any]]]:
    """The next loyalty milestone of each eligible partner (RULES.md 11.7), as statements
    say it; none without loyalty milestones in the config."""
    if not run.config.payout.loyalty:
        return {}
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
    return _by_partner(notes.iter_rows(named=True))


def _copy_statement(run: SiteRun, stem: str, folder: Path) -> str | None:
    """The partner's Excel statement copied into its folder, if the run wrote one."""
    source = run.statements / f"{stem}.xlsx"
    if not source.is_file():
        return None
    name = f"statement-{run.period.label}.xlsx"
    shutil.copyfile(source, folder / name)
    return name


def _write_partner_tables(run: SiteRun, stems: dict[str, str], partners: Path) -> None:
    """Every partner's counted deals and exception rows, as CSV files in its folder (headers
    only when it has none)."""
    tables: list[tuple[pl.DataFrame, str, Callable[[pl.DataFrame], pl.DataFrame]]] = [
        (run.deal_bonuses, DEALS_CSV, lambda f: f.sort("deal_id")),
        (run.exceptions, EXCEPTIONS_CSV, lambda f: f),
    ]
    for frame, name, order in tables:
        split = frame.partition_by("partner_id", as_dict=True, maintain_order=True)
        empty = frame.clear()
        for pid, stem in stems.items():
            write_csv(order(split.get((pid,), empty)), partners / stem / name)
