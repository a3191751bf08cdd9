"""`python -m bench.scaling_plot`: docs/img/scaling.png from bench/results.json.

Time and peak memory of `run --no-statements` and the bare Polars scan (the floor) at 1x, 2x,
5x and 10x the benchmark quarter (`python -m bench.run --datasets main,2x,5x,10x`), drawn with
Altair and rendered by vl-convert (both already in the project for the site).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import vl_convert

from bench.run import RESULTS

STEPS = {"run --no-statements": "run --no-statements", "floor: bare Polars scan": "floor"}
"""The main set's step names -> the series they belong to; the scaled sets add `(2x)`."""
SERIES = {"run --no-statements": "run --no-statements", "floor": "bare Polars scan (floor)"}


def scaling_points(document: dict[str, Any]) -> pl.DataFrame:
    """One row per (series, scale) with wall seconds and peak MB, from a bench results
    document (main set = 1x)."""
    rows = []
    for step in document["steps"]:
        name, scale = step["name"], 1
        for label in ("2x", "5x", "10x"):
            if name.endswith(f" ({label})"):
                name, scale = name.removesuffix(f" ({label})"), int(label[:-1])
        series = STEPS.get(name, name if name in SERIES else None)
        if series is None or step.get("seconds") is None:
            continue
        rows.append(
            {"series": SERIES[series], "scale": scale, "deals (M)": 5 * scale,
             "seconds": step["seconds"], "peak GB": round(step["peak_mb"] / 1024, 2)}
        )  # fmt: skip
    return pl.DataFrame(rows).sort("series", "scale")


def chart(points: pl.DataFrame) -> alt.HConcatChart:
    """Seconds and peak memory against the deals of the export, one line per series."""
    base = alt.Chart(points).mark_line(point=True)
    x = alt.X("deals (M):Q", title="deals in the export (millions)")
    colour = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom"))
    return alt.hconcat(
        base.encode(x=x, y=alt.Y("seconds:Q", title="wall seconds"), color=colour).properties(
            width=300, height=220, title="Time"
        ),
        base.encode(x=x, y=alt.Y("peak GB:Q", title="peak memory (GB)"), color=colour).properties(
            width=300, height=220, title="Peak memory"
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling_plot", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=Path("docs/img/scaling.png"))
    args = parser.parse_args(argv)
    points = scaling_points(json.loads(args.results.read_text(encoding="utf-8")))
    print(points)
    png = vl_convert.vegalite_to_png(chart(points).to_json(), scale=2)
    args.out.write_bytes(png)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
