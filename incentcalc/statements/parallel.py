"""Writing many statements at once: chunks of partner payloads across worker processes.

Building one workbook is pure Python (xlsxwriter) and takes a few milliseconds, so statements
are CPU bound and threads would not help. The parent picks the chosen partners' rows out of
the result (`payload.chosen_rows`, one Polars pass), then hands each worker a chunk of
partners: the shared context plus those partners' rows as frames. The worker turns them into
per-partner payloads (`payload.build_payloads`) and writes the statements.

Workers are forked from a `forkserver` that has imported this module once, never from the
parent itself: the parent has Polars' thread pool running, and forking a process with live
threads can deadlock the child; a fresh `spawn` per worker would pay the imports (Polars,
pydantic, xlsxwriter) in every worker. The forkserver is started early (`start_forkserver`),
so its imports overlap the parent's own work. (Importing Polars 2.1 starts three threads of its
own, two jemalloc background threads and `polars-ooc-cleaner`, so the forkserver is not
single-threaded either; 1,200 workers forked from it in a stress loop all lived: see
docs/performance.md, issue 27.)

Small batches are written in this process: starting workers costs more than it saves.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import forkserver
from pathlib import Path

from incentcalc.io.locking import pid_is_alive
from incentcalc.statements.partner import write_partner_statement
from incentcalc.statements.payload import ChosenRows, StatementContext, build_payloads

IN_PROCESS_LIMIT = 40
"""Up to this many statements are written without starting worker processes."""

CHUNKS_PER_WORKER = 16
"""Chunks per worker: enough that the last chunks end close together (a chunk of the bench's
2,000 statements takes ~0.2 s) and pickling overlaps writing, few enough that per-chunk
overhead (the shared context is pickled with each chunk) stays small."""

MAX_CHUNK = 100

OnProgress = Callable[[int, int], None]
"""Called with (statements written so far, statements to write)."""


def write_chunk(
    context: StatementContext,
    rows: ChosenRows,
    folder: str,
    owner_pid: int | None = None,
) -> int:
    """Write the statements of one chunk of partners (runs in a worker); returns how many
    were written.

    A worker stops at once when the run that started it (`owner_pid`) has died, e.g. under
    `kill -9`: an orphan must not keep writing into the temporary output folder that the
    next run is about to clean up.

    The cyclic garbage collector is paused while a statement is built and run on the young
    generations after each one: a workbook is ~100,000 short-lived objects with a few cycles,
    and the automatic collector's passes over them cost 10-20% of the time. Collecting
    generation 1 right after each workbook frees exactly those cycles, so memory stays flat.
    """
    target = Path(folder)
    enabled = gc.isenabled()
    gc.disable()
    try:
        payloads = build_payloads(rows)
        for payload in payloads:
            if owner_pid is not None and not pid_is_alive(owner_pid):
                os._exit(1)
            write_partner_statement(payload, context, target)
            gc.collect(1)
    finally:
        if enabled:
            gc.enable()
    return len(payloads)


def _context() -> multiprocessing.context.BaseContext:
    """The `forkserver` context (preloading this module) where the platform has it, else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def uses_workers(total: int, workers: int | None) -> bool:
    """Whether `total` statements are written by worker processes (else in this process)."""
    count = workers if workers is not None else default_workers()
    return count > 1 and total > IN_PROCESS_LIMIT


def start_forkserver() -> None:
    """Start the forkserver now, without waiting for it: it imports this module (~0.3 s) while
    this process still builds the payloads or writes the summary, instead of before the first
    worker can start. Idempotent; nothing to do where workers are spawned."""
    if _context().get_start_method() == "forkserver":
        forkserver.ensure_running()


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_size(total: int, workers: int) -> int:
    """Statements per chunk: CHUNKS_PER_WORKER chunks per worker, at most MAX_CHUNK."""
    return max(1, min(MAX_CHUNK, -(-total // (workers * CHUNKS_PER_WORKER))))


def write_in_parallel(
    rows: ChosenRows,
    context: StatementContext,
    folder: Path,
    workers: int | None,
    on_progress: OnProgress | None = None,
) -> int:
    """Write the statement of every partner in `rows` into `folder`; returns the number
    written. `on_progress` hears how many are done after each statement (in this process) or
    each chunk (in workers)."""
    report = on_progress or (lambda _done, _total: None)
    total = rows.payouts.height
    count = workers if workers is not None else default_workers()
    if not uses_workers(total, count):
        for done in range(1, total + 1):
            write_chunk(context, rows.chunk(done - 1, done), str(folder))
            report(done, total)
        return total
    size = chunk_size(total, count)
    processes = min(count, -(-total // size))
    written = 0
    with ProcessPoolExecutor(max_workers=processes, mp_context=_context()) as pool:
        futures = [
            pool.submit(
                write_chunk, context, rows.chunk(start, start + size), str(folder), os.getpid()
            )
            for start in range(0, total, size)
        ]
        for future in as_completed(futures):
            written += future.result()
            report(written, total)
    return written
