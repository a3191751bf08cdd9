"""A full disk, a denied permission or a read-only folder is the machine's failure, not a bug
(issue 22, CLI.md exit 5): one paragraph naming the path and the fix, nothing half-written, no
lock left behind to refuse the retry, the ledger still verifying.

Two ways in: real small tmpfs mounts through the console script (skipped where `mount` is not
permitted, e.g. without root), and the same failures raised at the OS boundary in-process
(`os.fsync`, `os.write` monkeypatched), which run everywhere.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import typer
from conftest import EXAMPLE, EXAMPLES
from typer.testing import CliRunner
from xlsxwriter.exceptions import FileCreateError

from incentcalc.cli.app import app
from incentcalc.cli.options import guarded
from incentcalc.errors import environment_errno
from incentcalc.io import locking

SCRIPT = Path(sys.executable).parent / "incentcalc"
runner = CliRunner()


def one_paragraph(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("failure", "number"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), errno.ENOSPC),
        (FileCreateError(OSError(errno.EROFS, "Read-only file system")), errno.EROFS),
        (OSError("No space left on device (os error 28)"), errno.ENOSPC),
        (pl.exceptions.ComputeError("parquet: underlying IO error: (os error 13)"), errno.EACCES),
        (OSError(errno.ENOENT, "No such file or directory"), None),
        (ValueError("(os error 2)"), None),
    ],
)
def test_environment_errors_are_recognised_however_a_library_wraps_them(
    failure: BaseException, number: int | None
) -> None:
    assert environment_errno(failure) == number


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_permission_denied_at_the_commit_exits_5_and_leaves_nothing(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(fd: int) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    out = tmp_path / "out" / "2026Q3"
    monkeypatch.setattr(os, "fsync", denied)
    program = str(example / "program.yaml")
    arguments = ["run", "--config", program, "--period", "2026Q3", "--out", str(out)]
    result = runner.invoke(app, [*arguments, "--no-statements"])
    monkeypatch.undo()
    message = one_paragraph(result.output)
    assert result.exit_code == 5, message
    assert f"Permission denied on {out}" in message
    assert "write access" in message and "Internal error" not in message
    assert leftovers(out.parent) == []  # no output, no temporary folder, no lock


def test_a_lock_whose_writer_failed_is_removed_by_that_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        locking.acquire_lock(tmp_path / "entries")
    monkeypatch.undo()
    assert leftovers(tmp_path) == []
    locking.acquire_lock(tmp_path / "entries").release()  # the retry is not refused


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (skipped where mounting is not permitted)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def console(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.mark.skipif(not SCRIPT.exists(), reason="no installed console script")
def test_run_on_a_full_disk_exits_5_naming_the_folder(small_disk: Path) -> None:
    out = small_disk / "2026Q3"
    program = EXAMPLE / "program.yaml"
    result = console("run", "--config", program, "--period", "2026Q3", "--out", out)
    message = one_paragraph(result.stderr)
    assert result.returncode == 5, message
    assert f"No space left on the disk of {out}" in message
    assert "Traceback" not in result.stderr and "bug" not in message
    assert leftovers(small_disk) == []


@pytest.mark.skipif(not SCRIPT.exists(), reason="no installed console script")
def test_run_into_a_read_only_folder_exits_5(small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    out = small_disk / "2026Q3"
    result = console("run", "--config", EXAMPLE / "program.yaml", "--period", "2026Q3",
                     "--out", out, "--no-statements")  # fmt: skip
    message = one_paragraph(result.stderr)
    assert result.returncode == 5, message
    assert "read-only" in message and "Remount it read-write" in message


@pytest.mark.skipif(not SCRIPT.exists(), reason="no installed console script")
def test_close_with_the_ledger_on_a_full_disk_exits_5_and_the_ledger_verifies(
    small_disk: Path, tmp_path: Path
) -> None:
    example = tmp_path / "ledger-example"
    shutil.copytree(EXAMPLES / "ledger", example)
    program = example / "program.yaml"
    ledger = small_disk / "ledger"
    program.write_text(program.read_text().replace("path: ledger", f"path: {ledger}"))
    filler = small_disk / "filler"
    filler.write_bytes(b"x" * 48 * 1024)  # the entry's files no longer fit
    run = tmp_path / "2026Q1"
    assert console("run", "--config", program, "--period", "2026Q1", "--out", run).returncode == 0
    closing = console("close", "--config", program, "--run", run)
    message = one_paragraph(closing.stderr)
    assert closing.returncode == 5, message
    assert f"No space left on the disk of {ledger}" in message
    assert [p.name for p in (ledger / "entries").iterdir()] == []  # no lock, no entry
    assert console("ledger", "--config", program, "--verify").returncode == 0
    filler.unlink()
    retry = console("close", "--config", program, "--run", run)
    assert retry.returncode == 0, retry.stderr


def test_a_failure_outside_an_output_folder_names_the_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as exited, guarded("sample-data", as_json=False, debug=False):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/export/deals.csv")
    assert exited.value.exit_code == 5
    message = one_paragraph(capsys.readouterr().err)
    assert "The file system is read-only at /mnt/export/deals.csv (EROFS)" in message
