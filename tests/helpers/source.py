"""Reading the package's own source: the imports that run (for the layer and packaging checks)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RuntimeImport", "runtime_imports"]


@dataclass(frozen=True)
class RuntimeImport:
    """One absolutely imported name (``a.b`` for ``import a.b``, ``a.b.c`` for ``from a.b import c``)."""

    name: str
    line: int
    at_top: bool  # a statement of the module itself, not inside a function or a block


def runtime_imports(path: Path) -> Iterator[RuntimeImport]:
    """The absolute imports of a module that run when its code does: those under ``if TYPE_CHECKING:`` never do."""
    tree = ast.parse(path.read_text(), str(path))
    never = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if id(node) in never:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield RuntimeImport(name, node.lineno, id(node) in top)
