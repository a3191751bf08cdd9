"""The package layout (README "How the code is laid out", docs/layout.md): no import circle
between incentcalc's modules, and no module importing a layer above its own.

The layers, low to high (a module may import its own layer and the ones below it):

0. basics, top-level modules every layer reads: `errors`, `periods`, `config`, `money`,
   `inputs` (the canonical columns), `result` (with the run folder's file names), `history`
   (the closed periods as frames: the readers' windows and the ledger rules both read it, so
   it sits below both), `accounts` (IBAN and BIC checks: the config checks the payer's) and
   `sample_format` (the formats `sample-data` offers, without importing the generator) and
   the package itself (`__version__`);
1. `io`: reading, checking and writing files and databases, nothing calculated;
2. `outputs`: the run folder, written and read back (manifest, tables, the one reader);
3. `engine`: the calculation of a quarter and the ledger rules, pure Polars stages;
4. `ledger`: the store of closed periods, closing a run, what a period stands on;
5. what is made of results: `reports`, `statements`, `site`, `payments`, `sampledata`;
6. `api`: the one path in, which runs the layers below in order;
7. `cli` (and `__main__`): the Typer app, its options and one module per command.

Imports inside functions count too: a deferred import is still a dependency. Inside `cli`,
only `cli.app` imports the command modules (each command imports `cli.options` and the
renderers beside it, never another command).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "incentcalc"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("incentcalc", "errors", "periods", "config", "money", "inputs", "result", "history",
     "accounts", "sample_format"),
    ("io",),
    ("outputs",),
    ("engine",),
    ("ledger",),
    ("reports", "statements", "site", "payments", "sampledata"),
    ("api",),
    ("cli", "__main__"),
)  # fmt: skip
"""Top-level modules and packages of incentcalc, by layer (see the module docstring)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The incentcalc modules `name` imports (`from pkg import module` names the module)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "incentcalc")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "incentcalc":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    for number, members in enumerate(LAYERS):
        if top in members:
            return number
    raise AssertionError(f"{module}: not in any layer of tests/test_layout.py; add it to one")


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle() -> None:
    assert circles(import_graph()) == []


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{source} (layer {layer_of(source)}) imports {target} (layer {layer_of(target)})"
        for source, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def test_commands_import_no_other_command_and_not_the_app() -> None:
    """Only `cli.app` imports the command modules; a command shares code through
    `cli.options` (or a renderer beside it), never through another command."""
    graph = import_graph()
    commands = {m for m in graph["incentcalc.cli.app"] if m.startswith("incentcalc.cli.")}
    assert "incentcalc.cli.run" in commands
    reaching = [
        f"{source} imports {target}"
        for source in sorted(m for m in graph if m.startswith("incentcalc.cli."))
        for target in sorted(graph[source] & (commands | {"incentcalc.cli.app"}))
        if source not in ("incentcalc.cli.app", "incentcalc.cli")
    ]
    assert reaching == []


def test_every_module_has_a_layer() -> None:
    for module in all_modules():
        layer_of(module)


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    """The checks themselves: a made-up graph with one circle, and a real upward edge."""
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert layer_of("incentcalc.cli.run") > layer_of("incentcalc.engine.quarter")
