"""The project's imports, read from its source with ``ast`` (nothing is imported or run).

Every ``import`` and ``from ... import`` statement counts, wherever it is: at the top of a
module, inside a function, under ``if TYPE_CHECKING:``. A name imported from a package is the
package's submodule when there is one (``from web.services import referrals`` imports
``web.services.referrals``), else the package itself. Imports spelled as strings
(``importlib.import_module``) are not seen.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, ``web.pages.supply``
    target: str  # what it imports, ``web.services.ledgers`` or ``flask_login``
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}"


def modules_of(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Each module of ``packages`` under ``root`` by its dotted name (a package by its
    ``__init__.py``)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             known: dict[str, Path]) -> list[str]:  # fmt: skip
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [
        f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
        for alias in node.names
    ]


def imports_of(root: Path, packages: Iterable[str]) -> list[Import]:
    """Every import statement in ``packages`` under ``root``, in file and line order."""
    known = modules_of(root, packages)
    found: list[Import] = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        shown = path.relative_to(root)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.extend(
                    Import(module, target, shown, node.lineno)
                    for target in _targets(node, module, is_package, known)
                )
    return sorted(found, key=lambda i: (str(i.path), i.line, i.target))


def within(name: str, pattern: str) -> bool:
    """``web.api.ledgers`` is within ``web.api``; ``flask_login`` within ``flask*`` (Flask and
    its extensions)."""
    if pattern.endswith("*"):
        return name.split(".")[0].startswith(pattern[:-1])
    return name == pattern or name.startswith(pattern + ".")


def import_graph(found: Iterable[Import], known: Iterable[str]) -> dict[str, dict[str, Import]]:
    """Module → the modules of the project it imports, each with its first import statement."""
    names = set(known)
    graph: dict[str, dict[str, Import]] = {name: {} for name in names}
    for imp in found:
        target = imp.target
        while target and target not in names:  # ``from models.enums import Role`` → models.enums
            target = target.rpartition(".")[0]
        if target and target != imp.module:
            graph[imp.module].setdefault(target, imp)
    return graph


def _components(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return sorted(found)


def circles(graph: dict[str, dict[str, Import]]) -> list[list[Import]]:
    """One shortest import circle through the first module of each group of modules that
    import each other, as the import statements that close it."""
    found = []
    for component in _components(graph):
        members = set(component)
        start = component[0]
        came_from: dict[str, Import] = {}
        queue = deque([start])
        while queue and start not in came_from:
            node = queue.popleft()
            for target, imp in sorted(graph[node].items()):
                if target in members and target not in came_from:
                    came_from[target] = imp
                    queue.append(target)
        path, node = [], start
        while True:
            imp = came_from[node]
            path.append(imp)
            node = imp.module
            if node == start:
                break
        found.append(path[::-1])
    return found


def describe(circle: list[Import]) -> str:
    """``a → b → a``, then each import that makes it."""
    names = " → ".join([circle[0].module, *(imp.module for imp in circle[1:]), circle[0].module])
    return "\n  ".join([names, *(str(imp) for imp in circle)])
