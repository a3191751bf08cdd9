"""The `incentcalc` Typer app: the command group, every command registered in the order
`--help` lists them, and the console-script entry point. The commands themselves (one module
each) parse options, call `api`, render and map errors to exit codes; no calculation happens
in the CLI."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from incentcalc import __version__
from incentcalc.cli import (
    close,
    diff,
    explain,
    ledger,
    payments,
    run,
    sample_data,
    schema,
    site,
    validate,
)

if TYPE_CHECKING:  # rich is imported when something is printed (not for --json)
    pass


class _FlagsWithoutType:
    """Help that shows no `<bool>` type after a flag (--force, --json, --help): a flag takes
    no value, so a type there reads as if it wanted one."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsWithoutType, TyperCommand):
    """Every incentcalc command."""


class Group(_FlagsWithoutType, TyperGroup):
    """The incentcalc command group."""


app = typer.Typer(
    cls=Group,
    name="incentcalc",
    help="Exact, auditable quarterly payouts for channel-partner incentive programs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"incentcalc {__version__}\n")
        raise typer.Exit()


COMMANDS: tuple[Callable[..., Any], ...] = (
    close.close,
    diff.diff,
    explain.explain,
    ledger.ledger,
    payments.payments,
    run.run,
    sample_data.sample_data,
    schema.schema,
    site.site,
    validate.validate,
)
"""Every in the order they were registered before (`--help` lists them so)."""

for _command in COMMANDS:
    app.command(cls=Command)(_command)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Exact, auditable quarterly payouts for channel-partner incentive programs."""


def main() -> NoReturn:
    """Console-script entry point (`incentcalc`, `python -m incentcalc`): the process-wide
    settings a command line may make, then the app, then a fast exit.

    OPENBLAS_NUM_THREADS=1 unless the user set it: numpy (sample-data's generator; Polars
    imports it for a Python Decimal, which the engine no longer hands it) starts OpenBLAS's
    thread pool, whose threads spin-wait before they sleep: ~5% of an `explain --run`'s CPU
    went there while explain imported numpy, on the core the Parquet readers need.
    incentcalc does no linear algebra. Set here, not at import, so importing incentcalc as a
    library changes no environment variable.

    `os._exit` leaves without tearing the interpreter down: every command has written,
    fsynced and renamed its output and released its lock by then, and freeing a quarter's
    frames one by one only delays the exit (0.1-0.3 s on 5M deals). Only this entry point may
    do it (docs/cli.md): a library caller or a test keeps its interpreter.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        app()
    except SystemExit as exc:
        if sys.gettrace() is not None or sys.getprofile() is not None:
            raise  # a profiler or coverage writes its data at interpreter exit
        code = exc.code
    else:
        code = 0
    if not isinstance(code, int | None):  # what Python does with sys.exit("text")
        print(code, file=sys.stderr)
        code = 1
    with suppress(BrokenPipeError):  # a reader that stopped early (`| head`)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)
