"""Progress of a run's long steps on a terminal: "Writing statements 1,234/2,910, 0:00:08 left".

Shown only when stdout is a terminal and neither --json nor --quiet is given (cron logs stay
clean); transient, so the final report replaces it.
"""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def done_and_left(completed: float, total: float | None, remaining: float | None) -> str:
    """ "1,234/2,910, 0:00:08 left"; "" for a step without a count, no time before an estimate.

    >>> done_and_left(1234, 2910, 8.4)
    '1,234/2,910, 0:00:08 left'
    """
    if total is None:
        return ""
    text = f"{int(completed):,}/{int(total):,}"
    if remaining is not None and completed < total:
        text += f", {timedelta(seconds=round(remaining))} left"
    return text


class DoneAndLeftColumn(ProgressColumn):
    """done/total and the time left of a counted step (nothing for an uncounted one)."""

    def render(self, task: Task) -> Text:
        return Text(done_and_left(task.completed, task.total, task.time_remaining))


def step_progress(console: Console, *, enabled: bool) -> Progress:
    """The progress display of `run`: a spinner, the step, its count and time left, and the
    time elapsed; a no-op when not `enabled`."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        DoneAndLeftColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=True,
    )
