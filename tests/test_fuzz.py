"""Fuzzing `validate` and `run` with generated CSVs and mutated configs (issue #7 item 6),
and determinism whatever the input row order.

The property: whatever the input, incentcalc answers with exit 0 (ran), 1 (bad data) or
2 (bad config), one readable paragraph and no traceback. Exit 4 is a bug; each one found here
is fixed and kept as an explicit regression test in test_hostile.py.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incentcalc.cli.app import app

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "examples" / "basic"
PERIOD = "2026Q3"
SOURCES = ("partners", "deals", "nps", "renewals", "targets", "fx_rates", "adjustments")
HEADERS = {
    name: (EXAMPLE / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    for name in SOURCES
}
OK_CODES = {0, 1, 2}

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

runner = CliRunner()


@contextmanager
def example_copy() -> Iterator[Path]:
    """A fresh writable copy of the worked example per hypothesis example (a function-scoped
    tmp_path would be shared between examples)."""
    with tempfile.TemporaryDirectory(prefix="incentcalc-fuzz-") as tmp:
        folder = Path(tmp) / "basic"
        shutil.copytree(EXAMPLE, folder)
        for path in folder.iterdir():
            path.chmod(0o644)
        yield folder


def invoke(command: str, folder: Path) -> Any:
    args = [command, "--config", str(folder / "program.yaml"), "--period", PERIOD]
    if command == "run":
        args += ["--out", str(folder / "out"), "--no-statements", "--quiet"]
    return runner.invoke(app, args)


def assert_handled(result: Any, folder: Path, command: str) -> None:
    """Exit 0/1/2 with no traceback; a failed `run` leaves no output folder."""
    shown = result.output[-3000:]
    assert result.exit_code in OK_CODES, (command, result.exit_code, shown)
    assert "Traceback" not in result.output, (command, shown)
    assert "Internal error" not in result.output, (command, shown)
    if command == "run" and result.exit_code != 0:
        assert not (folder / "out").exists(), shown


# -- (a) generated CSV text for each source ----------------------------------------------

CELL_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "P1", "P2", "P99", "C1", "closed_won", "open", "cancelled", "renewed",
         "pending", "active", "terminated", "reseller", "distributor", "USD", "EUR", "GBP",
         "usd", "2026Q3", "2026-Q3", "2026Q5", "revenue", "nps", "new", "expansion", "NA",
         "2026-08-01", "2026-02-30", "0000-00-00", "9999-12-31", "1.10", "0", "-0", "10", "11",
         "-5.00", "60000.00", "1e3", "NaN", "inf", "1.123", "0.0000001", "=1+1", "'", '"',
         "1" * 25, "9" * 40, "12,500.00", "\t", "\u00e9", "\ufeff", "\x00", "\u2028"]
    ),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(str),
)  # fmt: skip


@st.composite
def csv_text(draw: st.DrawFn, source: str) -> tuple[bytes, str]:
    """(file bytes, delimiter the config should declare): random bytes, or a table with
    random cells, delimiters, quoting and row lengths under a real or mangled header."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400)), ","
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    declared = delimiter if draw(st.booleans()) else ","
    header = list(HEADERS[source])
    match draw(st.integers(0, 5)):
        case 0:
            header = draw(st.permutations(header))
        case 1:
            header = header[: draw(st.integers(0, len(header)))]
        case 2:
            header = [*header, draw(st.sampled_from([*header, "extra", ""]))]
        case _:
            pass
    width = len(header)
    rows = draw(
        st.lists(
            st.lists(CELL_TEXT, min_size=max(0, width - 2), max_size=width + 2),
            max_size=8,
        )
    )
    quote = draw(st.sampled_from(["", '"', "'"]))
    lines = [delimiter.join(f"{quote}{cell}{quote}" for cell in row) for row in [header, *rows]]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace"), declared


@pytest.mark.parametrize("source", SOURCES)
@FUZZ
@given(data=st.data())
def test_generated_csv_never_crashes_validate_or_run(source: str, data: st.DataObject) -> None:
    content, delimiter = data.draw(csv_text(source), label="csv")
    with example_copy() as folder:
        (folder / f"{source}.csv").write_bytes(content)
        if delimiter != ",":
            config = folder / "program.yaml"
            text = config.read_text(encoding="utf-8")
            old = f"{{path: {source}.csv}}"
            new = f"{{path: {source}.csv, delimiter: {delimiter!r}}}".replace("'\t'", '"\\t"')
            config.write_text(text.replace(old, new), encoding="utf-8")
        for command in ("validate", "run"):
            assert_handled(invoke(command, folder), folder, command)


# -- (b) mutated configs -----------------------------------------------------------------

BASE_CONFIG: dict[str, Any] = yaml.safe_load((EXAMPLE / "program.yaml").read_text("utf-8"))

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(["", "revenue", "nps", "Gold", "USD", "0.5", "1e999999", "..", "/", "-1",
                     "deals.csv", "half_even", "exclude", "2026-01-01"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path of a loaded YAML tree (mapping keys and list indexes)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def at(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


@st.composite
def mutated_config(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The example config with 1-3 random mutations, and the paths they touched."""
    tree = yaml.safe_load(yaml.safe_dump(BASE_CONFIG))
    touched: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(tree))))
        kind = draw(st.sampled_from(["delete", "replace", "add"]))
        if kind == "delete" and path:
            parent = at(tree, path[:-1])
            del parent[path[-1]]
        elif kind == "add" and isinstance(at(tree, path), dict):
            at(tree, path)[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
        elif path:
            at(tree, path[:-1])[path[-1]] = draw(VALUES)
        else:
            tree = draw(VALUES)
        touched.append(path)
        if not isinstance(tree, dict | list):
            break
    return tree, touched


def names_a_key_path(output: str, touched: list[tuple[Any, ...]]) -> bool:
    """A config error points at the config: a section or source the mutation touched, or
    the top level when the whole document was replaced."""
    flat = " ".join(output.split())
    if any(not path for path in touched) or "YAML mapping" in flat:
        return True
    words = {str(part) for path in touched for part in path[:2]}
    return any(word in flat for word in words) or "program.yaml" in flat


@FUZZ
@given(case=mutated_config())
def test_mutated_configs_are_config_errors_naming_the_key(
    case: tuple[dict[str, Any], list[tuple[Any, ...]]],
) -> None:
    tree, touched = case
    with example_copy() as folder:
        (folder / "program.yaml").write_text(yaml.safe_dump(tree), encoding="utf-8")
        result = invoke("validate", folder)
        assert_handled(result, folder, "validate")
        if result.exit_code == 2:
            assert names_a_key_path(result.output, touched), (touched, result.output)


# -- determinism -------------------------------------------------------------------------

DETERMINISTIC = (
    "payouts.csv", "payouts.parquet", "kpis.csv", "kpis.parquet", "exceptions.csv",
)  # fmt: skip
"""Outputs that must be byte-identical whatever the row order (statements are compared too;
summary.xlsx cell by cell but for its provenance: run time and input sha256 differ)."""


def summary_cells(path: Path) -> list[list[object]]:
    """Every cell value of summary.xlsx, sheet by sheet, without the Overview's provenance
    block (from "Provenance" to the next heading, "Run")."""
    book = openpyxl.load_workbook(path)
    cells: list[list[object]] = []
    for sheet in book.worksheets:
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        if sheet.title == "Overview":
            start = next(i for i, row in enumerate(rows) if row[0] == "Provenance")
            end = next(i for i, row in enumerate(rows) if row[0] == "Run")
            rows = rows[:start] + rows[end:]
        cells += [[sheet.title], *rows]
    return cells


def shuffle_rows(folder: Path, seed: int) -> None:
    """Shuffle the data rows of every CSV in `folder`, header kept first."""
    rng = random.Random(seed)
    for path in sorted(folder.glob("*.csv")):
        header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
        rows = [row if row.endswith("\n") else row + "\n" for row in rows]
        rng.shuffle(rows)
        path.write_text(header + "".join(rows), encoding="utf-8")


def run_into(folder: Path, out: Path) -> Path:
    result = runner.invoke(
        app,
        ["run", "--config", str(folder / "program.yaml"), "--period", PERIOD, "--out", str(out),
         "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def assert_same_outputs(first: Path, second: Path) -> None:
    statements = sorted(p.name for p in (first / "statements").iterdir())
    assert statements == sorted(p.name for p in (second / "statements").iterdir())
    for name in (*DETERMINISTIC, *(f"statements/{s}" for s in statements)):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert summary_cells(first / "summary.xlsx") == summary_cells(second / "summary.xlsx")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_outputs_do_not_depend_on_input_row_order(tmp_path: Path, seed: int) -> None:
    original = tmp_path / "original"
    shutil.copytree(EXAMPLE, original)
    shuffled = tmp_path / "shuffled"
    shutil.copytree(EXAMPLE, shuffled)
    shuffle_rows(shuffled, seed)
    assert (shuffled / "deals.csv").read_bytes() != (original / "deals.csv").read_bytes()
    first = run_into(original, tmp_path / "a")
    second = run_into(shuffled, tmp_path / "b")
    assert_same_outputs(first, second)


@pytest.mark.parametrize("seed", [7, 8])
def test_sample_data_with_every_integrity_rule_is_row_order_independent(
    tmp_path: Path, seed: int
) -> None:
    """The sample dataset plants duplicates, late registrations, spikes and reversals: the
    rules that pick one of several rows must not depend on which comes first."""
    data = tmp_path / "data"
    made = runner.invoke(
        app, ["sample-data", "--out", str(data), "--partners", "25", "--seed", str(seed),
              "--period", PERIOD, "--quiet"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    shuffled = tmp_path / "shuffled"
    shutil.copytree(data, shuffled)
    shuffle_rows(shuffled, seed)
    first = run_into(data, tmp_path / "a")
    second = run_into(shuffled, tmp_path / "b")
    assert_same_outputs(first, second)
