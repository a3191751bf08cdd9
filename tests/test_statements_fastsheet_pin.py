"""`statements/fastsheet.py` is the one adapter onto xlsxwriter's internals: the installed
xlsxwriter is one the byte-identity tests were verified on (pyproject.toml's pin), every
internal name the module lists still exists, and the module uses no private name it does not
list. A failure here means: run tests/test_statements_fastsheet.py on this xlsxwriter, adapt
fastsheet.py, then move the pin and the list together."""

from __future__ import annotations

import ast
import io
import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import xlsxwriter.worksheet
from packaging.requirements import Requirement
from xlsxwriter.format import Format
from xlsxwriter.packager import Packager
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from incentcalc.statements import fastsheet

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(fastsheet.__file__)


def listed_names() -> set[tuple[str, str]]:
    """(owner, name) of each `Owner.name` the module docstring lists as an internal."""
    doc = fastsheet.__doc__ or ""
    section = doc[doc.index("xlsxwriter internals used") :]
    return set(re.findall(r"`(Worksheet|Workbook|Packager|Format|worksheet)\.(\w+)`", section))


def owners() -> dict[str, list[Any]]:
    """Each owner named in the list, as a class and a fresh instance (instance attributes)."""
    return {
        "Worksheet": [Worksheet, Worksheet()],
        "Workbook": [Workbook, Workbook(io.BytesIO())],
        "Packager": [Packager, Packager()],
        "Format": [Format, Format()],
        "worksheet": [xlsxwriter.worksheet],
    }


def test_installed_xlsxwriter_is_in_the_pinned_range() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    pin = next(r for r in pins if r.name.lower() == "xlsxwriter")
    installed = metadata.version("xlsxwriter")
    assert pin.specifier.contains(installed), (
        f"xlsxwriter {installed} is installed, but fastsheet.py was verified only on "
        f"xlsxwriter{pin.specifier}: install a verified version, or run "
        "tests/test_statements_fastsheet.py on this one and move the pin"
    )
    assert pin.specifier.filter(["3.3.4"]), "the pin must hold the version tests verified"
    assert not pin.specifier.contains("3.4.0"), "pin xlsxwriter from above too"


def test_every_listed_internal_exists_in_xlsxwriter() -> None:
    found = owners()
    missing = [
        f"{owner}.{name}"
        for owner, name in sorted(listed_names())
        if not any(hasattr(thing, name) for thing in found[owner])
    ]
    assert not missing, (
        f"xlsxwriter {metadata.version('xlsxwriter')} lacks {', '.join(missing)}, which "
        "statements/fastsheet.py relies on: adapt it before moving the xlsxwriter pin"
    )


def private_names_used(path: Path) -> set[str]:
    """Single-underscore names the module at `path` reads as attributes (`getattr` too) or
    defines as methods (which may override a base class's)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "").endswith("attr"):
            names |= {a.value for a in node.args[1:2] if isinstance(a, ast.Constant)}
        elif isinstance(node, ast.ClassDef):
            names |= {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


OWN_NAMES = {"_row_blocks", "_fixed", "_style", "_styles_key", "_reuse", "_package_key"}
"""Private names fastsheet.py defines for itself (none may shadow one of xlsxwriter's)."""


def test_no_unlisted_private_name_is_used() -> None:
    listed = {name for _, name in listed_names()}
    unlisted = private_names_used(SOURCE) - listed - OWN_NAMES
    assert not unlisted, (
        f"statements/fastsheet.py uses {sorted(unlisted)}, not listed in its docstring: list "
        "each xlsxwriter internal with why it is needed, or drop it"
    )
    found = owners()
    shadowing = [
        f"{owner}.{name}"
        for owner, things in found.items()
        for name in sorted(OWN_NAMES)
        if any(hasattr(thing, name) for thing in things)
    ]
    assert not shadowing, f"fastsheet.py's own {shadowing} would override xlsxwriter's"


def test_no_other_module_touches_xlsxwriter_internals() -> None:
    """Only fastsheet.py overrides or calls xlsxwriter's private methods."""
    xlsx_private = {
        name
        for cls in (Worksheet, Workbook, Packager, Format)
        for name in dir(cls)
        if name.startswith("_") and not name.startswith("__")
    }
    offenders = []
    for path in sorted((ROOT / "incentcalc").rglob("*.py")):
        if path == SOURCE:
            continue
        used = private_names_used(path)
        offenders += [f"{path.relative_to(ROOT)}: {n}" for n in sorted(used & xlsx_private)]
    assert not offenders, f"xlsxwriter internals outside statements/fastsheet.py: {offenders}"
