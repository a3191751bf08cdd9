"""What both peers read of program.yaml: the period's dates and the program's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Program:
    """The program of the benchmark (calendar quarters; the peers import no incentcalc)."""

    folder: Path
    label: str
    start: date
    end: date
    raw: dict[str, Any]

    @property
    def kpis(self) -> dict[str, Any]:
        return dict(self.raw["kpis"])

    @property
    def segments(self) -> dict[str, Any]:
        return dict(self.raw["segments"])

    @property
    def tiers(self) -> list[dict[str, Any]]:
        return list(self.raw["tiers"])

    def payout(self, key: str, default: object = 0) -> Decimal:
        return Decimal(str(self.raw["payout"].get(key, default)))

    @property
    def cap(self) -> dict[str, Any]:
        return dict(self.raw["payout"].get("cap") or {})


def load(folder: Path, label: str) -> Program:
    """program.yaml of `folder` and the calendar quarter `label` (e.g. 2026Q3)."""
    raw = yaml.safe_load((folder / "program.yaml").read_text(encoding="utf-8"))
    year, quarter = int(label[:4]), int(label[-1])
    start = date(year, 3 * quarter - 2, 1)
    after = date(year + quarter // 4, 3 * quarter % 12 + 1, 1)
    return Program(folder, label, start, date.fromordinal(after.toordinal() - 1), raw)
