"""One run per output folder: a lock file next to the target, created atomically.

The lock is `<parent>/.<name>.lock`, created with ``O_CREAT | O_EXCL`` so that of two runs
starting at the same instant exactly one creates it; the other reads who holds it and stops
with `LockHeldError` (exit 3) at once, never waiting. The file holds JSON
``{"pid", "host", "started_at", "command"}`` so the refusal can say who holds the lock.

A run that was killed (``kill -9``, power loss) leaves its lock behind. When the recorded pid
is dead on this host the next run takes the lock over and says so in a warning. The take-over
never deletes-then-creates (two runs could both delete and both create); instead, under a
short ``flock`` on the parent folder, it re-reads the lock, renames the stale file to a unique
name (an atomic step that only one run can win) and then competes for ``O_EXCL`` like any
other run. A lock held by another host cannot be checked and is always respected.

Why not a bare ``flock`` on the lock file? It does not say who holds it, is unreliable on
network shares, and the spec asks for a readable lock file; the folder ``flock`` is only a
guard around the rare take-over and is released by the kernel even if we die holding it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from incentcalc.errors import LockHeldError

try:  # POSIX only; without it the take-over falls back to rename-and-verify alone.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"
"""The lock of `out/2026Q3` is `out/.2026Q3.lock`."""

UNREADABLE_LOCK_GRACE_SECONDS = 10.0
"""A lock file without valid JSON is a run between ``O_EXCL`` and its first write, unless it is
older than this: then its writer died in that instant and the lock is stale."""

MAX_ATTEMPTS = 5
"""Create / take-over rounds before giving up; each lost round means another run moved first."""


@dataclass(frozen=True)
class LockRecord:
    """What a lock file says about its holder."""

    pid: int
    host: str
    started_at: str
    command: str

    @classmethod
    def for_this_process(cls) -> LockRecord:
        """The record this process writes into a lock file it takes."""
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
            command=shlex.join(sys.argv),
        )

    @classmethod
    def parse(cls, text: str) -> LockRecord | None:
        """The record in a lock file, or None when it is not (yet) valid JSON of ours."""
        try:
            data = json.loads(text)
            return cls(
                pid=int(data["pid"]),
                host=str(data["host"]),
                started_at=str(data["started_at"]),
                command=str(data.get("command", "")),
            )
        except (ValueError, TypeError, KeyError):
            return None

    def to_json(self) -> str:
        """The record as the lock file's JSON text."""
        return json.dumps(asdict(self), indent=2) + "\n"

    def describe(self) -> str:
        """'pid 123 on host h since 2026-07-01T09:00:00+02:00', for LockHeldError."""
        return f"pid {self.pid} on host {self.host} since {self.started_at}"

    def is_on_this_host(self) -> bool:
        """Whether the holder runs on this host (only then can its pid be checked)."""
        return self.host == socket.gethostname()


@dataclass
class HeldLock:
    """A lock this process created; `warnings` tells about stale locks taken over."""

    path: Path
    record: LockRecord
    inode: int
    warnings: list[str] = field(default_factory=list)

    def release(self) -> None:
        """Remove the lock file if it is still ours (idempotent).

        A lock that somebody else took over in the meantime (only possible when our pid
        looked dead to them) is left alone. Both inode and content are compared, because a
        filesystem may give a new file the inode number of a just-deleted one.
        """
        found = _read(self.path)
        if found is not None and (found.inode, found.record) == (self.inode, self.record):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


@dataclass(frozen=True)
class _Found:
    """An existing lock file as read: its record (None if unreadable), inode and age."""

    record: LockRecord | None
    inode: int
    age_seconds: float


def lock_path(target: Path) -> Path:
    """`<parent>/.<name>.lock`: beside the target, so it survives the target's replacement."""
    return target.parent / f".{target.name}{LOCK_SUFFIX}"


def pid_is_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (zombies count as dead).

    ``kill(pid, 0)`` sends nothing; it only asks whether the pid exists. A zombie (killed but
    not yet reaped by its parent) still exists, so on Linux its state in /proc is checked too.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    except OSError:  # pragma: no cover - unexpected platform behaviour: assume alive, be safe
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def acquire_lock(target: Path) -> HeldLock:
    """Create the lock of `target` or raise `LockHeldError` naming its live holder.

    Stale locks (holder pid dead on this host, or unreadable and older than
    UNREADABLE_LOCK_GRACE_SECONDS) are taken over, with a warning in the result.
    """
    path = lock_path(target)
    record = LockRecord.for_this_process()
    warnings: list[str] = []
    for _ in range(MAX_ATTEMPTS):
        inode = _create_exclusive(path, record)
        if inode is not None:
            return HeldLock(path, record, inode, warnings)
        found = _read(path)
        if found is None:
            continue  # released between our attempt and the read: try again
        if not _is_stale(found):
            raise LockHeldError.held_by(target, _describe(found))
        warning = _take_over(path, found)
        if warning is not None:
            warnings.append(warning)
    found = _read(path)
    holder = _describe(found) if found else "another run that keeps replacing it"
    raise LockHeldError.held_by(target, holder)


@contextlib.contextmanager
def holding_lock(target: Path) -> Iterator[HeldLock]:
    """The lock of `target` for the duration of the block, released also on exceptions."""
    held = acquire_lock(target)
    try:
        yield held
    finally:
        held.release()


def _create_exclusive(path: Path, record: LockRecord) -> int | None:
    """Create the lock file with O_EXCL and write the record; None if it already exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
    try:
        os.write(fd, record.to_json().encode("utf-8"))
        os.fsync(fd)
        return os.fstat(fd).st_ino
    except BaseException:  # e.g. a full disk: an empty lock would refuse the retry
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    finally:
        os.close(fd)


def _read(path: Path) -> _Found | None:
    """The lock file as it is now, or None if it has just disappeared."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    return _Found(LockRecord.parse(text), stat.st_ino, time.time() - stat.st_mtime)


def _is_stale(found: _Found) -> bool:
    """A dead holder on this host, or a lock left unwritten for too long."""
    if found.record is None:
        return found.age_seconds > UNREADABLE_LOCK_GRACE_SECONDS
    return found.record.is_on_this_host() and not pid_is_alive(found.record.pid)


def _describe(found: _Found) -> str:
    if found.record is None:
        return "a run that is just starting (its lock file is not written yet)"
    text = found.record.describe()
    if not found.record.is_on_this_host():
        text += "; that host cannot be checked from here, so if that run is gone delete the lock"
    return text


def _take_over(path: Path, seen: _Found) -> str | None:
    """Move a stale lock out of the way; the warning to report, or None if we lost the race.

    Under the folder guard the lock is read again: another run may have taken it over and
    written a live lock in the meantime (possibly on the same inode number, hence the record
    comparison). Only then is it renamed to a unique name, which is atomic.
    """
    with _takeover_guard(path.parent):
        now = _read(path)
        if now is None or (now.inode, now.record) != (seen.inode, seen.record):
            return None
        if not _is_stale(now):
            return None
        aside = path.with_name(f"{path.name}.stale-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return None
        moved = _read(aside)
        if moved is None or moved.inode != seen.inode or moved.record != seen.record:
            _put_back(aside, path)  # without the guard a live lock could have been moved
            return None
        os.unlink(aside)
    who = seen.record.describe() if seen.record else "an unreadable lock file"
    return (
        f"Took over the stale lock {path} left by a run that is no longer running ({who}). "
        "That run did not finish."
    )


def _put_back(aside: Path, path: Path) -> None:
    """Return a wrongly moved lock; if the place is taken, the newer lock wins."""
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.link(aside, path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(aside)


@contextlib.contextmanager
def _takeover_guard(folder: Path) -> Iterator[None]:
    """An exclusive flock on the parent folder while a stale lock is replaced.

    The kernel drops it when the process dies, so the guard itself can never go stale.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # a filesystem without flock: best effort
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
