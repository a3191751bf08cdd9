"""`incentcalc schema`: the canonical input columns and the config's JSON Schema.

The JSON Schema is also shipped as `configs/program.schema.json` (a test keeps the two equal)
so editors can check a program YAML while finance types it.
"""

from __future__ import annotations

import json
from typing import Any

from incentcalc.cli.options import DebugOpt, JsonOpt, emit_json, guarded, stdout_console

COMMAND = "schema"
SCHEMA_FILE = "configs/program.schema.json"


def input_columns() -> list[dict[str, Any]]:
    """One entry per canonical column: source, column, type, optional, required source."""
    from incentcalc.inputs import REQUIRED_SOURCES, SOURCE_COLUMNS

    return [
        {
            "source": source.value,
            "source_required": source in REQUIRED_SOURCES,
            "column": column.name,
            "type": column.kind.value,
            "dtype": str(column.dtype),
            "optional": column.optional,
        }
        for source, columns in SOURCE_COLUMNS.items()
        for column in columns
    ]


def schema_document() -> dict[str, Any]:
    """The one JSON document of `schema --json`."""
    from incentcalc.config import json_schema

    return {
        "command": COMMAND,
        "status": "ok",
        "exit_code": 0,
        "input_columns": input_columns(),
        "config_schema": json_schema(),
    }


def schema(as_json: JsonOpt = False, debug: DebugOpt = False) -> None:
    """Print the canonical input columns and the program config's JSON Schema."""
    from rich.table import Table

    from incentcalc.config import json_schema

    with guarded(COMMAND, as_json=as_json, debug=debug):
        if as_json:
            emit_json(schema_document())
            return
        console = stdout_console()
        table = Table(title="Canonical input columns (DATA.md)", title_justify="left")
        for name in ("Source", "Column", "Type", "Optional"):
            table.add_column(name)
        for entry in input_columns():
            source = entry["source"] + ("" if entry["source_required"] else " (optional file)")
            table.add_row(
                source, entry["column"], entry["type"], "yes" if entry["optional"] else ""
            )
        console.print(table)
        console.print(f"Config JSON Schema (also in {SCHEMA_FILE}):")
        console.out(json.dumps(json_schema(), indent=2), highlight=False)
