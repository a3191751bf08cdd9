"""Screenshots of the site for docs/img (`make site-screenshots`): the sample quarter with a
closed quarter before it, its dashboard and four kinds of partner page (payable, held,
ineligible, and a progress run's), taken in the distribution's headless Chromium.

    python -m bench.site_screenshots --out docs/img
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from bench.site_browser import chromium, visit

INCENTCALC = Path(sys.executable).with_name("incentcalc")
WIDTH = 1100
HEIGHT = 2000
"""The top of each page: what a reader sees first (the pages run on below)."""


def incentcalc(*args: str | Path) -> None:
    subprocess.run([str(INCENTCALC), *map(str, args), "--quiet"], check=True)


def sample_runs(root: Path) -> tuple[Path, Path]:
    """(the 2026Q3 run, a progress copy of it to 2026-08-15), each with its site; 200
    partners, 2026Q2 closed first so trends, migration and movers have a quarter before."""
    data = root / "data"
    incentcalc("sample-data", "--out", data, "--partners", 200, "--seed", 7,
               "--period", "2026Q3", "--quarters", 2)  # fmt: skip
    program = data / "program-ledger.yaml"
    incentcalc("run", "--config", program, "--period", "2026Q2", "--out", root / "2026Q2",
               "--no-statements")  # fmt: skip
    incentcalc("close", "--config", program, "--run", root / "2026Q2")
    run = root / "2026Q3"
    incentcalc("run", "--config", program, "--period", "2026Q3", "--out", run, "--site")
    progress = root / "progress"
    shutil.copytree(run, progress, ignore=shutil.ignore_patterns("site"))
    manifest = json.loads((progress / "manifest.json").read_text(encoding="utf-8"))
    manifest["as_of"] = "2026-08-15"  # as `run --as-of 2026-08-15` records it
    (progress / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    incentcalc("site", "--run", progress)
    return run, progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        run, progress = sample_runs(Path(temporary))
        payouts = pl.read_parquet(run / "payouts.parquet")
        paid = payouts.filter(pl.col("status") == "payable").sort("payable", descending=True)

        def first(status: str) -> str:
            return str(payouts.filter(pl.col("status") == status)["partner_id"][0])

        def partner(site: Path, pid: str) -> tuple[Path, Path]:
            return site / "partners" / pid / "index.html", site

        shots = {
            "site-dashboard.png": (run / "site" / "index.html", run / "site"),
            "site-partner-payable.png": partner(run / "site", str(paid["partner_id"][5])),
            "site-partner-held.png": partner(run / "site", first("held")),
            "site-partner-ineligible.png": partner(run / "site", first("ineligible")),
            "site-partner-progress.png": partner(progress / "site", str(paid["partner_id"][5])),
        }
        with chromium() as browser:
            for name, (page, site) in shots.items():
                with visit(browser, page, site, width=WIDTH) as seen:
                    seen.page.screenshot(
                        path=str(out / name),
                        full_page=True,
                        clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT},
                    )
                    print(out / name, "errors:", seen.errors, "outside:", seen.outside)


if __name__ == "__main__":
    main()
