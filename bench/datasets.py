"""The benchmark's datasets, generated once and cached under `bench/data/`.

A dataset is regenerated only when its options change (the options are stamped next to the
files), because generating 5,000,000 deals is itself a measured step, not something to
repeat on every run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
import yaml

from bench.measure import incentcalc, measure
from incentcalc.periods import parse_period
from incentcalc.sampledata import SampleFormat, SampleOptions, write_sample

DATA_DIR = Path(__file__).resolve().parent / "data"
STAMP = "options.json"
PROGRAM = "program.yaml"
CANDIDATE = "candidate.yaml"
STATEMENT_PARTNERS = "statement_partners.txt"
PERIOD = "2026Q3"
SEED = 11

MAIN_DEALS = 5_000_000
QUARTERS = 8
HISTORY_QUARTERS = 32
HISTORY_DEALS = MAIN_DEALS * HISTORY_QUARTERS // QUARTERS
"""Eight years of history with the main set's per-quarter volume (20M deals)."""
PARTNERS = 20_000
TEN_X = 10
TEN_X_DEALS = MAIN_DEALS * TEN_X
"""Issue 28: the main set at ten times the size (200,000 partners, 50M deals over the same
two years, 10M NPS responses, 5M renewals), generated block by block (bounded memory)."""
NPS_PER_DEAL = 0.2
RENEWALS_PER_DEAL = 0.1
STATEMENT_COUNT = 2_000

CANDIDATE_WEIGHTS = {
    "reseller": {"revenue": "0.5", "new_logos": "0.1", "win_rate": "0.05", "nps": "0.15",
                 "grr": "0.2"},
    "msp": {"revenue": "0.35", "new_logos": "0.1", "nps": "0.15", "grr": "0.2", "nrr": "0.2"},
}  # fmt: skip
"""The rule change `diff` is timed on: more weight on revenue for resellers and MSPs."""


@dataclass(frozen=True)
class Generation:
    """How long generating a dataset took: as a CLI subprocess (with its peak memory) or,
    while the CLI cannot import, in this process (no separate peak memory)."""

    seconds: float
    peak_mb: float | None
    how: str
    cached: bool = False


@dataclass(frozen=True)
class Dataset:
    """One cached dataset and where its files are."""

    name: str
    options: SampleOptions
    folder: Path
    generation: Generation | None = None

    @property
    def program(self) -> Path:
        return self.folder / PROGRAM

    @property
    def candidate(self) -> Path:
        return self.folder / CANDIDATE

    @property
    def statement_partners(self) -> Path:
        return self.folder / STATEMENT_PARTNERS


def options_for(
    deals: int, scale: float, quarters: int = QUARTERS, partners: int = PARTNERS
) -> SampleOptions:
    """Benchmark options for `deals` deals over `quarters` quarters; NPS and renewals grow
    with the deals."""
    deals = max(1_000, round(deals * scale))
    return SampleOptions(
        partners=max(100, round(partners * scale)),
        seed=SEED,
        period=PERIOD,
        quarters=quarters,
        deals=deals,
        nps=round(deals * NPS_PER_DEAL),
        renewals=round(deals * RENEWALS_PER_DEAL),
        file_format=SampleFormat.PARQUET,
    )


def dataset_name(deals: int) -> str:
    """Folder name, e.g. ``deals-5000000``."""
    return f"deals-{deals}"


def _options_stamp(options: SampleOptions) -> dict[str, str]:
    return {key: str(value) for key, value in asdict(options).items()}


def _cached(stamp: Path, options: SampleOptions) -> Generation | None:
    """The recorded generation of a cached dataset made with the same options."""
    if not stamp.exists():
        return None
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    if recorded.get("options") != _options_stamp(options):
        return None
    return Generation(**{**recorded["generation"], "cached": True})


def ensure_dataset(options: SampleOptions, root: Path = DATA_DIR) -> Dataset:
    """The dataset of `options`, generated (and timed, as a CLI subprocess) if not cached."""
    folder = root / dataset_name(options.deal_rows)
    stamp = folder / STAMP
    cached = _cached(stamp, options)
    if cached is not None:
        _write_extras(folder, options)
        return Dataset(folder.name, options, folder, cached)
    folder.mkdir(parents=True, exist_ok=True)
    generation = _generate(options, folder)
    _write_extras(folder, options)
    document = {"options": _options_stamp(options), "generation": asdict(generation)}
    stamp.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return Dataset(folder.name, options, folder, generation)


def _generate(options: SampleOptions, folder: Path) -> Generation:
    """Run `incentcalc sample-data`; fall back to the API if the CLI does not import yet."""
    measured = measure(
        incentcalc(
            "sample-data",
            "--out",
            str(folder),
            "--partners",
            str(options.partners),
            "--seed",
            str(options.seed),
            "--period",
            options.period,
            "--quarters",
            str(options.quarters),
            "--format",
            options.file_format.value,
            "--deals",
            str(options.deal_rows),
            "--nps",
            str(options.nps_rows),
            "--renewals",
            str(options.renewal_rows),
            "--quiet",
        )
    )
    if measured.ok:
        return Generation(round(measured.seconds, 3), round(measured.peak_mb, 1), "cli")
    started = time.perf_counter()
    write_sample(options, folder)
    return Generation(round(time.perf_counter() - started, 3), None, "in-process")


def _write_extras(folder: Path, options: SampleOptions) -> None:
    """The diff candidate and the statement cohort next to the data (rewritten atomically
    on every bench, so a change here needs no regeneration)."""
    program = yaml.safe_load((folder / PROGRAM).read_text(encoding="utf-8"))
    for segment, weights in CANDIDATE_WEIGHTS.items():
        program["segments"][segment]["weights"] = weights
    _replace(folder / CANDIDATE, yaml.safe_dump(program, sort_keys=False))
    period = parse_period(options.period)
    in_scope = (
        (pl.col("status") == "active")
        & (pl.col("joined_on") <= period.end)
        & (pl.col("left_on").is_null() | (pl.col("left_on") >= period.start))
    )
    partners = pl.read_parquet(folder / "partners.parquet").filter(in_scope)
    ids = partners["partner_id"].head(STATEMENT_COUNT).to_list()
    _replace(folder / STATEMENT_PARTNERS, "\n".join(ids) + "\n")


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` so a concurrent reader sees the old or the new file, whole."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def largest_partner(dataset: Dataset) -> str:
    """The partner with the most deals: the worst case for `explain`."""
    counts = (
        pl.scan_parquet(dataset.folder / "deals.parquet")
        .group_by("partner_id")
        .len()
        .sort(["len", "partner_id"], descending=[True, False])
        .head(1)
        .collect()
    )
    return str(counts["partner_id"][0])
