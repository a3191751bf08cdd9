"""Whether a run folder's numbers may answer `explain` instead of calculating the quarter.

A controller explains partner after partner while reviewing a quarter; the quarter-wide
numbers (team tiers, the budget factor, each deal's share of the budget) are already in the
run folder, so `explain` can read only the partner's own rows (`api.explain_run`). It may do
so only when the run is the calculation `explain` would make now: same period and as-of day,
same incentcalc, same config bytes, same input bytes, same ledger, nothing set aside by
quarantine, and the run's payout files as it wrote them. `match_run` checks all of that but
the input bytes and, when anything differs, says what (docs/explain.md).

The input bytes are compared where they are read: reading the partner's rows hashes every
input in full (sha256, as the manifest records it, of the very bytes the rows come from), and
`changed_inputs` compares those hashes with the run's. Hashing them here as well would read
every input twice (0.1 s of CPU on the 5M-deal quarter, 1 s at ten times that) and would still
leave the rows read unchecked. No shortcut (size and modification time) stands between a
finance user and stale data. When an input differs, explain calculates and names it
(`RunMatch.inputs_changed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from incentcalc import __version__
from incentcalc.config import ProgramConfig, Source, SourceName
from incentcalc.inputs import SourceFile
from incentcalc.io.digest import file_sha256
from incentcalc.ledger.store import open_ledger
from incentcalc.outputs import MANIFEST_VERSION
from incentcalc.periods import Period
from incentcalc.result import DEAL_BONUSES_PARQUET, MANIFEST_JSON, PAYOUTS_PARQUET

READ_FROM_RUN = (PAYOUTS_PARQUET, DEAL_BONUSES_PARQUET)
"""The run's files `explain` takes numbers from: each must still be the bytes the run wrote."""


@dataclass(frozen=True)
class RunMatch:
    """The verdict on one run folder: `reason` is None when the run matches, otherwise why
    it does not (a phrase: "the config changed since the run in out/2026Q3"). A verdict of
    `match_run` that matches still stands on the inputs read (`inputs_changed`)."""

    folder: Path
    reason: str | None
    started_at: str | None = None

    @property
    def matches(self) -> bool:
        """Whether explain may answer from this run (no reason against it)."""
        return self.reason is None

    def inputs_changed(self, sources: Iterable[str]) -> RunMatch:
        """The verdict once reading the partner's rows found `sources` (names) with other
        bytes than the run's: "input nps changed since the run in out/2026Q3"."""
        names = sorted(sources)
        which = "input " if len(names) == 1 else "inputs "
        return replace(self, reason=f"{which}{', '.join(names)} changed since {_run(self.folder)}")

    def inputs_invalid(self) -> RunMatch:
        """The verdict once the partner's rows failed validation: the run validated every
        row, so an input changed since (which one is not known before its hash is)."""
        rows = "the partner's rows no longer pass validation"
        return replace(self, reason=f"an input changed since {_run(self.folder)} ({rows})")

    def message(self, period: Period) -> str:
        """The one line `explain` prints (on stderr) about where its numbers come from."""
        if self.matches:
            made = f" (made {self.started_at})" if self.started_at else ""
            return f"Explaining the run in {self.folder}{made}: config and inputs unchanged."
        return f"Calculating {_period_text(period)}: {self.reason}."


def fresh_message(period: Period) -> str:
    """The line for `explain --fresh`: calculated because it was asked for."""
    return f"Calculating {_period_text(period)}: --fresh."


def match_run(folder: Path, config_path: Path, config: ProgramConfig, period: Period) -> RunMatch:
    """Whether the run in `folder` is the calculation of `period` that `config` (read from
    `config_path`) makes, checked cheapest first, but for the input bytes: those are compared
    on the rows read (`changed_inputs`). A missing, unreadable or foreign folder is a reason
    like any other, never an error (a ledger that fails its verification is one, as it is for
    the calculation)."""
    manifest = _read_manifest(folder)
    if isinstance(manifest, str):
        return RunMatch(folder, manifest)
    why = _differences(manifest, folder, config_path, config, period)
    started = manifest.get("started_at")
    return RunMatch(folder, why, started if isinstance(started, str) else None)


def _read_manifest(folder: Path) -> dict[str, Any] | str:
    """The run's manifest, or why there is none to trust."""
    path = folder / MANIFEST_JSON
    if not folder.is_dir():
        return f"no run in {folder}"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{folder} has no {MANIFEST_JSON}, so it is not a finished run"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"{path} cannot be read ({exc})"
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        return f"{path} is not a manifest this incentcalc reads"
    return manifest


def _differences(
    manifest: dict[str, Any], folder: Path, config_path: Path, config: ProgramConfig, period: Period
) -> str | None:
    """The first difference between the run and the calculation asked for, or None."""
    run = _run(folder)
    made_for = _period_text_of(manifest.get("period"), manifest.get("as_of"))
    if made_for != _period_text(period):
        return f"{run} was made for {made_for}"
    if manifest.get("incentcalc_version") != __version__:
        return f"{run} was made by incentcalc {manifest.get('incentcalc_version')}"
    if _get(manifest, "config", "sha256") != file_sha256(config_path):
        return f"the config changed since {run}"
    if _get(manifest, "ledger", "head") != _ledger_head(config):
        return f"the ledger changed since {run}"
    if manifest.get("rejected_rows"):
        return f"{run} set invalid rows aside (--quarantine), so it calculates them again"
    uncomparable = _uncomparable_inputs(manifest.get("inputs"), config)
    if uncomparable is not None:
        return uncomparable
    outputs = _changed_outputs(manifest.get("outputs"), folder)
    if outputs:
        return f"{', '.join(outputs)} of {run} changed since it was written"
    return None


def _uncomparable_inputs(recorded: Any, config: ProgramConfig) -> str | None:
    """Why the run's inputs cannot be compared with the files read, or None: a manifest
    without its inputs, or a database source (it would have to be read whole to know)."""
    if not isinstance(recorded, list):
        return "its manifest lists no inputs"
    for name in SourceName:
        source: Source | None = getattr(config.sources, name.value)
        if source is not None and source.path is None and source.from_ is None:
            return f"{name.value} is read from a database, which cannot be compared quickly"
    return None


def changed_inputs(recorded: Any, files: Iterable[SourceFile]) -> list[str]:
    """The sources (sorted names) whose bytes, as hashed where they were read (`files`),
    differ from the run's manifest (`recorded`: its `inputs`), a source only one side has
    included."""
    entries = recorded if isinstance(recorded, list) else []
    hashes = {str(e.get("source")): e.get("sha256") for e in entries if isinstance(e, dict)}
    read = {file.name.value: file.sha256 for file in files}
    return sorted(n for n in set(hashes) | set(read) if hashes.get(n) != read.get(n))


def _changed_outputs(recorded: Any, folder: Path) -> list[str]:
    """The run files `explain` reads whose bytes differ from the manifest's record."""
    written = (
        {str(o.get("path")): o.get("sha256") for o in recorded if isinstance(o, dict)}
        if isinstance(recorded, list)
        else {}
    )
    return [name for name in READ_FROM_RUN if written.get(name) != _sha256_or_none(folder / name)]


def _ledger_head(config: ProgramConfig) -> str | None:
    """The ledger's head now (None without a ledger): any period closed since the run makes
    its history another one."""
    return None if config.ledger is None else open_ledger(config).head


def _sha256_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _get(document: Any, *keys: str) -> Any:
    """document[k1][k2]..., None where a level is missing or not a mapping."""
    for key in keys:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _run(folder: Path) -> str:
    return f"the run in {folder}"


def _period_text(period: Period) -> str:
    return _period_text_of(period.label, None if period.as_of is None else period.as_of.isoformat())


def _period_text_of(label: Any, as_of: Any) -> str:
    return f"{label} as of {as_of}" if as_of else f"{label}"
