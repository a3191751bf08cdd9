"""The output lock: one run per folder, stale locks of dead runs taken over with a warning."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incentcalc.errors import ExitCode, LockHeldError
from incentcalc.io.locking import (
    UNREADABLE_LOCK_GRACE_SECONDS,
    LockRecord,
    acquire_lock,
    holding_lock,
    lock_path,
    pid_is_alive,
)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(path: Path, **fields: object) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": "x", "command": ""}
    path.write_text(json.dumps({**record, **fields}))


def test_lock_file_sits_beside_target_and_names_its_holder(tmp_path: Path) -> None:
    target = tmp_path / "2026Q3"
    held = acquire_lock(target)
    path = tmp_path / ".2026Q3.lock"
    assert held.path == path == lock_path(target)
    data = json.loads(path.read_text())
    assert data["pid"] == os.getpid()
    assert data["host"] == socket.gethostname()
    assert set(data) == {"pid", "host", "started_at", "command"}
    assert held.warnings == []
    held.release()
    assert not path.exists()
    held.release()  # idempotent


def test_second_acquire_while_holder_lives_is_refused_at_once(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with holding_lock(target):
        started = time.monotonic()
        with pytest.raises(LockHeldError) as caught:
            acquire_lock(target)
        assert time.monotonic() - started < 1
    assert f"pid {os.getpid()} on host {socket.gethostname()} since" in str(caught.value)
    assert caught.value.exit_code == ExitCode.REFUSED


def test_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), holding_lock(target):
        raise KeyboardInterrupt
    assert not lock_path(target).exists()


def test_stale_lock_of_dead_pid_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    target = tmp_path / "out"
    pid = dead_pid()
    write_lock(lock_path(target), pid=pid)
    with holding_lock(target) as held:
        assert json.loads(lock_path(target).read_text())["pid"] == os.getpid()
        assert len(held.warnings) == 1
        assert f"pid {pid}" in held.warnings[0]
        assert "stale lock" in held.warnings[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .stale-* file left behind


def test_lock_of_another_host_is_respected_even_if_pid_is_dead_here(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_lock(lock_path(target), pid=dead_pid(), host="elsewhere.example")
    with pytest.raises(LockHeldError, match=r"on host elsewhere\.example.*delete the lock"):
        acquire_lock(target)
    assert lock_path(target).exists()


def test_unreadable_lock_is_held_while_young_and_stale_when_old(tmp_path: Path) -> None:
    target = tmp_path / "out"
    lock_path(target).write_text("")  # a run between O_EXCL and its first write
    with pytest.raises(LockHeldError, match="just starting"):
        acquire_lock(target)
    old = time.time() - UNREADABLE_LOCK_GRACE_SECONDS - 5
    os.utime(lock_path(target), (old, old))
    with holding_lock(target) as held:
        assert "unreadable lock file" in held.warnings[0]


def test_pid_is_alive_for_self_dead_and_zombie(tmp_path: Path) -> None:
    assert pid_is_alive(os.getpid())
    assert not pid_is_alive(dead_pid())
    assert not pid_is_alive(0)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while pid_is_alive(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_is_alive(zombie.pid)  # exited but not yet reaped
    zombie.wait()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    target = tmp_path / "out"
    held = acquire_lock(target)
    lock_path(target).unlink()
    write_lock(lock_path(target), pid=1)  # someone else's lock now
    held.release()
    assert json.loads(lock_path(target).read_text())["pid"] == 1


def test_record_parse_rejects_foreign_content() -> None:
    assert LockRecord.parse("not json") is None
    assert LockRecord.parse('{"pid": "x"}') is None
    record = LockRecord.for_this_process()
    assert LockRecord.parse(record.to_json()) == record
