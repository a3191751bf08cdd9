"""Plain `explain` reuses the run in out/<period> when it is the calculation explain would
make now (issue 28.1), through the console script: the same text and JSON as calculating, the
line on stderr saying which, and every reason to calculate instead (docs/explain.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from incentcalc.config import SourceName, load_config
from incentcalc.inputs import SourceFile
from incentcalc.periods import parse_period
from incentcalc.reports.run_match import changed_inputs, match_run

INCENTCALC = Path(sys.executable).with_name("incentcalc")
PERIOD = "2026Q3"
DEFAULT_RUN = Path("out") / PERIOD
PARTNERS = ("P1", "P3", "P5", "P8")


def incentcalc(cwd: Path, *args: str | Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(INCENTCALC), *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert done.returncode == code, done.stderr
    return done


def explain(cwd: Path, partner: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return incentcalc(
        cwd, "explain", "--config", "program.yaml", "--period", PERIOD, "--partner", partner,
        *extra,
    )  # fmt: skip


def run(cwd: Path, *extra: str) -> None:
    incentcalc(cwd, "run", "--config", "program.yaml", "--period", PERIOD, "--no-statements",
               "--quiet", *extra)  # fmt: skip


def said(done: subprocess.CompletedProcess[str]) -> str:
    """The stderr line, unwrapped."""
    return " ".join(done.stderr.split())


def assert_reused_equals_calculated(cwd: Path, partner: str, *extra: str) -> None:
    """Text and --json of the reusing path equal --fresh's, byte for byte."""
    for output in ((), ("--json",)):
        reused = explain(cwd, partner, *extra, *output)
        fresh = explain(cwd, partner, *extra, *output, "--fresh")
        assert reused.stdout == fresh.stdout, (partner, output)
        if not output:
            assert said(reused).startswith(f"Explaining the run in {cwd_run(extra)} (made ")
            assert said(fresh) == f"Calculating {PERIOD}{as_of_text(extra)}: --fresh."
        else:
            assert reused.stderr == fresh.stderr == ""  # --json: one document, nothing beside


def cwd_run(extra: tuple[str, ...]) -> Path:
    return Path("out") / f"{PERIOD}-as-of-{extra[1]}" if extra else DEFAULT_RUN


def as_of_text(extra: tuple[str, ...]) -> str:
    return f" as of {extra[1]}" if extra else ""


@pytest.fixture
def quarter(example: Path) -> Path:
    """The worked example with its run in out/2026Q3 (`run`'s default folder)."""
    run(example)
    return example


@pytest.mark.parametrize("partner", PARTNERS)
def test_a_matching_run_answers_with_the_calculated_explanation(
    quarter: Path, partner: str
) -> None:
    assert_reused_equals_calculated(quarter, partner)


def test_a_generated_quarter_reused_equals_calculated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    incentcalc(tmp_path, "sample-data", "--out", data, "--partners", "120", "--seed", "5",
               "--period", PERIOD, "--format", "parquet", "--quiet")  # fmt: skip
    run(data)
    for partner in ("P0001", "P0042", "P0117"):
        assert_reused_equals_calculated(data, partner)


def test_a_progress_run_answers_only_the_same_day(example: Path) -> None:
    run(example, "--as-of", "2026-08-15")
    assert_reused_equals_calculated(example, "P1", "--as-of", "2026-08-15")
    other_day = explain(example, "P1", "--as-of", "2026-08-20")
    assert said(other_day) == (
        f"Calculating {PERIOD} as of 2026-08-20: no run in out/{PERIOD}-as-of-2026-08-20."
    )
    ordinary = explain(example, "P1")
    assert said(ordinary) == f"Calculating {PERIOD}: no run in {DEFAULT_RUN}."


def test_a_progress_run_in_the_ordinary_folder_does_not_match(example: Path) -> None:
    run(example, "--as-of", "2026-08-15", "--out", DEFAULT_RUN)
    done = explain(example, "P1")
    assert said(done) == (
        f"Calculating {PERIOD}: the run in {DEFAULT_RUN} was made for {PERIOD} as of 2026-08-15."
    )
    assert done.stdout == explain(example, "P1", "--fresh").stdout


def test_no_run_calculates_and_says_so(example: Path) -> None:
    done = explain(example, "P1")
    assert said(done) == f"Calculating {PERIOD}: no run in {DEFAULT_RUN}."
    assert "Acme Systems" in done.stdout


def test_a_changed_config_calculates_and_says_so(quarter: Path) -> None:
    program = quarter / "program.yaml"
    program.write_text(
        program.read_text(encoding="utf-8").replace("rate: 0.05", "rate: 0.06"), encoding="utf-8"
    )
    done = explain(quarter, "P1", "--json")
    assert said(explain(quarter, "P1")) == (
        f"Calculating {PERIOD}: the config changed since the run in {DEFAULT_RUN}."
    )
    assert done.stdout == explain(quarter, "P1", "--json", "--fresh").stdout


def test_a_changed_input_is_named(quarter: Path) -> None:
    with (quarter / "nps.csv").open("a", encoding="utf-8") as handle:
        handle.write("R99,P1,C100,2026-08-30,10\n")
    done = explain(quarter, "P1")
    assert said(done) == (
        f"Calculating {PERIOD}: input nps changed since the run in {DEFAULT_RUN}."
    )
    assert done.stdout == explain(quarter, "P1", "--fresh").stdout


def test_two_changed_inputs_are_named_and_another_partners_rows_count(quarter: Path) -> None:
    """The inputs are compared on the bytes the partner's rows are read from: a change in
    another partner's rows is a change all the same."""
    for name, row in (("nps.csv", "R99,P3,C100,2026-08-30,10\n"),
                      ("renewals.csv", None)):  # fmt: skip
        path = quarter / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text + row if row else text.replace("\n", "\r\n"), encoding="utf-8")
    done = explain(quarter, "P1")
    assert said(done) == (
        f"Calculating {PERIOD}: inputs nps, renewals changed since the run in {DEFAULT_RUN}."
    )
    assert done.stdout == explain(quarter, "P1", "--fresh").stdout


def test_a_changed_input_that_fails_validation_is_calculated_and_reported(
    quarter: Path,
) -> None:
    """The run passed every row, so the partner's rows failing now means an input changed:
    explain calculates, and the calculation reports the failure (exit 1) as --fresh does."""
    with (quarter / "deals.csv").open("a", encoding="utf-8") as handle:
        handle.write("D999,P1,C100,closed_won,2026-08-30,lots,USD,new,2026-08-01,Core\n")
    done = incentcalc(quarter, "explain", "--config", "program.yaml", "--period", PERIOD,
                      "--partner", "P1", code=1)  # fmt: skip
    fresh = incentcalc(quarter, "explain", "--config", "program.yaml", "--period", PERIOD,
                       "--partner", "P1", "--fresh", code=1)  # fmt: skip
    line = (
        f"Calculating {PERIOD}: an input changed since the run in {DEFAULT_RUN} (the "
        "partner's rows no longer pass validation)."
    )
    assert said(done).startswith(line)
    assert said(done).removeprefix(line) == said(fresh).removeprefix(
        f"Calculating {PERIOD}: --fresh."
    )
    assert "lots" in said(done)


def test_match_run_leaves_the_inputs_to_the_read(quarter: Path) -> None:
    """`match_run` does not hash the inputs (reading the partner's rows does, once); the
    verdict on the rows read names each source whose sha256 differs, either side."""
    config_path = quarter / "program.yaml"
    config, period = load_config(config_path), parse_period(PERIOD)
    folder = quarter / DEFAULT_RUN
    (quarter / "nps.csv").write_text("changed\n", encoding="utf-8")
    verdict = match_run(folder, config_path, config, period)
    assert verdict.matches
    recorded = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["inputs"]
    files = [
        SourceFile(SourceName(entry["source"]), entry["path"], entry["sha256"], 0)
        for entry in recorded
    ]
    assert changed_inputs(recorded, files) == []
    files[0] = replace(files[0], sha256="0" * 64)
    assert changed_inputs(recorded, files[:-1]) == sorted(
        [files[0].name.value, files[-1].name.value]
    )
    assert changed_inputs(None, files[:1]) == [files[0].name.value]
    assert verdict.inputs_changed(["renewals", "nps"]).message(period) == (
        f"Calculating {PERIOD}: inputs nps, renewals changed since the run in {folder}."
    )


def test_a_run_of_another_period_does_not_match(quarter: Path) -> None:
    manifest = quarter / DEFAULT_RUN / "manifest.json"
    document = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**document, "period": "2026Q2"}), encoding="utf-8")
    assert said(explain(quarter, "P1")) == (
        f"Calculating {PERIOD}: the run in {DEFAULT_RUN} was made for 2026Q2."
    )


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("no manifest", f"{DEFAULT_RUN} has no manifest.json, so it is not a finished run"),
        ("cut manifest", f"{DEFAULT_RUN / 'manifest.json'} cannot be read"),
        ("list manifest", f"{DEFAULT_RUN / 'manifest.json'} is not a manifest this incentcalc"),
        ("no inputs", "its manifest lists no inputs"),
        ("changed payouts", f"payouts.parquet of the run in {DEFAULT_RUN} changed since it"),
        ("no deal bonuses", f"deal_bonuses.parquet of the run in {DEFAULT_RUN} changed since"),
    ],
)
def test_a_damaged_run_folder_is_not_trusted(quarter: Path, damage: str, reason: str) -> None:
    folder = quarter / DEFAULT_RUN
    manifest = folder / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    match damage:
        case "no manifest":
            manifest.unlink()
        case "cut manifest":
            manifest.write_text(text[: len(text) // 2], encoding="utf-8")
        case "list manifest":
            manifest.write_text("[]", encoding="utf-8")
        case "no inputs":
            manifest.write_text(json.dumps({**json.loads(text), "inputs": None}))
        case "changed payouts":
            (folder / "payouts.parquet").write_bytes(b"PAR1")
        case "no deal bonuses":
            (folder / "deal_bonuses.parquet").unlink()
    done = explain(quarter, "P1")
    assert said(done).startswith(f"Calculating {PERIOD}: {reason}"), said(done)
    assert done.stdout == explain(quarter, "P1", "--fresh").stdout


def test_run_and_fresh_do_not_go_together(quarter: Path) -> None:
    done = incentcalc(
        quarter, "explain", "--config", "program.yaml", "--period", PERIOD, "--partner", "P1",
        "--run", DEFAULT_RUN, "--fresh", code=2,
    )  # fmt: skip
    assert "--run and --fresh do not go together" in said(done)


def test_a_wrong_max_rejected_is_refused_with_a_matching_run(quarter: Path) -> None:
    done = incentcalc(
        quarter, "explain", "--config", "program.yaml", "--period", PERIOD, "--partner", "P1",
        "--max-rejected", "lots", code=2,
    )  # fmt: skip
    assert "is not a percentage" in said(done)


def test_quiet_says_nothing_and_the_log_says_which(quarter: Path) -> None:
    done = explain(quarter, "P1", "--quiet", "--log-file", "explain.log")
    assert (done.stdout, done.stderr) == ("", "")
    log = (quarter / "explain.log").read_text(encoding="utf-8")
    assert f"explain: Explaining the run in {DEFAULT_RUN} (made " in log


def test_the_verdict_names_each_difference(quarter: Path, tmp_path: Path) -> None:
    """`match_run` itself: a run that set rows aside, one by another incentcalc, a ledger
    that moved on and a database source are each a reason to calculate."""
    config_path = quarter / "program.yaml"
    config, period = load_config(config_path), parse_period(PERIOD)
    folder = quarter / DEFAULT_RUN
    assert match_run(folder, config_path, config, period).matches
    manifest = folder / "manifest.json"
    document = json.loads(manifest.read_text(encoding="utf-8"))
    edits = {
        "rejected_rows": (3, "set invalid rows aside (--quarantine)"),
        "incentcalc_version": ("0.0.1", "was made by incentcalc 0.0.1"),
        "ledger": ({"head": "ab" * 32}, "the ledger changed since the run"),
    }
    for key, (value, reason) in edits.items():
        manifest.write_text(json.dumps({**document, key: value}), encoding="utf-8")
        verdict = match_run(folder, config_path, config, period)
        assert not verdict.matches and reason in str(verdict.reason), key
    manifest.write_text(json.dumps(document), encoding="utf-8")
    database = config.model_copy(
        update={
            "sources": config.sources.model_copy(
                update={"nps": config.sources.deals.model_copy(update={"path": None})}
            )
        }
    )
    verdict = match_run(folder, config_path, database, period)
    assert verdict.reason == "nps is read from a database, which cannot be compared quickly"
    assert not match_run(tmp_path / "nowhere", config_path, config, period).matches
