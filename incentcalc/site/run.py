"""A finished run folder, read back for the site: its manifest, tables, config and history.

The payouts, the manifest and the deal bonuses come through `outputs.read_run` (the reader
`explain --run` uses); the KPIs, exceptions and ledger lines are read beside them. The config
is the one the manifest names, and it must still be the file the run was made from (same
sha256): tier ladders and routes are worked out from it, and numbers from another config would
not belong to the run. The closed quarters (trend, migration, balances) come from the config's
ledger, as `explain` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from incentcalc.config import ProgramConfig, load_config
from incentcalc.errors import UsageError
from incentcalc.history import History
from incentcalc.io.digest import file_sha256
from incentcalc.outputs import read_run, read_run_tables
from incentcalc.periods import Period, parse_period
from incentcalc.result import (
    LEDGER_LINE_SCHEMA,
    STATEMENTS_DIR,
)


@dataclass(frozen=True)
class SiteRun:
    """Everything the pages show, as the run wrote it."""

    folder: Path
    manifest: dict[str, Any]
    config: ProgramConfig
    period: Period
    payouts: pl.DataFrame
    kpis: pl.DataFrame
    deal_bonuses: pl.DataFrame
    exceptions: pl.DataFrame
    ledger_lines: pl.DataFrame
    history: History

    @property
    def as_of(self) -> date | None:
        """The day a progress run (RULES.md 12) stands on; None for a whole quarter."""
        text = self.manifest.get("as_of")
        return date.fromisoformat(text) if text else None

    @property
    def recalculation(self) -> bool:
        return bool(self.manifest.get("ledger", {}).get("recalculation"))

    @property
    def base_currency(self) -> str:
        return self.config.program.base_currency

    @property
    def statements(self) -> Path:
        return self.folder / STATEMENTS_DIR


def _not_a_run(folder: Path, why: str) -> UsageError:
    return UsageError(
        f"--run {folder}: {why}. Point --run at the --out folder of a finished `incentcalc run`."
    )


def read_site_run(folder: Path) -> SiteRun:
    """The run in `folder`, with its config and the closed quarters before its period."""
    try:
        manifest, payouts, deal_bonuses = read_run(folder, None)
        kpis, exceptions, ledger_lines = read_run_tables(folder)
    except UsageError as exc:
        raise _not_a_run(
            folder, str(exc).split(". Point")[0].removeprefix(f"--run {folder}: ")
        ) from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _not_a_run(folder, f"not a readable run folder ({exc})") from None
    config = _run_config(folder, manifest)
    period = parse_period(str(manifest.get("period")), config.program.fiscal_year_start_month)
    return SiteRun(
        folder=folder,
        manifest=manifest,
        config=config,
        period=period,
        payouts=payouts.sort("partner_id"),
        kpis=kpis,
        deal_bonuses=deal_bonuses,
        exceptions=exceptions,
        ledger_lines=ledger_lines.cast(LEDGER_LINE_SCHEMA),  # type: ignore[arg-type]
        history=_history(config, period),
    )


def _run_config(folder: Path, manifest: dict[str, Any]) -> ProgramConfig:
    """The config the run was made from, refused when it changed since."""
    recorded = manifest.get("config") or {}
    path = Path(str(recorded.get("path", "")))
    try:
        same = file_sha256(path) == recorded.get("sha256")
    except OSError:
        raise _not_a_run(
            folder, f"the config it was made from, {path}, cannot be read; restore it"
        ) from None
    if not same:
        raise _not_a_run(
            folder,
            f"its config {path} changed after the run, so tier ladders and targets from it "
            "would not belong to the run's numbers; run the quarter again",
        )
    return load_config(path)


def _history(config: ProgramConfig, period: Period) -> History:
    """The closed quarters before `period` in the config's ledger (none without a ledger)."""
    if config.ledger is None:
        return History.empty()
    from incentcalc.ledger.basis import ledger_basis

    return ledger_basis(config, period, recalculate=False, any_period=True).history
