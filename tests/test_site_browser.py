"""The site in a real browser (issue 24): the dashboard and the four kinds of partner page
(payable, held, ineligible, progress) load from file:// with no console error, no request
outside the site and no dialog, draw every chart, show the same numbers without JavaScript,
and have no serious or critical axe-core violation. One browser for the module."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from site_quarter import HOSTILE_ID, HOSTILE_NAME, incentcalc, site_run

from bench.site_browser import CHROMIUM, chromium, visit

__all__ = ["site_run"]  # the session fixture

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the distribution's chromium (.ci/run installs it)"
)


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations of the page, as 'rule (impact): target'."""
    page.add_script_tag(path=str(AXE))
    # preload off: axe would fetch the style sheets itself (an XHR that file:// refuses)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations'], preload: false})")
    return [
        f"{v['id']} ({v['impact']}): {node['target']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]


def table_texts(page: Any) -> list[str]:
    """The text of every table of the page, in order."""
    return list(page.locator("table").all_inner_texts())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def pages(site_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """(page, its site) of each kind of page."""
    site = site_run / "site"
    payouts = pl.read_parquet(site_run / "payouts.parquet")

    def first(status: str) -> str:
        return str(payouts.filter(pl.col("status") == status)["partner_id"][0])

    progress = tmp_path_factory.mktemp("progress") / "run"
    shutil.copytree(site_run, progress, ignore=shutil.ignore_patterns("site"))
    manifest = json.loads((progress / "manifest.json").read_text(encoding="utf-8"))
    manifest["as_of"] = "2026-08-15"
    (progress / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    incentcalc("site", "--run", progress, "--quiet")
    partner = site / "partners" / "{}" / "index.html"
    return {
        "dashboard": (site / "index.html", site),
        "payable": (Path(str(partner).format(HOSTILE_ID)), site),
        "held": (Path(str(partner).format(first("held"))), site),
        "ineligible": (Path(str(partner).format(first("ineligible"))), site),
        "progress": (progress / "site" / "partners" / first("payable") / "index.html",
                     progress / "site"),
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["dashboard", "payable", "held", "ineligible", "progress"])
def test_page_loads_clean_draws_its_charts_and_passes_axe(
    browser: Any, pages: dict[str, tuple[Path, Path]], kind: str
) -> None:
    page_path, site = pages[kind]
    with visit(browser, page_path, site) as seen:
        charts = seen.page.locator("[data-chart]")
        assert charts.count() >= 1
        assert seen.page.locator("[data-chart] svg").count() == charts.count()
        assert seen.errors == [] and seen.outside == [] and seen.dialogs == []
        with_script = table_texts(seen.page)
        assert serious_violations(seen.page) == []
    with visit(browser, page_path, site, javascript=False) as plain:
        assert table_texts(plain.page) == with_script
        assert plain.page.locator("[data-chart] svg").count() == 0


def test_a_hostile_partner_name_stays_text(
    browser: Any, pages: dict[str, tuple[Path, Path]]
) -> None:
    page_path, site = pages["payable"]
    with visit(browser, page_path, site) as seen:
        assert HOSTILE_NAME in seen.page.locator("h1").inner_text()
        assert seen.dialogs == []
    page_path, site = pages["dashboard"]
    with visit(browser, page_path, site) as seen:
        seen.page.fill("#partner-filter", "alert")
        assert seen.page.locator("#partner-list tbody tr:visible").count() == 1
        assert seen.dialogs == [] and seen.errors == []
