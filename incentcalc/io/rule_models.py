"""The row rules (`rules.ROW_RULES`) as pandera schemas, one per source, built from the
rules themselves so the two cannot disagree. Imported only when `validation.validate_rows` found
a failing row: pandera (with numpy) costs a tenth of a second at start, and it is needed
only to list the failures.

Each schema checks the parsed frame (canonical dtypes, `_row` kept as an extra column) with
``lazy=True`` so every failing cell is collected, not just the first.
"""

from __future__ import annotations

import sys
from typing import Any

from incentcalc.config import SourceName
from incentcalc.io.rules import ROW_RULES, UNIQUE_CHECK, UNIQUE_KEYS, CellRule, unique_rows

# pandera imports hypothesis whenever it is installed (for data synthesis, which incentcalc
# does not use): a fifth of a second at every start in an environment with the test tools.
# Hide it while pandera loads; a later `import hypothesis` (the tests) is not affected.
_HIDE_HYPOTHESIS = "hypothesis" not in sys.modules
if _HIDE_HYPOTHESIS:
    sys.modules["hypothesis"] = None  # type: ignore[assignment]
try:
    import pandera.polars as pa
    import pandera.strategies.base_strategies  # noqa: F401  (the module that imports it)
    from pandera.api.polars.types import PolarsData
finally:
    if _HIDE_HYPOTHESIS:
        del sys.modules["hypothesis"]


def _check(name: str, argument: Any) -> pa.Check:
    """pandera's built-in check `name`, e.g. ``("in_range", (0, 10))`` -> in_range(0, 10)."""
    build = getattr(pa.Check, name)
    if name == "in_range":
        return build(*argument)
    return build(list(argument) if name == "isin" else argument)


def _column(rule: CellRule) -> pa.Column:
    checks = [_check(name, argument) for name, argument in rule.checks]
    return pa.Column(rule.dtype, checks=checks, nullable=rule.nullable)


def _schema(source: SourceName) -> pa.DataFrameSchema:
    keys = UNIQUE_KEYS[source]

    def unique(data: PolarsData) -> Any:
        return unique_rows(data.lazyframe, keys)

    return pa.DataFrameSchema(
        {name: _column(rule) for name, rule in ROW_RULES[source].items()},
        checks=[pa.Check(unique, name=UNIQUE_CHECK)],
        strict=False,  # `_row` rides along
        coerce=False,  # readers already produced the canonical dtypes
    )


MODELS: dict[SourceName, pa.DataFrameSchema] = {source: _schema(source) for source in SourceName}
