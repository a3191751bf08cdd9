"""The product as its users run it (issue 22): the installed console script in a child
process, on the data and commands they use, never an in-process shortcut.

Why: the Polars panic of issue 22 crashed `make run`, `explain` and every run with statements
of a sample quarter while the whole suite was green, because no test ran the README's first
command or a realistic multi-chunk quarter through the real entry point.

- Every command block of README.md, extracted from it, runs in a fresh copy of the files it
  names (a README command that fails fails the suite). `make` targets run with the installed
  console script (`make -o .venv/.installed ... BIN=<its folder>`: no second venv). Left
  out: `make test` (this suite) and the cron wrapper script (it needs a PostgreSQL warehouse
  and /etc/incentcalc.env); `make bench` is not a README block (minutes of 5M deals).
- `sample-data` quarters in CSV, Parquet and XLSX at 200 partners and in Parquet at 2,000,
  each run with statements, then `explain` of the partners that exercise the most paths (the
  largest payout, one without NPS responses, a held one, an ineligible one) and `diff`.
- Nothing on stderr looks like a crash: no Python traceback, no Rust panic.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
SCRIPT = BIN / "incentcalc"
PERIOD = "2026Q3"
WORKSPACE = ("Makefile", "configs", "sample_data", "tests/fixtures/examples")
"""What README commands read, copied into a fresh folder for each block."""
NOT_RUN = {
    "#!": "the cron wrapper script needs a PostgreSQL warehouse and /etc/incentcalc.env",
}
"""README blocks left out (how the block starts -> why)."""
SKIPPED_LINES = ("make test",)
"""README lines left out of a block: `make test` is this suite."""
MAKE = 'make() { command make -o .venv/.installed BIN="$INCENTCALC_BIN" "$@"; }\n'
"""README `make` targets run with the installed console script (no venv is made)."""

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason=f"no console script at {SCRIPT}")


def incentcalc(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; it must succeed without a crash's output."""
    result = subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    shown = f"{' '.join(map(str, args))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, shown
    assert_no_crash(result.stderr)
    return result


def assert_no_crash(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "panicked" not in stderr, stderr[-3000:]


@dataclass(frozen=True)
class Block:
    """A README command block: the script it runs and the first output line it shows."""

    script: str
    shows: str | None = None


def readme_blocks() -> list[pytest.ParameterSet]:
    """Each ```sh block as a script, and the `$ ` lines of a plain block (with the first
    output line shown after them), in README order."""
    found = []
    text = README.read_text(encoding="utf-8")
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S):
        if lang == "sh":
            kept = [ln for ln in body.splitlines() if ln.split("#")[0].strip() not in SKIPPED_LINES]
            block, name = Block("\n".join(kept)), body.splitlines()[0]
        elif lang == "":
            lines = body.splitlines()
            typed = [i for i, line in enumerate(lines) if line.startswith("$ ")]
            if not typed:
                continue
            after = [line for line in lines[typed[-1] + 1 :] if line.strip()]
            script = "\n".join(lines[i][2:] for i in typed)
            block, name = Block(script, after[0] if after else None), lines[typed[0]][2:]
        else:
            continue
        why = next((why for start, why in NOT_RUN.items() if body.startswith(start)), None)
        marks = [pytest.mark.skip(reason=why)] if why else []
        if block.script.strip():
            found.append(pytest.param(block, id=name[:60], marks=marks))
    return found


def test_the_readme_has_the_commands_a_new_user_types() -> None:
    scripts = "\n".join(p.values[0].script for p in readme_blocks())  # type: ignore[union-attr]
    for command in ("make run", "make ledger-demo", "incentcalc explain", "incentcalc ledger"):
        assert command in scripts


@pytest.mark.parametrize("block", readme_blocks())
def test_readme_command(block: Block, tmp_path: Path) -> None:
    for name in WORKSPACE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy2(source, tmp_path / name)
    environment = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "INCENTCALC_BIN": str(BIN)}
    result = subprocess.run(
        ["bash", "-e", "-c", MAKE + block.script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"HOME": str(tmp_path), "COLUMNS": "160", "NO_COLOR": "1", **environment},
        timeout=900,
    )
    assert result.returncode == 0, f"{block.script}\n{result.stdout[-3000:]}\n{result.stderr}"
    assert_no_crash(result.stderr)
    if block.shows is not None:
        assert block.shows in result.stdout


# -- sample quarters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    """A generated quarter's program and the folder of its run with statements."""

    program: Path
    run: Path

    def payouts(self) -> pl.DataFrame:
        return pl.read_parquet(self.run / "payouts.parquet")


def as_xlsx(folder: Path) -> None:
    """The sample's CSV sources as Excel workbooks (text cells, as many exports write
    them), and its program pointed at them."""
    for path in folder.glob("*.csv"):
        pl.read_csv(path, infer_schema=False).write_excel(path.with_suffix(".xlsx"))
        path.unlink()
    program = folder / "program.yaml"
    program.write_text(program.read_text(encoding="utf-8").replace('.csv"}', '.xlsx"}'))


QUARTERS = [("csv", 200), ("parquet", 200), ("xlsx", 200), ("parquet", 2000)]


@pytest.mark.parametrize(("kind", "partners"), QUARTERS, ids=[f"{f}-{n}" for f, n in QUARTERS])
def test_sample_quarter_run_explain_and_diff(kind: str, partners: int, tmp_path: Path) -> None:
    """sample-data in the format, `run` with statements, `explain` of the telling partners
    and `diff`: one test per quarter, so parallel workers never generate it twice."""
    data = tmp_path / "data"
    written = "parquet" if kind == "parquet" else "csv"
    incentcalc("sample-data", "--out", data, "--partners", str(partners), "--seed", "7",
               "--period", PERIOD, "--format", written, "--quiet")  # fmt: skip
    if kind == "xlsx":
        as_xlsx(data)
    quarter = Quarter(data / "program.yaml", tmp_path / "run")
    incentcalc("run", "--config", quarter.program, "--period", PERIOD, "--out", quarter.run,
               "--quiet")  # fmt: skip
    check_statements(quarter)
    check_explanations(quarter)
    check_diff(quarter, tmp_path / "diff")


def check_statements(quarter: Quarter) -> None:
    manifest = json.loads((quarter.run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == PERIOD
    statements = sorted(p.stem for p in (quarter.run / "statements").glob("*.xlsx"))
    assert statements == sorted(quarter.payouts()["partner_id"].to_list())
    assert (quarter.run / "summary.xlsx").stat().st_size > 0


def telling_partners(quarter: Quarter) -> dict[str, str]:
    """The partners whose explanations take the most paths."""
    payouts = quarter.payouts()
    nps = next(quarter.program.parent.glob("nps.*"))
    responses = {
        "csv": lambda: pl.read_csv(nps, try_parse_dates=True),
        "parquet": lambda: pl.read_parquet(nps),
        "xlsx": lambda: pl.read_excel(nps).with_columns(pl.col("responded_on").str.to_date()),
    }[nps.suffix[1:]]()
    start, end = date(2026, 7, 1), date(2026, 9, 30)
    answered = responses.filter(pl.col("responded_on").is_between(start, end))["partner_id"]
    chosen = {
        "largest": payouts.sort("gross", "partner_id", descending=[True, False]),
        "without NPS responses": payouts.filter(~pl.col("partner_id").is_in(answered.implode())),
        "held": payouts.filter(pl.col("status") == "held"),
        "ineligible": payouts.filter(pl.col("status") == "ineligible"),
    }
    missing = [kind for kind, rows in chosen.items() if rows.is_empty()]
    assert not missing, f"the sample quarter has no partner that is {missing}"
    return {kind: rows["partner_id"][0] for kind, rows in chosen.items()}


def check_explanations(quarter: Quarter) -> None:
    """Each telling partner explained from scratch; the largest also against the run."""
    config = ("--config", quarter.program, "--period", PERIOD)
    partners = telling_partners(quarter)
    for kind, partner in partners.items():
        shown = incentcalc("explain", *config, "--partner", partner).stdout
        assert f"({partner})" in shown, (kind, shown[:500])
        assert "None" not in shown, (kind, shown)  # a missing KPI reads "none", never None
    largest = partners["largest"]
    from_run = incentcalc("explain", *config, "--partner", largest, "--run", quarter.run,
                          "--json")  # fmt: skip
    assert json.loads(from_run.stdout)["partner"]["partner_id"] == largest


def check_diff(quarter: Quarter, out: Path) -> None:
    """A candidate paying Gold 6%: every partner compared, written to diff.csv."""
    text = quarter.program.read_text(encoding="utf-8")
    candidate = quarter.program.with_name("candidate.yaml")
    richer = re.sub(r"(name: Gold, +min_score: [0-9.]+, rate: )([0-9.]+)", r"\g<1>0.06", text)
    assert richer != text, "the sample program's Gold tier changed"
    candidate.write_text(richer, encoding="utf-8")
    incentcalc("diff", "--baseline", quarter.program, "--candidate", candidate,
               "--period", PERIOD, "--out", out, "--quiet")  # fmt: skip
    assert pl.read_csv(out / "diff.csv").height == quarter.payouts().height
