"""One module per CLI command; importing this package registers them all on `cli.app`."""

from __future__ import annotations

from incentcalc.commands import (  # noqa: F401
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
