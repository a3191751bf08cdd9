"""Hostile input files and configs through `validate` and `run` (issue #7 item 5).

A broken export must stop with exit 1 and one readable paragraph naming the file; a broken or
malicious config with exit 2 naming the key; neither may print a traceback (exit 4 is a bug)
nor leave an output folder behind. Reader-level cases (`read_source` raising the right
`DataError`) live in test_readers.py; here every case goes through the CLI, `run` included.
"""

from __future__ import annotations

import codecs
import gzip
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from incentcalc.cli.app import app

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "examples" / "basic"
PERIOD = "2026Q3"
DEAL_ROW = "D900,P1,C900,closed_won,2026-08-01,{amount},USD,new,2026-07-01,{product}\n"
BIG = 10 * 1024 * 1024

runner = CliRunner()


def invoke(command: str, folder: Path, *extra: str, config: str = "program.yaml") -> Any:
    """`validate` or `run` (no statements) on `folder`; `run` writes to `folder/out`."""
    args = [command, "--config", str(folder / config), "--period", PERIOD, *extra]
    if command == "run":
        args += ["--out", str(folder / "out"), "--no-statements"]
    # Wide enough that no file name in a table is folded across lines, whatever the length
    # of pytest's temporary path (the needles are file names).
    return runner.invoke(app, args, env={"COLUMNS": "400"})


def assert_refused(folder: Path, code: int, *needles: str) -> None:
    """Both commands exit `code`, name every needle, print no traceback, write no output."""
    for command in ("validate", "run"):
        result = invoke(command, folder)
        flat = " ".join(result.output.split())
        assert result.exit_code == code, (command, result.output)
        assert "Traceback" not in result.output and "Internal error" not in result.output
        for needle in needles:
            assert needle in flat, (command, needle, flat[:2000])
        assert not (folder / "out").exists(), command
        assert not [p for p in folder.iterdir() if p.name.startswith(".out.")], command


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- hostile files -----------------------------------------------------------------------


def _truncated_gzip(folder: Path) -> str:
    whole = gzip.compress((folder / "deals.csv").read_bytes())
    (folder / "deals.csv.gz").write_bytes(whole[: len(whole) // 2])
    replace_in(folder / "program.yaml", "{path: deals.csv}", "{path: deals.csv.gz}")
    return "deals.csv.gz"


def _write(name: str, content: Callable[[bytes], bytes]) -> Callable[[Path], str]:
    def mutate(folder: Path) -> str:
        path = folder / name
        path.write_bytes(content(path.read_bytes()))
        return name

    return mutate


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (_write("deals.csv", lambda _: bytes(range(256)) * 64), "binary data"),
        (_truncated_gzip, "gzip data is damaged or cut short"),
        (_write("deals.csv", lambda b: b.replace(b"Core", b"C\xf4re", 1)),
         "line 2 is not valid utf-8 text (byte 0xf4)"),
        (_write("deals.csv", lambda b: b + b"D900,P1,C9,open,,1,USD,new,,Core,x,y\n"),
         "line 14 has 12 fields but the header has 10"),
        (_write("partners.csv", lambda b: b.replace(b"region", b"segment", 1)),
         "'segment' appears 2 times"),
        (_write("nps.csv", lambda _: b""), "the file is empty"),
        (_write("renewals.csv", lambda _: b" \r\n\n\t\n"), "the file is empty"),
        (_write("deals.csv", lambda b: codecs.BOM_UTF16_LE + b.decode().encode("utf-16-le")),
         "UTF-16 text"),
        (_write("deals.csv", lambda b: b.decode().encode("utf-16-be")), "binary data"),
        (_write("deals.csv", lambda b: b + b'D900,"P1,C9,open\n'), "line 14"),
    ],
    ids=["binary", "truncated-gzip", "latin1-in-utf8", "ragged", "dup-header",
         "empty", "whitespace-only", "utf16-bom", "utf16-no-bom", "unclosed-quote"],
)  # fmt: skip
def test_unreadable_file_exits_1_naming_it_with_nothing_written(
    example: Path, mutate: Callable[[Path], str], needle: str
) -> None:
    name = mutate(example)
    assert_refused(example, 1, name, needle)


def test_ragged_rows_are_reported_with_the_file_line_in_run_json(example: Path) -> None:
    """cron reads `--json`: the error document names the file and the line, exit 1."""
    with (example / "deals.csv").open("ab") as handle:
        handle.write(b"D900,P1,C9,open,,1,USD,new,,Core,extra\n")
    result = invoke("run", example, "--json")
    document = json.loads(result.output)
    assert (result.exit_code, document["exit_code"], document["status"]) == (1, 1, "error")
    assert "deals.csv" in document["error"] and "line 14 has 11 fields" in document["error"]
    assert not (example / "out").exists()


def test_lone_carriage_return_line_ends_are_a_data_error(example: Path) -> None:
    """Regression (found by test_fuzz): a header ended by a lone CR, as old Mac exports
    write, made the csv module raise `_csv.Error` (exit 4)."""
    partners = example / "partners.csv"
    partners.write_bytes(partners.read_bytes().split(b"\n")[0] + b"\r,,,,,,")
    assert_refused(example, 1, "partners.csv", "cannot be read as CSV")


def test_utf16_file_reads_when_the_source_says_so(example: Path) -> None:
    """The binary check must not reject a file whose declared encoding is UTF-16."""
    deals = example / "deals.csv"
    deals.write_bytes(deals.read_text(encoding="utf-8").encode("utf-16"))
    replace_in(example / "program.yaml", "{path: deals.csv}", "{path: deals.csv, encoding: utf-16}")
    result = invoke("validate", example)
    assert result.exit_code == 0, result.output


def test_ten_megabyte_text_cell_is_read_and_run(example: Path) -> None:
    """A 10 MB product name is odd but valid text: no crash, and the run completes."""
    with (example / "deals.csv").open("a", encoding="utf-8") as handle:
        handle.write(DEAL_ROW.format(amount="1.00", product="x" * BIG))
    result = invoke("run", example, "--quiet")
    assert result.exit_code == 0, result.output[:2000]
    assert (example / "out" / "payouts.csv").exists()


@pytest.mark.parametrize("column", ["amount", "partner_id"])
def test_ten_megabyte_bad_cell_exits_1_with_a_short_message(example: Path, column: str) -> None:
    """A 10 MB amount (not a number) or partner id (unknown) fails validation; the error
    quotes a shortened value instead of printing 10 MB (it took 40 s to render before)."""
    row = DEAL_ROW.format(amount="9" * BIG if column == "amount" else "1.00", product="Core")
    if column == "partner_id":
        row = row.replace(",P1,", f",{'P' * BIG},", 1)
    with (example / "deals.csv").open("a", encoding="utf-8") as handle:
        handle.write(row)
    started = time.monotonic()
    assert_refused(example, 1, "deals.csv", column)
    assert time.monotonic() - started < 30
    result = invoke("run", example)
    assert len(result.output) < 5000 and "…" in result.output


@pytest.mark.parametrize(
    ("file", "old", "new", "needle"),
    [
        ("deals.csv", "60000.00", "1" + "0" * 20, "must be less than 1000000000000"),
        ("renewals.csv", "10000.00,12000.00", "10000.00," + "9" * 30, "must be less than"),
        ("fx_rates.csv", "2026Q3,EUR,1.10", "2026Q3,EUR,10000000000000000", "less than 1000000"),
        ("targets.csv", "400000", "9" * 25, "must be less than 1000000000000000"),
        ("adjustments.csv", "50.00", "-" + "9" * 20, "greater than -1000000000000"),
    ],
)
def test_absurdly_large_numbers_are_data_errors_not_crashes(
    example: Path, file: str, old: str, new: str, needle: str
) -> None:
    """Regression: 20-30 digit amounts, rates and targets passed validation and then
    overflowed the engine's Decimal(38, 18) arithmetic in `run` (exit 4)."""
    replace_in(example / file, old, new)
    assert_refused(example, 1, file, needle)


def test_header_only_optional_source_is_allowed(example: Path) -> None:
    """An empty adjustments export is a valid quarter ("nothing this quarter")."""
    (example / "adjustments.csv").write_text(
        "adjustment_id,partner_id,period,amount,reason,approved_by\n", encoding="utf-8"
    )
    assert invoke("run", example, "--quiet").exit_code == 0


def test_huge_skip_rows_is_an_empty_source_not_an_overflow(example: Path) -> None:
    """Regression: `skip_rows: 10**20` overflowed Polars (exit 4); now the file simply has
    no data rows left: an empty source, said in the run's warnings (DATA.md)."""
    replace_in(
        example / "program.yaml",
        "{path: nps.csv}",
        "{path: nps.csv, skip_rows: 100000000000000000000}",
    )
    result = invoke("run", example, "--json")
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.output)["warnings"]
    assert any("nps.csv has no data rows" in w for w in warnings), warnings


# -- hostile configs ---------------------------------------------------------------------

BOMB = "".join(
    [
        'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)),
    ]
)
"""Billion laughs: ten lines that name 9**10 (3.5 billion) strings through aliases."""


def write_config(folder: Path, text: str) -> None:
    (folder / "program.yaml").write_text(text, encoding="utf-8")


def test_python_object_tags_are_rejected_and_never_run(example: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    base = (example / "program.yaml").read_text(encoding="utf-8")
    for payload in (
        f"!!python/object/apply:os.system ['touch {marker}']\n",
        base.replace(
            "name: Basic example", f"name: !!python/object/apply:os.system ['touch {marker}']"
        ),
        base.replace("name: Basic example", "name: !!python/name:os.system"),
        base.replace("name: Basic example", "name: !!python/object:pathlib.Path {}"),
    ):
        write_config(example, payload)
        assert_refused(example, 2, "program.yaml", "not valid YAML", "python/")
        assert not marker.exists()


@pytest.mark.parametrize(
    "where",
    [
        "top level",
        "defaults",  # regression: str() of the alias bomb ran for minutes, eating memory
        "perks",
        "steps",
    ],
)
def test_yaml_alias_bomb_fails_fast(example: Path, where: str) -> None:
    base = (example / "program.yaml").read_text(encoding="utf-8")
    text = BOMB + base
    if where == "defaults":
        text = text.replace("{path: deals.csv}", "{path: deals.csv, defaults: {currency: *l9}}")
    elif where == "perks":
        text = text.replace("rate: 0.02}", "rate: 0.02, perks: *l9}")
    elif where == "steps":
        text = text.replace("[0.95, 1.2]]", "[0.95, 1.2], *l9]")
    write_config(example, text)
    started = time.monotonic()
    assert_refused(example, 2, "program.yaml", "lol9: Extra inputs are not permitted")
    assert time.monotonic() - started < 10


def test_deeply_nested_yaml_is_a_config_error(example: Path) -> None:
    """Regression: 5000 nested brackets raised RecursionError inside PyYAML (exit 4)."""
    base = (example / "program.yaml").read_text(encoding="utf-8")
    write_config(example, base + "extra: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_refused(example, 2, "program.yaml", "nests lists or mappings too deeply")


@pytest.mark.parametrize(
    "text", ["- program\n- sources\n", "", "just a string\n", "42\n", "null\n", "[]\n"]
)
def test_config_that_is_not_a_mapping_exits_2(example: Path, text: str) -> None:
    write_config(example, text)
    assert_refused(example, 2, "program.yaml", "must be a YAML mapping")


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("program:\n  name: Basic example", "program: 5\nx:\n  name: Basic example",
         ["program: Input should be a valid dictionary"]),
        ("sources:\n", "sources: [1, 2]\nunused:\n",
         ["sources: Input should be a valid dictionary"]),
        ("min_payout: 100", "min_payout: [1, 2]", ["payout.min_payout", "Decimal input"]),
        ("min_payout: 100", "min_payout: {a: 1}", ["payout.min_payout"]),
        ("min_payout: 100", "min_payout: 2026-01-01", ["payout.min_payout"]),
        ("min_payout: 100", "min_payout: true", ["payout.min_payout", "boolean"]),
        ("holdback_pct: 0.1", "holdback_pct: 1e999999999", ["payout.holdback_pct", "12 digits"]),
        ("holdback_pct: 0.1", "holdback_pct: 1e-999999999",
         ["payout.holdback_pct", "at most 6 decimal places"]),
        ("cap: {amount: 8000}", "cap: {amount: 1e30}", ["payout.cap.amount", "12 digits"]),
        ("rate: 0.05", "rate: .nan", ["tiers[Platinum].rate", ".nan"]),
        ("targets: {revenue: 100000}", "targets: {revenue: 0.0000000001}",
         ["segments.reseller.targets.revenue", "decimal places"]),
        ("partners: {path: partners.csv}", 'partners: {path: "part\\0ners.csv"}',
         ["sources.partners.path", "NUL"]),
        ("partners: {path: partners.csv}", "partners: {path: [partners.csv]}",
         ["sources.partners.path"]),
        ("partners: {path: partners.csv}", "partners: {path: partners.csv, defaults: {x: [1]}}",
         ["sources.partners.defaults.x"]),
        ("kpis:\n", "kpis: []\nunused:\n", ["kpis: Input should be a valid dictionary"]),
        ("tiers:\n", "tiers: {Bronze: 0}\nunused:\n", ["tiers: Input should be a valid list"]),
    ],
)  # fmt: skip
def test_deeply_wrong_types_exit_2_naming_the_key(
    example: Path, old: str, new: str, needles: list[str]
) -> None:
    """Regressions among these: a list, mapping or date where a number belongs, and numbers
    like 1e999999999, crashed the config check with AttributeError / decimal.Overflow."""
    replace_in(example / "program.yaml", old, new)
    assert_refused(example, 2, "program.yaml", *needles)


def test_numbers_too_large_for_the_engine_are_config_errors(example: Path) -> None:
    """Regression: `rate: 1e999999999` passed the config check and crashed `run` in Polars."""
    for old, new in [("rate: 0.05", "rate: 1000000000000"), ("fixed: 2000", "fixed: 1e20")]:
        shutil.copy(EXAMPLE / "program.yaml", example / "program.yaml")
        replace_in(example / "program.yaml", old, new)
        assert_refused(example, 2, "12 digits before the decimal point")


def test_source_paths_with_dotdot_resolve_from_the_config_folder(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documented: source paths are relative to the config file's folder, `..` included,
    whatever the working directory is."""
    configs = example / "configs" / "q3"
    configs.mkdir(parents=True)
    raw = yaml.safe_load((example / "program.yaml").read_text(encoding="utf-8"))
    for source in raw["sources"].values():
        source["path"] = f"../../{source['path']}"
    (configs / "program.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke("validate", example, "--json", config="configs/q3/program.yaml")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["sources"]["deals"]["path"] == str((example / "deals.csv").resolve())
    assert invoke("run", example, "--quiet", config="configs/q3/program.yaml").exit_code == 0


def test_dotdot_path_that_leaves_the_tree_is_a_missing_file(example: Path) -> None:
    replace_in(example / "program.yaml", "{path: nps.csv}", "{path: ../../../../nope/nps.csv}")
    assert_refused(example, 2, "nps source file not found", "nope/nps.csv")
