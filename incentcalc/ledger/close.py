"""`close`: make a finished, reviewed run the ledger entry of its period (RULES.md 11.9).

Nothing is recalculated: the run's ENTRY_FILES are copied byte for byte after each was
checked against its manifest, with the config text whose sha256 the manifest recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incentcalc.config import ProgramConfig
from incentcalc.errors import LedgerRefusedError, RefusedError
from incentcalc.ledger.report import check_no_rejected_balances
from incentcalc.ledger.store import (
    ENTRY_CONFIG,
    LEDGER_VERSION,
    Entry,
    Ledger,
    append_entry,
    ledger_locked,
    ledger_root,
    sha256_bytes,
)
from incentcalc.periods import Period, parse_period
from incentcalc.result import ENTRY_FILES, MANIFEST_JSON, PAYOUTS_PARQUET


@dataclass(frozen=True)
class ClosingRun:
    """A finished run folder as `close` reads it: manifest and the bytes of its entry files."""

    folder: Path
    manifest: dict[str, Any]
    files: dict[str, bytes]

    @property
    def history(self) -> dict[str, Any]:
        """The manifest's `ledger` section: the head the run stood on, recalculation."""
        return dict(self.manifest.get("ledger") or {})


def read_closing_run(folder: Path, config_text: bytes) -> ClosingRun:
    """The run's entry files, each checked against the hash its manifest recorded, and the
    config against the manifest's config sha256. Refused (exit 3) on any difference."""
    try:
        manifest_bytes = (folder / MANIFEST_JSON).read_bytes()
        manifest = json.loads(manifest_bytes)
        outputs = {o["path"]: o["sha256"] for o in manifest["outputs"]}
        recorded_config = manifest["config"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise RefusedError(
            f"{folder} is not a finished run: its {MANIFEST_JSON} is missing or unreadable. "
            "Close the folder that `incentcalc run --out` wrote."
        ) from None
    if recorded_config != sha256_bytes(config_text):
        raise LedgerRefusedError(
            f"The run in {folder} was made with another config (its manifest records config "
            f"sha256 {recorded_config}). Close it with the config it was run with, or run "
            "again with this one."
        )
    files = {}
    for name in ENTRY_FILES:
        if name == MANIFEST_JSON:
            files[name] = manifest_bytes
            continue
        try:
            data = (folder / name).read_bytes()
        except OSError:
            raise LedgerRefusedError(
                f"The run in {folder} has no {name}, so it cannot be closed. Run the period "
                "again with this version of incentcalc."
            ) from None
        if outputs.get(name) != sha256_bytes(data):
            raise LedgerRefusedError(
                f"{folder / name} differs from what the run's manifest recorded (sha256 "
                f"{outputs.get(name)}): the file was changed after the run. Run the period "
                "again and close the new run."
            )
        files[name] = data
    return ClosingRun(folder, manifest, files)


def check_closable(ledger: Ledger, run: ClosingRun, config: ProgramConfig) -> Period:
    """RULES.md 11.9's refusals (exit 3); returns the run's period."""
    period = parse_period(str(run.manifest["period"]), config.program.fiscal_year_start_month)
    history = run.history
    if run.manifest.get("as_of"):
        raise LedgerRefusedError(
            f"The run in {run.folder} is a progress run of {period.label} as of "
            f"{run.manifest['as_of']} (RULES.md 12): it is provisional and can never be "
            f"closed. After {period.end.isoformat()}, run {period.label} without --as-of and "
            "close that run."
        )
    if history.get("recalculation"):
        raise LedgerRefusedError(
            f"The run in {run.folder} is a recalculation of {period.label}: it can be "
            "reviewed but never closed."
        )
    closed = ledger.entry_of(period)
    if closed is not None:
        raise LedgerRefusedError(
            f"{period.label} is already closed (entry {closed.name}). A closed period is "
            "never closed again; correct it with adjustments in an open period."
        )
    following = ledger.next_period()
    if following is not None and period != following:
        raise LedgerRefusedError(
            f"{period.label} is not the next period of the ledger {ledger.path}: close "
            f"{following.label} first."
        )
    if "head" not in history or history["head"] != ledger.head:
        raise LedgerRefusedError(
            f"A period was closed after the run in {run.folder} was made, so it was "
            f"calculated on other history (run on ledger head {history.get('head')}, the "
            f"ledger is now at {ledger.head}). Run {period.label} again and close that run."
        )
    return period


def close_run(
    config: ProgramConfig, config_text: bytes, run_folder: Path, *, now: datetime
) -> Entry:
    """Close the run in `run_folder`: its files are checked before the ledger is touched;
    then, under the ledger's lock, the ledger is verified, the refusals checked and the
    entry written whole or not at all."""
    ledger_root(config)  # no ledger configured: a config error before anything is read
    run = read_closing_run(run_folder, config_text)
    if run.manifest.get("program") != config.program.name:
        raise LedgerRefusedError(
            f"The run in {run_folder} is of program {run.manifest.get('program')!r}, not "
            f"{config.program.name!r}."
        )
    with ledger_locked(config) as ledger:
        period = check_closable(ledger, run, config)
        check_no_rejected_balances(ledger, run.folder, run.manifest, config)
        files = {**run.files, ENTRY_CONFIG: config_text}
        payees = closing_payees(config, run, period)

        def document(number: int, hashes: dict[str, str]) -> dict[str, Any]:
            return {**entry_document(config, run, period, number, hashes, now), **payees}

        return append_entry(ledger, period, files, document)


def closing_payees(config: ProgramConfig, run: ClosingRun, period: Period) -> dict[str, Any]:
    """entry.json's `payees` (PAYMENTS.md): the payment columns of every partner the period
    pays, read from the partner master now, when the config has `payments`; else nothing."""
    if config.payments is None:
        return {}
    from incentcalc.ledger.payees import PAYEES, master_payees, payable_partner_ids

    paid = payable_partner_ids(run.files[PAYOUTS_PARQUET])
    return {PAYEES: master_payees(config, period, paid)}


def entry_document(
    config: ProgramConfig,
    run: ClosingRun,
    period: Period,
    number: int,
    hashes: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    """entry.json without its chain link (added by `append_entry`)."""
    manifest = run.manifest
    release_after = run.history.get("holdback_release_after", config.payout.holdback_release_after)
    return {
        "ledger_version": LEDGER_VERSION,
        "entry": number,
        "period": period.label,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "closed_at": now.isoformat(timespec="seconds"),
        "program": config.program.name,
        "base_currency": str(config.program.base_currency),
        "fiscal_year_start_month": config.program.fiscal_year_start_month,
        "holdback_release_after": int(release_after),
        "run": {
            "folder": str(run.folder.resolve()),
            "finished_at": manifest.get("finished_at"),
            "incentcalc_version": manifest.get("incentcalc_version"),
        },
        "partners": manifest.get("partners"),
        "counts_by_status": manifest.get("counts_by_status"),
        "totals": manifest.get("totals"),
        "files": hashes,
    }
