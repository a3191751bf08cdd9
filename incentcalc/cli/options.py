"""What every command shares: the option types (same flag, same help everywhere), the consoles,
the one `--json` writer, `--log-file` lines and `guarded`, which turns every failure into its
exit code. Commands import this module only; `app` registers them."""

from __future__ import annotations

import csv
import functools
import inspect
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from incentcalc.errors import (
    EnvironmentFailure,
    ExitCode,
    IncentcalcError,
    UsageError,
    environment_errno,
)

if TYPE_CHECKING:  # rich is imported when something is printed (not for --json)
    from rich.console import Console

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Program config YAML.", dir_okay=False)
]
PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="Quarter, e.g. 2026Q3.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")]
LogOpt = Annotated[
    Path | None, typer.Option("--log-file", help="Append errors and the summary to this file.")
]
MaxRejectedOpt = Annotated[
    str,
    typer.Option(
        "--max-rejected",
        help="With --quarantine: stop when more than this share of any source's rows is "
        "rejected (e.g. 5%).",
    ),
]
DEFAULT_CONFIG = Path("configs/program.yaml")


def parse_share(text: str) -> Decimal:
    """`--max-rejected` as a share: ``5%`` (or ``5``) is 0.05; 0 to 100 percent."""
    try:
        percent = Decimal(text.strip().removesuffix("%").strip())
    except InvalidOperation:
        percent = Decimal(-1)
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise UsageError(
            f"--max-rejected {text!r} is not a percentage from 0% to 100%; write it like 5%."
        )
    return percent / 100


def partner_ids(text: str | None) -> list[str]:
    """The ids of `--partners A,B`, read as one CSV line, so an id with commas is written in
    double quotes: `--partners '"Mid Atlantic (MD, DE, DC)",P2'`."""
    fields = next(csv.reader([text or ""], skipinitialspace=True), [])
    return [field.strip() for field in fields if field.strip()]


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
"""Indented like json.dumps(indent=2), datetimes as str() like before orjson."""


def emit_json(document: dict[str, Any]) -> None:
    """Write the one JSON document a `--json` command prints: UTF-8, two-space indent, keys
    in the document's order, values JSON lacks (Decimal, datetime, Path) as their text, so
    money stays exact ("12.50"), never a float. orjson: `explain --json` of a partner with
    4,000 deals is a 2 MB document, 35 ms through the json module's indenting encoder."""
    text = orjson.dumps(document, default=str, option=JSON_OPTIONS)
    sys.stdout.flush()
    sys.stdout.buffer.write(text + b"\n")


def log_line(log_file: Path | None, text: str) -> None:
    """Append one timestamped line to `--log-file` (cron keeps a history of every run)."""
    if log_file is not None:
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        with log_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {text.rstrip()}\n")


@contextmanager
def guarded(
    command: str, *, as_json: bool, debug: bool, log_file: Path | None = None
) -> Iterator[None]:
    """Turn every failure into its exit code and one readable paragraph.

    Known errors print their message; anything else is a bug (exit 4), a panic inside Polars
    included, whose traceback goes to a log file named in the message, unless `--debug` shows
    it directly. Success is logged to `--log-file` too.
    """
    try:
        try:
            yield
        except (IncentcalcError, typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            number = environment_errno(exc)
            if number is None:
                raise
            path = exc.filename if isinstance(exc, OSError) else None
            kept = "The command stopped there."
            raise EnvironmentFailure.writing(path, number, kept) from exc
    except IncentcalcError as exc:
        code = int(exc.exit_code)
        log_line(log_file, f"{command}: exit {code}: {exc}")
        if as_json:
            emit_json({"command": command, "status": "error", "exit_code": code,
                       "error": str(exc)})  # fmt: skip
        else:
            stderr_console().print(f"[bold red]Error:[/] {exc}", markup=True)
        if debug:
            traceback.print_exc()
        raise typer.Exit(code) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a Polars panic (pyo3's PanicException) is no Exception
        if debug:
            raise
        with tempfile.NamedTemporaryFile(
            "w", prefix="incentcalc-crash-", suffix=".log", delete=False
        ) as handle:
            traceback.print_exc(file=handle)
        message = (
            f"Internal error in `{command}` ({type(exc).__name__}). This is a bug in incentcalc, "
            f"not in your data. The traceback is in {handle.name}; rerun with --debug to see it."
        )
        log_line(log_file, message)
        if as_json:
            emit_json({"command": command, "status": "error",
                       "exit_code": int(ExitCode.INTERNAL), "error": message})  # fmt: skip
        else:
            stderr_console().print(f"[bold red]Error:[/] {message}", markup=True)
        raise typer.Exit(int(ExitCode.INTERNAL)) from None
    else:
        log_line(log_file, f"{command}: exit 0")


@dataclass(frozen=True)
class Reporting:
    """How a command reports: `--json`, `--quiet`, `--debug` and `--log-file`, the same four
    options on every command but `schema`, declared once (`with_reporting`)."""

    as_json: bool = False
    quiet: bool = False
    debug: bool = False
    log_file: Path | None = None

    def guarded(self, command: str) -> AbstractContextManager[None]:
        """`guarded` with this command's reporting options."""
        return guarded(command, as_json=self.as_json, debug=self.debug, log_file=self.log_file)


_REPORT_OPTIONS = (
    inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt),
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOpt),
    inspect.Parameter("log_file", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=LogOpt),
)
"""The options of `Reporting`, as Typer reads them from a command's signature."""


def with_reporting(command: Callable[..., None]) -> Callable[..., None]:
    """`command` (whose last parameter is ``*, reporting: Reporting``) as Typer registers it:
    its own options, then the four of `Reporting` (listed last in `--help`, as they always
    were), passed to it as one `reporting`."""
    own = inspect.signature(command, eval_str=True)
    parameters = [p for name, p in own.parameters.items() if name != "reporting"]

    @functools.wraps(command)
    def with_report(**options: Any) -> None:
        reporting = Reporting(**{p.name: options.pop(p.name) for p in _REPORT_OPTIONS})
        command(**options, reporting=reporting)

    every = [*parameters, *_REPORT_OPTIONS]
    with_report.__signature__ = own.replace(parameters=every)  # type: ignore[attr-defined]
    with_report.__annotations__ = {p.name: p.annotation for p in every}
    return with_report
