"""A readable diff of two program configs: which dotted key paths changed, old -> new.

Ops copy a program YAML and edit a few numbers to try a rule change; the diff report must
say exactly which numbers, in the words of the file (``payout.budget: (absent) -> 15000``).
So the comparison runs on the parsed YAML mappings as written, not on the validated models:
a default the author never wrote is not a change, and key paths read like the config errors
(``tiers.2.rate``). Numbers compare by value (``0.50`` equals ``0.5``, ``"0.5"`` too) because
CONFIG.md lets any number be written as a YAML number or a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from incentcalc.config import _DecimalLoader, read_config_text
from incentcalc.errors import ConfigError

ABSENT = "(absent)"
"""How a key that one side does not write is shown."""

SOURCE_PATH_PARENT = "sources"
"""Source paths are relative to their config file, so they compare resolved."""


@dataclass(frozen=True)
class ConfigChange:
    """One key path whose value differs; `baseline`/`candidate` are None when absent there."""

    key: str
    baseline: Any
    candidate: Any

    def describe(self) -> str:
        """``payout.budget: (absent) -> 15000``."""
        return f"{self.key}: {show_value(self.baseline)} -> {show_value(self.candidate)}"

    def as_json(self) -> dict[str, Any]:
        """The change for `--json`: plain JSON values, numbers as their exact text (``"0.035"``)
        like every other number in the diff document; an absent key is null."""
        return {"key": self.key, "baseline": _jsonable(self.baseline),
                "candidate": _jsonable(self.candidate)}  # fmt: skip


def read_raw_config(path: Path) -> dict[str, Any]:
    """The config's YAML mapping as written (exact Decimals, no defaults filled in).

    Source paths are made absolute against the file's folder so that two configs in
    different folders naming the same file compare equal, and the same relative name in
    two folders does not.
    """
    origin = path.resolve()
    try:
        raw = yaml.load(read_config_text(path), Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config {origin} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"Config {origin} must be a YAML mapping with a `program` section.")
    return _resolve_sources(raw, origin.parent)


def diff_configs(baseline: dict[str, Any], candidate: dict[str, Any]) -> list[ConfigChange]:
    """Every key path whose value differs, in the baseline file's key order then new keys.

    Mappings are compared key by key and lists of mappings (tiers) item by item; any other
    list (score steps, perks) is one value, shown whole, because a step table reads better
    as a table than as ``steps.1.0``.

    >>> [c.describe() for c in diff_configs({"payout": {"cap": 1}}, {"payout": {"cap": 2}})]
    ['payout.cap: 1 -> 2']
    """
    return list(_walk((), baseline, candidate))


def compare_config_files(baseline: Path, candidate: Path) -> list[ConfigChange]:
    """`diff_configs` of two files."""
    return diff_configs(read_raw_config(baseline), read_raw_config(candidate))


def show_value(value: Any) -> str:
    """A value as a person would write it in the YAML (``(absent)`` for a missing key)."""
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        inner = ", ".join(f"{key}: {show_value(item)}" for key, item in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    return str(value)


def _walk(path: tuple[str, ...], old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _walk((*path, str(key)), old.get(key), new.get(key))
    elif _is_list_of_dicts(old) and _is_list_of_dicts(new):
        for index in range(max(len(old), len(new))):
            left = old[index] if index < len(old) else None
            right = new[index] if index < len(new) else None
            yield from _walk((*path, str(index)), left, right)
    elif not _same(old, new):
        yield ConfigChange(".".join(path), old, new)


def _is_list_of_dicts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, dict) and isinstance(new, dict):
        return list(diff_configs(old, new)) == []
    left, right = _as_number(old), _as_number(new)
    if left is not None and right is not None:
        return left == right
    return bool(old == new) and type(old) is type(new)


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _resolve_sources(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    sources = raw.get(SOURCE_PATH_PARENT)
    if not isinstance(sources, dict):
        return raw
    resolved: dict[str, Any] = {}
    for name, source in sources.items():
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            source = {**source, "path": str((folder / source["path"]).resolve())}
        resolved[name] = source
    return {**raw, SOURCE_PATH_PARENT: resolved}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value
