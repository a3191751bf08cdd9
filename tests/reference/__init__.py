"""A second, independent implementation of RULES.md, used only by the tests.

Plain Python: `decimal.Decimal` for money, `fractions.Fraction` for the exact quotients that
RULES.md 5 asks for, `csv`, `datetime` and PyYAML. It is written from the spec alone and imports
nothing from `incentcalc` (tests/test_reference.py enforces that), so the differential test
compares two readings of the rulebook, not the engine with itself. Each RULES.md section is one
function, named after it, so the code reads next to the spec.
"""

from __future__ import annotations

from reference.quarter import QuarterResult, compute_quarter

__all__ = ["QuarterResult", "compute_quarter"]
