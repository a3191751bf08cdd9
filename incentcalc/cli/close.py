"""`incentcalc close --run DIR`: make a reviewed run the ledger entry of its period."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from incentcalc.cli.options import (
    DEFAULT_CONFIG,
    ConfigOpt,
    Reporting,
    emit_json,
    log_line,
    stdout_console,
    with_reporting,
)
from incentcalc.errors import ConfigError

if TYPE_CHECKING:  # the engine and the ledger are imported when the command runs
    from incentcalc.config import ProgramConfig
    from incentcalc.ledger.store import Entry

SHOWN_TOTALS = ("gross", "holdback", "loyalty_bonus", "carried_in", "holdback_released",
                "clawback", "payable", "carried_forward")  # fmt: skip


def read_config_bytes(path: Path) -> tuple[ProgramConfig, bytes]:
    """The config and its exact bytes (the ledger keeps the bytes whose sha256 the run's
    manifest recorded)."""
    from incentcalc.config import parse_config

    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError.missing_file("Config", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read config {path}: {exc}. Save it as UTF-8 text.") from None
    return parse_config(text, path.resolve()), data


def close_document(entry: Entry) -> dict[str, Any]:
    """What was closed: period, partners, totals, the entry and its hash."""
    doc = entry.document
    return {
        "command": "close",
        "status": "ok",
        "exit_code": 0,
        "period": doc["period"],
        "entry": entry.name,
        "folder": str(entry.folder),
        "partners": doc.get("partners"),
        "counts_by_status": doc.get("counts_by_status"),
        "totals": doc.get("totals"),
        "sha256": entry.sha256,
        "previous_entry_sha256": doc.get("previous_entry_sha256"),
    }


@with_reporting
def close(
    run: Annotated[
        Path, typer.Option("--run", help="The output folder of the run to close.", file_okay=False)
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
    *,
    reporting: Reporting,
) -> None:
    """Close the reviewed run in --run: its files become the ledger entry of its period."""
    from incentcalc.ledger.close import close_run

    with reporting.guarded("close"):
        started = time.perf_counter()
        program, text = read_config_bytes(config)
        entry = close_run(program, text, run, now=datetime.now().astimezone())
        document = close_document(entry)
        document["seconds"] = round(time.perf_counter() - started, 3)
        totals = document["totals"] or {}
        log_line(
            reporting.log_file, f"close {document['period']}: entry {entry.name} {entry.sha256}"
        )
        if reporting.as_json:
            emit_json(document)
        elif not reporting.quiet:
            console = stdout_console()
            console.print(
                f"Closed {document['period']} as entry {entry.name} of {entry.folder.parent.parent}"
                f": {document['partners']} partners."
            )
            for name in SHOWN_TOTALS:
                console.print(f"  {name:<18} {Decimal(totals.get(name, 0)):>16,.2f}")
            console.print(f"Entry sha256 {entry.sha256}")
