"""Unattended runs (issue #7): a killed run leaves nothing half-written and never blocks the
next one; two runs on one folder give exactly one success and one refusal (exit 3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PERIOD = "2026Q3"


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 800-partner quarter: big enough that a run takes a few seconds."""
    folder = tmp_path_factory.mktemp("data")
    subprocess.run(
        [sys.executable, "-m", "incentcalc", "sample-data", "--out", str(folder),
         "--partners", "800", "--seed", "11", "--period", PERIOD, "--format", "parquet",
         "--quiet"],
        check=True,
    )  # fmt: skip
    return folder / "program.yaml"


def start_run(program: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "incentcalc", "run", "--config", str(program), "--period",
         PERIOD, "--out", str(out), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def temporary_siblings(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp")]


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> bool:
    """Poll until `condition` holds or the process ends; True when the condition held."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("run neither reached the point nor finished in 60 s")


def assert_absent_or_complete(out: Path) -> None:
    if out.exists():
        manifest = json.loads((out / "manifest.json").read_text())
        for entry in manifest["outputs"]:
            assert (out / entry["path"]).is_file()


KILL_POINTS = {
    "reading": lambda out: False,  # killed after a fixed delay instead
    "calculating": lambda out: bool(temporary_siblings(out)),
    "writing statements": lambda out: any(
        (tmp / "statements").is_dir() and any((tmp / "statements").iterdir())
        for tmp in temporary_siblings(out)
    ),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_leaves_no_partial_output_and_the_next_run_succeeds(
    program: Path, tmp_path: Path, point: str
) -> None:
    out = tmp_path / "out"
    process = start_run(program, out)
    if point == "reading":
        time.sleep(0.8)
    else:
        wait_for(lambda: KILL_POINTS[point](out), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert_absent_or_complete(out)

    again = start_run(program, out, "--force")
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr.decode()
    assert json.loads(stdout)["status"] == "ok"
    assert (out / "manifest.json").is_file()
    assert temporary_siblings(out) == []


def test_two_runs_on_one_folder_one_succeeds_one_is_refused(program: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first, second = start_run(program, out), start_run(program, out)
    results = [p.communicate(timeout=120) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 3], [r[1].decode() for r in results]
    refused = next(r for p, r in zip((first, second), results, strict=True) if p.returncode == 3)
    message = json.loads(refused[0])["error"]
    assert "lock" in message or "already exists" in message
    assert_absent_or_complete(out)


def test_a_second_run_while_one_holds_the_lock_names_the_holder(
    program: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = start_run(program, out)
    wait_for(lambda: bool(temporary_siblings(out)), first)
    second = start_run(program, out, "--force")
    stdout, _ = second.communicate(timeout=60)
    first.communicate(timeout=120)
    assert second.returncode == 3
    error = json.loads(stdout)["error"]
    assert f"pid {first.pid}" in error
    assert first.returncode == 0
    assert os.path.isdir(out)
